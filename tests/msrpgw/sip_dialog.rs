//! INVITE dialogs through real sockets on 127.0.0.1 (RFC 3261 §12–§15):
//! the UA core on both sides against a peer played by a plain socket.

use std::io::Write;
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use msrpgw::proto::sip::uri::Uri;
use msrpgw::proto::sip::{self, HeaderName, Method, SipMessage, SipRequest, SipResponse};
use msrpgw::sip::ua_core::EndReason;

use crate::sip_stack::{ANSWER_SDP, Command, Harness, Seen, read_response};

const WAIT: Duration = Duration::from_secs(5);

const OFFER: &str = "v=0\r\no=alice 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n\
t=0 0\r\nm=message 7394 TCP/MSRP *\r\na=accept-types:text/plain\r\n\
a=path:msrp://127.0.0.1:7394/2s93i9ek2a;tcp\r\n";

fn socket() -> UdpSocket {
    let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
    s.set_read_timeout(Some(WAIT)).expect("timeout");
    s
}

/// A request from the peer `me` in call `call`; `to_tag` makes it
/// in-dialog.
fn peer_request(
    method: &str,
    me: SocketAddr,
    call: &str,
    cseq: u32,
    to_tag: Option<&str>,
    body: &str,
) -> Vec<u8> {
    let to_tag = to_tag.map(|t| format!(";tag={t}")).unwrap_or_default();
    let ctype = if body.is_empty() {
        String::new()
    } else {
        "Content-Type: application/sdp\r\n".to_owned()
    };
    format!(
        "{method} sip:dave@127.0.0.1 SIP/2.0\r\n\
         Via: SIP/2.0/UDP {me};branch=z9hG4bK-{call}-{cseq}-{method};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:carol@example.com>;tag=carol1\r\n\
         To: <sip:dave@example.net>{to_tag}\r\n\
         Call-ID: {call}\r\n\
         CSeq: {cseq} {method}\r\n\
         Contact: <sip:carol@{me}>\r\n\
         {ctype}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The next SIP message on `s` (skipping nothing).
fn recv(s: &UdpSocket) -> (SipMessage<'static>, SocketAddr) {
    let mut buf = vec![0u8; 65_536];
    let (n, src) = s.recv_from(&mut buf).expect("a message arrives");
    let m = sip::parse_datagram(&buf[..n]).expect("parses").into_owned();
    (m, src)
}

/// The next final response on `s`.
fn final_response(s: &UdpSocket) -> SipResponse<'static> {
    loop {
        match recv(s).0 {
            SipMessage::Response(r) if r.status >= 200 => return r,
            SipMessage::Response(_) => {}
            SipMessage::Request(r) => panic!("expected a response, got {}", r.method.as_str()),
        }
    }
}

fn recv_request(s: &UdpSocket) -> (SipRequest<'static>, SocketAddr) {
    loop {
        match recv(s) {
            (SipMessage::Request(r), src) => return (r, src),
            (SipMessage::Response(_), _) => {}
        }
    }
}

fn to_tag(r: &SipResponse<'_>) -> String {
    r.headers
        .to_addr()
        .expect("to")
        .tag()
        .expect("a To tag")
        .to_owned()
}

fn expect_seen(h: &Harness, what: &str, pred: impl Fn(&Seen) -> bool) -> Seen {
    let deadline = Instant::now() + WAIT;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match h.seen.recv_timeout(left) {
            Ok(s) if pred(&s) => return s,
            Ok(_) => {}
            Err(_) => break,
        }
    }
    panic!("the user layer never saw {what}");
}

/// Sets up a dialog: INVITE from the peer, our 200, the peer's ACK.
fn established(h: &Harness, c: &UdpSocket, call: &str) -> String {
    let me = c.local_addr().expect("addr");
    c.send_to(&peer_request("INVITE", me, call, 1, None, OFFER), h.udp)
        .expect("send");
    let ok = final_response(c);
    assert_eq!(ok.status, 200);
    let tag = to_tag(&ok);
    c.send_to(&peer_request("ACK", me, call, 1, Some(&tag), ""), h.udp)
        .expect("send");
    tag
}

/// UAS: INVITE → 200 with our SDP, Contact and To tag; ACK; the peer's
/// BYE → 200 and the dialog ends; a second BYE finds no dialog (481).
#[test]
fn uas_dialog_from_invite_to_bye() {
    let h = Harness::start();
    let c = socket();
    let me = c.local_addr().expect("addr");
    c.send_to(&peer_request("INVITE", me, "uas-1", 1, None, OFFER), h.udp)
        .expect("send");
    let ok = final_response(&c);
    assert_eq!(ok.status, 200);
    assert_eq!(ok.body.as_ref(), ANSWER_SDP.as_bytes());
    let contact = ok.headers.get(&HeaderName::Contact).expect("Contact");
    assert!(contact.contains(&h.udp.port().to_string()), "{contact}");
    let tag = to_tag(&ok);
    let accepted = expect_seen(&h, "the dialog", |s| matches!(s, Seen::Accepted(_)));
    c.send_to(&peer_request("ACK", me, "uas-1", 1, Some(&tag), ""), h.udp)
        .expect("send");
    c.send_to(&peer_request("BYE", me, "uas-1", 2, Some(&tag), ""), h.udp)
        .expect("send");
    let r = final_response(&c);
    assert_eq!((r.status, r.headers.cseq().expect("cseq").seq), (200, 2));
    let Seen::Accepted(id) = accepted else {
        unreachable!()
    };
    match expect_seen(&h, "the end", |s| matches!(s, Seen::Ended(..))) {
        Seen::Ended(ended, EndReason::Bye) => assert_eq!(ended, id),
        other => panic!("{other:?}"),
    }
    c.send_to(&peer_request("BYE", me, "uas-1", 3, Some(&tag), ""), h.udp)
        .expect("send");
    assert_eq!(final_response(&c).status, 481);
}

/// Requests naming a dialog that does not exist get 481 (§12.2.2).
#[test]
fn requests_outside_any_dialog_get_481() {
    let h = Harness::start();
    let c = socket();
    let me = c.local_addr().expect("addr");
    for method in ["BYE", "MESSAGE", "INVITE"] {
        let req = peer_request(method, me, "ghost", 5, Some("nosuchtag"), "");
        c.send_to(&req, h.udp).expect("send");
        let r = final_response(&c);
        assert_eq!(r.status, 481, "{method}");
        assert_eq!(r.headers.cseq().expect("cseq").method.as_str(), method);
    }
}

/// §13.3.1.4 over UDP: our 2xx is sent again (T1, 2·T1, ...) until the
/// ACK, and no more after it.
#[test]
fn uas_2xx_is_retransmitted_until_the_ack() {
    let h = Harness::start();
    let c = socket();
    let me = c.local_addr().expect("addr");
    c.send_to(
        &peer_request("INVITE", me, "uas-rtx", 1, None, OFFER),
        h.udp,
    )
    .expect("send");
    // T1 = 50 ms: the 2xx comes again at about 50, 150, 350 ms.
    let mut copies = 0;
    let mut tag = String::new();
    while copies < 3 {
        let r = final_response(&c);
        assert_eq!(r.status, 200);
        tag = to_tag(&r);
        copies += 1;
    }
    c.send_to(
        &peer_request("ACK", me, "uas-rtx", 1, Some(&tag), ""),
        h.udp,
    )
    .expect("send");
    // At most one copy already in flight, then silence.
    c.set_read_timeout(Some(Duration::from_millis(900)))
        .expect("timeout");
    let mut buf = [0u8; 4096];
    let mut after = 0;
    while c.recv_from(&mut buf).is_ok() {
        after += 1;
    }
    assert!(after <= 1, "{after} copies of the 2xx after the ACK");
}

/// No ACK within 64·T1: the dialog ends with a BYE toward the peer.
#[test]
fn uas_without_ack_ends_the_dialog_with_bye() {
    let h = Harness::start();
    let c = socket();
    let me = c.local_addr().expect("addr");
    c.send_to(
        &peer_request("INVITE", me, "uas-noack", 1, None, OFFER),
        h.udp,
    )
    .expect("send");
    let deadline = Instant::now() + Duration::from_secs(10);
    let bye = loop {
        assert!(Instant::now() < deadline, "no BYE came");
        match recv(&c) {
            (SipMessage::Request(r), src) if r.method == Method::Bye => break (r, src),
            (SipMessage::Request(r), _) => panic!("unexpected {}", r.method.as_str()),
            (SipMessage::Response(_), _) => {}
        }
    };
    let (bye, src) = bye;
    assert_eq!(bye.headers.call_id().expect("call-id"), "uas-noack");
    assert_eq!(
        bye.headers.to_addr().expect("to").tag(),
        Some("carol1"),
        "BYE goes to the peer's tag"
    );
    assert_eq!(bye.uri.to_string(), format!("sip:carol@{me}"));
    let mut ok = SipResponse::for_request(&bye, 200, "OK");
    ok.headers.remove(&HeaderName::Contact);
    c.send_to(&ok.to_bytes(), src).expect("send");
    match expect_seen(&h, "the end", |s| matches!(s, Seen::Ended(..))) {
        Seen::Ended(_, EndReason::NoAck) => {}
        other => panic!("{other:?}"),
    }
}

/// A re-INVITE with the same media gets our SDP again; one that changes
/// them gets 488; a CSeq going backwards gets 500; the dialog survives.
#[test]
fn reinvite_same_sdp_or_488() {
    let h = Harness::start();
    let c = socket();
    let me = c.local_addr().expect("addr");
    let tag = established(&h, &c, "re-1");
    let bumped = OFFER.replace("o=alice 1 1", "o=alice 1 2");
    c.send_to(
        &peer_request("INVITE", me, "re-1", 2, Some(&tag), &bumped),
        h.udp,
    )
    .expect("send");
    let r = final_response(&c);
    assert_eq!(r.status, 200);
    assert_eq!(r.body.as_ref(), ANSWER_SDP.as_bytes());
    c.send_to(&peer_request("ACK", me, "re-1", 2, Some(&tag), ""), h.udp)
        .expect("send");
    let changed = OFFER.replace("2s93i9ek2a", "elsewhere");
    c.send_to(
        &peer_request("INVITE", me, "re-1", 3, Some(&tag), &changed),
        h.udp,
    )
    .expect("send");
    let r = final_response(&c);
    assert_eq!(r.status, 488);
    // The transaction ACKs the 488 itself; send it as a peer would.
    c.send_to(&peer_request("ACK", me, "re-1", 3, Some(&tag), ""), h.udp)
        .expect("send");
    c.send_to(&peer_request("BYE", me, "re-1", 1, Some(&tag), ""), h.udp)
        .expect("send");
    assert_eq!(final_response(&c).status, 500);
    c.send_to(&peer_request("BYE", me, "re-1", 4, Some(&tag), ""), h.udp)
        .expect("send");
    assert_eq!(final_response(&c).status, 200);
}

/// The same dialog over TCP: no retransmissions, BYE on the connection.
#[test]
fn uas_dialog_over_tcp() {
    let h = Harness::start();
    let mut t = TcpStream::connect(h.tcp).expect("connect");
    t.set_read_timeout(Some(WAIT)).expect("timeout");
    let me = t.local_addr().expect("addr");
    let tcp = |b: Vec<u8>| {
        String::from_utf8(b)
            .expect("utf8")
            .replace("SIP/2.0/UDP", "SIP/2.0/TCP")
            .into_bytes()
    };
    t.write_all(&tcp(peer_request("INVITE", me, "tcp-1", 1, None, OFFER)))
        .expect("write");
    let ok = read_response(&mut t);
    assert_eq!(ok.status, 200);
    let contact = ok.headers.get(&HeaderName::Contact).expect("Contact");
    assert!(contact.contains("transport=tcp"), "{contact}");
    let tag = to_tag(&ok);
    t.write_all(&tcp(peer_request("ACK", me, "tcp-1", 1, Some(&tag), "")))
        .expect("write");
    t.write_all(&tcp(peer_request("BYE", me, "tcp-1", 2, Some(&tag), "")))
        .expect("write");
    assert_eq!(read_response(&mut t).status, 200);
}

fn our_invite(call: &str) -> SipRequest<'static> {
    let mut r = SipRequest::new(
        Method::Invite,
        Uri::parse("sip:bob@127.0.0.1").expect("uri").into_owned(),
    );
    r.push_header(HeaderName::MaxForwards, "70");
    r.push_header(HeaderName::From, "<sip:alice@example.com>;tag=gwtag1");
    r.push_header(HeaderName::To, "<sip:bob@example.net>");
    r.push_header(HeaderName::CallId, call.to_owned());
    r.push_header(HeaderName::CSeq, "10 INVITE");
    r.push_header(HeaderName::Contact, "<sip:gw@127.0.0.1>");
    r.set_body("application/sdp", OFFER.as_bytes().to_vec());
    r
}

/// UAC: our INVITE, the peer's 180 and 200 (with Record-Route), our ACK
/// routed by the route set; a retransmitted 200 gets the ACK again and
/// no second dialog; our BYE carries the next CSeq and the route.
#[test]
fn uac_dialog_acks_every_2xx_and_byes() {
    let h = Harness::start();
    let peer = socket();
    let addr = peer.local_addr().expect("addr");
    h.commands
        .send(Command::Invite(
            Box::new(our_invite("uac-1")),
            format!("sip:{addr}"),
        ))
        .expect("command");
    let (invite, src) = recv_request(&peer);
    assert_eq!(invite.method, Method::Invite);
    let ringing = SipResponse::for_request(&invite, 180, "Ringing");
    let mut ringing = ringing.into_owned();
    ringing.set_to_tag("bob9");
    peer.send_to(&ringing.to_bytes(), src).expect("send");
    let mut ok = SipResponse::for_request(&invite, 200, "OK").into_owned();
    ok.set_to_tag("bob9");
    ok.push_header(HeaderName::RecordRoute, format!("<sip:{addr};lr>"));
    ok.push_header(HeaderName::Contact, format!("<sip:bob@{addr}>"));
    ok.set_body("application/sdp", ANSWER_SDP.as_bytes().to_vec());
    peer.send_to(&ok.to_bytes(), src).expect("send");
    expect_seen(&h, "the 180", |s| matches!(s, Seen::Response(180)));
    let id = match expect_seen(&h, "the dialog", |s| matches!(s, Seen::Established(..))) {
        Seen::Established(id, body) => {
            assert_eq!(body, ANSWER_SDP.as_bytes());
            id
        }
        _ => unreachable!(),
    };
    for round in 0..2 {
        let (ack, _) = recv_request(&peer);
        assert_eq!(ack.method, Method::Ack, "round {round}");
        assert_eq!(ack.uri.to_string(), format!("sip:bob@{addr}"));
        let cseq = ack.headers.cseq().expect("cseq");
        assert_eq!((cseq.seq, cseq.method.as_str()), (10, "ACK"));
        assert_eq!(ack.headers.to_addr().expect("to").tag(), Some("bob9"));
        assert_eq!(
            ack.headers.get(&HeaderName::Route),
            Some(format!("<sip:{addr};lr>").as_str())
        );
        if round == 0 {
            // The 200 again, as if the ACK were lost.
            peer.send_to(&ok.to_bytes(), src).expect("send");
        }
    }
    h.commands.send(Command::Bye(id)).expect("command");
    let (bye, src) = recv_request(&peer);
    assert_eq!(bye.method, Method::Bye);
    assert_eq!(bye.headers.cseq().expect("cseq").seq, 11);
    assert_eq!(bye.headers.call_id().expect("call-id"), "uac-1");
    let bye_ok = SipResponse::for_request(&bye, 200, "OK");
    peer.send_to(&bye_ok.to_bytes(), src).expect("send");
    // Neither the retransmitted 2xx nor the BYE's 200 reach the user layer.
    assert!(
        !matches!(
            h.seen.recv_timeout(Duration::from_millis(300)),
            Ok(Seen::Established(..) | Seen::Response(_))
        ),
        "no second dialog, no BYE response upstream"
    );
}

/// UAC: a failure response is ACKed by the transaction and reaches the
/// user layer; the peer's BYE in an established UAC dialog ends it.
#[test]
fn uac_failure_and_peer_bye() {
    let h = Harness::start();
    let peer = socket();
    let addr = peer.local_addr().expect("addr");
    h.commands
        .send(Command::Invite(
            Box::new(our_invite("uac-busy")),
            format!("sip:{addr}"),
        ))
        .expect("command");
    let (invite, src) = recv_request(&peer);
    let mut busy = SipResponse::for_request(&invite, 486, "Busy Here").into_owned();
    busy.set_to_tag("bob486");
    peer.send_to(&busy.to_bytes(), src).expect("send");
    let (ack, _) = recv_request(&peer);
    assert_eq!(ack.method, Method::Ack);
    assert_eq!(
        ack.headers.top_via().expect("via").branch(),
        invite.headers.top_via().expect("via").branch(),
        "the non-2xx ACK belongs to the INVITE transaction"
    );
    expect_seen(&h, "the 486", |s| matches!(s, Seen::Response(486)));

    h.commands
        .send(Command::Invite(
            Box::new(our_invite("uac-2")),
            format!("sip:{addr}"),
        ))
        .expect("command");
    let (invite, src) = recv_request(&peer);
    let mut ok = SipResponse::for_request(&invite, 200, "OK").into_owned();
    ok.set_to_tag("bob2");
    ok.push_header(HeaderName::Contact, format!("<sip:bob@{addr}>"));
    ok.set_body("application/sdp", ANSWER_SDP.as_bytes().to_vec());
    peer.send_to(&ok.to_bytes(), src).expect("send");
    let id = match expect_seen(&h, "the dialog", |s| matches!(s, Seen::Established(..))) {
        Seen::Established(id, _) => id,
        _ => unreachable!(),
    };
    let (ack, _) = recv_request(&peer);
    assert_eq!(ack.method, Method::Ack);
    let bye = format!(
        "BYE sip:gw@127.0.0.1 SIP/2.0\r\n\
         Via: SIP/2.0/UDP {addr};branch=z9hG4bK-peerbye\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:bob@example.net>;tag=bob2\r\n\
         To: <sip:alice@example.com>;tag=gwtag1\r\n\
         Call-ID: uac-2\r\n\
         CSeq: 1 BYE\r\n\
         Content-Length: 0\r\n\r\n"
    );
    peer.send_to(bye.as_bytes(), h.udp).expect("send");
    assert_eq!(final_response(&peer).status, 200);
    match expect_seen(&h, "the end", |s| matches!(s, Seen::Ended(..))) {
        Seen::Ended(ended, EndReason::Bye) => assert_eq!(ended, id),
        other => panic!("{other:?}"),
    }
}
