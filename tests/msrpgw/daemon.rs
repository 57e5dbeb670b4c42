//! The real `msrpgw` process on loopback: started with a configuration on
//! ephemeral ports, talked to through its sockets, stopped by a signal.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, ChildStderr, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use msrpgw::proto::sip::{self, SipMessage, SipResponse};

use crate::corpus;

const WAIT: Duration = Duration::from_secs(10);

/// A running `msrpgw --config` with what it logged so far.
pub(crate) struct Daemon {
    child: Child,
    /// `sip: listening on KIND:ADDR` lines, in order.
    pub(crate) sip: Vec<(String, SocketAddr)>,
    log: Arc<Mutex<Vec<String>>>,
    log_thread: Option<JoinHandle<()>>,
    dir: PathBuf,
}

/// A configuration on loopback ephemeral ports; `extra` is appended (TOML
/// sections not in the base).
pub(crate) fn config(extra: &str) -> String {
    config_with("", extra)
}

/// As [`config`], with `gateway` lines added to `[gateway]`.
pub(crate) fn config_with(gateway: &str, extra: &str) -> String {
    format!(
        "[sip]\nlisten = [\"udp:127.0.0.1:0\", \"tcp:127.0.0.1:0\"]\nt1_ms = 50\n\
         [msrp]\nlisten = [\"tcp:127.0.0.1:0\"]\n\
         [gateway]\nshutdown_grace_secs = 3\n{gateway}\
         [log]\nlevel = \"info\"\n{extra}"
    )
}

impl Daemon {
    pub(crate) fn start(config_text: &str) -> Daemon {
        Daemon::start_with_env(config_text, &[])
    }

    /// As [`Daemon::start`], with `env` set in the process's environment
    /// (after RUST_LOG, JOURNAL_STREAM and NOTIFY_SOCKET are removed).
    pub(crate) fn start_with_env(config_text: &str, env: &[(&str, &str)]) -> Daemon {
        Daemon::launch(config_text, env)
            .unwrap_or_else(|log| panic!("msrpgw did not get ready:\n{log}"))
    }

    /// As [`Daemon::start`], `None` when the process does not get ready
    /// (a fixed port taken meanwhile, say).
    pub(crate) fn try_start(config_text: &str) -> Option<Daemon> {
        Daemon::launch(config_text, &[]).ok()
    }

    /// Starts the process; its log when it does not get ready.
    fn launch(config_text: &str, env: &[(&str, &str)]) -> Result<Daemon, String> {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("msrpgw-daemon-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("msrpgw.toml");
        std::fs::write(&path, config_text).expect("write config");
        let mut child = Command::new(env!("CARGO_BIN_EXE_msrpgw"))
            .arg("--config")
            .arg(&path)
            .env_remove("RUST_LOG")
            .env_remove("JOURNAL_STREAM")
            .env_remove("NOTIFY_SOCKET")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start msrpgw");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (ready_tx, ready) = crossbeam_channel::bounded(1);
        let log_thread = {
            let log = log.clone();
            std::thread::spawn(move || read_log(stderr, &log, &ready_tx))
        };
        let mut d = Daemon {
            child,
            sip: Vec::new(),
            log,
            log_thread: Some(log_thread),
            dir,
        };
        if ready.recv_timeout(WAIT).is_err() {
            let _ = d.child.kill();
            let _ = d.child.wait();
            if let Some(t) = d.log_thread.take() {
                let _ = t.join();
            }
            return Err(d.log_text());
        }
        d.sip = d
            .log_lines()
            .iter()
            .filter_map(|l| l.split("sip: listening on ").nth(1))
            .filter_map(|s| {
                let (kind, addr) = s.split_once(':')?;
                Some((kind.to_owned(), addr.trim().parse().ok()?))
            })
            .collect();
        Ok(d)
    }

    pub(crate) fn sip_addr(&self, kind: &str) -> SocketAddr {
        self.sip
            .iter()
            .find(|(k, _)| k == kind)
            .map(|(_, a)| *a)
            .unwrap_or_else(|| panic!("no {kind} listener in:\n{}", self.log_text()))
    }

    pub(crate) fn log_lines(&self) -> Vec<String> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    pub(crate) fn log_text(&self) -> String {
        self.log_lines().join("\n")
    }

    /// Whether the process is still running.
    pub(crate) fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub(crate) fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(ok.success(), "kill -{sig} failed");
    }

    /// Waits for the process to exit, at most `limit`.
    pub(crate) fn wait(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(s)) = self.child.try_wait() {
                if let Some(t) = self.log_thread.take() {
                    let _ = t.join();
                }
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(t) = self.log_thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn read_log(stderr: ChildStderr, log: &Mutex<Vec<String>>, ready: &crossbeam_channel::Sender<()>) {
    for line in BufReader::new(stderr).lines() {
        let Ok(line) = line else { break };
        let is_ready = line.contains(" ready (instance ");
        if let Ok(mut l) = log.lock() {
            l.push(line);
        }
        if is_ready {
            let _ = ready.try_send(());
        }
    }
}

fn options(n: usize, transport: &str, via_host: SocketAddr) -> Vec<u8> {
    format!(
        "OPTIONS sip:gw@127.0.0.1 SIP/2.0\r\n\
         Via: SIP/2.0/{transport} {via_host};branch=z9hG4bK-daemon-{n};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:probe@example.com>;tag=p{n}\r\n\
         To: <sip:gw@127.0.0.1>\r\n\
         Call-ID: daemon-options-{n}\r\n\
         CSeq: 1 OPTIONS\r\n\
         Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

fn udp_final(s: &UdpSocket) -> Option<SipResponse<'static>> {
    let mut buf = vec![0u8; 65_536];
    loop {
        let (n, _) = s.recv_from(&mut buf).ok()?;
        if let Ok(SipMessage::Response(r)) = sip::parse_datagram(&buf[..n]) {
            if r.status >= 200 {
                return Some(r.into_owned());
            }
        }
    }
}

fn udp_options(d: &Daemon, n: usize) -> u16 {
    let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
    s.set_read_timeout(Some(Duration::from_secs(3)))
        .expect("timeout");
    let me = s.local_addr().expect("addr");
    s.send_to(&options(n, "UDP", me), d.sip_addr("udp"))
        .expect("send");
    udp_final(&s).map_or(0, |r| r.status)
}

/// `msrpgw --config` runs: it answers OPTIONS over UDP and TCP, and SIGTERM
/// stops it with exit status 0 within the grace period.
#[test]
fn daemon_answers_options_and_stops_on_sigterm() {
    let mut d = Daemon::start(&config(""));
    assert_eq!(udp_options(&d, 1), 200);
    let mut t = TcpStream::connect(d.sip_addr("tcp")).expect("connect");
    t.set_read_timeout(Some(WAIT)).expect("timeout");
    let me = t.local_addr().expect("addr");
    t.write_all(&options(2, "TCP", me)).expect("write");
    let mut buf = [0u8; 4096];
    let n = t.read(&mut buf).expect("read");
    assert!(
        buf[..n].starts_with(b"SIP/2.0 200 "),
        "{}",
        String::from_utf8_lossy(&buf[..n])
    );
    let started = Instant::now();
    d.signal("TERM");
    let status = d
        .wait(Duration::from_secs(8))
        .unwrap_or_else(|| panic!("msrpgw did not stop:\n{}", d.log_text()));
    assert_eq!(status.code(), Some(0), "{}", d.log_text());
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "within the grace"
    );
    let log = d.log_text();
    assert!(log.contains("stopping"), "{log}");
    assert!(log.contains("msrpgw stopped"), "{log}");
}

/// SIGHUP stops the daemon as SIGTERM does (there is no reload).
#[test]
fn daemon_stops_on_sighup_and_sigint() {
    for sig in ["HUP", "INT"] {
        let mut d = Daemon::start(&config(""));
        d.signal(sig);
        let status = d.wait(Duration::from_secs(8)).expect("stops");
        assert_eq!(status.code(), Some(0), "SIG{sig}: {}", d.log_text());
    }
}

/// Every RFC 4475 torture message, over UDP and over TCP, to one running
/// process: it stays up and keeps answering.
#[test]
fn daemon_survives_every_torture_message() {
    let mut d = Daemon::start(&config(""));
    let files: Vec<String> = corpus::index("sip/torture")
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    assert!(files.len() >= 45, "the torture corpus is there");
    let udp = UdpSocket::bind("127.0.0.1:0").expect("bind");
    for f in &files {
        let bytes = corpus::read("sip/torture", f);
        // Some are larger than a datagram can be; those go over TCP only.
        if bytes.len() < 65_000 {
            udp.send_to(&bytes, d.sip_addr("udp")).expect("send");
        }
        let mut t = TcpStream::connect(d.sip_addr("tcp")).expect("connect");
        let _ = t.write_all(&bytes);
        drop(t);
    }
    // The process is up and still answers.
    std::thread::sleep(Duration::from_millis(200));
    assert!(d.alive(), "msrpgw exited:\n{}", d.log_text());
    assert_eq!(udp_options(&d, 99), 200, "{}", d.log_text());
}

impl Daemon {
    /// The status endpoint's address, from the startup log.
    pub(crate) fn status_addr(&self) -> SocketAddr {
        self.log_lines()
            .iter()
            .find_map(|l| l.split("status: listening on http://").nth(1))
            .and_then(|a| a.trim().parse().ok())
            .unwrap_or_else(|| panic!("no status listener in:\n{}", self.log_text()))
    }
}

/// One HTTP exchange with the status endpoint: (status, body).
pub(crate) fn http(addr: SocketAddr, request: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(WAIT)).expect("timeout");
    s.write_all(request).expect("write");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {text:?}"));
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned());
    (status, body.unwrap_or_default())
}

/// The status endpoint: health, metrics, sessions, and bad requests.
#[test]
fn daemon_status_endpoint() {
    let d = Daemon::start(&config("[status]\nlisten = \"127.0.0.1:0\"\n"));
    let a = d.status_addr();
    let (code, body) = http(a, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!((code, body.as_str()), (200, "ok\n"));
    let (code, body) = http(a, b"GET /metrics HTTP/1.1\r\n\r\n");
    assert_eq!(code, 200);
    for name in [
        "msrpgw_sessions ",
        "msrpgw_sip_connections ",
        "msrpgw_messages_total",
        "# EOF",
    ] {
        assert!(body.contains(name), "{name} missing:\n{body}");
    }
    let (code, body) = http(a, b"GET /sessions HTTP/1.1\r\n\r\n");
    assert_eq!(code, 200);
    let rows: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert!(rows.is_array(), "{body}");
    assert_eq!(http(a, b"GET /nope HTTP/1.1\r\n\r\n").0, 404);
    assert_eq!(http(a, b"POST /metrics HTTP/1.1\r\n\r\n").0, 405);
    assert_eq!(http(a, b"\x16\x03\x01garbage\r\n\r\n").0, 400);
    let huge = format!("GET /metrics HTTP/1.1\r\nX: {}\r\n", "y".repeat(10_000));
    assert_eq!(http(a, huge.as_bytes()).0, 431);
    // Still answering after all that.
    assert_eq!(http(a, b"GET /healthz HTTP/1.1\r\n\r\n").0, 200);
}

/// `[sip] max_transactions`: requests over the cap get 503 with
/// Retry-After while the earlier transactions live (64·T1 over UDP).
#[test]
fn daemon_sheds_requests_over_the_transaction_cap() {
    let text = config("").replace("t1_ms = 50\n", "t1_ms = 50\nmax_transactions = 1024\n");
    let d = Daemon::start(&text);
    let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
    s.set_read_timeout(Some(Duration::from_secs(3)))
        .expect("timeout");
    let me = s.local_addr().expect("addr");
    let total = 1100;
    let mut codes = std::collections::BTreeMap::<u16, usize>::new();
    for n in 0..total {
        s.send_to(&options(1000 + n, "UDP", me), d.sip_addr("udp"))
            .expect("send");
        // Lock-step: one answer per request, so nothing is dropped.
        let r = udp_final(&s).expect("an answer");
        if r.status == 503 {
            assert!(
                r.headers
                    .get(&msrpgw::proto::sip::HeaderName::RetryAfter)
                    .is_some()
            );
        }
        *codes.entry(r.status).or_default() += 1;
    }
    assert_eq!(codes.get(&200), Some(&1024), "{codes:?}");
    assert_eq!(codes.get(&503), Some(&(total - 1024)), "{codes:?}");
}
