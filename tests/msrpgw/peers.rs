//! Interop with real SIP stacks (tests/peers/): Perl Net::SIP and pjsua2
//! send MESSAGE and OPTIONS to msrpgw's SIP stack over UDP and TCP and
//! receive MESSAGEs from it; Kamailio as a stateful proxy in between, with
//! a lost first request recovered by retransmission.
//!
//! A peer that is not installed makes its test print a notice and return,
//! unless MSRPGW_REQUIRE_PEERS=1 (as .ci/run sets after installing them),
//! which turns a missing peer into a failure.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command as Process, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::sip_stack::{Command, Harness, Seen, outgoing_message};

const LINE_WAIT: Duration = Duration::from_secs(20);

pub(crate) fn peers_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers")
}

/// Whether a peer can run here; `false` (with a notice) means skip.
pub(crate) fn available(name: &str, probe: &[&str]) -> bool {
    let ok = Process::new(probe[0])
        .args(&probe[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var("MSRPGW_REQUIRE_PEERS").as_deref() != Ok("1"),
            "{name} is required (MSRPGW_REQUIRE_PEERS=1) but not installed: run tests/peers/install.sh"
        );
        eprintln!("NOTICE: {name} not installed; skipping (tests/peers/install.sh installs it)");
    }
    ok
}

pub(crate) fn netsip() -> bool {
    available("Perl Net::SIP", &["perl", "-MNet::SIP", "-e", "1"])
}

pub(crate) fn pjsua() -> bool {
    available("pjsua2", &["python3", "-c", "import pjsua2"])
}

pub(crate) fn kamailio() -> bool {
    available("Kamailio", &["kamailio", "-v"])
}

/// A running peer script and its stdout lines.
pub(crate) struct Peer {
    child: Child,
    lines: mpsc::Receiver<String>,
    pub(crate) port: u16,
}

impl Peer {
    pub(crate) fn start(program: &str, args: &[&str]) -> Peer {
        let mut child = Process::new(program)
            .args(args)
            .current_dir(peers_dir())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
        let stdout: ChildStdout = child.stdout.take().expect("stdout piped");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut p = Peer {
            child,
            lines,
            port: 0,
        };
        let ready = p.expect_line("READY");
        p.port = ready
            .split_whitespace()
            .nth(3)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad READY line: {ready}"));
        p
    }

    /// The next line starting with `word`, skipping others.
    pub(crate) fn expect_line(&mut self, word: &str) -> String {
        loop {
            match self.lines.recv_timeout(LINE_WAIT) {
                Ok(l) if l.starts_with(word) => return l,
                Ok(_) => continue,
                Err(e) => panic!("no {word} line from the peer: {e}"),
            }
        }
    }

    /// Fails if a line starting with `word` comes within `wait` (other
    /// lines are skipped).
    pub(crate) fn no_line(&mut self, word: &str, wait: Duration) {
        let deadline = std::time::Instant::now() + wait;
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(l) if l.starts_with(word) => panic!("unexpected line from the peer: {l}"),
                Ok(_) => {}
                Err(_) => return,
            }
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = Process::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

fn netsip_send(h: &Harness, transport: &str, method: &str, count: u32) -> Peer {
    let port = if transport == "tcp" { h.tcp } else { h.udp }.port();
    let target = format!("sip:bob@127.0.0.1:{port}");
    Peer::start(
        "perl",
        &[
            "netsip_peer.pl",
            "send-message",
            "--target",
            &target,
            "--transport",
            transport,
            "--method",
            method,
            "--count",
            &count.to_string(),
            "--body",
            "hello-from-netsip",
        ],
    )
}

pub(crate) fn status_of(resp_line: &str) -> u16 {
    resp_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad RESP line: {resp_line}"))
}

#[test]
fn netsip_sends_message_and_options_over_udp_and_tcp() {
    if !netsip() {
        return;
    }
    let h = Harness::start();
    for transport in ["udp", "tcp"] {
        let mut p = netsip_send(&h, transport, "MESSAGE", 3);
        for _ in 0..3 {
            assert_eq!(status_of(&p.expect_line("RESP")), 200, "{transport}");
            match h.next_seen() {
                Seen::Request(_, body) => assert_eq!(body, "hello-from-netsip"),
                other => panic!("expected the MESSAGE, got {other:?}"),
            }
        }
        let mut p = netsip_send(&h, transport, "OPTIONS", 1);
        assert_eq!(
            status_of(&p.expect_line("RESP")),
            200,
            "OPTIONS over {transport}"
        );
    }
}

#[test]
fn pjsua_sends_message_and_options_over_udp_and_tcp() {
    if !pjsua() {
        return;
    }
    let h = Harness::start();
    for transport in ["udp", "tcp"] {
        let port = if transport == "tcp" { h.tcp } else { h.udp }.port();
        let target = format!("sip:bob@127.0.0.1:{port}");
        for method in ["MESSAGE", "OPTIONS"] {
            let mut p = Peer::start(
                "python3",
                &[
                    "pjsua_peer.py",
                    "send-message",
                    "--target",
                    &target,
                    "--transport",
                    transport,
                    "--method",
                    method,
                    "--body",
                    "hello-from-pjsua",
                ],
            );
            assert_eq!(
                status_of(&p.expect_line("RESP")),
                200,
                "{method} over {transport}"
            );
        }
        match h.next_seen() {
            Seen::Request(_, body) => assert_eq!(body, "hello-from-pjsua"),
            other => panic!("expected the MESSAGE, got {other:?}"),
        }
    }
}

fn send_to_peer(h: &Harness, peer: &Peer, transport: &str, body: &str) {
    let hop = format!("sip:127.0.0.1:{};transport={transport}", peer.port);
    h.commands
        .send(Command::Send(Box::new(outgoing_message(body)), hop))
        .expect("command");
}

#[test]
fn netsip_and_pjsua_receive_messages_over_udp_and_tcp() {
    let (has_netsip, has_pjsua) = (netsip(), pjsua());
    let h = Harness::start();
    for transport in ["udp", "tcp"] {
        let mut receivers = Vec::new();
        if has_netsip {
            receivers.push(Peer::start(
                "perl",
                &["netsip_peer.pl", "receive", "--transport", transport],
            ));
        }
        if has_pjsua {
            receivers.push(Peer::start(
                "python3",
                &["pjsua_peer.py", "receive", "--transport", transport],
            ));
        }
        for peer in &mut receivers {
            send_to_peer(&h, peer, transport, "hello-peer");
            let recv = peer.expect_line("RECV MESSAGE");
            assert!(recv.contains("ctype=text/plain"), "{recv}");
            // aGVsbG8tcGVlcg== is base64("hello-peer").
            assert!(recv.contains("body=aGVsbG8tcGVlcg=="), "{recv}");
            match h.next_seen() {
                Seen::Response(200) => {}
                other => panic!("expected the peer's 200 over {transport}, got {other:?}"),
            }
        }
    }
}

/// A pager peer that ignores the first two copies: msrpgw retransmits
/// (Timer E) and gets the 200 on the third.
#[test]
fn netsip_ignoring_first_requests_is_recovered_by_retransmission() {
    if !netsip() {
        return;
    }
    let h = Harness::start();
    let mut peer = Peer::start(
        "perl",
        &[
            "netsip_peer.pl",
            "receive",
            "--transport",
            "udp",
            "--ignore",
            "2",
        ],
    );
    send_to_peer(&h, &peer, "udp", "third-time-lucky");
    peer.expect_line("IGNORED");
    peer.expect_line("IGNORED");
    peer.expect_line("RECV MESSAGE");
    match h.next_seen() {
        Seen::Response(200) => {}
        other => panic!("expected the 200 after retransmission, got {other:?}"),
    }
}

/// Kamailio as a stateful proxy between pager peers and msrpgw: MESSAGE
/// in through it, and MESSAGE out through it to a peer that drops the
/// first copy (Kamailio's retransmission recovers it).
#[test]
fn kamailio_proxy_in_both_directions() {
    if !(kamailio() && netsip()) {
        return;
    }
    let h = Harness::start();
    let gateway = format!("127.0.0.1:{}", h.udp.port());
    let proxy = Peer::start("bash", &["kamailio_run.sh", "proxy", "--gateway", &gateway]);
    // In: Net::SIP → Kamailio → msrpgw.
    let target = format!("sip:bob@127.0.0.1:{}", h.udp.port());
    let proxy_addr = format!("127.0.0.1:{}", proxy.port);
    let mut sender = Peer::start(
        "perl",
        &[
            "netsip_peer.pl",
            "send-message",
            "--target",
            &target,
            "--proxy",
            &proxy_addr,
            "--body",
            "via-kamailio",
        ],
    );
    assert_eq!(status_of(&sender.expect_line("RESP")), 200);
    match h.next_seen() {
        Seen::Request(_, body) => assert_eq!(body, "via-kamailio"),
        other => panic!("expected the MESSAGE, got {other:?}"),
    }
    // Out: msrpgw → Kamailio → Net::SIP, first copy dropped.
    let mut receiver = Peer::start(
        "perl",
        &[
            "netsip_peer.pl",
            "receive",
            "--transport",
            "udp",
            "--ignore",
            "1",
        ],
    );
    let mut req = outgoing_message("out-via-kamailio");
    req.uri =
        msrpgw::proto::sip::uri::Uri::parse(&format!("sip:carol@127.0.0.1:{}", receiver.port))
            .expect("uri")
            .into_owned();
    let hop = format!("sip:127.0.0.1:{};transport=udp", proxy.port);
    h.commands
        .send(Command::Send(Box::new(req), hop))
        .expect("command");
    receiver.expect_line("IGNORED");
    receiver.expect_line("RECV MESSAGE");
    match h.next_seen() {
        Seen::Response(200) => {}
        other => panic!("expected the 200 through Kamailio, got {other:?}"),
    }
    drop(proxy);
}
