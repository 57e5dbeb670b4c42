//! Where a request msrpgw sends goes (RFC 3261 §8.1.2, §18.1.1; RFC 3263
//! §4 without NAPTR/SRV): the host, port and transport taken from the next
//! hop URI, and the switch to TCP for large requests.
//!
//! Owns: [`Target`] and [`Target::of_uri`]; the RFC 3261 §18.1.1 size rule.
//!
//! Must not: resolve names (that blocks: the resolver thread does it) or
//! send anything. Pure.

use std::net::{IpAddr, SocketAddr};

use crate::event::{SipPeer, Transport};
use crate::proto::sip::uri::{Scheme, Uri};

/// RFC 3261 §18.1.1: a request within 200 bytes of the path MTU (1500)
/// goes over a congestion-controlled transport.
pub const UDP_SIZE_LIMIT: usize = 1300;

/// A next hop before name resolution.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    /// Host name or IP literal (IPv6 without brackets).
    pub host: String,
    pub port: u16,
    pub kind: Transport,
}

/// Why a URI cannot be a next hop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetError {
    /// Not sip: or sips: (tel:, im:, ... need a configured next hop).
    NotSip,
    /// `transport=` names something msrpgw does not speak (sctp, ws, ...).
    UnsupportedTransport,
    /// No host in the URI.
    NoHost,
}

impl std::fmt::Display for TargetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TargetError::NotSip => "not a sip: or sips: URI",
            TargetError::UnsupportedTransport => "unsupported transport parameter",
            TargetError::NoHost => "no host in URI",
        })
    }
}

impl Target {
    /// The next hop named by `uri` (RFC 3263 §4.1/§4.2 where the port or
    /// transport is given, else the defaults: UDP on 5060, TLS on 5061 for
    /// sips:). `maddr` overrides the host (RFC 3261 §19.1.1).
    pub fn of_uri(uri: &Uri<'_>) -> Result<Target, TargetError> {
        let secure = match uri.scheme {
            Scheme::Sip => false,
            Scheme::Sips => true,
            _ => return Err(TargetError::NotSip),
        };
        let kind = match uri.transport() {
            Some(t) if t.eq_ignore_ascii_case("udp") && !secure => Transport::Udp,
            Some(t) if t.eq_ignore_ascii_case("tcp") && !secure => Transport::Tcp,
            // sips: with transport=tcp means TLS over TCP (RFC 3261 §26.2.2).
            Some(t) if t.eq_ignore_ascii_case("tcp") || t.eq_ignore_ascii_case("tls") => {
                Transport::Tls
            }
            Some(_) => return Err(TargetError::UnsupportedTransport),
            None if secure => Transport::Tls,
            None => Transport::Udp,
        };
        let host = uri.maddr().unwrap_or(&uri.host);
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(TargetError::NoHost);
        }
        let default_port = if kind == Transport::Tls { 5061 } else { 5060 };
        Ok(Target {
            host: host.to_owned(),
            port: uri.port.unwrap_or(default_port),
            kind,
        })
    }

    /// RFC 3261 §18.1.1: a request larger than [`UDP_SIZE_LIMIT`] MUST go
    /// over a congestion-controlled transport, so UDP becomes TCP (to the
    /// same host and port) even when the URI named UDP.
    pub fn for_size(mut self, message_len: usize) -> Target {
        if self.kind == Transport::Udp && message_len > UDP_SIZE_LIMIT {
            self.kind = Transport::Tcp;
        }
        self
    }

    /// The address when the host is an IP literal (no lookup needed).
    pub fn literal(&self) -> Option<SipPeer> {
        let ip: IpAddr = self.host.parse().ok()?;
        Some(SipPeer::to(self.kind, SocketAddr::new(ip, self.port)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Result<Target, TargetError> {
        Target::of_uri(&Uri::parse(s).expect("uri"))
    }

    #[test]
    fn defaults_and_explicit_transports() {
        let a = t("sip:bob@example.com").expect("target");
        assert_eq!(
            (a.host.as_str(), a.port, a.kind),
            ("example.com", 5060, Transport::Udp)
        );
        let b = t("sips:bob@example.com").expect("target");
        assert_eq!((b.port, b.kind), (5061, Transport::Tls));
        let c = t("sip:127.0.0.1:5070;transport=tcp").expect("target");
        assert_eq!((c.port, c.kind), (5070, Transport::Tcp));
        let d = t("sip:[2001:db8::1]:5080;transport=UDP").expect("target");
        assert_eq!(d.host, "2001:db8::1");
        assert_eq!(
            d.literal(),
            Some(SipPeer::to(
                Transport::Udp,
                "[2001:db8::1]:5080".parse().expect("addr")
            ))
        );
        let e = t("sip:bob@example.com;maddr=192.0.2.7;transport=tls").expect("target");
        assert_eq!(
            (e.host.as_str(), e.port, e.kind),
            ("192.0.2.7", 5061, Transport::Tls)
        );
        assert_eq!(
            t("sip:a@b;transport=sctp"),
            Err(TargetError::UnsupportedTransport)
        );
        assert_eq!(t("tel:+15551234"), Err(TargetError::NotSip));
        assert!(a.literal().is_none(), "a name needs a lookup");
    }

    #[test]
    fn large_requests_move_to_tcp() {
        let a = t("sip:127.0.0.1").expect("target");
        assert_eq!(a.clone().for_size(1300).kind, Transport::Udp);
        assert_eq!(a.for_size(1301).kind, Transport::Tcp);
        let u = t("sip:127.0.0.1;transport=udp").expect("target");
        assert_eq!(u.for_size(5000).kind, Transport::Tcp);
        let s = t("sips:127.0.0.1").expect("target");
        assert_eq!(s.for_size(5000).kind, Transport::Tls);
    }
}
