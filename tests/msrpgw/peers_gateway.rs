//! The gateway end to end with real peers (tests/peers/): pjsua2 as the
//! pager user on both ends of a session, Kamailio as the carrier's proxy in
//! front of msrpgw (both directions through it), and the MSRP leg through
//! Kamailio's RFC 4976 relay with Digest AUTH. The session-mode user is
//! the hand-written one of `gateway.rs` (pjsua drops calls whose only
//! media is `m=message`).
//!
//! A peer that is not installed makes its test print a notice and return,
//! unless MSRPGW_REQUIRE_PEERS=1, which turns that into a failure.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use msrpgw::config::{Credentials, Relay};
use msrpgw::event::{MsrpEvent, MsrpSessionKey, SendOutcome};
use msrpgw::msrp::{HeldId, MsrpStackConfig, OutgoingMessage};
use msrpgw::proto::msrp::MsrpUri;
use msrpgw::proto::sdp::SessionDescription;
use msrpgw::proto::sip::{HeaderName, Method};

use crate::daemon::Daemon;
use crate::gateway::{SessionUser, Ua, received};
use crate::msrp_stack::tcp_listen;
use crate::peers::{Peer, kamailio, pjsua, status_of};

/// How long a peer script lives at most (each test ends well before).
const PEER_TIMEOUT: &str = "30";
/// Long enough for an early answer to show up on loopback.
const NO_ANSWER_YET: Duration = Duration::from_millis(300);

/// A gateway configuration: `sip_listen` the SIP listeners (TOML array
/// items), `msrp` more `[msrp]` lines, `routing` the `[routing]` lines.
fn gateway_config(sip_listen: &str, msrp: &str, routing: &str) -> String {
    format!(
        "[sip]\nlisten = [{sip_listen}]\nt1_ms = 50\n\
         [msrp]\nlisten = [\"tcp:127.0.0.1:0\"]\n{msrp}\
         [gateway]\nshutdown_grace_secs = 1\n\
         [routing]\n{routing}\
         [log]\nlevel = \"info\"\n"
    )
}

const EPHEMERAL_SIP: &str = "\"udp:127.0.0.1:0\", \"tcp:127.0.0.1:0\"";

/// `sip:127.0.0.1:PORT;transport=udp`, for a next hop.
fn udp_hop(port: u16) -> String {
    format!("sip:127.0.0.1:{port};transport=udp")
}

/// RFC 4648 base64, as the peer scripts print bodies.
fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = c
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= c.len() {
                out.push(char::from(A[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The `key=` field of a peer's line.
fn field<'l>(line: &'l str, key: &str) -> &'l str {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no {key}= in {line}"))
}

/// pjsua sending one MESSAGE (`--proxy`: through that outbound proxy).
fn pjsua_send(target: &str, proxy: Option<SocketAddr>, body: &str) -> Peer {
    let proxy = proxy.map(|p| p.to_string());
    let mut args = vec![
        "pjsua_peer.py",
        "send-message",
        "--target",
        target,
        "--body",
        body,
        "--txn-timeout",
        "10",
        "--timeout",
        PEER_TIMEOUT,
    ];
    if let Some(p) = &proxy {
        args.extend(["--proxy", p.as_str()]);
    }
    Peer::start("python3", &args)
}

fn pjsua_receiver() -> Peer {
    Peer::start(
        "python3",
        &["pjsua_peer.py", "receive", "--timeout", PEER_TIMEOUT],
    )
}

/// A UDP port free now, for a listener that must be known before it
/// exists (Kamailio's template needs the gateway's address, the gateway's
/// configuration the proxy's).
fn free_udp_port() -> u16 {
    let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
    s.local_addr().expect("addr").port()
}

/// pjsua2 as the pager user on both ends: its MESSAGE sets up a session
/// toward the session user, whose 200 becomes pjsua's 200 (and not
/// before, I1) and whose 415 becomes pjsua's 415 (a second pjsua process,
/// same pair: the session is reused); the session user's SEND reaches a
/// pjsua receiver (pjsua's From has no port: `pager_next_hop` routes it)
/// and pjsua's 200 becomes the MSRP 200.
#[test]
fn pjsua_pager_users_on_both_ends_of_a_session() {
    if !pjsua() {
        return;
    }
    let mut bob = SessionUser::new();
    let mut receiver = pjsua_receiver();
    let d = Daemon::start(&gateway_config(
        EPHEMERAL_SIP,
        "",
        &format!(
            "session_next_hop = \"{}\"\npager_next_hop = \"{}\"\n",
            udp_hop(bob.sip.addr.port()),
            udp_hop(receiver.port)
        ),
    ));
    let gw = d.sip_addr("udp");
    let target = format!("sip:bob@127.0.0.1:{}", gw.port());

    let mut sender = pjsua_send(&target, None, "hello from pjsua");
    let (ours, invite) = bob.accept_invite("text/plain");
    let from = invite.headers.from_addr().expect("From");
    assert_eq!(from.uri.user.as_deref(), Some("pjsua"), "B sees who writes");
    let (held, body, ct) = received(&mut bob.msrp, ours.key);
    assert_eq!(body, b"hello from pjsua");
    assert_eq!(ct.as_deref(), Some("text/plain"));
    sender.no_line("RESP", NO_ANSWER_YET);
    bob.msrp
        .stack
        .answer(ours.key, held, 200, None)
        .expect("answer");
    assert_eq!(status_of(&sender.expect_line("RESP")), 200);
    sender.expect_line("DONE");

    let mut sender = pjsua_send(&target, None, "refuse me");
    let (held, body, _) = received(&mut bob.msrp, ours.key);
    assert_eq!(body, b"refuse me", "the same session carries it");
    sender.no_line("RESP", NO_ANSWER_YET);
    bob.msrp
        .stack
        .answer(ours.key, held, 415, None)
        .expect("answer");
    assert_eq!(status_of(&sender.expect_line("RESP")), 415);

    bob.msrp
        .stack
        .send(
            ours.key,
            OutgoingMessage::new(7, "text/plain", b"hi pjsua".to_vec()),
        )
        .expect("send");
    let recv = receiver.expect_line("RECV MESSAGE");
    assert_eq!(field(&recv, "body"), base64(b"hi pjsua"), "{recv}");
    assert_eq!(field(&recv, "ctype"), "text/plain", "{recv}");
    assert_eq!(field(&recv, "from"), "sip:bob@127.0.0.1", "{recv}");
    assert_eq!(field(&recv, "ruri"), "sip:pjsua@127.0.0.1", "{recv}");
    assert_eq!(bob.msrp.outcome(ours.key, 7), SendOutcome::Delivered);
    assert!(
        bob.sip
            .next(Duration::from_millis(100))
            .is_none_or(|(m, _)| m.as_request().is_none_or(|r| r.method != Method::Invite)),
        "one INVITE for the pair"
    );
}

/// Kamailio as the carrier's proxy in front of msrpgw, which sends all its
/// requests to it (`session_next_hop` = `pager_next_hop` = the proxy):
/// pjsua → Kamailio → msrpgw → Kamailio → session user, with the 200
/// coming back through the proxy only after the session user's MSRP 200;
/// then a session user's INVITE through Kamailio for a pjsua receiver,
/// whose ACK follows the proxy's Record-Route (RFC 3261 §12.1.1: the
/// gateway's 2xx carries it), and whose SEND reaches pjsua through the
/// proxy, pjsua's 200 becoming the MSRP 200.
#[test]
fn kamailio_proxy_in_front_of_msrpgw_both_ways() {
    if !(kamailio() && pjsua()) {
        return;
    }
    // Kamailio needs the gateway's address and the gateway the proxy's: the
    // gateway gets a port that was free a moment ago (retried once).
    let (proxy, d) = (0..2)
        .find_map(|_| {
            let gw_port = free_udp_port();
            let gateway = format!("127.0.0.1:{gw_port}");
            let proxy = Peer::start(
                "bash",
                &[
                    "kamailio_run.sh",
                    "proxy",
                    "--gateway",
                    &gateway,
                    "--fr-timer",
                    "4000",
                    "--timeout",
                    PEER_TIMEOUT,
                ],
            );
            let hop = udp_hop(proxy.port);
            let d = Daemon::try_start(&gateway_config(
                &format!("\"udp:{gateway}\""),
                "",
                &format!("session_next_hop = \"{hop}\"\npager_next_hop = \"{hop}\"\n"),
            ))?;
            Some((proxy, d))
        })
        .expect("msrpgw starts on a free port");
    assert!(d.log_text().contains("listening"), "{}", d.log_text());
    let proxy_addr: SocketAddr = format!("127.0.0.1:{}", proxy.port).parse().expect("addr");

    // In: pjsua → Kamailio → msrpgw; the INVITE out through Kamailio too.
    let mut bob = SessionUser::new();
    let bob_uri = bob.uri("bob");
    let mut sender = pjsua_send(&bob_uri, Some(proxy_addr), "via kamailio");
    let (ours, invite) = bob.accept_invite("text/plain");
    assert_eq!(
        invite.headers.count(&HeaderName::Via),
        2,
        "the INVITE came through the proxy"
    );
    assert_eq!(invite.uri.to_string(), bob_uri);
    let (held, body, _) = received(&mut bob.msrp, ours.key);
    assert_eq!(body, b"via kamailio");
    sender.no_line("RESP", NO_ANSWER_YET);
    bob.msrp
        .stack
        .answer(ours.key, held, 200, None)
        .expect("answer");
    assert_eq!(status_of(&sender.expect_line("RESP")), 200);

    // Out: a session-mode INVITE through Kamailio for a pjsua receiver.
    let mut receiver = pjsua_receiver();
    let mut carol = SessionUser::new();
    let pager = format!("sip:pjsua@127.0.0.1:{}", receiver.port);
    let (theirs, call_id, ok) = carol.invite(proxy_addr, &pager, "text/plain", "");
    assert_eq!(ok.status, 200, "{ok:?}");
    assert!(
        ok.headers
            .get(&HeaderName::RecordRoute)
            .is_some_and(|rr| rr.contains(&proxy.port.to_string())),
        "the gateway's 2xx carries the proxy's Record-Route: {}",
        String::from_utf8_lossy(&ok.to_bytes())
    );
    carol.ack_and_connect(proxy_addr, &theirs, &call_id, &ok);
    carol
        .msrp
        .stack
        .send(
            theirs.key,
            OutgoingMessage::new(1, "text/plain", b"session to pager".to_vec()),
        )
        .expect("send");
    let recv = receiver.expect_line("RECV MESSAGE");
    assert_eq!(field(&recv, "body"), base64(b"session to pager"), "{recv}");
    assert_eq!(field(&recv, "ruri"), pager, "{recv}");
    assert_eq!(field(&recv, "from"), carol.uri("carol"), "{recv}");
    assert_eq!(carol.msrp.outcome(theirs.key, 1), SendOutcome::Delivered);
    // The gateway saw the ACK (through the proxy): no 2xx retransmissions
    // and no BYE for a missing ACK.
    assert!(
        carol.sip.next(Duration::from_millis(600)).is_none(),
        "the dialog is confirmed"
    );
    assert!(
        !d.log_text().contains("no ACK"),
        "the ACK reached the gateway:\n{}",
        d.log_text()
    );
}

/// The relay process and its `msrp://` URI.
fn relay(auth: &str) -> (Peer, String) {
    let p = Peer::start(
        "bash",
        &[
            "kamailio_run.sh",
            "msrp-relay",
            "--auth",
            auth,
            "--timeout",
            PEER_TIMEOUT,
        ],
    );
    let uri = format!("msrp://127.0.0.1:{};tcp", p.port);
    (p, uri)
}

/// A session user whose MSRP endpoint reserves its sessions at `relay_uri`.
fn relay_session_user(relay_uri: &str, user: &str, password: &str) -> SessionUser {
    let mut cfg = MsrpStackConfig::new(tcp_listen());
    cfg.relay = Some(Relay {
        uri: MsrpUri::parse(relay_uri).expect("relay uri").into_owned(),
        credentials: Some(Credentials {
            username: user.to_owned(),
            password: password.to_owned(),
        }),
    });
    cfg.relay_expires = 120;
    SessionUser::with_msrp(cfg)
}

/// msrpgw configured with the relay and its credentials.
fn relay_gateway(relay_uri: &str, user: &str, password: &str) -> Daemon {
    Daemon::start(&gateway_config(
        EPHEMERAL_SIP,
        &format!(
            "relay = \"{relay_uri}\"\nrelay_username = \"{user}\"\nrelay_password = \"{password}\"\n"
        ),
        "",
    ))
}

/// A non-empty message for `key`: (held, body, whether a success REPORT
/// was asked for).
fn received_with_report(side: &mut SessionUser, key: MsrpSessionKey) -> (HeldId, Vec<u8>, bool) {
    side.msrp.expect("a message", |e| match e {
        MsrpEvent::Received {
            session,
            held,
            body,
            success_report,
            ..
        } if *session == key && !body.is_empty() => Some(((*held)?, body.clone(), *success_report)),
        _ => None,
    })
}

fn report(side: &mut SessionUser, key: MsrpSessionKey, tag: u64, wait: Duration) -> Option<u16> {
    side.msrp.try_expect(wait, |e| match e {
        MsrpEvent::Report {
            session,
            tag: Some(t),
            status,
            ..
        } if *session == key && *t == tag => Some(*status),
        _ => None,
    })
}

/// The MSRP leg through Kamailio's relay, msrpgw and the session user
/// both reserving their sessions there with Digest AUTH: msrpgw's offer
/// puts the relay's Use-Path first; a pager MESSAGE becomes a SEND that
/// crosses the relay (asking for a success REPORT, since the relay's 200
/// is hop by hop) and its answer becomes the pager's 200, a 20 KB one
/// crosses it in chunks; the session
/// user's SEND crosses it back, and msrpgw's success REPORT (through the
/// relay) comes only after the pager user's 200 (I1). When the relay
/// stops, the session ends with BYE.
#[test]
fn kamailio_relay_carries_the_msrp_leg_both_ways() {
    if !kamailio() {
        return;
    }
    let (relay_peer, relay_uri) = relay("gw:s3cret");
    let d = relay_gateway(&relay_uri, "gw", "s3cret");
    let gw = d.sip_addr("udp");
    let mut alice = Ua::new();
    let mut bob = relay_session_user(&relay_uri, "gw", "s3cret");
    let bob_uri = bob.uri("bob");

    alice.message(gw, "alice", &bob_uri, "through the relay");
    let (ours, invite) = bob.accept_invite("text/plain");
    let offer = SessionDescription::parse(&invite.body).expect("SDP");
    let media = offer.validate_msrp().expect("MSRP offer");
    assert_eq!(
        media.path.len(),
        2,
        "Use-Path, then msrpgw: {:?}",
        media.path
    );
    let first = MsrpUri::parse(&media.path[0]).expect("path");
    assert_eq!(first.port, Some(relay_peer.port), "{:?}", media.path);
    assert!(first.session_id.is_some(), "reserved: {:?}", media.path);

    let (held, body, success_report) = received_with_report(&mut bob, ours.key);
    assert_eq!(body, b"through the relay");
    assert!(success_report, "through a relay msrpgw asks for a REPORT");
    bob.msrp
        .stack
        .answer(ours.key, held, 200, None)
        .expect("answer");
    assert_eq!(alice.response().status, 200, "{}", d.log_text());

    // 20 KB: msrpgw's 2048-octet chunks each cross the relay (which drops
    // frames over about 14 KB), reassembled at the session user.
    let big: String = (0..20_480)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    alice.message(gw, "alice", &bob_uri, &big);
    let (held, body, _) = received_with_report(&mut bob, ours.key);
    assert_eq!(body, big.as_bytes());
    bob.msrp
        .stack
        .answer(ours.key, held, 200, None)
        .expect("answer");
    assert_eq!(alice.response().status, 200);

    let mut back = OutgoingMessage::new(5, "text/plain", b"back through the relay".to_vec());
    back.success_report = true;
    bob.msrp.stack.send(ours.key, back).expect("send");
    let (msg, src) = alice.request(Method::Message);
    assert_eq!(msg.body.as_ref(), b"back through the relay");
    assert_eq!(
        msg.headers.from_addr().expect("From").uri.to_string(),
        bob_uri
    );
    // The relay's 200 is hop by hop; the end-to-end word is the REPORT,
    // which waits for alice.
    assert_eq!(bob.msrp.outcome(ours.key, 5), SendOutcome::Delivered);
    assert_eq!(report(&mut bob, ours.key, 5, NO_ANSWER_YET), None, "I1");
    alice.answer(&msg, src, 200, "a1", None);
    assert_eq!(
        report(&mut bob, ours.key, 5, Duration::from_secs(5)),
        Some(200),
        "msrpgw's success REPORT through the relay"
    );

    // The relay goes away: msrpgw's MSRP connection (to the relay) is
    // lost, and the session ends with BYE.
    drop(relay_peer);
    let (bye, src) = bob.sip.request(Method::Bye);
    assert_eq!(bye.headers.call_id().ok(), invite.headers.call_id().ok());
    bob.sip.answer(&bye, src, 200, "bob1", None);
}

/// I1 through a relay: the pager's 200 waits for the far end's word (its
/// success REPORT), not for the relay's hop-by-hop 200.
#[test]
fn kamailio_relay_pager_200_waits_for_the_far_end() {
    if !kamailio() {
        return;
    }
    let (_relay_peer, relay_uri) = relay("gw:s3cret");
    let d = relay_gateway(&relay_uri, "gw", "s3cret");
    let gw = d.sip_addr("udp");
    let mut alice = Ua::new();
    let mut bob = relay_session_user(&relay_uri, "gw", "s3cret");
    alice.message(gw, "alice", &bob.uri("bob"), "hold on");
    let (ours, _) = bob.accept_invite("text/plain");
    let (held, body, _) = received_with_report(&mut bob, ours.key);
    assert_eq!(body, b"hold on");
    alice.no_response(NO_ANSWER_YET);
    bob.msrp
        .stack
        .answer(ours.key, held, 200, None)
        .expect("answer");
    assert_eq!(alice.response().status, 200);
}

/// Through Kamailio's relay a refusal does not come back (the relay drops
/// the far end's error response and no failure REPORT follows): the pager
/// sender gets 408 when the wait for the success REPORT ends, never 200.
#[test]
fn kamailio_relay_refusal_ends_in_408_not_200() {
    if !kamailio() {
        return;
    }
    let (_relay_peer, relay_uri) = relay("gw:s3cret");
    let d = Daemon::start(&gateway_config(
        EPHEMERAL_SIP,
        &format!(
            "relay = \"{relay_uri}\"\nrelay_username = \"gw\"\nrelay_password = \"s3cret\"\n\
             transaction_timeout_secs = 2\n"
        ),
        "",
    ));
    let gw = d.sip_addr("udp");
    let mut alice = Ua::new();
    let mut bob = relay_session_user(&relay_uri, "gw", "s3cret");
    alice.message(gw, "alice", &bob.uri("bob"), "refuse me");
    let (ours, _) = bob.accept_invite("text/plain");
    let (held, _, _) = received_with_report(&mut bob, ours.key);
    let refused = Instant::now();
    bob.msrp
        .stack
        .answer(ours.key, held, 415, None)
        .expect("answer");
    let r = alice.response();
    assert_eq!(
        r.status, 408,
        "a refusal the relay swallowed is not a delivery"
    );
    assert!(refused.elapsed() >= Duration::from_millis(1500));
}

/// Kamailio renews a reservation under a new path: msrpgw ends the
/// session once it is quiet (the peer only knows the old path, which
/// expires), and the next message of the pair gets a fresh session.
#[test]
fn kamailio_relay_renewal_ends_the_session_and_the_next_message_gets_a_new_one() {
    if !kamailio() {
        return;
    }
    let p = Peer::start(
        "bash",
        &[
            "kamailio_run.sh",
            "msrp-relay",
            "--auth",
            "gw:s3cret",
            "--expires",
            "4",
            "--min-expires",
            "1",
            "--timeout",
            PEER_TIMEOUT,
        ],
    );
    let relay_uri = format!("msrp://127.0.0.1:{};tcp", p.port);
    let d = relay_gateway(&relay_uri, "gw", "s3cret");
    let gw = d.sip_addr("udp");
    let mut alice = Ua::new();
    let mut bob = relay_session_user(&relay_uri, "gw", "s3cret");
    alice.message(gw, "alice", &bob.uri("bob"), "first");
    let (ours, _) = bob.accept_invite("text/plain");
    let (held, _, _) = received_with_report(&mut bob, ours.key);
    bob.msrp
        .stack
        .answer(ours.key, held, 200, None)
        .expect("answer");
    assert_eq!(alice.response().status, 200);
    // The reservation (4 s) is renewed at 3 s: the quiet session ends.
    let (bye, src) = bob.sip.request(Method::Bye);
    bob.sip.answer(&bye, src, 200, "bob1", None);
    alice.message(gw, "alice", &bob.uri("bob"), "second");
    let (ours, _) = bob.accept_invite("text/plain");
    let (held, body, _) = received_with_report(&mut bob, ours.key);
    assert_eq!(body, b"second");
    bob.msrp
        .stack
        .answer(ours.key, held, 200, None)
        .expect("answer");
    assert_eq!(alice.response().status, 200);
    assert!(
        d.log_text().contains("the relay renewed our path"),
        "{}",
        d.log_text()
    );
}
