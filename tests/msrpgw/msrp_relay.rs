//! Interop with a real RFC 4976 relay: Kamailio's msrp module
//! (tests/peers/kamailio_run.sh msrp-relay) on loopback. Endpoint A
//! reserves its session at the relay with AUTH (Digest), endpoint B has no
//! relay; both are this MSRP stack. They exchange small and chunked large
//! messages through the relay, a session-id the relay does not know gets
//! 481, and wrong credentials fail the reservation.
//!
//! Kamailio missing: a notice and the test returns, unless
//! MSRPGW_REQUIRE_PEERS=1, which makes it a failure.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use msrpgw::config::{Credentials, Relay};
use msrpgw::msrp::{
    CloseReason, MsrpEvent, MsrpStackConfig, OutgoingMessage, Role, SendOutcome, SessionOptions,
};
use msrpgw::proto::msrp::MsrpUri;

use crate::msrp_stack::{Side, remote, tcp_listen};

fn kamailio() -> bool {
    let ok = Command::new("kamailio")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var("MSRPGW_REQUIRE_PEERS").as_deref() != Ok("1"),
            "Kamailio is required (MSRPGW_REQUIRE_PEERS=1) but not installed: run tests/peers/install.sh"
        );
        eprintln!("NOTICE: Kamailio not installed; skipping (tests/peers/install.sh installs it)");
    }
    ok
}

/// The relay script, stopped with SIGTERM (it then stops Kamailio).
struct RelayProcess {
    child: Child,
    uri: String,
    port: u16,
}

impl RelayProcess {
    fn start(args: &[&str]) -> RelayProcess {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers");
        let mut child = Command::new(dir.join("kamailio_run.sh"))
            .arg("msrp-relay")
            .args(args)
            .args(["--timeout", "60"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("kamailio_run.sh starts");
        let stdout = child.stdout.take().expect("stdout piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut relay = RelayProcess {
            child,
            uri: String::new(),
            port: 0,
        };
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("READY from kamailio_run.sh");
        // READY tcp 127.0.0.1 <port> msrp://127.0.0.1:<port>;tcp
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(words.first(), Some(&"READY"), "{line}");
        relay.port = words[3].parse().expect("port");
        relay.uri = words[4].to_owned();
        relay
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

fn relay_side(relay: &RelayProcess, user: &str, password: &str) -> Side {
    let mut cfg = MsrpStackConfig::new(tcp_listen());
    cfg.chunk_size = 2048;
    cfg.max_message_bytes = 4 * 1024 * 1024;
    cfg.relay = Some(Relay {
        uri: MsrpUri::parse(&relay.uri).expect("relay uri").into_owned(),
        credentials: Some(Credentials {
            username: user.to_owned(),
            password: password.to_owned(),
        }),
    });
    cfg.relay_expires = 120;
    Side::start(cfg)
}

fn text(tag: u64, body: Vec<u8>) -> OutgoingMessage {
    OutgoingMessage::new(tag, "text/plain", body)
}

#[test]
fn kamailio_relay_carries_small_and_chunked_messages_with_auth() {
    if !kamailio() {
        return;
    }
    let relay = RelayProcess::start(&["--auth", "alice:s3cret", "--expires", "600"]);
    let mut a = relay_side(&relay, "alice", "s3cret");
    let mut b = Side::start({
        let mut c = MsrpStackConfig::new(tcp_listen());
        c.max_message_bytes = 4 * 1024 * 1024;
        c
    });
    let opts = SessionOptions {
        use_relay: true,
        ..SessionOptions::default()
    };
    let sa = a.session(opts);
    assert_eq!(sa.local_path, None, "the path waits for the relay");
    let a_path = a.expect("PathReady", |e| match e {
        MsrpEvent::PathReady {
            session,
            local_path,
        } if *session == sa.key => Some(local_path.clone()),
        _ => None,
    });
    assert_eq!(a_path.len(), 2, "Use-Path, then our URI: {a_path:?}");
    assert_eq!(a_path[0].port, Some(relay.port));
    assert!(a_path[0].session_id.is_some());

    let sb = b.session(SessionOptions::default());
    let b_path = sb.local_path.clone().unwrap();
    b.stack
        .start_session(sb.key, remote(&a_path, Role::Passive))
        .unwrap();
    a.stack
        .start_session(sa.key, remote(&b_path, Role::Active))
        .unwrap();
    a.connected(sa.key);
    // A's empty SEND travels through the relay and binds B's connection.
    b.connected(sb.key);

    // A → relay → B: small, then 200 kB in 2048-octet chunks.
    let big: Vec<u8> = (0..200_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    a.stack
        .send(sa.key, text(1, b"hello through the relay".to_vec()))
        .unwrap();
    a.stack.send(sa.key, text(2, big.clone())).unwrap();
    for want in [b"hello through the relay".to_vec(), big.clone()] {
        let (held, body, _) = b.received(sb.key);
        assert_eq!(body.len(), want.len());
        assert_eq!(body, want);
        b.stack.answer(sb.key, held.unwrap(), 200, None).unwrap();
    }
    // Kamailio answers SEND hop by hop: 200 from the relay.
    assert_eq!(a.outcome(sa.key, 1), SendOutcome::Delivered);
    assert_eq!(a.outcome(sa.key, 2), SendOutcome::Delivered);

    // B → relay → A, over the AUTH connection.
    b.stack.send(sb.key, text(3, b"and back".to_vec())).unwrap();
    b.stack.send(sb.key, text(4, big.clone())).unwrap();
    for want in [b"and back".to_vec(), big] {
        let (held, body, _) = a.received(sa.key);
        assert_eq!(body, want);
        a.stack.answer(sa.key, held.unwrap(), 200, None).unwrap();
    }
    assert_eq!(b.outcome(sb.key, 3), SendOutcome::Delivered);
    assert_eq!(b.outcome(sb.key, 4), SendOutcome::Delivered);

    // A session-id the relay never reserved: 481 from the relay.
    let sc = b.session(SessionOptions::default());
    let bogus = MsrpUri::parse(&format!(
        "msrp://127.0.0.1:{}/nosuchsession;tcp",
        relay.port
    ))
    .unwrap()
    .into_owned();
    let far = MsrpUri::parse("msrp://127.0.0.1:9/nobody;tcp")
        .unwrap()
        .into_owned();
    b.stack
        .start_session(sc.key, remote(&[bogus, far], Role::Active))
        .unwrap();
    b.connected(sc.key);
    b.stack.send(sc.key, text(5, b"lost".to_vec())).unwrap();
    match b.outcome(sc.key, 5) {
        SendOutcome::Failed { status, .. } => assert_eq!(status, 481),
        o => panic!("{o:?}"),
    }

    // Wrong password: the reservation fails with the relay's answer.
    let mut wrong = relay_side(&relay, "alice", "not-it");
    let sw = wrong.session(opts);
    match wrong.closed(sw.key) {
        CloseReason::ConnectFailed(why) => assert!(why.contains("401"), "{why}"),
        r => panic!("{r:?}"),
    }
    wrong.stack.shutdown();
    a.stack.shutdown();
    b.stack.shutdown();
}

/// A stand-in relay (no Kamailio needed): the challenge is answered with
/// `uri` = the relay's URI and the right digest, and the reservation is
/// refreshed on the same connection before it expires.
#[test]
fn relay_auth_answers_the_challenge_and_refreshes_before_expiry() {
    use crate::msrp_stack::Raw;
    use msrpgw::msrp::relay::digest_response;
    use msrpgw::proto::msrp::Message;

    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let relay_uri = format!("msrp://127.0.0.1:{port};tcp");
    let mut cfg = MsrpStackConfig::new(tcp_listen());
    cfg.relay = Some(Relay {
        uri: MsrpUri::parse(&relay_uri).unwrap().into_owned(),
        credentials: Some(Credentials {
            username: "bob".into(),
            password: "pw".into(),
        }),
    });
    cfg.relay_expires = 300;
    let mut a = Side::start(cfg);
    let s = a.session(SessionOptions {
        use_relay: true,
        ..SessionOptions::default()
    });
    let (sock, _) = l.accept().unwrap();
    let mut c = Raw::new(sock);
    let answer = |req: &Message<'_>, status: &str, extra: &str| {
        format!(
            "MSRP {tid} {status}\r\nTo-Path: {to}\r\nFrom-Path: {relay_uri}\r\n{extra}-------{tid}$\r\n",
            tid = req.tid,
            to = req.headers.from_path[0],
        )
        .into_bytes()
    };

    let first = c.must();
    assert_eq!(first.method().map(|m| m.as_str()), Some("AUTH"));
    assert_eq!(first.headers.to_path[0].to_string(), relay_uri);
    assert_eq!(first.headers.expires, Some(300));
    assert!(first.headers.authorization.is_none());
    c.send(&answer(
        &first,
        "401 Unauthorized",
        "WWW-Authenticate: Digest realm=\"test\", nonce=\"n0nce\", qop=\"auth\"\r\n",
    ));
    let second = c.must();
    let cred = second
        .headers
        .authorization
        .as_ref()
        .expect("Authorization");
    assert_eq!(
        cred.uri.as_deref(),
        Some(relay_uri.as_str()),
        "RFC 4976 §9.1 uri"
    );
    assert_eq!(cred.username, "bob");
    let nc = cred.nc.unwrap();
    let cnonce = cred.cnonce.as_deref().unwrap();
    assert_eq!(
        cred.response,
        digest_response(
            "bob",
            "test",
            "pw",
            "AUTH",
            &relay_uri,
            "n0nce",
            Some((nc, cnonce))
        )
    );
    let use_path = format!("msrp://127.0.0.1:{port}/r1;tcp");
    c.send(&answer(
        &second,
        "200 OK",
        &format!("Use-Path: {use_path}\r\nExpires: 2\r\n"),
    ));
    let path = a.expect("PathReady", |e| match e {
        MsrpEvent::PathReady { local_path, .. } => Some(local_path.clone()),
        _ => None,
    });
    assert_eq!(path[0].to_string(), use_path);
    assert_eq!(path.len(), 2);

    // Expires 2 s: a new AUTH comes on the same connection before then.
    let t = std::time::Instant::now();
    let refresh = c.frame(Duration::from_secs(3)).expect("refresh AUTH");
    assert_eq!(refresh.method().map(|m| m.as_str()), Some("AUTH"));
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    c.send(&answer(
        &refresh,
        "200 OK",
        &format!("Use-Path: {use_path}\r\nExpires: 300\r\n"),
    ));

    // Messages from the relay's side reach the session over this connection.
    let far = MsrpUri::parse("msrp://127.0.0.1:9/far;tcp")
        .unwrap()
        .into_owned();
    a.stack
        .start_session(s.key, remote(std::slice::from_ref(&far), Role::Passive))
        .unwrap();
    a.connected(s.key);
    let me = &path[1];
    c.send(
        format!(
            "MSRP x1 SEND\r\nTo-Path: {me}\r\nFrom-Path: {use_path} {far}\r\nMessage-ID: m1\r\nByte-Range: 1-2/2\r\nContent-Type: text/plain\r\n\r\nhi\r\n-------x1$\r\n"
        )
        .as_bytes(),
    );
    let (held, body, _) = a.received(s.key);
    assert_eq!(body, b"hi");
    a.stack.answer(s.key, held.unwrap(), 200, None).unwrap();
    let r = c.must();
    assert_eq!(r.code(), Some(200));
    assert_eq!(r.headers.to_path[0].to_string(), use_path, "one hop back");
    // And ours go out with the relay first in To-Path.
    a.stack.send(s.key, text(1, b"yo".to_vec())).unwrap();
    let out = c.must();
    let to: Vec<String> = out.headers.to_path.iter().map(|u| u.to_string()).collect();
    assert_eq!(to, vec![use_path.clone(), far.to_string()]);
    a.stack.shutdown();
}
