//! The MSRP media of a session's SDP offer/answer (RFC 4975 §8, RFC 6135,
//! RFC 6714). Pure.
//!
//! Owns: reading the peer's `m=message` description into [`RemoteMedia`]
//! (path, a=setup, CEMA, max-size, accept-types) and writing msrpgw's own
//! offer or answer with [`local_sdp`].
//!
//! Must not: choose connection roles (that is [`crate::msrp::setup`]) or
//! know about sessions.

use std::borrow::Cow;
use std::fmt;

use crate::proto::msrp::MsrpUri;
use crate::proto::sdp::{AddrType, Attribute, MsrpSdpBuilder, SessionDescription, Setup};

/// What the peer said about its MSRP media.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteMedia {
    /// The peer's a=path, in order (the first URI is the next hop).
    pub path: Vec<MsrpUri<'static>>,
    pub setup: Option<Setup>,
    pub cema: bool,
    pub max_size: Option<u64>,
    pub accept_types: Vec<String>,
    pub accept_wrapped_types: Vec<String>,
    /// TCP/TLS/MSRP.
    pub tls: bool,
}

/// Why a peer's SDP cannot make an MSRP session (answered 488).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaError {
    /// No SDP body, or not parsable.
    Sdp(String),
    /// No usable `m=message` MSRP media.
    Msrp(&'static str),
    /// An a=path URI does not parse.
    Path(String),
}

impl fmt::Display for MediaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MediaError::Sdp(e) => write!(f, "unusable SDP: {e}"),
            MediaError::Msrp(e) => write!(f, "no MSRP session offered: {e}"),
            MediaError::Path(e) => write!(f, "bad a=path: {e}"),
        }
    }
}

impl RemoteMedia {
    /// Reads the first usable `m=message` MSRP media of `body`.
    pub fn from_sdp(body: &[u8]) -> Result<RemoteMedia, MediaError> {
        if body.is_empty() {
            return Err(MediaError::Sdp("no body".to_owned()));
        }
        let sdp = SessionDescription::parse(body).map_err(|e| MediaError::Sdp(e.to_string()))?;
        let m = sdp
            .validate_msrp()
            .map_err(|e| MediaError::Msrp(e.description()))?;
        let mut path = Vec::with_capacity(m.path.len());
        for p in m.path {
            let uri = MsrpUri::parse(p).map_err(|e| MediaError::Path(format!("{p}: {e}")))?;
            path.push(uri.into_owned());
        }
        let strings = |v: &[Cow<'_, str>]| v.iter().map(|s| s.to_string()).collect();
        Ok(RemoteMedia {
            path,
            setup: m.setup,
            cema: m.media.msrp_cema(),
            max_size: m.max_size,
            accept_types: strings(m.accept_types),
            accept_wrapped_types: strings(m.accept_wrapped_types),
            tls: m.tls,
        })
    }

    /// Whether the peer takes `content_type` as a top-level body
    /// (`*` takes anything; parameters are ignored, types compare without
    /// case).
    pub fn accepts(&self, content_type: &str) -> bool {
        type_in(&self.accept_types, content_type)
    }

    /// Whether the peer takes `content_type` inside a wrapper such as
    /// CPIM (a=accept-wrapped-types, RFC 4975 §8.6; top-level types count
    /// too).
    pub fn accepts_wrapped(&self, content_type: &str) -> bool {
        type_in(&self.accept_wrapped_types, content_type) || self.accepts(content_type)
    }
}

fn type_in(list: &[String], content_type: &str) -> bool {
    let want = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let (top, _) = want.split_once('/').unwrap_or((&want, ""));
    list.iter().any(|t| {
        let t = t.to_ascii_lowercase();
        t == "*" || t == want || t.strip_suffix("/*").is_some_and(|p| p == top)
    })
}

/// What msrpgw says about its side of a session.
#[derive(Debug, Clone)]
pub struct LocalMedia<'a> {
    /// msrpgw's a=path (a relay's Use-Path first, our URI last).
    pub path: &'a [MsrpUri<'static>],
    pub setup: Option<Setup>,
    pub accept_types: &'a [String],
    pub accept_wrapped_types: &'a [String],
    pub max_size: Option<u64>,
    /// Offer CEMA (RFC 6714) / answer it when the offer had it.
    pub cema: bool,
    /// `o=` session id (any number unique enough per session).
    pub sdp_session_id: u64,
}

/// msrpgw's SDP: `c=` and the port come from the last URI of the path
/// (msrpgw's own), the protocol from its scheme.
pub fn local_sdp(local: &LocalMedia<'_>) -> Vec<u8> {
    let own = local.path.last();
    let host = own.map_or("127.0.0.1", |u| u.host.as_ref());
    let port = own.and_then(|u| u.port).unwrap_or(2855);
    let tls = own.is_some_and(|u| u.scheme.as_str().eq_ignore_ascii_case("msrps"));
    let (addr_type, address) = if host.starts_with('[') {
        (AddrType::Ip6, host.trim_matches(['[', ']']))
    } else {
        (AddrType::Ip4, host)
    };
    let path = local
        .path
        .iter()
        .map(|u| Cow::Owned(u.to_string()))
        .collect();
    let mut b = MsrpSdpBuilder::new(local.sdp_session_id, 1, addr_type, address, port, path)
        .username("msrpgw")
        .tls(tls)
        .setup(local.setup)
        .max_size(local.max_size)
        .accept_types(
            local
                .accept_types
                .iter()
                .map(|t| Cow::Borrowed(t.as_str()))
                .collect(),
        );
    if !local.accept_wrapped_types.is_empty() {
        b = b.accept_wrapped_types(
            local
                .accept_wrapped_types
                .iter()
                .map(|t| Cow::Borrowed(t.as_str()))
                .collect(),
        );
    }
    if local.cema {
        b = b.attribute(Attribute::MsrpCema);
    }
    b.build().to_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER: &str = "v=0\r\no=alice 2890844526 2890844527 IN IP4 alice.example.com\r\n\
s=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=message 7654 TCP/MSRP *\r\n\
a=accept-types:message/cpim text/plain\r\na=accept-wrapped-types:*\r\n\
a=path:msrp://192.0.2.1:7654/jshA7weztas;tcp\r\na=setup:active\r\na=max-size:4096\r\n";

    #[test]
    fn reads_the_peers_media() {
        let m = RemoteMedia::from_sdp(OFFER.as_bytes()).expect("usable");
        assert_eq!(m.path.len(), 1);
        assert_eq!(m.path[0].session_id.as_deref(), Some("jshA7weztas"));
        assert_eq!(m.setup, Some(Setup::Active));
        assert_eq!(m.max_size, Some(4096));
        assert!(m.accepts("message/CPIM"));
        assert!(m.accepts("text/plain; charset=utf-8"));
        assert!(!m.accepts("image/png"));
        assert!(m.accepts_wrapped("image/png"));
        assert!(!m.tls && !m.cema);
    }

    #[test]
    fn refuses_what_cannot_be_a_session() {
        assert!(matches!(
            RemoteMedia::from_sdp(b""),
            Err(MediaError::Sdp(_))
        ));
        let audio = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
m=audio 49170 RTP/AVP 0\r\n";
        assert!(matches!(
            RemoteMedia::from_sdp(audio.as_bytes()),
            Err(MediaError::Msrp(_))
        ));
        let bad_path = OFFER.replace("msrp://192.0.2.1:7654/jshA7weztas;tcp", "http://x");
        assert!(matches!(
            RemoteMedia::from_sdp(bad_path.as_bytes()),
            Err(MediaError::Path(_))
        ));
    }

    #[test]
    fn our_sdp_reads_back() {
        let path = vec![
            MsrpUri::parse("msrp://127.0.0.1:2855/s1d;tcp")
                .expect("uri")
                .into_owned(),
        ];
        let types = vec!["message/cpim".to_owned(), "text/plain".to_owned()];
        let body = local_sdp(&LocalMedia {
            path: &path,
            setup: Some(Setup::ActPass),
            accept_types: &types,
            accept_wrapped_types: &[],
            max_size: Some(1_048_576),
            cema: false,
            sdp_session_id: 42,
        });
        let m = RemoteMedia::from_sdp(&body).expect("our own SDP is usable");
        assert_eq!(m.path, path);
        assert_eq!(m.setup, Some(Setup::ActPass));
        assert_eq!(m.max_size, Some(1_048_576));
        assert_eq!(m.accept_types, types);
        let text = String::from_utf8(body).expect("utf8");
        assert!(text.contains("m=message 2855 TCP/MSRP *\r\n"), "{text}");
        assert!(text.contains("c=IN IP4 127.0.0.1\r\n"), "{text}");
    }
}
