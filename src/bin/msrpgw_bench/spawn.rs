//! The gateway under test when the bench starts it (`--spawn PATH`): a
//! configuration on ephemeral loopback ports, the process, its log, and
//! /proc samples of any gateway process (`--gateway-pid`).
//!
//! Owns: the child process, the thread draining its stderr (a full pipe
//! would block the gateway's logging), the temporary config directory.
//! Must not: talk SIP or MSRP.

use std::collections::VecDeque;
use std::fmt;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::stats::ProcSample;

/// Lines of the gateway's log kept for error messages.
const LOG_TAIL: usize = 200;

#[derive(Debug)]
pub enum SpawnError {
    Io(std::io::Error),
    NotReady(String),
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpawnError::Io(e) => write!(f, "cannot start the gateway: {e}"),
            SpawnError::NotReady(log) => {
                write!(f, "the gateway did not report ready; its log:\n{log}")
            }
        }
    }
}

impl From<std::io::Error> for SpawnError {
    fn from(e: std::io::Error) -> Self {
        SpawnError::Io(e)
    }
}

/// How the spawned gateway is configured.
pub struct GatewayOptions {
    pub t1_ms: u64,
    /// Timer K (UDP client non-INVITE transactions live T4 after their
    /// final response): with the default 5 s, 65,536 live transactions
    /// cap MESSAGEs sent by the gateway near 13,000/s.
    pub t4_ms: u64,
    pub max_sessions: u64,
    pub queue_depth: u64,
    pub log_level: String,
    pub extra: String,
}

/// A gateway process started by the bench.
pub struct Gateway {
    child: Child,
    pub sip_udp: SocketAddr,
    pub sip_tcp: Option<SocketAddr>,
    log: Arc<Mutex<VecDeque<String>>>,
    log_thread: Option<JoinHandle<()>>,
    dir: PathBuf,
}

impl Gateway {
    pub fn start(binary: &Path, o: &GatewayOptions) -> Result<Gateway, SpawnError> {
        let dir =
            std::env::temp_dir().join(format!("msrpgw-bench-{}-{}", std::process::id(), o.t1_ms));
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("msrpgw.toml");
        let sessions = o.max_sessions;
        let config = format!(
            "[sip]\nlisten = [\"udp:127.0.0.1:0\", \"tcp:127.0.0.1:0\"]\nt1_ms = {}\nt4_ms = {}\n\
             [msrp]\nlisten = [\"tcp:127.0.0.1:0\"]\nmax_connections = {}\n\
             [gateway]\nmax_sessions = {sessions}\nsession_queue_depth = {}\n\
             shutdown_grace_secs = 2\n\
             [log]\nlevel = \"{}\"\n{}",
            o.t1_ms,
            o.t4_ms,
            sessions * 2,
            o.queue_depth,
            o.log_level,
            o.extra
        );
        std::fs::write(&path, config)?;
        let mut child = Command::new(binary)
            .arg("--config")
            .arg(&path)
            .env_remove("RUST_LOG")
            .env_remove("JOURNAL_STREAM")
            .env_remove("NOTIFY_SOCKET")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        let Some(stderr) = child.stderr.take() else {
            let _ = child.kill();
            return Err(SpawnError::NotReady("no stderr".into()));
        };
        let log = Arc::new(Mutex::new(VecDeque::new()));
        type Listeners = (Option<SocketAddr>, Option<SocketAddr>);
        let (ready_tx, ready) = crossbeam_channel::bounded::<Listeners>(1);
        let log_thread = {
            let log = log.clone();
            std::thread::Builder::new()
                .name("bench-gw-log".into())
                .stack_size(128 * 1024)
                .spawn(move || {
                    let (mut udp, mut tcp) = (None, None);
                    for line in BufReader::new(stderr).lines() {
                        let Ok(line) = line else { break };
                        if let Some(a) = line.split("sip: listening on udp:").nth(1) {
                            udp = a.trim().parse().ok();
                        }
                        if let Some(a) = line.split("sip: listening on tcp:").nth(1) {
                            tcp = a.trim().parse().ok();
                        }
                        if line.contains(" ready (instance ") {
                            let _ = ready_tx.try_send((udp, tcp));
                        }
                        if let Ok(mut l) = log.lock() {
                            if l.len() == LOG_TAIL {
                                l.pop_front();
                            }
                            l.push_back(line);
                        }
                    }
                })?
        };
        let mut g = Gateway {
            child,
            sip_udp: SocketAddr::from(([127, 0, 0, 1], 0)),
            sip_tcp: None,
            log,
            log_thread: Some(log_thread),
            dir,
        };
        match ready.recv_timeout(Duration::from_secs(10)) {
            Ok((Some(udp), tcp)) => {
                g.sip_udp = udp;
                g.sip_tcp = tcp;
                Ok(g)
            }
            _ => Err(SpawnError::NotReady(g.log_tail())),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log_tail(&self) -> String {
        self.log
            .lock()
            .map(|l| l.iter().cloned().collect::<Vec<_>>().join("\n"))
            .unwrap_or_default()
    }

    /// SIGTERM, then waits for the clean stop (SIGKILL after 10 s).
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(t) = self.log_thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// RSS and thread count of process `pid` (None when it is gone).
pub fn sample(pid: u32) -> Option<ProcSample> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    Some(ProcSample::parse(&s))
}
