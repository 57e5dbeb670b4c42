//! The gateway end to end: the real `msrpgw` process between a pager user
//! (a UDP socket speaking SIP) and a session-mode user (a UDP socket for
//! its SIP side and an MSRP endpoint built on msrpgw's MSRP stack).

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use msrpgw::event::{MsrpEvent, SendOutcome};
use msrpgw::msrp::setup::Role;
use msrpgw::msrp::{MsrpStackConfig, NewSession, OutgoingMessage, SessionOptions};
use msrpgw::proto::msrp::MsrpUri;
use msrpgw::proto::sdp::SessionDescription;
use msrpgw::proto::sip::{self, HeaderName, Method, SipMessage, SipRequest, SipResponse};

use crate::daemon::{Daemon, config, config_with};
use crate::msrp_stack::{Side, remote, tcp_listen};

pub(crate) const WAIT: Duration = Duration::from_secs(10);

/// A SIP user agent on a UDP socket.
pub(crate) struct Ua {
    pub s: UdpSocket,
    pub addr: SocketAddr,
    n: u32,
    /// (Call-ID, CSeq, method) of requests already returned: their UDP
    /// retransmissions are skipped.
    seen: std::cell::RefCell<std::collections::HashSet<String>>,
}

impl Ua {
    pub(crate) fn new() -> Ua {
        let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
        s.set_read_timeout(Some(Duration::from_millis(100)))
            .expect("timeout");
        let addr = s.local_addr().expect("addr");
        Ua {
            s,
            addr,
            n: 0,
            seen: Default::default(),
        }
    }

    /// The next SIP message within `wait` (100 Trying skipped).
    pub(crate) fn next(&self, wait: Duration) -> Option<(SipMessage<'static>, SocketAddr)> {
        let deadline = Instant::now() + wait;
        let mut buf = vec![0u8; 65_536];
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            let _ = self
                .s
                .set_read_timeout(Some(left.max(Duration::from_millis(1))));
            if let Ok((n, src)) = self.s.recv_from(&mut buf) {
                let m = sip::parse_datagram(&buf[..n])
                    .expect("msrpgw sends parsable SIP")
                    .into_owned();
                if let SipMessage::Response(r) = &m {
                    if r.status < 200 {
                        continue;
                    }
                }
                return Some((m, src));
            }
        }
        None
    }

    pub(crate) fn request(&self, method: Method<'_>) -> (SipRequest<'static>, SocketAddr) {
        loop {
            match self.next(WAIT) {
                Some((SipMessage::Request(r), src)) if r.method == method => {
                    let id = format!(
                        "{} {} {}",
                        r.headers.call_id().unwrap_or(""),
                        r.headers.get(&HeaderName::CSeq).unwrap_or(""),
                        r.method.as_str()
                    );
                    if self.seen.borrow_mut().insert(id) {
                        return (r, src);
                    }
                }
                // Retransmissions of what came before.
                Some(_) => {}
                None => panic!("no {} arrived", method.as_str()),
            }
        }
    }

    pub(crate) fn response(&self) -> SipResponse<'static> {
        loop {
            match self.next(WAIT) {
                Some((SipMessage::Response(r), _)) => return r,
                Some(_) => {}
                None => panic!("no final response arrived"),
            }
        }
    }

    /// Nothing but retransmissions of requests for `d`.
    pub(crate) fn no_response(&self, d: Duration) {
        if let Some((SipMessage::Response(r), _)) = self.next(d) {
            panic!("unexpected {} {}", r.status, r.reason);
        }
    }

    pub(crate) fn answer(
        &self,
        req: &SipRequest<'_>,
        to: SocketAddr,
        status: u16,
        tag: &str,
        sdp: Option<&[u8]>,
    ) {
        let mut r = SipResponse::for_request(req, status, "Answer").into_owned();
        r.set_to_tag(tag);
        // RFC 3261 §12.1.1: a proxy's Record-Route comes back in the answer.
        if (200..300).contains(&status) {
            for rr in req.headers.get_all(&HeaderName::RecordRoute) {
                r.push_header(HeaderName::RecordRoute, rr.value.to_string());
            }
        }
        r.push_header(HeaderName::Contact, format!("<sip:peer@{}>", self.addr));
        if let Some(b) = sdp {
            r.set_body("application/sdp", b.to_vec());
        }
        self.s.send_to(&r.to_bytes(), to).expect("send");
    }

    /// Sends a MESSAGE from `from_user` here to `to_uri` through `gw`.
    pub(crate) fn message(&mut self, gw: SocketAddr, from_user: &str, to_uri: &str, body: &str) {
        self.n += 1;
        let n = self.n;
        let me = self.addr;
        let m = format!(
            "MESSAGE {to_uri} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {me};branch=z9hG4bK-ua-{}-{n};rport\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:{from_user}@{me}>;tag=f{n}\r\n\
             To: <{to_uri}>\r\n\
             Call-ID: msg-{}-{n}\r\n\
             CSeq: 1 MESSAGE\r\n\
             Content-Type: text/plain\r\n\
             Content-Length: {}\r\n\r\n{body}",
            me.port(),
            me.port(),
            body.len()
        );
        self.s.send_to(m.as_bytes(), gw).expect("send");
    }
}

/// The session user: SIP on a UDP socket, MSRP on msrpgw's stack.
pub(crate) struct SessionUser {
    pub(crate) sip: Ua,
    pub(crate) msrp: Side,
    /// Reserve each session at the stack's relay first (RFC 4976).
    pub(crate) use_relay: bool,
}

impl SessionUser {
    pub(crate) fn new() -> SessionUser {
        SessionUser::with_msrp(MsrpStackConfig::new(tcp_listen()))
    }

    /// A session user whose MSRP stack is configured by `cfg`; with a
    /// relay there, every session is reserved at it.
    pub(crate) fn with_msrp(cfg: MsrpStackConfig) -> SessionUser {
        let use_relay = cfg.relay.is_some();
        SessionUser {
            sip: Ua::new(),
            msrp: Side::start(cfg),
            use_relay,
        }
    }

    pub(crate) fn uri(&self, user: &str) -> String {
        format!("sip:{user}@{}", self.sip.addr)
    }

    /// A new MSRP session and its a=path (the relay's Use-Path first when
    /// reserved at a relay).
    pub(crate) fn new_session(&mut self) -> (NewSession, Vec<MsrpUri<'static>>) {
        let ours = self.msrp.session(SessionOptions {
            use_relay: self.use_relay,
            ..SessionOptions::default()
        });
        let path = match ours.local_path.clone() {
            Some(p) => p,
            None => self.msrp.expect("PathReady", |e| match e {
                MsrpEvent::PathReady {
                    session,
                    local_path,
                } if *session == ours.key => Some(local_path.clone()),
                _ => None,
            }),
        };
        (ours, path)
    }

    /// Receives msrpgw's INVITE and accepts it with a passive MSRP
    /// endpoint accepting `types`; returns our session and the INVITE.
    pub(crate) fn accept_invite(&mut self, types: &str) -> (NewSession, SipRequest<'static>) {
        let (invite, src) = self.sip.request(Method::Invite);
        let offer = SessionDescription::parse(&invite.body).expect("SDP offer");
        let media = offer.validate_msrp().expect("an MSRP offer");
        assert_eq!(
            media.setup,
            Some(msrpgw::proto::sdp::Setup::ActPass),
            "RFC 6135: the offer lets us choose"
        );
        let gw_path: Vec<MsrpUri<'static>> = media
            .path
            .iter()
            .map(|p| MsrpUri::parse(p).expect("path").into_owned())
            .collect();
        let (ours, path) = self.new_session();
        self.msrp
            .stack
            .start_session(ours.key, remote(&gw_path, Role::Passive))
            .expect("start");
        let (path, port) = sdp_path(&path);
        let answer = format!(
            "v=0\r\no=bob 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
             m=message {port} TCP/MSRP *\r\na=accept-types:{types}\r\na=path:{path}\r\n\
             a=setup:passive\r\n"
        );
        self.sip
            .answer(&invite, src, 200, "bob1", Some(answer.as_bytes()));
        let (ack, _) = self.sip.request(Method::Ack);
        assert_eq!(ack.headers.call_id().ok(), invite.headers.call_id().ok());
        self.msrp.connected(ours.key);
        (ours, invite)
    }
}

/// The a=path value of `path` and the port for the m= line (our own
/// URI's, which comes last).
fn sdp_path(path: &[MsrpUri<'_>]) -> (String, u16) {
    let text: Vec<String> = path.iter().map(|u| u.to_string()).collect();
    let port = path.last().and_then(|u| u.port).expect("port");
    (text.join(" "), port)
}

pub(crate) fn received(
    side: &mut Side,
    key: msrpgw::event::MsrpSessionKey,
) -> (msrpgw::event::HeldId, Vec<u8>, Option<String>) {
    side.expect("a message", |e| match e {
        MsrpEvent::Received {
            session,
            held,
            body,
            content_type,
            ..
        } if *session == key && !body.is_empty() => {
            Some(((*held)?, body.clone(), content_type.clone()))
        }
        _ => None,
    })
}

/// Alice's first MESSAGE to `user` at bob's: the session is set up, the
/// message delivered and answered 200. Returns bob's session and the
/// INVITE.
fn first_message(
    gw: SocketAddr,
    alice: &mut Ua,
    bob: &mut SessionUser,
    user: &str,
    body: &str,
) -> (NewSession, SipRequest<'static>) {
    alice.message(gw, "alice", &bob.uri(user), body);
    let (ours, invite) = bob.accept_invite("text/plain");
    let (held, got, _) = received(&mut bob.msrp, ours.key);
    assert_eq!(got, body.as_bytes());
    bob.msrp
        .stack
        .answer(ours.key, held, 200, None)
        .expect("answer");
    assert_eq!(alice.response().status, 200);
    (ours, invite)
}

/// Pager → session and back: the first MESSAGE sets up the session with
/// an INVITE (From A, To B, our Contact), its 200 waits for the MSRP 200
/// (I1), the next reuses the session, the session user's SEND becomes a
/// MESSAGE to A whose 200 confirms the SEND, and BYE ends it all.
#[test]
fn pager_to_session_and_back() {
    let d = Daemon::start(&config(""));
    let gw = d.sip_addr("udp");
    let mut alice = Ua::new();
    let mut bob = SessionUser::new();
    let bob_uri = bob.uri("bob");

    alice.message(gw, "alice", &bob_uri, "hello bob");
    let (ours, invite) = bob.accept_invite("text/plain");
    let from = invite.headers.from_addr().expect("from");
    assert_eq!(from.uri.user.as_deref(), Some("alice"), "B sees who writes");
    assert_eq!(
        invite.headers.to_addr().expect("to").uri.to_string(),
        bob_uri
    );
    let contact = invite.headers.get(&HeaderName::Contact).expect("Contact");
    assert!(contact.contains(&gw.port().to_string()), "{contact}");

    let (held, body, ct) = received(&mut bob.msrp, ours.key);
    assert_eq!(body, b"hello bob");
    assert_eq!(ct.as_deref(), Some("text/plain"));
    // I1: no answer upstream before the MSRP side said 200.
    alice.no_response(Duration::from_millis(300));
    bob.msrp
        .stack
        .answer(ours.key, held, 200, None)
        .expect("answer");
    assert_eq!(alice.response().status, 200);

    alice.message(gw, "alice", &bob_uri, "second");
    let (held, body, _) = received(&mut bob.msrp, ours.key);
    assert_eq!(body, b"second");
    bob.msrp
        .stack
        .answer(ours.key, held, 200, None)
        .expect("answer");
    assert_eq!(alice.response().status, 200);
    assert!(
        bob.sip
            .next(Duration::from_millis(200))
            .is_none_or(|(m, _)| m.as_request().is_none_or(|r| r.method != Method::Invite)),
        "the session is reused: no second INVITE"
    );

    // Back: bob's SEND becomes a MESSAGE to alice.
    bob.msrp
        .stack
        .send(
            ours.key,
            OutgoingMessage::new(7, "text/plain", b"hi alice".to_vec()),
        )
        .expect("send");
    let (msg, src) = alice.request(Method::Message);
    assert_eq!(msg.body.as_ref(), b"hi alice");
    assert_eq!(
        msg.headers.from_addr().expect("from").uri.user.as_deref(),
        Some("bob")
    );
    assert_eq!(
        msg.headers.to_addr().expect("to").uri.user.as_deref(),
        Some("alice")
    );
    // I1 the other way: no MSRP 200 before alice's 200.
    bob.msrp.quiet(ours.key, Duration::from_millis(300));
    alice.answer(&msg, src, 200, "a1", None);
    assert_eq!(bob.msrp.outcome(ours.key, 7), SendOutcome::Delivered);

    // Bob hangs up: a later MESSAGE makes a new session.
    let dialog_call_id = invite.headers.call_id().expect("call-id").to_owned();
    let gw_party = invite.headers.get(&HeaderName::From).expect("from");
    let bye = format!(
        "BYE sip:gw@{gw} SIP/2.0\r\nVia: SIP/2.0/UDP {};branch=z9hG4bK-bye1\r\n\
         Max-Forwards: 70\r\nFrom: <{bob_uri}>;tag=bob1\r\nTo: {gw_party}\r\n\
         Call-ID: {dialog_call_id}\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n",
        bob.sip.addr,
    );
    bob.sip.s.send_to(bye.as_bytes(), gw).expect("send");
    assert_eq!(bob.sip.response().status, 200);
    alice.message(gw, "alice", &bob_uri, "after bye");
    let (ours2, _) = bob.accept_invite("text/plain");
    let (held, body, _) = received(&mut bob.msrp, ours2.key);
    assert_eq!(body, b"after bye");
    bob.msrp
        .stack
        .answer(ours2.key, held, 200, None)
        .expect("answer");
    assert_eq!(alice.response().status, 200);
}

impl SessionUser {
    /// Sends an INVITE with an MSRP offer (active side, accepting `types`)
    /// for `to_uri` to the gateway; returns our session, the INVITE's
    /// Call-ID and the gateway's 200.
    pub(crate) fn invite(
        &mut self,
        gw: SocketAddr,
        to_uri: &str,
        types: &str,
        extra_headers: &str,
    ) -> (NewSession, String, SipResponse<'static>) {
        let (ours, path) = self.new_session();
        let (path, port) = sdp_path(&path);
        let offer = format!(
            "v=0\r\no=carol 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
             m=message {port} TCP/MSRP *\r\na=accept-types:{types}\r\na=path:{path}\r\n\
             a=setup:actpass\r\n"
        );
        let me = self.sip.addr;
        let call_id = format!("inv-{}-{}", me.port(), ours.key.0);
        let invite = format!(
            "INVITE {to_uri} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bK-{call_id};rport\r\n\
             Max-Forwards: 70\r\nFrom: <sip:carol@{me}>;tag=carol1\r\nTo: <{to_uri}>\r\n\
             Call-ID: {call_id}\r\nCSeq: 1 INVITE\r\nContact: <sip:carol@{me}>\r\n{extra_headers}\
             Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{offer}",
            offer.len()
        );
        self.sip.s.send_to(invite.as_bytes(), gw).expect("send");
        let ok = self.sip.response();
        (ours, call_id, ok)
    }

    /// ACKs the gateway's 200 and connects MSRP as the answer says.
    /// `gw` is where the ACK goes: the gateway, or the proxy that
    /// Record-Routed the dialog. The ACK follows the route set (RFC 3261
    /// §12.2.1.1: the 2xx's Record-Route reversed, Request-URI = Contact).
    pub(crate) fn ack_and_connect(
        &mut self,
        gw: SocketAddr,
        ours: &NewSession,
        call_id: &str,
        ok: &SipResponse<'_>,
    ) {
        let me = self.sip.addr;
        let to = ok.headers.get(&HeaderName::To).expect("To");
        let routes: Vec<String> = ok
            .headers
            .record_route()
            .expect("Record-Route parses")
            .iter()
            .rev()
            .map(|r| format!("Route: {r}\r\n"))
            .collect();
        let target = match ok.headers.contact() {
            Ok(sip::Contact::List(l)) if !routes.is_empty() && !l.is_empty() => {
                l[0].uri.to_string()
            }
            _ => format!("sip:gw@{gw}"),
        };
        let ack = format!(
            "ACK {target} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bK-ack-{call_id}\r\n\
             Max-Forwards: 70\r\nFrom: <sip:carol@{me}>;tag=carol1\r\nTo: {to}\r\n\
             Call-ID: {call_id}\r\nCSeq: 1 ACK\r\n{}Content-Length: 0\r\n\r\n",
            routes.concat()
        );
        self.sip.s.send_to(ack.as_bytes(), gw).expect("send");
        let answer = SessionDescription::parse(&ok.body).expect("SDP answer");
        let media = answer.validate_msrp().expect("MSRP answer");
        let role = match media.setup {
            Some(msrpgw::proto::sdp::Setup::Passive) | None => Role::Active,
            _ => Role::Passive,
        };
        let gw_path: Vec<MsrpUri<'static>> = media
            .path
            .iter()
            .map(|p| MsrpUri::parse(p).expect("path").into_owned())
            .collect();
        self.msrp
            .stack
            .start_session(ours.key, remote(&gw_path, role))
            .expect("start");
        self.msrp.connected(ours.key);
    }
}

/// Session → pager: the INVITE is answered with msrpgw's path (RFC 6135:
/// passive, so the offerer connects); each SEND becomes a MESSAGE from
/// the session user's identity (P-Asserted-Identity over From), whose
/// final response decides the MSRP response (486 → 403); the pager user's
/// MESSAGE back flows into the same session, without a second INVITE.
#[test]
fn session_to_pager_and_back() {
    let d = Daemon::start(&config(""));
    let gw = d.sip_addr("udp");
    let mut dave = Ua::new();
    let mut carol = SessionUser::new();
    let dave_uri = format!("sip:dave@{}", dave.addr);
    let (ours, call_id, ok) = carol.invite(
        gw,
        &dave_uri,
        "text/plain",
        "P-Asserted-Identity: \"Carol\" <sip:carol@carrier.example>\r\n",
    );
    assert_eq!(ok.status, 200);
    let answer = SessionDescription::parse(&ok.body).expect("SDP");
    let media = answer.validate_msrp().expect("MSRP");
    assert_eq!(media.setup, Some(msrpgw::proto::sdp::Setup::Passive));
    assert!(media.accept_types.iter().any(|t| t == "message/cpim"));
    carol.ack_and_connect(gw, &ours, &call_id, &ok);

    carol
        .msrp
        .stack
        .send(
            ours.key,
            OutgoingMessage::new(1, "text/plain", b"hi dave".to_vec()),
        )
        .expect("send");
    let (msg, src) = dave.request(Method::Message);
    assert_eq!(msg.body.as_ref(), b"hi dave");
    let from = msg.headers.from_addr().expect("from");
    assert_eq!(
        from.uri.to_string(),
        "sip:carol@carrier.example",
        "PAI wins"
    );
    carol.msrp.quiet(ours.key, Duration::from_millis(300));
    dave.answer(&msg, src, 486, "d1", None);
    match carol.msrp.outcome(ours.key, 1) {
        SendOutcome::Failed {
            status: 403,
            reason,
        } => {
            assert!(reason.contains("486"), "{reason}");
        }
        other => panic!("expected 403 for 486, got {other:?}"),
    }

    carol
        .msrp
        .stack
        .send(
            ours.key,
            OutgoingMessage::new(2, "text/plain", b"again".to_vec()),
        )
        .expect("send");
    let (msg, src) = dave.request(Method::Message);
    dave.answer(&msg, src, 200, "d2", None);
    assert_eq!(carol.msrp.outcome(ours.key, 2), SendOutcome::Delivered);

    // Dave writes back to carol's identity: into the same session.
    dave.message(gw, "dave", "sip:carol@carrier.example", "hello carol");
    let (held, body, _) = received(&mut carol.msrp, ours.key);
    assert_eq!(body, b"hello carol");
    dave.no_response(Duration::from_millis(200));
    carol
        .msrp
        .stack
        .answer(ours.key, held, 200, None)
        .expect("answer");
    assert_eq!(dave.response().status, 200);
    assert!(
        carol
            .sip
            .next(Duration::from_millis(200))
            .is_none_or(|(m, _)| m.as_request().is_none_or(|r| r.method != Method::Invite)),
        "no second INVITE"
    );
}

/// INVITE failures reach the pager sender mapped (DESIGN §5).
#[test]
fn invite_failures_are_mapped_to_the_message() {
    let d = Daemon::start(&config(""));
    let gw = d.sip_addr("udp");
    let mut alice = Ua::new();
    let bob = SessionUser::new();
    for (n, (answer, expected)) in [(486, 486), (488, 415), (404, 404), (500, 480)]
        .into_iter()
        .enumerate()
    {
        let to = bob.uri(&format!("bob{n}"));
        alice.message(gw, "alice", &to, "x");
        let (invite, src) = bob.sip.request(Method::Invite);
        bob.sip.answer(&invite, src, answer, "b", None);
        assert_eq!(alice.response().status, expected, "INVITE {answer}");
    }
}

/// A session peer that accepts message/cpim gets the content wrapped with
/// the pager sender's identity; its IMDN request for a message to a pager
/// user is answered with a delivery notification.
#[test]
fn cpim_wrapping_and_delivery_notifications() {
    let d = Daemon::start(&config(""));
    let gw = d.sip_addr("udp");
    let mut alice = Ua::new();
    let mut bob = SessionUser::new();
    let bob_uri = bob.uri("bob");
    alice.message(gw, "alice", &bob_uri, "wrapped");
    let (ours, _) = bob.accept_invite("message/cpim text/plain");
    let (held, body, ct) = received(&mut bob.msrp, ours.key);
    assert_eq!(ct.as_deref(), Some("message/cpim"));
    let cpim = msrpgw::proto::cpim::CpimMessage::parse(&body).expect("CPIM");
    let from = cpim.from().expect("From").expect("parses");
    assert!(from.uri.starts_with("sip:alice@"), "{}", from.uri);
    assert!(cpim.date_time().is_some());
    assert_eq!(cpim.body.as_ref(), b"wrapped");
    bob.msrp
        .stack
        .answer(ours.key, held, 200, None)
        .expect("answer");
    assert_eq!(alice.response().status, 200);

    // Bob asks for delivery notifications on a message to alice.
    let im = format!(
        "From: <{bob_uri}>\r\nTo: <sip:alice@{}>\r\nNS: imdn <urn:ietf:params:imdn>\r\n\
         imdn.Message-ID: 34jk324j\r\nDateTime: 2026-11-23T01:00:00Z\r\n\
         imdn.Disposition-Notification: positive-delivery, negative-delivery\r\n\r\n\
         Content-Type: text/plain\r\n\r\nping",
        alice.addr
    );
    bob.msrp
        .stack
        .send(
            ours.key,
            OutgoingMessage::new(3, "message/cpim", im.into_bytes()),
        )
        .expect("send");
    let (msg, src) = alice.request(Method::Message);
    assert_eq!(msg.body.as_ref(), b"ping", "unwrapped for the pager user");
    alice.answer(&msg, src, 200, "a9", None);
    assert_eq!(bob.msrp.outcome(ours.key, 3), SendOutcome::Delivered);
    let (held, body, ct) = received(&mut bob.msrp, ours.key);
    assert_eq!(ct.as_deref(), Some("message/cpim"));
    let cpim = msrpgw::proto::cpim::CpimMessage::parse(&body).expect("CPIM");
    assert_eq!(cpim.content_type(), Some("message/imdn+xml"));
    let imdn = msrpgw::proto::imdn::Imdn::parse(&cpim.body).expect("IMDN");
    assert_eq!(imdn.message_id, "34jk324j");
    assert_eq!(
        imdn.notification,
        msrpgw::proto::imdn::Notification::Delivery(msrpgw::proto::imdn::DeliveryStatus::Delivered)
    );
    bob.msrp
        .stack
        .answer(ours.key, held, 200, None)
        .expect("answer");
}

/// `idle_timeout_secs` without traffic ends the session with BYE.
#[test]
fn idle_sessions_end_with_bye() {
    let d = Daemon::start(&config_with("idle_timeout_secs = 1\n", ""));
    let gw = d.sip_addr("udp");
    let mut alice = Ua::new();
    let mut bob = SessionUser::new();
    let (ours, invite) = first_message(gw, &mut alice, &mut bob, "bob", "x");
    let started = Instant::now();
    let (bye, src) = bob.sip.request(Method::Bye);
    assert!(
        started.elapsed() >= Duration::from_millis(700),
        "not before the idle time"
    );
    assert_eq!(bye.headers.call_id().ok(), invite.headers.call_id().ok());
    bob.sip.answer(&bye, src, 200, "bob1", None);
    bob.msrp.closed(ours.key);
}

/// `max_sessions` reached: a MESSAGE for a new pair gets 503 with
/// Retry-After.
#[test]
fn session_limit_gives_503_with_retry_after() {
    let d = Daemon::start(&config_with("max_sessions = 1\n", ""));
    let gw = d.sip_addr("udp");
    let mut alice = Ua::new();
    let mut bob = SessionUser::new();
    first_message(gw, &mut alice, &mut bob, "bob", "first");
    alice.message(gw, "alice", &bob.uri("other"), "second pair");
    let r = alice.response();
    assert_eq!(r.status, 503);
    assert!(r.headers.get(&HeaderName::RetryAfter).is_some());
}

/// MSRP connection loss ends the session with BYE; SIGTERM BYEs every
/// session and exits 0.
#[test]
fn msrp_loss_and_sigterm_send_bye() {
    let mut d = Daemon::start(&config(""));
    let gw = d.sip_addr("udp");
    let mut alice = Ua::new();
    let mut bob = SessionUser::new();
    let (ours, _) = first_message(gw, &mut alice, &mut bob, "bob", "x");
    // Close bob's MSRP side: the gateway notices and sends BYE.
    bob.msrp.stack.close(ours.key).expect("close");
    let (bye, src) = bob.sip.request(Method::Bye);
    bob.sip.answer(&bye, src, 200, "bob1", None);

    first_message(gw, &mut alice, &mut bob, "bob2", "y");
    d.signal("TERM");
    let (bye, src) = bob.sip.request(Method::Bye);
    bob.sip.answer(&bye, src, 200, "bob1", None);
    let status = d.wait(Duration::from_secs(8)).expect("stops");
    assert_eq!(status.code(), Some(0), "{}", d.log_text());
}

/// A 20 KB message each way: chunked on the MSRP side (2048-byte chunks,
/// reassembled), over TCP on the SIP side toward the pager user (RFC 3261
/// §18.1.1: larger than 1300 bytes).
#[test]
fn chunked_20_kb_both_ways() {
    use std::io::{Read, Write};
    let d = Daemon::start(&config(""));
    let gw = d.sip_addr("udp");
    // Alice takes TCP on the same port as her UDP socket; that TCP port may
    // be taken by some other connection, so try a few sockets.
    let (mut alice, alice_tcp) = (0..50)
        .find_map(|_| {
            let ua = Ua::new();
            let tcp = std::net::TcpListener::bind(ua.addr).ok()?;
            Some((ua, tcp))
        })
        .expect("a port free for both UDP and TCP");
    let mut bob = SessionUser::new();
    let big: String = (0..20_480)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    alice.message(gw, "alice", &bob.uri("bob"), &big);
    let (ours, _) = bob.accept_invite("text/plain");
    let (held, body, _) = received(&mut bob.msrp, ours.key);
    assert_eq!(body, big.as_bytes());
    bob.msrp
        .stack
        .answer(ours.key, held, 200, None)
        .expect("answer");
    assert_eq!(alice.response().status, 200);

    bob.msrp
        .stack
        .send(
            ours.key,
            OutgoingMessage::new(9, "text/plain", big.clone().into_bytes()),
        )
        .expect("send");
    let (mut conn, _) = alice_tcp.accept().expect("the gateway connects over TCP");
    conn.set_read_timeout(Some(WAIT)).expect("timeout");
    let mut buf = Vec::new();
    let mut tmp = [0u8; 65_536];
    let msg = loop {
        if let Ok(Some(unit)) = sip::parse_stream(&buf, &sip::FrameLimits::default()) {
            if let Some(SipMessage::Request(r)) = unit.message {
                break r.into_owned();
            }
        }
        let n = conn.read(&mut tmp).expect("read");
        assert!(n > 0, "closed");
        buf.extend_from_slice(&tmp[..n]);
    };
    assert_eq!(msg.method, Method::Message);
    assert_eq!(msg.body.as_ref(), big.as_bytes());
    assert_eq!(
        msg.headers.top_via().expect("via").transport.as_str(),
        "TCP"
    );
    let mut ok = SipResponse::for_request(&msg, 200, "OK");
    ok.set_to_tag("a20");
    conn.write_all(&ok.to_bytes()).expect("write");
    assert_eq!(bob.msrp.outcome(ours.key, 9), SendOutcome::Delivered);
}

/// The session user refuses a SEND with 415: the pager sender gets 415.
/// A retransmitted MESSAGE produces no second SEND.
#[test]
fn send_rejected_and_retransmissions_absorbed() {
    let d = Daemon::start(&config(""));
    let gw = d.sip_addr("udp");
    let mut alice = Ua::new();
    let mut bob = SessionUser::new();
    alice.message(gw, "alice", &bob.uri("bob"), "once");
    let (ours, _) = bob.accept_invite("text/plain");
    let (held, body, _) = received(&mut bob.msrp, ours.key);
    assert_eq!(body, b"once");
    // The same MESSAGE again (same branch, Call-ID, CSeq): a retransmission.
    alice.n -= 1;
    alice.message(gw, "alice", &bob.uri("bob"), "once");
    bob.msrp.quiet(ours.key, Duration::from_millis(400));
    bob.msrp
        .stack
        .answer(ours.key, held, 415, None)
        .expect("answer");
    assert_eq!(alice.response().status, 415);
}

/// 100 pairs × 5 messages at once: every MESSAGE answered 200, every
/// message delivered once, in order per pair (I1, I4).
#[test]
fn hundred_pairs_five_messages_none_lost_order_kept() {
    const PAIRS: usize = 100;
    const EACH: usize = 5;
    let d = Daemon::start(&config(""));
    let gw = d.sip_addr("udp");
    let mut bob = SessionUser::new();
    let mut alices: Vec<Ua> = (0..PAIRS).map(|_| Ua::new()).collect();
    for (i, a) in alices.iter_mut().enumerate() {
        for m in 0..EACH {
            a.message(
                gw,
                &format!("alice{i}"),
                &bob.uri(&format!("bob{i}")),
                &format!("{i}:{m}"),
            );
        }
    }
    // Bob answers every INVITE as it comes, then every message 200.
    let mut by_session: std::collections::HashMap<msrpgw::event::MsrpSessionKey, Vec<String>> =
        Default::default();
    let mut invites = std::collections::HashSet::new();
    let mut delivered = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    while delivered < PAIRS * EACH {
        assert!(
            Instant::now() < deadline,
            "only {delivered} delivered, {} INVITEs; gateway warnings:\n{}",
            invites.len(),
            d.log_lines()
                .iter()
                .filter(|l| l.contains("WARN") || l.contains("ERROR"))
                .take(30)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        );
        while let Some((m, src)) = bob.sip.next(Duration::from_millis(1)) {
            let SipMessage::Request(inv) = m else {
                continue;
            };
            if inv.method != Method::Invite
                || !invites.insert(inv.headers.call_id().unwrap_or("").to_owned())
            {
                continue;
            }
            let offer = SessionDescription::parse(&inv.body).expect("SDP");
            let media = offer.validate_msrp().expect("MSRP");
            let gw_path: Vec<MsrpUri<'static>> = media
                .path
                .iter()
                .map(|p| MsrpUri::parse(p).expect("path").into_owned())
                .collect();
            let ours = bob.msrp.session(SessionOptions::default());
            bob.msrp
                .stack
                .start_session(ours.key, remote(&gw_path, Role::Passive))
                .expect("start");
            let uri = &ours.local_path.as_ref().expect("path")[0];
            let answer = format!(
                "v=0\r\no=bob 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
                 m=message {} TCP/MSRP *\r\na=accept-types:text/plain\r\na=path:{uri}\r\n\
                 a=setup:passive\r\n",
                uri.port.expect("port")
            );
            bob.sip
                .answer(&inv, src, 200, "bob", Some(answer.as_bytes()));
        }
        let got = bob.msrp.try_expect(Duration::from_millis(5), |e| match e {
            MsrpEvent::Received {
                session,
                held: Some(h),
                body,
                ..
            } if !body.is_empty() => Some((*session, *h, body.clone())),
            _ => None,
        });
        if let Some((session, held, body)) = got {
            bob.msrp
                .stack
                .answer(session, held, 200, None)
                .expect("answer");
            by_session
                .entry(session)
                .or_default()
                .push(String::from_utf8(body).expect("utf8"));
            delivered += 1;
        }
    }
    assert_eq!(invites.len(), PAIRS, "one INVITE per pair");
    assert_eq!(by_session.len(), PAIRS);
    for bodies in by_session.values() {
        let pair = bodies[0].split(':').next().expect("pair").to_owned();
        let expected: Vec<String> = (0..EACH).map(|m| format!("{pair}:{m}")).collect();
        assert_eq!(bodies, &expected, "order within the pair");
    }
    for a in &alices {
        let mut answered = std::collections::HashSet::new();
        while answered.len() < EACH {
            let r = a.response();
            assert_eq!(r.status, 200);
            answered.insert(r.headers.call_id().expect("call-id").to_owned());
        }
    }
}

/// /metrics moves with the traffic.
#[test]
fn metrics_count_messages_and_sessions() {
    let d = Daemon::start(&config("[status]\nlisten = \"127.0.0.1:0\"\n"));
    let gw = d.sip_addr("udp");
    let mut alice = Ua::new();
    let mut bob = SessionUser::new();
    first_message(gw, &mut alice, &mut bob, "bob", "count me");
    let (code, text) = crate::daemon::http(d.status_addr(), b"GET /metrics HTTP/1.1\r\n\r\n");
    assert_eq!(code, 200);
    for line in [
        "msrpgw_messages_total{direction=\"pager_to_session\",outcome=\"delivered\"} 1",
        "msrpgw_sessions_created_total{direction=\"pager_to_session\"} 1",
        "msrpgw_sessions 1",
        "msrpgw_message_latency_seconds_count{direction=\"pager_to_session\"} 1",
    ] {
        assert!(text.contains(line), "{line} missing:\n{text}");
    }
    let (code, json) = crate::daemon::http(d.status_addr(), b"GET /sessions HTTP/1.1\r\n\r\n");
    assert_eq!(code, 200);
    let rows: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(rows.as_array().map(Vec::len), Some(1), "{json}");
    assert_eq!(rows[0]["state"], "active");
    assert_eq!(rows[0]["messages_to_session"], 1);
}

/// A session user that rings and never answers: the pager sender gets 408
/// once the setup time (the MSRP transaction timeout) is over, and the
/// INVITE is cancelled.
#[test]
fn session_setup_that_never_completes_gets_408_and_cancel() {
    let text = config("").replace(
        "[msrp]\nlisten = [\"tcp:127.0.0.1:0\"]\n",
        "[msrp]\nlisten = [\"tcp:127.0.0.1:0\"]\ntransaction_timeout_secs = 1\n",
    );
    let d = Daemon::start(&text);
    let gw = d.sip_addr("udp");
    let mut alice = Ua::new();
    let bob = SessionUser::new();
    let started = Instant::now();
    alice.message(gw, "alice", &bob.uri("bob"), "anyone?");
    let (invite, src) = bob.sip.request(Method::Invite);
    let mut ringing = SipResponse::for_request(&invite, 180, "Ringing").into_owned();
    ringing.set_to_tag("ring");
    bob.sip.s.send_to(&ringing.to_bytes(), src).expect("send");
    let r = alice.response();
    assert_eq!(r.status, 408);
    assert!(started.elapsed() >= Duration::from_millis(900));
    let (cancel, src) = bob.sip.request(Method::Cancel);
    assert_eq!(cancel.headers.call_id().ok(), invite.headers.call_id().ok());
    bob.sip.answer(&cancel, src, 200, "ring", None);
    bob.sip.answer(&invite, src, 487, "ring", None);
}

/// I4 toward the pager user: one MESSAGE at a time per session, the next
/// after the previous one's final response, so their order survives any
/// SIP path; each MSRP response follows its own MESSAGE's answer.
#[test]
fn session_messages_reach_the_pager_one_at_a_time_in_order() {
    let d = Daemon::start(&config(""));
    let gw = d.sip_addr("udp");
    let dave = Ua::new();
    let mut carol = SessionUser::new();
    let dave_uri = format!("sip:dave@{}", dave.addr);
    let (ours, call_id, ok) = carol.invite(gw, &dave_uri, "text/plain", "");
    assert_eq!(ok.status, 200);
    carol.ack_and_connect(gw, &ours, &call_id, &ok);
    for (tag, body) in [(1u64, "one"), (2, "two"), (3, "three")] {
        carol
            .msrp
            .stack
            .send(
                ours.key,
                OutgoingMessage::new(tag, "text/plain", body.as_bytes().to_vec()),
            )
            .expect("send");
    }
    for (tag, body) in [(1u64, "one"), (2, "two"), (3, "three")] {
        let (msg, src) = dave.request(Method::Message);
        assert_eq!(msg.body.as_ref(), body.as_bytes());
        // Nothing else comes while this one is unanswered.
        if let Some((SipMessage::Request(r), _)) = dave.next(Duration::from_millis(250)) {
            assert_eq!(
                r.body.as_ref(),
                body.as_bytes(),
                "only retransmissions of {body}"
            );
        }
        dave.answer(&msg, src, 200, &format!("d{tag}"), None);
        assert_eq!(carol.msrp.outcome(ours.key, tag), SendOutcome::Delivered);
    }
}
