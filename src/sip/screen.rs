//! What msrpgw's SIP layer answers by itself, before any session logic:
//! the screening of every new request a server transaction delivers.
//!
//! Owns the rules:
//! - malformed or unacceptable requests (RFC 3261 §8.2): 400 with the
//!   problem named, 416 unsupported URI scheme, 420 unknown Require (with
//!   Unsupported), 505 wrong version, 501 unknown method;
//! - 482 Loop Detected when a Via carries a branch msrpgw itself made
//!   (our branches start with a per-instance prefix, see [`ScreenPolicy`]);
//! - 483 Too Many Hops for a request msrpgw would relay onward (MESSAGE,
//!   INVITE) that arrives with Max-Forwards 0;
//! - OPTIONS → 200 with Allow, Accept and Supported (503 with Retry-After
//!   while draining, so a dispatcher stops sending new traffic);
//! - methods msrpgw knows but does not serve → 405 with Allow.
//!
//! Must not: look at sessions or dialogs (481 for requests outside any
//! dialog is the dialog layer's), send anything, or generate randomness
//! (the To tag of a final response comes from the caller). Pure.

use crate::proto::sip::{HeaderName, Method, SipRequest, SipResponse, validate_request};

/// Methods msrpgw serves (the Allow header).
pub const ALLOW: &str = "INVITE, ACK, BYE, CANCEL, OPTIONS, MESSAGE";
/// Bodies msrpgw accepts: SDP offers and pager-mode message bodies.
pub const ACCEPT: &str = "application/sdp, text/plain, message/cpim, */*";
/// Option tags msrpgw supports (none beyond the base protocol).
pub const SUPPORTED: &[&str] = &[];

/// Seconds of Retry-After on the 503s msrpgw sends when it sheds load.
pub const RETRY_AFTER_SECS: u32 = 5;

/// A final answer sent outside any transaction (malformed, unmatched or
/// shed requests): addressed from the request's Via/From/To/Call-ID/CSeq,
/// with the To `tag` (RFC 3261 §8.2.6.2) and, on a 503, Retry-After.
/// `None` for ACK, which is never answered.
pub fn stateless_answer(
    req: &SipRequest<'_>,
    status: u16,
    reason: &str,
    tag: &str,
    retry_after_secs: u32,
) -> Option<SipResponse<'static>> {
    if req.method == Method::Ack {
        return None;
    }
    let mut resp = answer(req, status, reason);
    resp.set_to_tag(tag);
    if status == 503 {
        resp.push_header(HeaderName::RetryAfter, retry_after_secs.to_string());
    }
    Some(resp)
}

/// How the screen is configured.
#[derive(Debug, Clone)]
pub struct ScreenPolicy {
    /// Every Via branch msrpgw generates starts with this (after the
    /// RFC 3261 magic cookie); seeing it in a received request means the
    /// request looped back to us.
    pub branch_prefix: String,
    /// Draining for shutdown: OPTIONS get 503 so load balancers move away.
    pub draining: bool,
    /// Seconds in Retry-After of a 503.
    pub retry_after_secs: u32,
}

/// The outcome of screening one request.
#[derive(Debug)]
pub enum Screened {
    /// Answer with this response (final, no To tag yet: the caller adds
    /// one with `set_to_tag`).
    Answer(SipResponse<'static>),
    /// A request for the dialog and session layers.
    Pass,
}

/// Screens a new request. ACK never gets an answer; CANCEL is matched by
/// the transaction layer before it gets here.
pub fn screen(req: &SipRequest<'_>, policy: &ScreenPolicy) -> Screened {
    if let Err(r) = validate_request(req, SUPPORTED) {
        if req.method == Method::Ack {
            return Screened::Pass;
        }
        let mut resp = answer(req, r.status, r.reason);
        if r.status == 420 && !r.unsupported.is_empty() {
            resp.push_header(HeaderName::Unsupported, r.unsupported.join(", "));
        }
        if r.status == 501 || r.status == 405 {
            resp.push_header(HeaderName::Allow, ALLOW);
        }
        return Screened::Answer(resp);
    }
    if req.method == Method::Ack {
        return Screened::Pass;
    }
    if looped(req, &policy.branch_prefix) {
        return Screened::Answer(answer(req, 482, "Loop Detected"));
    }
    match &req.method {
        Method::Options => Screened::Answer(options_answer(req, policy)),
        Method::Message | Method::Invite => {
            if req.headers.max_forwards().ok().flatten() == Some(0) {
                Screened::Answer(answer(req, 483, "Too Many Hops"))
            } else {
                Screened::Pass
            }
        }
        Method::Bye | Method::Cancel => Screened::Pass,
        Method::Register
        | Method::Info
        | Method::Prack
        | Method::Update
        | Method::Subscribe
        | Method::Notify
        | Method::Refer
        | Method::Publish => {
            let mut resp = answer(req, 405, "Method Not Allowed");
            resp.push_header(HeaderName::Allow, ALLOW);
            Screened::Answer(resp)
        }
        Method::Other(_) => {
            let mut resp = answer(req, 501, "Not Implemented");
            resp.push_header(HeaderName::Allow, ALLOW);
            Screened::Answer(resp)
        }
        Method::Ack => Screened::Pass,
    }
}

fn answer(req: &SipRequest<'_>, status: u16, reason: &str) -> SipResponse<'static> {
    SipResponse::for_request(req, status, reason.to_owned()).into_owned()
}

/// RFC 3261 §11.2: 200 with what we allow, accept and support. While
/// draining, 503 with Retry-After (DESIGN §8: the dispatcher's probe).
fn options_answer(req: &SipRequest<'_>, policy: &ScreenPolicy) -> SipResponse<'static> {
    if policy.draining {
        let mut r = answer(req, 503, "Service Unavailable");
        r.push_header(HeaderName::RetryAfter, policy.retry_after_secs.to_string());
        return r;
    }
    let mut r = answer(req, 200, "OK");
    r.push_header(HeaderName::Allow, ALLOW);
    r.push_header(HeaderName::Accept, ACCEPT);
    r.push_header(HeaderName::Supported, SUPPORTED.join(", "));
    r
}

/// A Via with one of our own branches: the request came back to us.
fn looped(req: &SipRequest<'_>, prefix: &str) -> bool {
    !prefix.is_empty()
        && req
            .headers
            .vias()
            .flatten()
            .any(|v| v.branch().is_some_and(|b| b.starts_with(prefix)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::sip::{SipMessage, parse_datagram};

    fn policy() -> ScreenPolicy {
        ScreenPolicy {
            branch_prefix: "z9hG4bK-gw1-".to_owned(),
            draining: false,
            retry_after_secs: 5,
        }
    }

    fn req(method: &str, extra: &str) -> SipRequest<'static> {
        let text = format!(
            "{method} sip:bob@example.com SIP/2.0\r\n\
             Via: SIP/2.0/UDP client.example.com;branch=z9hG4bK776\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:alice@example.com>;tag=1\r\n\
             To: <sip:bob@example.com>\r\n\
             Call-ID: c\r\n\
             CSeq: 1 {method}\r\n{extra}\
             Content-Length: 0\r\n\r\n"
        );
        match parse_datagram(text.as_bytes())
            .expect("parses")
            .into_owned()
        {
            SipMessage::Request(r) => r,
            SipMessage::Response(_) => panic!("request expected"),
        }
    }

    fn status(s: &Screened) -> Option<u16> {
        match s {
            Screened::Answer(r) => Some(r.status),
            Screened::Pass => None,
        }
    }

    #[test]
    fn options_answers_with_capabilities_or_503_while_draining() {
        let s = screen(&req("OPTIONS", ""), &policy());
        let Screened::Answer(r) = s else {
            panic!("OPTIONS is answered")
        };
        assert_eq!(r.status, 200);
        assert_eq!(r.headers.get(&HeaderName::Allow), Some(ALLOW));
        assert!(r.headers.get(&HeaderName::Accept).is_some());
        let draining = ScreenPolicy {
            draining: true,
            ..policy()
        };
        let Screened::Answer(r) = screen(&req("OPTIONS", ""), &draining) else {
            panic!("OPTIONS is answered")
        };
        assert_eq!(r.status, 503);
        assert_eq!(r.headers.get(&HeaderName::RetryAfter), Some("5"));
    }

    #[test]
    fn known_unserved_methods_get_405_with_allow() {
        for m in [
            "REGISTER",
            "SUBSCRIBE",
            "NOTIFY",
            "PUBLISH",
            "REFER",
            "INFO",
            "UPDATE",
            "PRACK",
        ] {
            let Screened::Answer(r) = screen(&req(m, ""), &policy()) else {
                panic!("{m} is answered")
            };
            assert_eq!(r.status, 405, "{m}");
            assert_eq!(r.headers.get(&HeaderName::Allow), Some(ALLOW), "{m}");
        }
    }

    #[test]
    fn unknown_method_gets_501() {
        assert_eq!(
            status(&screen(&req("FROBNICATE", ""), &policy())),
            Some(501)
        );
    }

    #[test]
    fn served_methods_pass() {
        for m in ["MESSAGE", "INVITE", "BYE", "CANCEL", "ACK"] {
            assert_eq!(status(&screen(&req(m, ""), &policy())), None, "{m}");
        }
    }

    #[test]
    fn max_forwards_zero_on_relayed_requests_is_483() {
        let r = req("MESSAGE", "").clone();
        let mut r0 = r.clone();
        r0.headers.set(HeaderName::MaxForwards, "0");
        assert_eq!(status(&screen(&r0, &policy())), Some(483));
        let mut i0 = req("INVITE", "");
        i0.headers.set(HeaderName::MaxForwards, "0");
        assert_eq!(status(&screen(&i0, &policy())), Some(483));
        // OPTIONS is answered by us, not relayed (RFC 3261 §11).
        let mut o0 = req("OPTIONS", "");
        o0.headers.set(HeaderName::MaxForwards, "0");
        assert_eq!(status(&screen(&o0, &policy())), Some(200));
    }

    #[test]
    fn our_own_branch_in_via_is_a_loop() {
        let looped = req(
            "MESSAGE",
            "Via: SIP/2.0/UDP gw.example.net;branch=z9hG4bK-gw1-abc\r\n",
        );
        assert_eq!(status(&screen(&looped, &policy())), Some(482));
        let other = req(
            "MESSAGE",
            "Via: SIP/2.0/UDP gw.example.net;branch=z9hG4bK-gw2-abc\r\n",
        );
        assert_eq!(status(&screen(&other, &policy())), None);
    }

    #[test]
    fn unknown_require_is_420_with_unsupported() {
        let r = req("MESSAGE", "Require: foo, bar\r\n");
        let Screened::Answer(resp) = screen(&r, &policy()) else {
            panic!("answered")
        };
        assert_eq!(resp.status, 420);
        assert_eq!(resp.headers.get(&HeaderName::Unsupported), Some("foo, bar"));
    }

    #[test]
    fn unsupported_scheme_is_416() {
        let text = "MESSAGE im:bob@example.com SIP/2.0\r\n\
             Via: SIP/2.0/UDP c;branch=z9hG4bK1\r\nMax-Forwards: 70\r\n\
             From: <sip:a@b>;tag=1\r\nTo: <im:bob@example.com>\r\nCall-ID: c\r\n\
             CSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n";
        let SipMessage::Request(r) = parse_datagram(text.as_bytes()).expect("parses") else {
            panic!("request")
        };
        assert_eq!(status(&screen(&r, &policy())), Some(416));
    }

    #[test]
    fn wrong_version_is_505_and_ack_is_never_answered() {
        let text = "MESSAGE sip:b@c SIP/3.0\r\nVia: SIP/2.0/UDP c;branch=z9hG4bK1\r\n\
             Max-Forwards: 70\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:b@c>\r\nCall-ID: c\r\n\
             CSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n";
        let SipMessage::Request(r) = parse_datagram(text.as_bytes()).expect("parses") else {
            panic!("request")
        };
        assert_eq!(status(&screen(&r, &policy())), Some(505));
        let ack = text.replace("MESSAGE", "ACK");
        let SipMessage::Request(a) = parse_datagram(ack.as_bytes()).expect("parses") else {
            panic!("request")
        };
        assert_eq!(status(&screen(&a, &policy())), None);
    }
}
