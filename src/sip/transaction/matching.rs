//! Which transaction a message belongs to (RFC 3261 §17.1.3, §17.2.3,
//! §9.2).
//!
//! Owns: the keys computed from a message's top Via, CSeq and (for RFC
//! 2543 peers) Request-URI, tags and Call-ID; the indexes from those keys
//! to live transactions; the comparison rules.
//!
//! Must not: change transaction state (the state machines do), or detect
//! merged requests and loops (§8.2.2.2, §16.3: the user layer's job).
//!
//! Keys:
//! - client (§17.1.3): top Via branch of the response, plus its CSeq
//!   method (a CANCEL shares the INVITE's branch).
//! - server, RFC 3261 peers (branch starts with `z9hG4bK`): branch, the
//!   sent-by host and port of the top Via, and the method, an ACK matching
//!   the INVITE.
//! - server, RFC 2543 peers (§17.2.3, last paragraphs): Request-URI
//!   (compared by §19.1.4 equivalence), From tag, Call-ID, CSeq number, top
//!   Via, and the To tag: the request's for INVITE and other methods, the
//!   one the transaction answered with for an ACK.
//!
//! Branches and tags compare case-insensitively (§7.3.1: parameter values
//! are case-insensitive unless stated otherwise); Call-IDs byte for byte
//! (§20.8). The branch index is keyed by the lowercased branch, computed in
//! a stack buffer so a lookup does not allocate.

use std::collections::HashMap;

use crate::proto::sip::addr::NameAddr;
use crate::proto::sip::uri::Uri;
use crate::proto::sip::{Method, SipRequest, Via};

use super::error::TransactionError;

/// Most transactions one index key may name. Legitimately at most an
/// INVITE and its CANCEL share a branch (and a handful of requests an RFC
/// 2543 Call-ID); a peer reusing one key beyond this is refused rather
/// than allowed to make every lookup slow.
pub const MAX_PER_KEY: usize = 8;

/// The transaction ids under one index key; never empty.
#[derive(Debug, Clone)]
pub(crate) enum Ids {
    One(u64),
    Many(Vec<u64>),
}

impl Ids {
    pub(crate) fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        let (one, many) = match self {
            Ids::One(id) => (Some(*id), &[][..]),
            Ids::Many(v) => (None, v.as_slice()),
        };
        one.into_iter().chain(many.iter().copied())
    }

    fn len(&self) -> usize {
        match self {
            Ids::One(_) => 1,
            Ids::Many(v) => v.len(),
        }
    }

    fn push(&mut self, id: u64) {
        match self {
            Ids::One(first) => *self = Ids::Many(vec![*first, id]),
            Ids::Many(v) => v.push(id),
        }
    }

    /// Removes `id`; true when nothing is left.
    fn remove(&mut self, id: u64) -> bool {
        match self {
            Ids::One(x) => *x == id,
            Ids::Many(v) => {
                v.retain(|&x| x != id);
                v.is_empty()
            }
        }
    }
}

/// Key text → transactions.
#[derive(Debug, Default)]
pub(crate) struct Index {
    map: HashMap<Box<str>, Ids>,
}

impl Index {
    pub(crate) fn get(&self, key: &str) -> Option<&Ids> {
        self.map.get(key)
    }

    pub(crate) fn count(&self, key: &str) -> usize {
        self.map.get(key).map_or(0, Ids::len)
    }

    pub(crate) fn insert(&mut self, key: &str, id: u64) {
        match self.map.get_mut(key) {
            Some(ids) => ids.push(id),
            None => {
                self.map.insert(key.into(), Ids::One(id));
            }
        }
    }

    pub(crate) fn remove(&mut self, key: &str, id: u64) {
        if self.map.get_mut(key).is_some_and(|ids| ids.remove(id)) {
            self.map.remove(key);
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}

/// Calls `f` with `s` in ASCII lowercase, without allocating when `s` is
/// short (branches are: a cookie and a few dozen random characters).
pub(crate) fn with_lower<R>(s: &str, f: impl FnOnce(&str) -> R) -> R {
    let mut buf = [0u8; 96];
    if let Some(dst) = buf.get_mut(..s.len()) {
        dst.copy_from_slice(s.as_bytes());
        dst.make_ascii_lowercase();
        // ASCII lowercasing keeps UTF-8 valid; the fallback is unreachable
        // but costs nothing to keep total.
        if let Ok(lower) = std::str::from_utf8(dst) {
            return f(lower);
        }
    }
    f(&s.to_ascii_lowercase())
}

fn eq_tag(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        _ => false,
    }
}

/// How a server transaction is found again (owned, kept in the
/// transaction).
#[derive(Debug, Clone)]
pub(crate) enum ServerMatch {
    /// RFC 3261: `branch` lowercased; sent-by host as written.
    Branch {
        branch: Box<str>,
        host: Box<str>,
        port: Option<u16>,
    },
    Rfc2543(Box<Rfc2543>),
}

/// What an RFC 2543 request is matched on (§17.2.3).
#[derive(Debug, Clone)]
pub(crate) struct Rfc2543 {
    pub(crate) call_id: Box<str>,
    pub(crate) cseq: u32,
    pub(crate) from_tag: Option<Box<str>>,
    pub(crate) to_tag: Option<Box<str>>,
    /// The top Via, re-encoded and lowercased.
    pub(crate) via: Box<str>,
    pub(crate) uri: Uri<'static>,
}

/// What a request is looking for, by method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Want {
    /// Its own transaction: a retransmission (ACK: the INVITE's).
    Same,
    /// The transaction a CANCEL cancels: same key, any method but CANCEL.
    CancelTarget,
}

/// The matching view of a received request, borrowed from it.
pub(crate) struct ReqKey<'r> {
    via: Via<'r>,
    cseq: u32,
    /// From and To tags, Call-ID: parsed only for RFC 2543 requests.
    rfc2543: Option<(NameAddr<'r>, NameAddr<'r>, &'r str)>,
    uri: &'r Uri<'r>,
}

impl<'r> ReqKey<'r> {
    /// Parses what matching needs: top Via and CSeq always; Call-ID, From
    /// and To when the branch lacks the magic cookie.
    pub(crate) fn of(req: &'r SipRequest<'r>) -> Result<ReqKey<'r>, TransactionError> {
        let h = &req.headers;
        let via = h.top_via().map_err(|_| TransactionError::BadVia)?;
        let cseq = h.cseq().map_err(|_| TransactionError::BadCSeq)?;
        if cseq.method != req.method {
            return Err(TransactionError::CSeqMethodMismatch);
        }
        let rfc2543 = if via.has_rfc3261_branch() {
            None
        } else {
            let call_id = h.call_id().map_err(|_| TransactionError::BadCallId)?;
            let from = h.from_addr().map_err(|_| TransactionError::BadFrom)?;
            let to = h.to_addr().map_err(|_| TransactionError::BadTo)?;
            Some((from, to, call_id))
        };
        Ok(ReqKey {
            via,
            cseq: cseq.seq,
            rfc2543,
            uri: &req.uri,
        })
    }

    /// The index key: lowercased branch (RFC 3261) or Call-ID (RFC 2543).
    pub(crate) fn index_key<R>(&self, f: impl FnOnce(bool, &str) -> R) -> R {
        match &self.rfc2543 {
            None => with_lower(self.via.branch().unwrap_or(""), |b| f(true, b)),
            Some((_, _, call_id)) => f(false, call_id),
        }
    }

    /// Whether a transaction created with `m` for `tx_method`, whose last
    /// response carried `response_tag`, is the one this request (of
    /// `method`) wants.
    pub(crate) fn matches(
        &self,
        method: &Method<'_>,
        want: Want,
        m: &ServerMatch,
        tx_method: &Method<'_>,
        response_tag: Option<&str>,
    ) -> bool {
        let method_ok = match want {
            Want::Same if *method == Method::Ack => *tx_method == Method::Invite,
            Want::Same => tx_method == method,
            Want::CancelTarget => *tx_method != Method::Cancel,
        };
        if !method_ok {
            return false;
        }
        match (m, &self.rfc2543) {
            (ServerMatch::Branch { host, port, .. }, None) => {
                // The index already compared the branch.
                self.via.host.eq_ignore_ascii_case(host) && self.via.port == *port
            }
            (ServerMatch::Rfc2543(k), Some((from, to, call_id))) => {
                let to_ok = if *method == Method::Ack && want == Want::Same {
                    eq_tag(to.tag(), response_tag)
                } else {
                    eq_tag(to.tag(), k.to_tag.as_deref())
                };
                to_ok
                    && *k.call_id == **call_id
                    && k.cseq == self.cseq
                    && eq_tag(from.tag(), k.from_tag.as_deref())
                    && *k.via == *via_key(&self.via)
                    && k.uri.equivalent(self.uri)
            }
            _ => false,
        }
    }

    /// The owned key a new transaction keeps.
    pub(crate) fn to_match(&self) -> ServerMatch {
        match &self.rfc2543 {
            None => ServerMatch::Branch {
                branch: self.via.branch().unwrap_or("").to_ascii_lowercase().into(),
                host: self.via.host.as_ref().into(),
                port: self.via.port,
            },
            Some((from, to, call_id)) => ServerMatch::Rfc2543(Box::new(Rfc2543 {
                call_id: (*call_id).into(),
                cseq: self.cseq,
                from_tag: from.tag().map(Into::into),
                to_tag: to.tag().map(Into::into),
                via: via_key(&self.via).into(),
                uri: self.uri.clone().into_owned(),
            })),
        }
    }
}

/// The top Via as compared for RFC 2543 matching: re-encoded (so LWS and
/// folding do not matter) and lowercased.
fn via_key(via: &Via<'_>) -> String {
    via.to_string().to_ascii_lowercase()
}

impl ServerMatch {
    /// Which index the transaction is in, and under what key.
    pub(crate) fn index_key(&self) -> (bool, &str) {
        match self {
            ServerMatch::Branch { branch, .. } => (true, branch),
            ServerMatch::Rfc2543(k) => (false, &k.call_id),
        }
    }
}

/// The lowercased branch of a request msrpgw sends, checked: a top Via
/// that parses, a branch with the magic cookie, a CSeq whose method is the
/// request's.
pub(crate) fn own_branch(req: &SipRequest<'_>) -> Result<Box<str>, TransactionError> {
    let via = req
        .headers
        .top_via()
        .map_err(|_| TransactionError::BadVia)?;
    let branch = via.branch().ok_or(TransactionError::MissingBranch)?;
    if !via.has_rfc3261_branch() {
        return Err(TransactionError::BranchWithoutCookie);
    }
    let cseq = req.headers.cseq().map_err(|_| TransactionError::BadCSeq)?;
    if cseq.method != req.method {
        return Err(TransactionError::CSeqMethodMismatch);
    }
    Ok(branch.to_ascii_lowercase().into())
}
