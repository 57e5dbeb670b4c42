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

use crate::daemon::{Daemon, config};
use crate::msrp_stack::{Side, remote, tcp_listen};

const WAIT: Duration = Duration::from_secs(10);

/// A SIP user agent on a UDP socket.
pub(crate) struct Ua {
    pub s: UdpSocket,
    pub addr: SocketAddr,
    n: u32,
}

impl Ua {
    pub(crate) fn new() -> Ua {
        let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
        s.set_read_timeout(Some(Duration::from_millis(100)))
            .expect("timeout");
        let addr = s.local_addr().expect("addr");
        Ua { s, addr, n: 0 }
    }

    /// The next SIP message within `wait` (100 Trying skipped).
    pub(crate) fn next(&self, wait: Duration) -> Option<(SipMessage<'static>, SocketAddr)> {
        let deadline = Instant::now() + wait;
        let mut buf = vec![0u8; 65_536];
        while Instant::now() < deadline {
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
                Some((SipMessage::Request(r), src)) if r.method == method => return (r, src),
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
struct SessionUser {
    sip: Ua,
    msrp: Side,
}

impl SessionUser {
    fn new() -> SessionUser {
        SessionUser {
            sip: Ua::new(),
            msrp: Side::start(MsrpStackConfig::new(tcp_listen())),
        }
    }

    fn uri(&self, user: &str) -> String {
        format!("sip:{user}@{}", self.sip.addr)
    }

    /// Receives msrpgw's INVITE and accepts it with a passive MSRP
    /// endpoint accepting `types`; returns our session and the INVITE.
    fn accept_invite(&mut self, types: &str) -> (NewSession, SipRequest<'static>) {
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
        let ours = self.msrp.session(SessionOptions::default());
        self.msrp
            .stack
            .start_session(ours.key, remote(&gw_path, Role::Passive))
            .expect("start");
        let path = ours.local_path.clone().expect("path")[0].to_string();
        let port = ours.local_path.as_ref().expect("path")[0]
            .port
            .expect("port");
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

fn received(
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
