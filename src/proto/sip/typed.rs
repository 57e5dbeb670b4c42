//! Typed views of the header values a gateway reads (RFC 3261 §20, RFC 3581
//! `rport`, RFC 3325 P-Asserted-Identity), computed lazily from
//! [`Headers`]: a value is parsed only when asked for, so framing and
//! header splitting stay cheap.
//!
//! Owns: [`Via`] (and [`Transport`]), [`CSeq`], [`MediaType`],
//! [`RetryAfter`], [`Warning`], [`Contact`], option-tag lists, the
//! single-value checks of those headers, and the tolerance rule for empty
//! parameters (below; the lexing is `lex::parse_params_skip_empty`).
//!
//! Must not: parse URIs or name-addr itself (that is `uri` and `addr`),
//! decide which response a problem deserves (that is `validate`).
//!
//! Empty parameters: RFC 3428 §10 prints `;;branch=` (F3) and `;;tag=` (F4).
//! Strict RFC 3261 grammar has no empty `generic-param`, but such a message
//! is unambiguous, so Via and name-addr views skip empty parameters (`;;`,
//! trailing `;`) in requests and responses alike. Empty list *elements*
//! (`Via: a, , b`) stay errors, which is what RFC 4475 `badinv01` needs.

use std::borrow::Cow;
use std::fmt;

use super::addr::NameAddr;
use super::error::{SipError, SipErrorKind};
use super::header::{HeaderName, Headers, first_comma_item};
use super::message::Method;
use crate::proto::lex::{
    Param, drop_empty_params, find_param, has_empty_param, is_token, is_token_str, is_wsp,
    parse_decimal, parse_params_skip_empty, skip_lws, split_quoted, trim_lws,
};

/// Via transport (RFC 3261 §20.42 `transport`; WS/WSS from RFC 7118).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport<'a> {
    Udp,
    Tcp,
    Tls,
    Sctp,
    TlsSctp,
    Ws,
    Wss,
    /// Any other token, as written.
    Other(Cow<'a, str>),
}

impl<'a> Transport<'a> {
    /// Case-insensitive, as RFC 3261 §7.3.1 makes tokens in header values.
    pub fn parse(s: &'a str) -> Transport<'a> {
        // Uppercased into a stack buffer and matched: looping over a table
        // of variants copied the table on every Via parsed.
        let mut buf = [0u8; 8];
        if let Some(upper) = buf.get_mut(..s.len()) {
            upper.copy_from_slice(s.as_bytes());
            upper.make_ascii_uppercase();
            match &*upper {
                b"UDP" => return Transport::Udp,
                b"TCP" => return Transport::Tcp,
                b"TLS" => return Transport::Tls,
                b"SCTP" => return Transport::Sctp,
                b"TLS-SCTP" => return Transport::TlsSctp,
                b"WS" => return Transport::Ws,
                b"WSS" => return Transport::Wss,
                _ => {}
            }
        }
        Transport::Other(Cow::Borrowed(s))
    }

    pub fn as_str(&self) -> &str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
            Transport::Sctp => "SCTP",
            Transport::TlsSctp => "TLS-SCTP",
            Transport::Ws => "WS",
            Transport::Wss => "WSS",
            Transport::Other(s) => s,
        }
    }

    /// TCP, TLS, SCTP, WS: transports that carry a byte stream.
    pub fn is_reliable(&self) -> bool {
        !matches!(self, Transport::Udp | Transport::Other(_))
    }

    pub fn into_owned(self) -> Transport<'static> {
        match self {
            Transport::Other(s) => Transport::Other(Cow::Owned(s.into_owned())),
            Transport::Udp => Transport::Udp,
            Transport::Tcp => Transport::Tcp,
            Transport::Tls => Transport::Tls,
            Transport::Sctp => Transport::Sctp,
            Transport::TlsSctp => Transport::TlsSctp,
            Transport::Ws => Transport::Ws,
            Transport::Wss => Transport::Wss,
        }
    }
}

impl fmt::Display for Transport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One Via value (RFC 3261 §20.42, §25.1 `via-parm`; RFC 3581 `rport`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via<'a> {
    /// `SIP` in practice.
    pub protocol: Cow<'a, str>,
    /// `2.0` in practice.
    pub version: Cow<'a, str>,
    pub transport: Transport<'a>,
    /// sent-by host: hostname, IPv4, or IPv6 reference with brackets.
    pub host: Cow<'a, str>,
    pub port: Option<u16>,
    /// Every via-param in order (branch, received, rport, maddr, ttl, others).
    pub params: Vec<Param<'a>>,
}

impl<'a> Via<'a> {
    /// A `SIP/2.0/<transport> host[:port];branch=<branch>` value to put on
    /// an outgoing request.
    pub fn new(
        transport: Transport<'a>,
        host: impl Into<Cow<'a, str>>,
        port: Option<u16>,
        branch: impl Into<Cow<'a, str>>,
    ) -> Via<'a> {
        Via {
            protocol: Cow::Borrowed("SIP"),
            version: Cow::Borrowed("2.0"),
            transport,
            host: host.into(),
            port,
            params: vec![Param::new("branch", Some(branch.into()))],
        }
    }

    /// RFC 3261 §25.1 `via-parm = sent-protocol LWS sent-by *( SEMI
    /// via-params )`, `sent-protocol = protocol-name SLASH protocol-version
    /// SLASH transport`, `sent-by = host [ COLON port ]`. LWS is allowed
    /// around `/`, `:`, `;` and `=`. Error offsets are relative to `s`.
    pub fn parse(s: &'a str) -> Result<Via<'a>, SipError> {
        let b = s.as_bytes();
        let bad = |at: usize| SipError::new(SipErrorKind::BadVia, at);
        let mut i = skip_lws(b, 0);
        let (protocol, j) = token_at(s, i).ok_or(bad(i))?;
        i = expect_slash(b, j).ok_or(bad(j))?;
        let (version, j) = token_at(s, i).ok_or(bad(i))?;
        i = expect_slash(b, j).ok_or(bad(j))?;
        let (transport, j) = token_at(s, i).ok_or(bad(i))?;
        i = skip_lws(b, j);
        if i == j {
            return Err(bad(i));
        }
        let host_start = i;
        if b.get(i) == Some(&b'[') {
            while i < b.len() && (b[i].is_ascii_hexdigit() || matches!(b[i], b':' | b'.' | b'[')) {
                i += 1;
            }
            if b.get(i) != Some(&b']') {
                return Err(bad(i));
            }
            i += 1;
        } else {
            while i < b.len()
                && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'-' | b'.' | b'_'))
            {
                i += 1;
            }
        }
        if i == host_start {
            return Err(bad(i));
        }
        let host = &s[host_start..i];
        i = skip_lws(b, i);
        let mut port = None;
        if b.get(i) == Some(&b':') {
            i = skip_lws(b, i + 1);
            let ps = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            port = Some(
                parse_decimal(&s[ps..i], u64::from(u16::MAX))
                    .and_then(|p| u16::try_from(p).ok())
                    .ok_or(bad(ps))?,
            );
            i = skip_lws(b, i);
        }
        let params = parse_params_skip_empty(&s[i..], via_value_char).map_err(|at| bad(i + at))?;
        let via = Via {
            protocol: Cow::Borrowed(protocol),
            version: Cow::Borrowed(version),
            transport: Transport::parse(transport),
            host: Cow::Borrowed(host),
            port,
            params,
        };
        // RFC 3261 §20.42 / RFC 3581: the typed params must be well-formed.
        let typed_ok = match via.param("rport") {
            Some(Some(v)) => parse_decimal(v, u64::from(u16::MAX)).is_some(),
            _ => true,
        } && match via.param("ttl") {
            Some(Some(v)) => parse_decimal(v, 255).is_some(),
            Some(None) => false,
            None => true,
        } && !matches!(via.param("branch"), Some(None))
            && !matches!(via.param("received"), Some(None))
            && !matches!(via.param("maddr"), Some(None));
        if !typed_ok {
            return Err(bad(i));
        }
        Ok(via)
    }

    /// A via-param by case-insensitive name; `Some(None)` when present
    /// without a value.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        find_param(&self.params, name)
    }

    pub fn branch(&self) -> Option<&str> {
        self.param("branch").flatten()
    }

    pub fn received(&self) -> Option<&str> {
        self.param("received").flatten()
    }

    /// RFC 3581: `None` when absent, `Some(None)` when present without a
    /// value (the client asks for it), `Some(Some(port))` when filled in.
    pub fn rport(&self) -> Option<Option<u16>> {
        self.param("rport").map(|v| {
            v.and_then(|p| parse_decimal(p, u64::from(u16::MAX)))
                .and_then(|p| u16::try_from(p).ok())
        })
    }

    pub fn maddr(&self) -> Option<&str> {
        self.param("maddr").flatten()
    }

    pub fn ttl(&self) -> Option<u8> {
        self.param("ttl")
            .flatten()
            .and_then(|t| parse_decimal(t, 255))
            .and_then(|t| u8::try_from(t).ok())
    }

    /// The RFC 3261 §8.1.1.7 magic cookie is present: the branch can be
    /// used for transaction matching. Otherwise fall back to RFC 2543
    /// matching (RFC 4475 §3.2.1 `badbranch`, §3.4.1 `inv2543`).
    pub fn has_rfc3261_branch(&self) -> bool {
        self.branch()
            .is_some_and(|b| b.len() > 7 && b.starts_with("z9hG4bK"))
    }

    pub fn into_owned(self) -> Via<'static> {
        Via {
            protocol: Cow::Owned(self.protocol.into_owned()),
            version: Cow::Owned(self.version.into_owned()),
            transport: self.transport.into_owned(),
            host: Cow::Owned(self.host.into_owned()),
            port: self.port,
            params: self.params.into_iter().map(Param::into_owned).collect(),
        }
    }
}

impl fmt::Display for Via<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{} {}",
            self.protocol, self.version, self.transport, self.host
        )?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        for p in &self.params {
            write!(f, ";{p}")?;
        }
        Ok(())
    }
}

fn via_value_char(c: u8) -> bool {
    is_token(c) || c == b':'
}

fn token_at(s: &str, i: usize) -> Option<(&str, usize)> {
    let b = s.as_bytes();
    let mut j = i;
    while j < b.len() && is_token(b[j]) {
        j += 1;
    }
    (j > i).then(|| (&s[i..j], j))
}

/// `SLASH = SWS "/" SWS`: the index after it.
fn expect_slash(b: &[u8], i: usize) -> Option<usize> {
    let i = skip_lws(b, i);
    (b.get(i) == Some(&b'/')).then(|| skip_lws(b, i + 1))
}

/// name-addr / addr-spec with header params (RFC 3261 §25.1 `from-spec`,
/// `contact-param`, `route-param`), tolerating empty parameters. Borrows in
/// the common case; only a value with `;;` is copied and re-parsed.
pub fn parse_name_addr(s: &str) -> Result<NameAddr<'_>, usize> {
    match NameAddr::parse(s) {
        Ok(a) => Ok(a),
        Err(e) if has_empty_param(s) => NameAddr::parse(&drop_empty_params(s))
            .map(NameAddr::into_owned)
            .map_err(|_| e.offset),
        Err(e) => Err(e.offset),
    }
}

/// CSeq (RFC 3261 §20.16): `1*DIGIT LWS Method`, number at most 2^32-1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CSeq<'a> {
    pub seq: u32,
    pub method: Method<'a>,
}

impl<'a> CSeq<'a> {
    pub fn parse(s: &'a str) -> Result<CSeq<'a>, SipError> {
        let b = s.as_bytes();
        let bad = |k, at| SipError::new(k, at);
        let mut i = skip_lws(b, 0);
        let ds = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == ds {
            return Err(bad(SipErrorKind::BadCSeq, ds));
        }
        let seq = parse_decimal(&s[ds..i], u64::from(u32::MAX))
            .and_then(|n| u32::try_from(n).ok())
            .ok_or(bad(SipErrorKind::CSeqTooLarge, ds))?;
        let j = skip_lws(b, i);
        if j == i {
            return Err(bad(SipErrorKind::BadCSeq, i));
        }
        let (m, k) = token_at(s, j).ok_or(bad(SipErrorKind::BadCSeq, j))?;
        if skip_lws(b, k) != b.len() {
            return Err(bad(SipErrorKind::BadCSeq, k));
        }
        Ok(CSeq {
            seq,
            method: Method::parse(m),
        })
    }

    pub fn into_owned(self) -> CSeq<'static> {
        CSeq {
            seq: self.seq,
            method: self.method.into_owned(),
        }
    }
}

impl fmt::Display for CSeq<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}

/// Content-Type value (RFC 3261 §20.15 `media-type = m-type SLASH
/// m-subtype *( SEMI m-parameter )`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaType<'a> {
    pub mtype: Cow<'a, str>,
    pub subtype: Cow<'a, str>,
    pub params: Vec<Param<'a>>,
}

impl<'a> MediaType<'a> {
    pub fn parse(s: &'a str) -> Result<MediaType<'a>, SipError> {
        let b = s.as_bytes();
        let bad = |at| SipError::new(SipErrorKind::BadContentType, at);
        let i = skip_lws(b, 0);
        let (t, j) = token_at(s, i).ok_or(bad(i))?;
        let i = expect_slash(b, j).ok_or(bad(j))?;
        let (sub, j) = token_at(s, i).ok_or(bad(i))?;
        let params = parse_params_skip_empty(&s[j..], is_token).map_err(|at| bad(j + at))?;
        Ok(MediaType {
            mtype: Cow::Borrowed(t),
            subtype: Cow::Borrowed(sub),
            params,
        })
    }

    /// Case-insensitive comparison of `type/subtype`.
    pub fn is(&self, mtype: &str, subtype: &str) -> bool {
        self.mtype.eq_ignore_ascii_case(mtype) && self.subtype.eq_ignore_ascii_case(subtype)
    }

    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        find_param(&self.params, name)
    }

    pub fn into_owned(self) -> MediaType<'static> {
        MediaType {
            mtype: Cow::Owned(self.mtype.into_owned()),
            subtype: Cow::Owned(self.subtype.into_owned()),
            params: self.params.into_iter().map(Param::into_owned).collect(),
        }
    }
}

impl fmt::Display for MediaType<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.mtype, self.subtype)?;
        for p in &self.params {
            write!(f, ";{p}")?;
        }
        Ok(())
    }
}

/// Retry-After (RFC 3261 §20.33): `delta-seconds [ comment ] *( SEMI
/// retry-param )`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryAfter<'a> {
    pub seconds: u32,
    /// The comment's text without its outer parentheses.
    pub comment: Option<&'a str>,
    pub params: Vec<Param<'a>>,
}

impl<'a> RetryAfter<'a> {
    pub fn parse(s: &'a str) -> Result<RetryAfter<'a>, SipError> {
        let b = s.as_bytes();
        let bad = |at| SipError::new(SipErrorKind::BadRetryAfter, at);
        let mut i = skip_lws(b, 0);
        let ds = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let seconds = parse_decimal(&s[ds..i], u64::from(u32::MAX))
            .and_then(|n| u32::try_from(n).ok())
            .ok_or(bad(ds))?;
        i = skip_lws(b, i);
        let mut comment = None;
        if b.get(i) == Some(&b'(') {
            // comment = LPAREN *(ctext / quoted-pair / comment) RPAREN;
            // nesting is counted, not recursed, so depth costs nothing.
            let cs = i;
            let mut depth = 0usize;
            loop {
                match b.get(i) {
                    None => return Err(bad(cs)),
                    Some(b'\\') => i += 1,
                    Some(b'(') => depth += 1,
                    Some(b')') => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    Some(_) => {}
                }
                i += 1;
            }
            comment = s.get(cs + 1..i);
            if comment.is_none() {
                return Err(bad(cs));
            }
            i += 1;
        }
        let params = parse_params_skip_empty(&s[i..], is_token).map_err(|at| bad(i + at))?;
        Ok(RetryAfter {
            seconds,
            comment,
            params,
        })
    }
}

/// One Warning value (RFC 3261 §20.43): `warn-code SP warn-agent SP
/// warn-text`, warn-code three digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning<'a> {
    pub code: u16,
    pub agent: &'a str,
    /// The quoted text as written, quotes included.
    pub text: &'a str,
}

impl<'a> Warning<'a> {
    pub fn parse(s: &'a str) -> Result<Warning<'a>, SipError> {
        let bad = |at| SipError::new(SipErrorKind::BadWarning, at);
        let b = s.as_bytes();
        let code = match b {
            [a, b2, c, sp, ..] if is_wsp(*sp) && [a, b2, c].iter().all(|d| d.is_ascii_digit()) => {
                u16::from(a - b'0') * 100 + u16::from(b2 - b'0') * 10 + u16::from(c - b'0')
            }
            _ => return Err(bad(0)),
        };
        let rest = s[4..].trim_start_matches([' ', '\t']);
        let Some(sp) = rest.find([' ', '\t']) else {
            return Err(bad(4));
        };
        let agent = &rest[..sp];
        let text = trim_lws(&rest[sp..]);
        match split_quoted(text) {
            Ok((_, tail)) if trim_lws(tail).is_empty() && !agent.is_empty() => {}
            _ => return Err(bad(4 + sp)),
        }
        Ok(Warning { code, agent, text })
    }
}

/// The Contact header set (RFC 3261 §20.10): `*` (REGISTER removing all
/// bindings) or a list of addresses (empty when there is no Contact).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contact<'a> {
    Star,
    List(Vec<NameAddr<'a>>),
}

impl Contact<'_> {
    pub fn into_owned(self) -> Contact<'static> {
        match self {
            Contact::Star => Contact::Star,
            Contact::List(l) => Contact::List(l.into_iter().map(NameAddr::into_owned).collect()),
        }
    }
}

fn err(kind: SipErrorKind, at: usize) -> SipError {
    SipError::new(kind, at)
}

impl<'a> Headers<'a> {
    /// The only value of a single-value header: `missing` if absent,
    /// `multiple` if repeated.
    fn single(
        &self,
        name: &HeaderName<'_>,
        missing: SipErrorKind,
        multiple: SipErrorKind,
    ) -> Result<(&str, usize), SipError> {
        let mut it = self.get_all(name);
        let Some(h) = it.next() else {
            return Err(err(missing, 0));
        };
        if let Some(h2) = it.next() {
            return Err(err(multiple, h2.offset));
        }
        Ok((&h.value, h.offset))
    }

    /// Like `single` but absence is fine.
    fn optional(
        &self,
        name: &HeaderName<'_>,
        multiple: SipErrorKind,
    ) -> Result<Option<(&str, usize)>, SipError> {
        let mut it = self.get_all(name);
        let Some(h) = it.next() else {
            return Ok(None);
        };
        if let Some(h2) = it.next() {
            return Err(err(multiple, h2.offset));
        }
        Ok(Some((&h.value, h.offset)))
    }

    /// Every Via value, top first (RFC 3261 §20.42; comma-separated values
    /// and repeated headers alike).
    pub fn vias(&self) -> impl Iterator<Item = Result<Via<'_>, SipError>> {
        self.values(&HeaderName::Via).map(|(off, v)| {
            if v.is_empty() {
                return Err(err(SipErrorKind::BadVia, off));
            }
            Via::parse(v).map_err(|e| e.shifted(off))
        })
    }

    /// The topmost Via (where a response goes, RFC 3261 §18.2.2).
    pub fn top_via(&self) -> Result<Via<'_>, SipError> {
        self.vias()
            .next()
            .unwrap_or(Err(err(SipErrorKind::MissingVia, 0)))
    }

    /// RFC 3261 §18.2.1 and RFC 3581 §4: the server records where a
    /// request really came from in its top Via, so responses find the way
    /// back: `received=<ip>` when the sent-by host differs from `ip` (or
    /// `rport` was asked for), and `rport=<port>` when the Via carries an
    /// empty `rport`. Returns whether the Via changed; a missing or
    /// malformed top Via is left alone (validation reports it).
    pub fn stamp_top_via(&mut self, ip: &str, port: u16) -> bool {
        let Some(idx) = self.list.iter().position(|h| h.name == HeaderName::Via) else {
            return false;
        };
        // Read in place: most requests need no stamp (the sent-by is the
        // source address and no rport is asked for), and copying the value
        // first cost an allocation per request.
        let stamped = {
            let value: &str = &self.list[idx].value;
            let first = first_comma_item(value);
            let Ok(mut via) = Via::parse(crate::proto::lex::trim_lws(first)) else {
                return false;
            };
            let wants_rport = via.rport() == Some(None);
            let host = via.host.trim_start_matches('[').trim_end_matches(']');
            if host == ip && !wants_rport {
                return false;
            }
            // Old values are replaced, not repeated.
            let stale = |name: &str| {
                name.eq_ignore_ascii_case("received")
                    || (wants_rport && name.eq_ignore_ascii_case("rport"))
            };
            via.params.retain(|p| !stale(&p.name));
            via.params
                .push(Param::new("received", Some(Cow::Borrowed(ip))));
            if wants_rport {
                via.params
                    .push(Param::new("rport", Some(Cow::Owned(port.to_string()))));
            }
            let rest = value.get(first.len()..).unwrap_or_default();
            format!("{via}{rest}")
        };
        self.list[idx].value = Cow::Owned(stamped);
        self.list[idx].offset = 0;
        true
    }

    /// How many Via values there are (counting comma-separated ones).
    pub fn via_count(&self) -> usize {
        self.values(&HeaderName::Via).count()
    }

    /// From (RFC 3261 §20.20; compact `f`).
    pub fn from_addr(&self) -> Result<NameAddr<'_>, SipError> {
        let (v, off) = self.single(
            &HeaderName::From,
            SipErrorKind::MissingFrom,
            SipErrorKind::MultipleFrom,
        )?;
        parse_name_addr(v).map_err(|at| err(SipErrorKind::BadFrom, off + at))
    }

    /// To (RFC 3261 §20.39; compact `t`).
    pub fn to_addr(&self) -> Result<NameAddr<'_>, SipError> {
        let (v, off) = self.single(
            &HeaderName::To,
            SipErrorKind::MissingTo,
            SipErrorKind::MultipleTo,
        )?;
        parse_name_addr(v).map_err(|at| err(SipErrorKind::BadTo, off + at))
    }

    /// Call-ID (RFC 3261 §20.8; compact `i`): `word [ "@" word ]`. Any
    /// visible ASCII is accepted (a superset of `word`, so Call-IDs from
    /// lax peers still match), whitespace and control characters are not.
    pub fn call_id(&self) -> Result<&str, SipError> {
        let (v, off) = self.single(
            &HeaderName::CallId,
            SipErrorKind::MissingCallId,
            SipErrorKind::MultipleCallId,
        )?;
        match v.bytes().position(|c| !c.is_ascii_graphic()) {
            None if !v.is_empty() => Ok(v),
            p => Err(err(SipErrorKind::BadCallId, off + p.unwrap_or(0))),
        }
    }

    /// CSeq (RFC 3261 §20.16).
    pub fn cseq(&self) -> Result<CSeq<'_>, SipError> {
        let (v, off) = self.single(
            &HeaderName::CSeq,
            SipErrorKind::MissingCSeq,
            SipErrorKind::MultipleCSeq,
        )?;
        CSeq::parse(v).map_err(|e| e.shifted(off))
    }

    /// Max-Forwards (RFC 3261 §20.22): 0..=255, leading zeros allowed
    /// (RFC 4475 `wsinv`: `0068`). `None` when absent (RFC 2543 peers).
    pub fn max_forwards(&self) -> Result<Option<u8>, SipError> {
        let Some((v, off)) =
            self.optional(&HeaderName::MaxForwards, SipErrorKind::MultipleMaxForwards)?
        else {
            return Ok(None);
        };
        parse_decimal(v, 255)
            .and_then(|n| u8::try_from(n).ok())
            .map(Some)
            .ok_or(err(SipErrorKind::BadMaxForwards, off))
    }

    /// Content-Type (RFC 3261 §20.15; compact `c`).
    pub fn content_type(&self) -> Result<Option<MediaType<'_>>, SipError> {
        match self.optional(&HeaderName::ContentType, SipErrorKind::MultipleContentType)? {
            None => Ok(None),
            Some((v, off)) => MediaType::parse(v).map(Some).map_err(|e| e.shifted(off)),
        }
    }

    /// Content-Length as written (RFC 3261 §20.14; compact `l`). The
    /// parser already checked it against the body.
    pub fn content_length(&self) -> Result<Option<u32>, SipError> {
        match self.optional(
            &HeaderName::ContentLength,
            SipErrorKind::MultipleContentLength,
        )? {
            None => Ok(None),
            Some((v, off)) => parse_decimal(v, u64::from(u32::MAX))
                .and_then(|n| u32::try_from(n).ok())
                .map(Some)
                .ok_or(err(SipErrorKind::BadContentLength, off)),
        }
    }

    /// Expires (RFC 3261 §20.19): delta-seconds up to 2^32-1.
    pub fn expires(&self) -> Result<Option<u32>, SipError> {
        match self.optional(&HeaderName::Expires, SipErrorKind::MultipleExpires)? {
            None => Ok(None),
            Some((v, off)) => parse_decimal(v, u64::from(u32::MAX))
                .and_then(|n| u32::try_from(n).ok())
                .map(Some)
                .ok_or(err(SipErrorKind::BadExpires, off)),
        }
    }

    /// Retry-After (RFC 3261 §20.33).
    pub fn retry_after(&self) -> Result<Option<RetryAfter<'_>>, SipError> {
        match self.optional(&HeaderName::RetryAfter, SipErrorKind::MultipleSingleValue)? {
            None => Ok(None),
            Some((v, off)) => RetryAfter::parse(v).map(Some).map_err(|e| e.shifted(off)),
        }
    }

    /// Every Warning value (RFC 3261 §20.43).
    pub fn warnings(&self) -> Result<Vec<Warning<'_>>, SipError> {
        self.values(&HeaderName::Warning)
            .filter(|(_, v)| !v.is_empty())
            .map(|(off, v)| Warning::parse(v).map_err(|e| e.shifted(off)))
            .collect()
    }

    /// Contact (RFC 3261 §20.10; compact `m`). A URI with `?headers` must
    /// be in `<>` (RFC 3261 §20: RFC 4475 §3.1.2.13 `regbadct` is
    /// rejected rather than guessed at).
    pub fn contact(&self) -> Result<Contact<'_>, SipError> {
        let mut list = Vec::new();
        let mut star = None;
        for (off, v) in self.values(&HeaderName::Contact) {
            if v == "*" {
                star = Some(off);
                continue;
            }
            if v.is_empty() {
                return Err(err(SipErrorKind::BadContact, off));
            }
            if !v.contains('<') && v.contains('?') {
                return Err(err(SipErrorKind::ContactNotEnclosed, off));
            }
            list.push(parse_name_addr(v).map_err(|at| err(SipErrorKind::BadContact, off + at))?);
        }
        match star {
            None => Ok(Contact::List(list)),
            Some(_) if list.is_empty() && self.count(&HeaderName::Contact) == 1 => {
                Ok(Contact::Star)
            }
            Some(off) => Err(err(SipErrorKind::BadContact, off)),
        }
    }

    fn addr_list(
        &self,
        name: &HeaderName<'_>,
        kind: SipErrorKind,
    ) -> Result<Vec<NameAddr<'_>>, SipError> {
        let mut out = Vec::new();
        for (off, v) in self.values(name) {
            if v.is_empty() {
                return Err(err(kind, off));
            }
            out.push(parse_name_addr(v).map_err(|at| err(kind, off + at))?);
        }
        Ok(out)
    }

    /// Route values, top first (RFC 3261 §20.34).
    pub fn route(&self) -> Result<Vec<NameAddr<'_>>, SipError> {
        self.addr_list(&HeaderName::Route, SipErrorKind::BadRoute)
    }

    /// Record-Route values, top first (RFC 3261 §20.30).
    pub fn record_route(&self) -> Result<Vec<NameAddr<'_>>, SipError> {
        self.addr_list(&HeaderName::RecordRoute, SipErrorKind::BadRecordRoute)
    }

    /// P-Asserted-Identity values (RFC 3325 §9.1).
    pub fn p_asserted_identity(&self) -> Result<Vec<NameAddr<'_>>, SipError> {
        self.addr_list(
            &HeaderName::PAssertedIdentity,
            SipErrorKind::BadPAssertedIdentity,
        )
    }

    /// Tokens of a comma-separated token list; empty elements skipped.
    fn tokens(&self, name: &HeaderName<'_>) -> Result<Vec<&str>, SipError> {
        let mut out = Vec::new();
        for (off, v) in self.values(name) {
            if v.is_empty() {
                continue;
            }
            if !is_token_str(v) {
                return Err(err(SipErrorKind::BadOptionTag, off));
            }
            out.push(v);
        }
        Ok(out)
    }

    /// Require option tags (RFC 3261 §20.32).
    pub fn require(&self) -> Result<Vec<&str>, SipError> {
        self.tokens(&HeaderName::Require)
    }

    /// Proxy-Require option tags (RFC 3261 §20.29).
    pub fn proxy_require(&self) -> Result<Vec<&str>, SipError> {
        self.tokens(&HeaderName::ProxyRequire)
    }

    /// Supported option tags (RFC 3261 §20.37; compact `k`).
    pub fn supported(&self) -> Result<Vec<&str>, SipError> {
        self.tokens(&HeaderName::Supported)
    }

    /// Unsupported option tags (RFC 3261 §20.40).
    pub fn unsupported(&self) -> Result<Vec<&str>, SipError> {
        self.tokens(&HeaderName::Unsupported)
    }

    /// Allow methods (RFC 3261 §20.5).
    pub fn allow(&self) -> Result<Vec<&str>, SipError> {
        self.tokens(&HeaderName::Allow)
    }

    /// Accept media ranges as written (RFC 3261 §20.1), e.g.
    /// `application/sdp`, `text/*;q=0.5`.
    pub fn accept(&self) -> Vec<&str> {
        self.values(&HeaderName::Accept)
            .map(|(_, v)| v)
            .filter(|v| !v.is_empty())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_names_case_insensitively() {
        let known = [
            ("udp", Transport::Udp),
            ("Tcp", Transport::Tcp),
            ("TLS", Transport::Tls),
            ("sctp", Transport::Sctp),
            ("tls-Sctp", Transport::TlsSctp),
            ("ws", Transport::Ws),
            ("wSs", Transport::Wss),
        ];
        for (text, want) in known {
            assert_eq!(Transport::parse(text), want, "{text}");
            assert_eq!(Transport::parse(text).as_str(), want.as_str());
        }
        for other in ["", "UD", "UDPX", "TLS-SCTPX", "TLS_SCTP", "ÜDP", "DTLS"] {
            assert_eq!(
                Transport::parse(other),
                Transport::Other(Cow::Borrowed(other)),
                "{other}"
            );
        }
    }

    #[test]
    fn via_known_answers() {
        let v = Via::parse("SIP  /   2.0 /UDP 192.0.2.2;branch=390skdjuw").unwrap();
        assert_eq!((&*v.protocol, &*v.version), ("SIP", "2.0"));
        assert_eq!(v.transport, Transport::Udp);
        assert_eq!(v.host, "192.0.2.2");
        assert_eq!(v.branch(), Some("390skdjuw"));
        assert!(!v.has_rfc3261_branch());

        let v = Via::parse("SIP / 2.0 / TCP spindle.example.com ; branch = z9hG4bK9ikj8").unwrap();
        assert_eq!(v.transport, Transport::Tcp);
        assert_eq!(v.host, "spindle.example.com");
        assert_eq!(v.branch(), Some("z9hG4bK9ikj8"));
        assert!(v.has_rfc3261_branch());

        let v = Via::parse(
            "SIP/2.0/UDP [2001:db8::1] : 5070;rport;received=2001:db8::9;maddr=224.2.0.1;ttl=16;x",
        )
        .unwrap();
        assert_eq!(v.host, "[2001:db8::1]");
        assert_eq!(v.port, Some(5070));
        assert_eq!(v.rport(), Some(None));
        assert_eq!(v.received(), Some("2001:db8::9"));
        assert_eq!(v.maddr(), Some("224.2.0.1"));
        assert_eq!(v.ttl(), Some(16));
        assert_eq!(v.param("X"), Some(None));
        assert_eq!(
            v.to_string(),
            "SIP/2.0/UDP [2001:db8::1]:5070;rport;received=2001:db8::9;maddr=224.2.0.1;ttl=16;x"
        );

        let v = Via::parse("SIP/2.0/UNKNOWN t4.example.com;rport=5061;branch=z9hG4bKa").unwrap();
        assert_eq!(v.transport, Transport::Other("UNKNOWN".into()));
        assert_eq!(v.rport(), Some(Some(5061)));

        // Tolerated: empty parameters (RFC 3428 F3).
        let v =
            Via::parse("SIP/2.0/TCP user1pc.domain.com;;branch=z9hG4bK776sgdkse; received=1.2.3.4")
                .unwrap();
        assert_eq!(v.branch(), Some("z9hG4bK776sgdkse"));
        assert_eq!(v.received(), Some("1.2.3.4"));
        assert_eq!(v.params.len(), 2);

        let built = Via::new(Transport::Tls, "gw.example.net", Some(5061), "z9hG4bKx");
        assert_eq!(
            built.to_string(),
            "SIP/2.0/TLS gw.example.net:5061;branch=z9hG4bKx"
        );
        assert_eq!(Via::parse(&built.to_string()).unwrap(), built);
    }

    #[test]
    fn via_errors() {
        for (s, at) in [
            ("", 0),
            (";", 0),
            ("SIP/2.0/UDP", 11),
            ("SIP/2.0 UDP h", 7),
            ("SIP/2.0/UDP h:99999", 14),
            ("SIP/2.0/UDP h:", 14),
            ("SIP/2.0/UDP h x", 14),
            ("SIP/2.0/UDP h;rport=x", 13),
            ("SIP/2.0/UDP h;ttl=256", 13),
            ("SIP/2.0/UDP h;branch", 13),
            ("SIP/2.0/UDP h;a=\"x", 14),
            ("SIP/2.0/UDP h;=x", 14),
            ("SIP/2.0/UDP [::1", 16),
        ] {
            let e = Via::parse(s).unwrap_err();
            assert_eq!((e.kind, e.offset), (SipErrorKind::BadVia, at), "{s:?}");
        }
    }

    #[test]
    fn cseq_and_scalars() {
        let c = CSeq::parse("0009 INVITE").unwrap();
        assert_eq!((c.seq, &c.method), (9, &Method::Invite));
        assert_eq!(c.to_string(), "9 INVITE");
        assert_eq!(CSeq::parse("4294967295 ACK").unwrap().seq, u32::MAX);
        let e = CSeq::parse("36893488147419103232 REGISTER").unwrap_err();
        assert_eq!((e.kind, e.offset), (SipErrorKind::CSeqTooLarge, 0));
        assert_eq!(CSeq::parse("1").unwrap_err().kind, SipErrorKind::BadCSeq);
        assert_eq!(
            CSeq::parse("1INVITE").unwrap_err().kind,
            SipErrorKind::BadCSeq
        );
        assert_eq!(CSeq::parse("1 INVITE x").unwrap_err().offset, 8);
        assert_eq!(
            CSeq::parse("-1 INVITE").unwrap_err().kind,
            SipErrorKind::BadCSeq
        );
    }

    #[test]
    fn media_retry_warning() {
        let m = MediaType::parse("multipart/mixed;boundary=7a9cbec02ceef655").unwrap();
        assert!(m.is("Multipart", "MIXED"));
        assert_eq!(m.param("boundary"), Some(Some("7a9cbec02ceef655")));
        assert_eq!(m.to_string(), "multipart/mixed;boundary=7a9cbec02ceef655");
        assert!(MediaType::parse("text").is_err());
        assert!(MediaType::parse("text/plain x").is_err());

        let r = RetryAfter::parse("18000;duration=3600").unwrap();
        assert_eq!((r.seconds, r.comment), (18000, None));
        let r = RetryAfter::parse("120 (I'm in a (meeting)) ;duration=60").unwrap();
        assert_eq!(r.comment, Some("I'm in a (meeting)"));
        assert_eq!(r.params.len(), 1);
        assert!(RetryAfter::parse("949302838503028349304023988").is_err());
        assert!(RetryAfter::parse("5 (unclosed").is_err());
        assert!(RetryAfter::parse("5 ((((").is_err());

        let w = Warning::parse("399 gw.example.net \"no SDP\"").unwrap();
        assert_eq!(
            (w.code, w.agent, w.text),
            (399, "gw.example.net", "\"no SDP\"")
        );
        assert!(Warning::parse("1812 overture \"In Progress\"").is_err());
        assert!(Warning::parse("399 agent").is_err());
        assert!(Warning::parse("39").is_err());
    }

    #[test]
    fn empty_param_detection() {
        assert!(has_empty_param("sip:a@b;;tag=1"));
        assert!(has_empty_param("<sip:a@b>;tag=1;"));
        assert!(!has_empty_param("\"a;;b\" <sip:a@b;;x>;tag=1"));
        assert!(!has_empty_param("sip:a@b;tag=1"));
    }

    fn via_headers(v: &str) -> Headers<'static> {
        let mut h = Headers::new();
        h.push(HeaderName::Via, v.to_owned());
        h
    }

    #[test]
    fn stamp_top_via_rfc3581() {
        // RFC 3581 §4 example: rport asked for, received and rport filled.
        let mut h = via_headers("SIP/2.0/UDP 10.1.1.1:4540;rport;branch=z9hG4bKkjshdyff");
        assert!(h.stamp_top_via("192.0.2.1", 9988));
        let v = h.top_via().expect("via");
        assert_eq!(v.received(), Some("192.0.2.1"));
        assert_eq!(v.rport(), Some(Some(9988)));
        assert_eq!(v.branch(), Some("z9hG4bKkjshdyff"));
        // RFC 3261 §18.2.1: sent-by differs, no rport: received only.
        let mut h = via_headers("SIP/2.0/UDP host.example.com;branch=z9hG4bK1, SIP/2.0/UDP p");
        assert!(h.stamp_top_via("192.0.2.7", 5060));
        assert_eq!(h.top_via().expect("via").received(), Some("192.0.2.7"));
        assert_eq!(h.top_via().expect("via").rport(), None);
        assert_eq!(h.via_count(), 2, "the other Via values stay");
        // Same address, no rport: nothing to add.
        let mut h = via_headers("SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bK1");
        assert!(!h.stamp_top_via("192.0.2.7", 5060));
        // IPv6 sent-by in brackets equals the bare address.
        let mut h = via_headers("SIP/2.0/UDP [2001:db8::9];branch=z9hG4bK1");
        assert!(!h.stamp_top_via("2001:db8::9", 5060));
        // Malformed or absent Via: untouched.
        let mut h = via_headers("garbage");
        assert!(!h.stamp_top_via("192.0.2.7", 5060));
        assert!(!Headers::new().stamp_top_via("192.0.2.7", 5060));
    }
}
