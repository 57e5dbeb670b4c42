//! SIP stack throughput end to end: `MESSAGE` → `200 OK` through the real
//! UDP listener on 127.0.0.1, the transaction layer and a trivial user
//! layer, with the load generator in the same process.
//!
//! - The stack: [`SipStack`] on `127.0.0.1:0` (UDP only), driven by one
//!   thread that does what the session-table thread does (wait on the
//!   event channel with the stack's timer deadline, feed events and
//!   timeouts, drain [`SipStack::poll`]) and answers every `MESSAGE` with
//!   `200 OK` through [`SipStack::respond`].
//! - The load: `CLIENTS` threads, each with its own connected UDP socket,
//!   keep `WINDOW` `MESSAGE`s outstanding, each with its own Call-ID and
//!   branch; a response is matched to its request by branch and its
//!   latency recorded. A request unanswered after a second counts as lost
//!   and is replaced, so a lost datagram does not shrink the window.
//!
//! Settings (environment): `SIP_LOOPBACK_SECS` (measured time, default
//! 10), `SIP_LOOPBACK_WARMUP_SECS` (default 1), `SIP_LOOPBACK_CLIENTS`
//! (default 2), `SIP_LOOPBACK_WINDOW` (outstanding per client, default
//! 64), `SIP_LOOPBACK_T1_MS` (the stack's T1, default 10: Timer J = 64·T1
//! keeps every answered UDP transaction alive that long, and the layer's
//! cap of 65,536 live transactions then bounds the rate at 65,536 /
//! (64·T1); with RFC 3261's 500 ms that is 2,048/s, see benches/README.md).
//!
//! Prints transactions/s (200s received in the measured interval), the
//! latency p50/p99/max, non-200 answers, losses, the load average, and the
//! CPU time per transaction of each thread role (user layer, UDP reader,
//! load generator): on a shared machine the rate moves with the
//! neighbours' load, the CPU cost much less.

use std::collections::{BTreeMap, HashMap};
use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{RecvTimeoutError, bounded};
use msrpgw::config::{ListenSpec, Transport};
use msrpgw::event::Event;
use msrpgw::ids::IdSource;
use msrpgw::proto::sip::{Method, SipResponse};
use msrpgw::sip::stack::{LocalAddress, SipStack, SipUp};
use msrpgw::sip::transaction::Timers;
use msrpgw::sip::transport::SipTransportConfig;

/// Capacity of the stack's event channel (the daemon's session table
/// inbox is bounded the same way; overflow is answered 503 by the reader).
const EVENT_QUEUE: usize = 10_000;
/// A request unanswered this long is counted lost and replaced.
const LOST_AFTER: Duration = Duration::from_secs(1);
/// Stack of the bench's own threads (buffers are on the heap).
const THREAD_STACK: usize = 256 * 1024;

struct Settings {
    secs: u64,
    warmup_secs: u64,
    clients: usize,
    window: usize,
    t1_ms: u64,
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

impl Settings {
    fn from_env() -> Settings {
        Settings {
            secs: env_or("SIP_LOOPBACK_SECS", 10),
            warmup_secs: env_or("SIP_LOOPBACK_WARMUP_SECS", 1),
            clients: env_or("SIP_LOOPBACK_CLIENTS", 2).max(1),
            window: env_or("SIP_LOOPBACK_WINDOW", 64).max(1),
            t1_ms: env_or("SIP_LOOPBACK_T1_MS", 10).max(1),
        }
    }
}

/// The stack and its trivial user layer on one thread, until `stop`.
fn run_stack(settings: &Settings, stop: Arc<AtomicBool>) -> (SocketAddr, thread::JoinHandle<()>) {
    let (events_tx, events) = bounded::<Event>(EVENT_QUEUE);
    let cfg = SipTransportConfig {
        listen: vec![ListenSpec {
            transport: Transport::Udp,
            addr: "127.0.0.1:0".parse().expect("literal address"),
        }],
        tls_acceptor: None,
        tls_connector: None,
        max_message_bytes: 65_536,
        max_connections: 64,
        idle_timeout: Duration::from_secs(30),
    };
    let t1 = Duration::from_millis(settings.t1_ms);
    let timers = Timers::new(t1, Duration::from_secs(4).max(t1), Duration::from_secs(5));
    let local = LocalAddress {
        host: "127.0.0.1".to_owned(),
    };
    let mut stack = SipStack::start(cfg, timers, local, Arc::new(IdSource::new()), events_tx)
        .expect("SIP stack starts on 127.0.0.1");
    let addr = stack
        .transport()
        .local_addr(Transport::Udp)
        .expect("UDP listener");
    let handle = thread::Builder::new()
        .name("bench-user".to_owned())
        .stack_size(THREAD_STACK)
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let cap = Instant::now() + Duration::from_millis(100);
                let deadline = stack.poll_timeout().map_or(cap, |d| d.min(cap));
                match events.recv_deadline(deadline) {
                    Ok(ev) => stack.handle_event(ev, Instant::now()),
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => break,
                }
                // Timers are due even while events keep arriving: under
                // load the channel is never empty long enough to time out.
                let now = Instant::now();
                if stack.poll_timeout().is_some_and(|d| d <= now) {
                    stack.handle_timeout(now);
                }
                while let Some(up) = stack.poll() {
                    if let SipUp::Request { tx, request, .. } = up {
                        let (status, reason) = match request.method {
                            Method::Message => (200, "OK"),
                            _ => (488, "Not Acceptable Here"),
                        };
                        let resp = SipResponse::for_request(&request, status, reason).into_owned();
                        stack.respond(tx, resp, Instant::now());
                    }
                }
            }
            stack.shutdown();
        })
        .expect("spawn the user-layer thread");
    (addr, handle)
}

/// What one load-generator thread saw in the measured interval.
#[derive(Default)]
struct ClientReport {
    ok: u64,
    /// Every answer matched, warm-up included (to divide counters taken
    /// over the whole run, such as callgrind's, by).
    answered_all: u64,
    /// Non-200 answers by status code.
    other_status: BTreeMap<u16, u64>,
    lost: u64,
    latencies_us: Vec<u32>,
}

/// The `MESSAGE` of RFC 3428 §10 F1, with this client's socket in the Via
/// and a Call-ID and branch of its own.
fn message(buf: &mut Vec<u8>, local: SocketAddr, client: usize, seq: u64) {
    use std::io::Write;
    buf.clear();
    let _ = write!(
        buf,
        "MESSAGE sip:user2@domain.com SIP/2.0\r\n\
         Via: SIP/2.0/UDP {local};branch=z9hG4bKlg{client}x{seq}\r\n\
         Max-Forwards: 70\r\n\
         From: sip:user1@domain.com;tag=49583\r\n\
         To: sip:user2@domain.com\r\n\
         Call-ID: lg{client}-{seq}@127.0.0.1\r\n\
         CSeq: 1 MESSAGE\r\n\
         Content-Type: text/plain\r\n\
         Content-Length: 18\r\n\
         \r\n\
         Watson, come here."
    );
}

/// The status code and the sequence number in the branch of a response
/// to one of our requests.
fn read_response(bytes: &[u8]) -> Option<(u16, u64)> {
    let status = std::str::from_utf8(bytes.get(8..11)?).ok()?.parse().ok()?;
    const MARK: &[u8] = b"branch=z9hG4bKlg";
    let at = bytes.windows(MARK.len()).position(|w| w == MARK)? + MARK.len();
    let rest = &bytes[at..];
    let x = rest.iter().position(|&b| b == b'x')? + 1;
    let digits = rest[x..].iter().take_while(|b| b.is_ascii_digit()).count();
    let seq = std::str::from_utf8(&rest[x..x + digits])
        .ok()?
        .parse()
        .ok()?;
    Some((status, seq))
}

fn run_client(
    client: usize,
    server: SocketAddr,
    window: usize,
    measure_from: Instant,
    until: Instant,
) -> ClientReport {
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind client socket");
    sock.connect(server).expect("connect client socket");
    sock.set_read_timeout(Some(Duration::from_millis(20)))
        .expect("read timeout");
    let local = sock.local_addr().expect("client address");
    let mut report = ClientReport::default();
    let mut outstanding: HashMap<u64, Instant> = HashMap::with_capacity(window * 2);
    let mut out = Vec::with_capacity(512);
    let mut inb = vec![0u8; 65_535];
    let mut seq = 0u64;
    let mut send_one = |outstanding: &mut HashMap<u64, Instant>, seq: &mut u64| {
        *seq += 1;
        message(&mut out, local, client, *seq);
        outstanding.insert(*seq, Instant::now());
        if let Err(e) = sock.send(&out) {
            // ECONNREFUSED from an ICMP of an earlier send: retried as lost.
            if e.kind() != ErrorKind::ConnectionRefused {
                eprintln!("client {client}: send: {e}");
            }
        }
    };
    for _ in 0..window {
        send_one(&mut outstanding, &mut seq);
    }
    let mut last_sweep = Instant::now();
    loop {
        let now = Instant::now();
        if now >= until {
            break;
        }
        match sock.recv(&mut inb) {
            Ok(n) => {
                let got = Instant::now();
                if let Some((status, s)) = read_response(&inb[..n]) {
                    if let Some(sent) = outstanding.remove(&s) {
                        report.answered_all += 1;
                        if got >= measure_from && got < until {
                            if status == 200 {
                                report.ok += 1;
                                let us = got.duration_since(sent).as_micros();
                                report.latencies_us.push(us.min(u32::MAX as u128) as u32);
                            } else {
                                *report.other_status.entry(status).or_default() += 1;
                            }
                        }
                        send_one(&mut outstanding, &mut seq);
                    }
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => {}
            Err(e) => panic!("client {client}: recv: {e}"),
        }
        if now.duration_since(last_sweep) > Duration::from_millis(100) {
            last_sweep = now;
            let old: Vec<u64> = outstanding
                .iter()
                .filter(|(_, t)| now.duration_since(**t) > LOST_AFTER)
                .map(|(s, _)| *s)
                .collect();
            for s in old {
                outstanding.remove(&s);
                if now >= measure_from {
                    report.lost += 1;
                }
                send_one(&mut outstanding, &mut seq);
            }
        }
    }
    report
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// CPU time (user + system, in clock ticks) used so far by this
/// process's threads, summed by role: the user layer, the transport's UDP
/// reader, the load generator. Read from /proc; empty elsewhere.
fn cpu_ticks() -> BTreeMap<&'static str, u64> {
    let mut by_role = BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return by_role;
    };
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let comm = &stat[open + 1..close];
        let role = if comm.starts_with("bench-user") {
            "user layer"
        } else if comm.starts_with("sip-udp") {
            "udp reader"
        } else if comm.starts_with("bench-load") {
            "load generator"
        } else {
            "other"
        };
        // After the command: state is field 3 of stat(5), utime 14, stime 15.
        let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or(0)
        };
        *by_role.entry(role).or_default() += ticks(11) + ticks(12);
    }
    by_role
}

fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    // `cargo bench` passes `--bench` (and any filter): nothing to parse.
    let s = Settings::from_env();
    let stop = Arc::new(AtomicBool::new(false));
    let (server, stack_thread) = run_stack(&s, stop.clone());
    println!(
        "sip_loopback: {} s measured after {} s warm-up, {} client threads × window {}, T1 {} ms, \
         stack on udp:{server}; load average before: {}",
        s.secs,
        s.warmup_secs,
        s.clients,
        s.window,
        s.t1_ms,
        load_average()
    );
    let start = Instant::now();
    let measure_from = start + Duration::from_secs(s.warmup_secs);
    let until = measure_from + Duration::from_secs(s.secs);
    let clients: Vec<_> = (0..s.clients)
        .map(|c| {
            let window = s.window;
            thread::Builder::new()
                .name(format!("bench-load-{c}"))
                .stack_size(THREAD_STACK)
                .spawn(move || run_client(c, server, window, measure_from, until))
                .expect("spawn a load thread")
        })
        .collect();
    // CPU use over (nearly) the measured interval: the load threads end at
    // `until` and take their /proc entries with them, so the second
    // reading is taken just before.
    thread::sleep(measure_from.saturating_duration_since(Instant::now()));
    let cpu_before = cpu_ticks();
    let cpu_from = Instant::now();
    thread::sleep(until.saturating_duration_since(Instant::now() + Duration::from_millis(20)));
    let cpu_after = cpu_ticks();
    let cpu_secs = cpu_from.elapsed().as_secs_f64();
    let mut total = ClientReport::default();
    for c in clients {
        let r = c.join().expect("load thread");
        total.ok += r.ok;
        total.answered_all += r.answered_all;
        for (status, n) in r.other_status {
            *total.other_status.entry(status).or_default() += n;
        }
        total.lost += r.lost;
        total.latencies_us.extend(r.latencies_us);
    }
    let load_after = load_average();
    stop.store(true, Ordering::Relaxed);
    stack_thread.join().expect("user-layer thread");
    total.latencies_us.sort_unstable();
    let rate = total.ok as f64 / s.secs as f64;
    println!(
        "sip_loopback: {rate:.0} transactions/s ({} × 200 OK in {} s); latency p50 {} µs, \
         p99 {} µs, max {} µs; non-200 answers {:?}, lost {}; {} answered in the whole run; load average after: {load_after}",
        total.ok,
        s.secs,
        percentile(&total.latencies_us, 0.50),
        percentile(&total.latencies_us, 0.99),
        total.latencies_us.last().copied().unwrap_or(0),
        total.other_status,
        total.lost,
        total.answered_all,
    );
    // Clock ticks are 1/100 s on Linux (USER_HZ).
    let per_tx_us = |ticks: u64| ticks as f64 * 10_000.0 / (rate * cpu_secs).max(1.0);
    let mut line = String::from("sip_loopback: CPU per transaction:");
    let mut sum = 0;
    for (role, after) in &cpu_after {
        let used = after.saturating_sub(cpu_before.get(role).copied().unwrap_or(0));
        sum += used;
        line += &format!(
            " {role} {:.1} µs ({:.0} % of a core);",
            per_tx_us(used),
            used as f64 / cpu_secs
        );
    }
    line += &format!(" total {:.1} µs", per_tx_us(sum));
    println!("{line}");
}
