//! The client side of an RFC 4976 relay reservation, without I/O: the AUTH
//! requests, the HTTP Digest answer to the relay's challenge (RFC 4976
//! §5.1, §9.1; RFC 2617 §3.2.2 with `qop=auth`), and what the relay's
//! answer means (Use-Path, Expires, when to refresh).
//!
//! Owns: building AUTH (To-Path = the relay, From-Path = our URI, Expires),
//! computing the digest `response` with `uri` = the rightmost To-Path URI
//! (the relay's, RFC 4976 §9.1) and putting `uri` in the credentials,
//! retrying once per fresh challenge (and with the relay's Min-Expires or
//! Max-Expires after a 423), and the refresh time.
//!
//! Must not: open connections, read clocks (the caller gives `now`), or
//! generate randomness (the caller gives the cnonce and transaction ids).

use std::borrow::Cow;
use std::fmt;
use std::time::{Duration, Instant};

use md5::{Digest as _, Md5};

use crate::config::Credentials;
use crate::proto::msrp::{DigestChallenge, DigestCredentials, Message, MsrpUri, RequestBuilder};

/// Expires asked for when the configuration says nothing (RFC 4976 §5.1
/// leaves it to the client; Kamailio's test relay caps at 600 s).
pub const DEFAULT_EXPIRES: u32 = 600;
/// Challenges answered in a row before giving up (wrong password loops).
const MAX_CHALLENGES: u32 = 2;

/// What the relay's response to AUTH means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthStep {
    /// Send this AUTH next (answer to a challenge or a 423).
    Retry(Box<Message<'static>>),
    /// Reserved: `use_path` goes before our URI in a=path; refresh by
    /// [`RelayAuth::refresh_at`].
    Reserved {
        use_path: Vec<MsrpUri<'static>>,
        expires: u32,
    },
    /// The relay refused (status and why).
    Refused { status: u16, reason: String },
    /// Not the response to our AUTH.
    Ignored,
}

/// Why a reservation failed, for the caller's error event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthError(pub String);

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One reservation at one relay.
#[derive(Debug, Clone)]
pub struct RelayAuth {
    relay: MsrpUri<'static>,
    local: MsrpUri<'static>,
    credentials: Option<Credentials>,
    expires: u32,
    tid_prefix: String,
    next: u64,
    /// The transaction id of the AUTH in flight.
    tid: String,
    /// Digest nonce count (RFC 2617 `nc`): requests sent with `nonce`.
    nc: u32,
    nonce: String,
    challenges: u32,
    /// 423s answered (each adjusts Expires once).
    intervals: u32,
    /// The last challenge: an AUTH resent after a 423 answers it again
    /// (the relay still wants credentials).
    last_challenge: Option<DigestChallenge<'static>>,
}

impl RelayAuth {
    /// `relay`: the configured relay URI (no session-id); `local`: our
    /// session's URI; `tid_prefix`: random ident characters.
    pub fn new(
        relay: MsrpUri<'static>,
        local: MsrpUri<'static>,
        credentials: Option<Credentials>,
        expires: u32,
        tid_prefix: String,
    ) -> RelayAuth {
        RelayAuth {
            relay,
            local,
            credentials,
            expires,
            tid_prefix,
            next: 1,
            tid: String::new(),
            nc: 0,
            nonce: String::new(),
            challenges: 0,
            intervals: 0,
            last_challenge: None,
        }
    }

    fn build(&mut self, authorization: Option<DigestCredentials<'static>>) -> Message<'static> {
        self.tid = format!("{}a{:x}", self.tid_prefix, self.next);
        self.next += 1;
        let mut b = RequestBuilder::auth(self.tid.clone())
            .to_path(vec![self.relay.clone()])
            .from_path(vec![self.local.clone()])
            .expires(self.expires);
        if let Some(c) = authorization {
            b = b.authorization(c);
        }
        // Every part is ours and valid; a failure here would be a bug, so
        // fall back to a bare request rather than panic.
        b.build().unwrap_or_else(|_| Message {
            tid: Cow::Owned(self.tid.clone()),
            kind: crate::proto::msrp::Kind::Request(crate::proto::msrp::Method::Auth),
            headers: Default::default(),
            body: None,
            flag: crate::proto::msrp::Flag::End,
        })
    }

    /// The first AUTH (also for a refresh: a relay that wants credentials
    /// challenges again).
    pub fn start(&mut self) -> Message<'static> {
        self.challenges = 0;
        self.intervals = 0;
        self.build(None)
    }

    /// Reads the relay's response. `cnonce` is used if it is a challenge.
    pub fn on_response(&mut self, resp: &Message<'_>, cnonce: &str) -> AuthStep {
        if resp.tid != self.tid {
            return AuthStep::Ignored;
        }
        let Some(code) = resp.code() else {
            return AuthStep::Ignored;
        };
        let reason = || match &resp.kind {
            crate::proto::msrp::Kind::Response {
                comment: Some(c), ..
            } => format!("{code} {c}"),
            _ => code.to_string(),
        };
        match code {
            200 => AuthStep::Reserved {
                use_path: resp
                    .headers
                    .use_path
                    .iter()
                    .cloned()
                    .map(MsrpUri::into_owned)
                    .collect(),
                expires: resp.headers.expires.unwrap_or(self.expires),
            },
            401 => {
                let (Some(ch), Some(cred)) = (&resp.headers.www_authenticate, &self.credentials)
                else {
                    return AuthStep::Refused {
                        status: code,
                        reason: format!("{}: no credentials configured", reason()),
                    };
                };
                self.challenges += 1;
                if self.challenges > MAX_CHALLENGES {
                    return AuthStep::Refused {
                        status: code,
                        reason: format!("{}: credentials rejected", reason()),
                    };
                }
                let ch = ch.as_ref().clone().into_owned();
                let creds = self.credentials_for(&ch, &cred.clone(), cnonce);
                self.last_challenge = Some(ch);
                AuthStep::Retry(Box::new(self.build(Some(creds))))
            }
            423 => {
                let fixed = resp
                    .headers
                    .min_expires
                    .filter(|&m| m > self.expires)
                    .or(resp.headers.max_expires.filter(|&m| m < self.expires));
                match fixed {
                    Some(e) if self.intervals < MAX_CHALLENGES => {
                        self.expires = e;
                        self.intervals += 1;
                        // Credentials again for the same challenge (next
                        // nonce count), else the relay challenges anew.
                        let creds = match (self.last_challenge.clone(), self.credentials.clone()) {
                            (Some(ch), Some(cred)) => {
                                Some(self.credentials_for(&ch, &cred, cnonce))
                            }
                            _ => None,
                        };
                        AuthStep::Retry(Box::new(self.build(creds)))
                    }
                    _ => AuthStep::Refused {
                        status: code,
                        reason: reason(),
                    },
                }
            }
            _ => AuthStep::Refused {
                status: code,
                reason: reason(),
            },
        }
    }

    /// RFC 4976 §9.1: `uri` is the relay's URI (the rightmost To-Path URI
    /// of the AUTH), method `AUTH`, qop `auth` when offered.
    fn credentials_for(
        &mut self,
        ch: &DigestChallenge<'static>,
        cred: &Credentials,
        cnonce: &str,
    ) -> DigestCredentials<'static> {
        if self.nonce != ch.nonce {
            self.nonce = ch.nonce.to_string();
            self.nc = 0;
        }
        self.nc += 1;
        let uri = self.relay.to_string();
        let qop = ch.qop_options().any(|q| q.eq_ignore_ascii_case("auth"));
        let response = digest_response(
            &cred.username,
            &ch.realm,
            &cred.password,
            "AUTH",
            &uri,
            &ch.nonce,
            qop.then_some((self.nc, cnonce)),
        );
        let mut c = DigestCredentials::for_challenge(
            ch,
            cred.username.clone(),
            cnonce.to_owned(),
            self.nc,
            response,
        );
        c.uri = Some(Cow::Owned(uri));
        if !qop {
            c.qop = None;
            c.cnonce = None;
            c.nc = None;
        }
        c
    }

    /// When to refresh a reservation granted for `expires` seconds at
    /// `now`: at three quarters of it (and at least a second from now).
    pub fn refresh_at(now: Instant, expires: u32) -> Instant {
        now + Duration::from_secs(u64::from(expires) * 3 / 4).max(Duration::from_secs(1))
    }
}

/// RFC 2617 §3.2.2.1 `request-digest` with MD5: with `qop=auth`
/// (`Some((nc, cnonce))`) or without (RFC 2069 compatibility).
pub fn digest_response(
    username: &str,
    realm: &str,
    password: &str,
    method: &str,
    uri: &str,
    nonce: &str,
    qop: Option<(u32, &str)>,
) -> String {
    let ha1 = md5_hex(&format!("{username}:{realm}:{password}"));
    let ha2 = md5_hex(&format!("{method}:{uri}"));
    match qop {
        Some((nc, cnonce)) => md5_hex(&format!("{ha1}:{nonce}:{nc:08x}:{cnonce}:auth:{ha2}")),
        None => md5_hex(&format!("{ha1}:{nonce}:{ha2}")),
    }
}

fn md5_hex(s: &str) -> String {
    let d = Md5::digest(s.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc2617_example_digest() {
        // RFC 2617 §3.5.
        let r = digest_response(
            "Mufasa",
            "testrealm@host.com",
            "Circle Of Life",
            "GET",
            "/dir/index.html",
            "dcd98b7102dd2f0e8b11d0f600bfb0c093",
            Some((1, "0a4f113b")),
        );
        assert_eq!(r, "6629fae49393a05397450978507c4ef1");
    }

    fn uri(s: &str) -> MsrpUri<'static> {
        MsrpUri::parse(s).unwrap().into_owned()
    }

    #[test]
    fn challenge_then_reserved() {
        let mut a = RelayAuth::new(
            uri("msrp://relay.example:2855;tcp"),
            uri("msrp://gw.example:7000/s1;tcp"),
            Some(Credentials {
                username: "alice".into(),
                password: "pw".into(),
            }),
            600,
            "p".into(),
        );
        let first = a.start();
        assert_eq!(first.headers.expires, Some(600));
        let ch = format!(
            "MSRP {} 401 Unauthorized\r\nTo-Path: msrp://gw.example:7000/s1;tcp\r\nFrom-Path: msrp://relay.example:2855;tcp\r\nWWW-Authenticate: Digest realm=\"r\", nonce=\"n1\", qop=\"auth\"\r\n-------{}$\r\n",
            first.tid, first.tid
        );
        let ch = Message::parse(ch.as_bytes()).unwrap();
        let AuthStep::Retry(second) = a.on_response(&ch, "cn") else {
            panic!()
        };
        let c = second.headers.authorization.as_ref().unwrap();
        assert_eq!(c.uri.as_deref(), Some("msrp://relay.example:2855;tcp"));
        assert_eq!(
            c.response,
            digest_response(
                "alice",
                "r",
                "pw",
                "AUTH",
                "msrp://relay.example:2855;tcp",
                "n1",
                Some((1, "cn"))
            )
        );
        let ok = format!(
            "MSRP {} 200 OK\r\nTo-Path: msrp://gw.example:7000/s1;tcp\r\nFrom-Path: msrp://relay.example:2855;tcp\r\nUse-Path: msrp://relay.example:2855/x1;tcp\r\nExpires: 300\r\n-------{}$\r\n",
            second.tid, second.tid
        );
        let ok = Message::parse(ok.as_bytes()).unwrap();
        assert_eq!(
            a.on_response(&ok, "cn"),
            AuthStep::Reserved {
                use_path: vec![uri("msrp://relay.example:2855/x1;tcp")],
                expires: 300
            }
        );
        let now = Instant::now();
        assert_eq!(
            RelayAuth::refresh_at(now, 300),
            now + Duration::from_secs(225)
        );
    }
    /// 401, credentials, 423 Max-Expires: the AUTH is resent with the
    /// adjusted Expires and credentials for the same challenge (next nonce
    /// count), as Kamailio wants; a challenge is not counted as a refusal.
    #[test]
    fn interval_too_long_after_the_challenge_keeps_the_credentials() {
        let mut a = RelayAuth::new(
            uri("msrp://relay.example:2855;tcp"),
            uri("msrp://gw.example:7000/s1;tcp"),
            Some(Credentials {
                username: "alice".into(),
                password: "pw".into(),
            }),
            600,
            "p".into(),
        );
        let first = a.start();
        let ch = format!(
            "MSRP {} 401 Unauthorized\r\nTo-Path: msrp://gw.example:7000/s1;tcp\r\nFrom-Path: msrp://relay.example:2855;tcp\r\nWWW-Authenticate: Digest realm=\"r\", nonce=\"n1\", qop=\"auth\"\r\n-------{}$\r\n",
            first.tid, first.tid
        );
        let AuthStep::Retry(second) = a.on_response(&Message::parse(ch.as_bytes()).unwrap(), "cn")
        else {
            panic!()
        };
        let too_long = format!(
            "MSRP {} 423 Interval Out-of-Bounds\r\nTo-Path: msrp://gw.example:7000/s1;tcp\r\nFrom-Path: msrp://relay.example:2855;tcp\r\nMax-Expires: 4\r\n-------{}$\r\n",
            second.tid, second.tid
        );
        let AuthStep::Retry(third) =
            a.on_response(&Message::parse(too_long.as_bytes()).unwrap(), "cn")
        else {
            panic!("a 423 with Max-Expires is retried")
        };
        assert_eq!(third.headers.expires, Some(4));
        let c = third
            .headers
            .authorization
            .as_ref()
            .expect("credentials again");
        assert_eq!(
            c.response,
            digest_response(
                "alice",
                "r",
                "pw",
                "AUTH",
                "msrp://relay.example:2855;tcp",
                "n1",
                Some((2, "cn"))
            )
        );
    }
}
