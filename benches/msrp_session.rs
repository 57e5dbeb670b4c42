//! Loopback throughput of the MSRP stack: two stacks in this process, one
//! TCP session between them.
//!
//! - small: short SENDs pipelined through one session, each counted when
//!   its 200 came back (`Delivered`); with the receiver answering at once
//!   (`hold_responses = false`) and with a stand-in session table that
//!   answers every held message (the gateway's path).
//! - large: one 10 MB message chunked at 2048 octets, from the first
//!   chunk to the 200 for the last, reassembled and handed over.
//!
//! Each over TCP, then over TLS (msrps:, the test certificate).
//!
//! `cargo bench --bench msrp_session` (prints figures; no criterion: each
//! run is seconds long and its rate is the figure).

use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, bounded};
use msrpgw::config::ListenSpec;
use msrpgw::event::{Event, Transport};
use msrpgw::msrp::{
    MsrpEvent, MsrpSessionKey, MsrpStack, MsrpStackConfig, OutgoingMessage, RemoteEnd, Role,
    SendOutcome, SessionOptions,
};

/// Messages in flight at once: below the receiver's cap on messages held
/// for the session table (`transfer::MAX_HELD`), which refuses more with 413.
const WINDOW: u64 = 1000;

fn stack(max_message_bytes: u64, tls: bool) -> (MsrpStack, Receiver<Event>) {
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap_or_else(|_| unreachable!());
    let mut cfg = MsrpStackConfig::new(vec![ListenSpec {
        transport: if tls { Transport::Tls } else { Transport::Tcp },
        addr,
    }]);
    if tls {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls");
        cfg.tls_acceptor = Some(
            msrpgw::sip::transport::load_acceptor(&msrpgw::config::TlsConfig {
                certificate: dir.join("cert.pem"),
                private_key: dir.join("key.pem"),
            })
            .expect("test identity"),
        );
        let cert = std::fs::read(dir.join("cert.pem")).expect("cert");
        cfg.tls_connector = Some(
            native_tls::TlsConnector::builder()
                .add_root_certificate(native_tls::Certificate::from_pem(&cert).expect("pem"))
                .build()
                .expect("connector"),
        );
    }
    cfg.max_message_bytes = max_message_bytes;
    cfg.max_session_bytes = max_message_bytes * 2;
    cfg.session_queue_depth = 16 * 1024;
    let (tx, rx) = bounded(1 << 20);
    (MsrpStack::start(cfg, tx).expect("stack"), rx)
}

struct Pair {
    a: MsrpStack,
    a_events: Receiver<Event>,
    sa: MsrpSessionKey,
    b_thread: thread::JoinHandle<MsrpStack>,
}

/// Session a (active) → b (passive); b's events are drained by a thread
/// that answers held messages 200 at once.
fn pair(hold: bool, max: u64, tls: bool) -> Pair {
    let (a, a_events) = stack(max, tls);
    let (b, b_events) = stack(max, tls);
    let opts = SessionOptions {
        hold_responses: hold,
        tls,
        ..SessionOptions::default()
    };
    let sa = a.create_session(opts).expect("session");
    let sb = b.create_session(opts).expect("session");
    let end = |path: &Option<Vec<_>>, role| RemoteEnd {
        path: path.clone().unwrap_or_default(),
        role,
        cema: false,
        max_size: None,
    };
    b.start_session(sb.key, end(&sa.local_path, Role::Passive))
        .expect("start");
    a.start_session(sa.key, end(&sb.local_path, Role::Active))
        .expect("start");
    let b_thread = thread::spawn(move || {
        while let Ok(ev) = b_events.recv() {
            match ev {
                Event::Msrp(MsrpEvent::Received {
                    held: Some(h),
                    session,
                    ..
                }) => {
                    let _ = b.answer(session, h, 200, None);
                }
                Event::Msrp(MsrpEvent::Closed { .. }) => break,
                _ => {}
            }
        }
        b
    });
    wait_connected(&a_events, sa.key);
    Pair {
        a,
        a_events,
        sa: sa.key,
        b_thread,
    }
}

fn wait_connected(rx: &Receiver<Event>, key: MsrpSessionKey) {
    while let Ok(ev) = rx.recv_timeout(Duration::from_secs(10)) {
        if let Event::Msrp(MsrpEvent::Connected { session, .. }) = ev {
            if session == key {
                return;
            }
        }
    }
    panic!("no connection");
}

fn finish(p: Pair) {
    let _ = p.a.close(p.sa);
    thread::sleep(Duration::from_millis(100));
    p.a.shutdown();
    if let Ok(b) = p.b_thread.join() {
        b.shutdown();
    }
}

/// `n` SENDs of `body`, at most `window` unanswered at once.
fn small(hold: bool, tls: bool, n: u64, window: u64) -> f64 {
    let p = pair(hold, 1 << 20, tls);
    let body = b"Hello, this is a short instant message.".to_vec();
    let started = Instant::now();
    let (mut sent, mut done) = (0u64, 0u64);
    while done < n {
        while sent < n && sent - done < window {
            let m = OutgoingMessage::new(sent, "text/plain", body.clone());
            p.a.send(p.sa, m).expect("queue has room");
            sent += 1;
        }
        match p.a_events.recv_timeout(Duration::from_secs(30)) {
            Ok(Event::Msrp(MsrpEvent::SendOutcome { outcome, .. })) => {
                assert_eq!(outcome, SendOutcome::Delivered);
                done += 1;
            }
            Ok(_) => {}
            Err(_) => panic!("stalled at {done}/{n}"),
        }
    }
    let rate = n as f64 / started.elapsed().as_secs_f64();
    finish(p);
    rate
}

fn large(len: usize, tls: bool) -> f64 {
    let p = pair(true, 16 << 20, tls);
    let body: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    let started = Instant::now();
    p.a.send(
        p.sa,
        OutgoingMessage::new(1, "application/octet-stream", body),
    )
    .expect("send");
    loop {
        match p.a_events.recv_timeout(Duration::from_secs(60)) {
            Ok(Event::Msrp(MsrpEvent::SendOutcome { outcome, .. })) => {
                assert_eq!(outcome, SendOutcome::Delivered);
                break;
            }
            Ok(_) => {}
            Err(_) => panic!("large message stalled"),
        }
    }
    let mbps = len as f64 / 1e6 / started.elapsed().as_secs_f64();
    finish(p);
    mbps
}

fn main() {
    // `cargo test --benches` runs this too: keep that run short.
    let quick = std::env::args().any(|a| a == "--test");
    let (n, rounds) = if quick { (2_000, 1) } else { (200_000, 3) };
    let len = if quick { 1 << 20 } else { 10 * 1000 * 1000 };
    for (tls, proto) in [(false, "tcp"), (true, "tls")] {
        for (label, hold) in [
            ("small SENDs, answered at once", false),
            ("small SENDs, held and answered by the table", true),
        ] {
            let best = (0..rounds)
                .map(|_| small(hold, tls, n, WINDOW))
                .fold(0.0, f64::max);
            println!(
                "msrp_session {proto} {label}: {best:.0} messages/s ({n} per run, best of {rounds})"
            );
        }
        let best = (0..rounds).map(|_| large(len, tls)).fold(0.0, f64::max);
        println!(
            "msrp_session {proto} one {} MB message in 2048-octet chunks: {best:.0} MB/s (best of {rounds})",
            len / 1_000_000
        );
    }
}
