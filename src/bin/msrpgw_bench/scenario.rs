//! The scenarios: what the peers send, at which rate, and how the run is
//! measured (setup phase, measured interval, drain).
//!
//! Owns: the sender threads and the progress/timer thread of one run.
//! Must not: parse or build wire messages (that is `peers`).

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::peers::{Conn, Env, Pager, Ready, SessionSide};
use crate::spawn::sample;
use crate::stats::{ProcSample, Report, Step};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    P2s,
    P2sNew,
    S2p,
    Mixed,
    Ramp,
}

impl Scenario {
    pub fn parse(s: &str) -> Option<Scenario> {
        Some(match s {
            "p2s" => Scenario::P2s,
            "p2s-new" => Scenario::P2sNew,
            "s2p" => Scenario::S2p,
            "mixed" => Scenario::Mixed,
            "ramp" => Scenario::Ramp,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Scenario::P2s => "p2s",
            Scenario::P2sNew => "p2s-new",
            Scenario::S2p => "s2p",
            Scenario::Mixed => "mixed",
            Scenario::Ramp => "ramp",
        }
    }
}

/// Set by SIGINT/SIGTERM: the run ends early (and a spawned gateway is
/// stopped, not orphaned).
pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// One run's parameters.
#[derive(Debug, Clone)]
pub struct Plan {
    pub scenario: Scenario,
    pub sessions: u64,
    /// Messages per second offered; 0: as fast as the window allows.
    pub rate: u64,
    pub window: u64,
    pub duration: Duration,
    pub steps: Vec<u64>,
    pub step_duration: Duration,
    pub drain: Duration,
    pub bind: IpAddr,
    pub gateway_pid: Option<u32>,
    pub progress: bool,
    /// Pager users send their MESSAGEs over TCP to this address.
    pub pager_tcp: Option<SocketAddr>,
}

/// The peers of one run.
struct Peers {
    env: Arc<Env>,
    pager: Arc<Pager>,
    session: Arc<SessionSide>,
    ready: crossbeam_channel::Receiver<Ready>,
    threads: Vec<thread::JoinHandle<()>>,
    peak: Arc<Mutex<Option<ProcSample>>>,
}

impl Peers {
    fn in_flight(&self) -> usize {
        self.pager.in_flight() + self.session.in_flight()
    }

    /// Waits until nothing is in flight (or `limit`).
    fn drain(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        while self.in_flight() > 0 && Instant::now() < deadline && !self.env.stop.load(Relaxed) {
            thread::sleep(Duration::from_millis(10));
        }
    }
}

fn start(plan: &Plan, env: Arc<Env>) -> std::io::Result<Peers> {
    let (pager, pager_threads) = Pager::start(env.clone(), plan.bind, plan.pager_tcp)?;
    let (session, ready, mut threads) = SessionSide::start(env.clone(), plan.bind)?;
    threads.extend(pager_threads);
    let peak = Arc::new(Mutex::new(None::<ProcSample>));
    // Timers (retransmission, expiry), /proc samples and progress.
    let (p, s, e, pk) = (pager.clone(), session.clone(), env.clone(), peak.clone());
    let pid = plan.gateway_pid;
    let progress = plan.progress;
    threads.push(
        thread::Builder::new()
            .name("bench-timers".into())
            .stack_size(256 * 1024)
            .spawn(move || {
                let mut last = Instant::now();
                let mut last_delivered = 0;
                let mut last_ok = 0;
                while !e.stop.load(Relaxed) {
                    thread::sleep(Duration::from_millis(5));
                    if INTERRUPTED.load(Relaxed) {
                        e.stop.store(true, Relaxed);
                    }
                    p.tick();
                    s.tick();
                    if last.elapsed() < Duration::from_secs(1) {
                        continue;
                    }
                    let dt = last.elapsed().as_secs_f64();
                    last = Instant::now();
                    let g = pid.and_then(sample);
                    if pid.is_some() && g.is_none_or(|g| g.threads == 0) {
                        // Gone (or a zombie): nothing will answer any more.
                        eprintln!("msrpgw-bench: the gateway process is gone; stopping");
                        e.gateway_gone.store(true, Relaxed);
                        e.stop.store(true, Relaxed);
                    }
                    if let (Some(g), Ok(mut pk)) = (g, pk.lock()) {
                        let cur = pk.unwrap_or_default();
                        *pk = Some(ProcSample {
                            rss_kib: cur.rss_kib.max(g.rss_kib),
                            threads: cur.threads.max(g.threads),
                        });
                    }
                    let t = &e.tracker;
                    let delivered = t.delivered.load(Relaxed);
                    let ok = t.finals[2].load(Relaxed);
                    if progress {
                        eprintln!(
                            "[{:>6.1}s] offered {} ok {} ({:.0}/s) delivered {} ({:.0}/s) \
                             in flight {} timeouts {} setups {}{}",
                            e.now_ns() as f64 / 1e9,
                            t.offered.load(Relaxed),
                            ok,
                            (ok - last_ok) as f64 / dt,
                            delivered,
                            (delivered - last_delivered) as f64 / dt,
                            e.in_flight(),
                            t.timeouts.load(Relaxed),
                            t.setups.load(Relaxed),
                            g.map_or(String::new(), |g| format!(
                                " gw {:.1} MiB {} threads",
                                g.rss_kib as f64 / 1024.0,
                                g.threads
                            )),
                        );
                    }
                    last_delivered = delivered;
                    last_ok = ok;
                }
            })?,
    );
    Ok(Peers {
        env,
        pager,
        session,
        ready,
        threads,
        peak,
    })
}

/// Calls `send(k)` for k = 0, 1, 2, ... at `rate` per second (0: as fast
/// as the window allows) until `duration` has passed; returns how many.
fn pace(env: &Env, rate: u64, duration: Duration, mut send: impl FnMut(u64)) -> u64 {
    let start = Instant::now();
    let mut k = 0u64;
    while start.elapsed() < duration && !env.stop.load(Relaxed) {
        if rate > 0 {
            let due = (start.elapsed().as_secs_f64() * rate as f64) as u64;
            if k >= due {
                thread::sleep(Duration::from_micros(200));
                continue;
            }
        }
        if !env.acquire() {
            break;
        }
        send(k);
        k += 1;
    }
    k
}

/// Opens p2s sessions `from..to` (one MESSAGE each, seq 0) and waits for
/// their final responses.
fn open_p2s(peers: &Peers, from: u64, to: u64, limit: Duration) {
    let env = &peers.env;
    let target = env.tracker.finals_total() + (to - from);
    for pair in from..to {
        if !env.acquire() {
            return;
        }
        peers.pager.message(pair, 0, peers.session.addr);
    }
    let deadline = Instant::now() + limit;
    while env.tracker.finals_total() + env.tracker.timeouts.load(Relaxed) < target
        && Instant::now() < deadline
        && !env.stop.load(Relaxed)
    {
        thread::sleep(Duration::from_millis(5));
    }
}

/// Opens s2p sessions `from..to` (INVITE, connect) with at most `window`
/// setups in flight; returns the connections by pair.
fn open_s2p(
    peers: &Peers,
    from: u64,
    to: u64,
    window: u64,
    limit: Duration,
) -> Vec<(u64, Arc<Conn>)> {
    let env = &peers.env;
    let mut out = Vec::new();
    let deadline = Instant::now() + limit;
    let mut next = from;
    let mut failed_before = env.tracker.setup_failures.load(Relaxed);
    let mut outstanding = 0u64;
    while (next < to || outstanding > 0) && Instant::now() < deadline && !env.stop.load(Relaxed) {
        while next < to && outstanding < window.max(1) {
            peers.session.invite(next, peers.pager.addr);
            next += 1;
            outstanding += 1;
        }
        if let Ok(r) = peers.ready.recv_timeout(Duration::from_millis(5)) {
            out.push((r.pair, r.conn));
            outstanding -= 1;
        }
        let failed = env.tracker.setup_failures.load(Relaxed);
        outstanding = outstanding.saturating_sub(failed - failed_before);
        failed_before = failed;
    }
    out.sort_by_key(|(p, _)| *p);
    out
}

const SETUP_LIMIT: Duration = Duration::from_secs(120);

/// Runs `plan`; `gateway` is the gateway's SIP UDP address.
pub fn run(plan: &Plan, gateway: SocketAddr, t1: Duration, size: usize) -> std::io::Result<Report> {
    let env = Arc::new(Env::new(gateway, t1, size, plan.window as usize));
    let peers = start(plan, env.clone())?;
    let n = plan.sessions.max(1);
    let setup_start = Instant::now();
    let mut steps = Vec::new();
    let (measured, delivered, ok, setup_secs) = match plan.scenario {
        Scenario::P2s => {
            open_p2s(&peers, 0, n, SETUP_LIMIT);
            let setup = setup_start.elapsed().as_secs_f64();
            let session = peers.session.addr;
            let m = measure(&peers, || {
                let mut seqs = vec![1u64; n as usize];
                pace(&env, plan.rate, plan.duration, |k| {
                    let pair = k % n;
                    let seq = &mut seqs[pair as usize];
                    peers.pager.message(pair, *seq, session);
                    *seq += 1;
                });
            });
            (m.0, m.1, m.2, setup)
        }
        Scenario::P2sNew => {
            let s = peers.session.clone();
            peers.pager.on_ok(Box::new(move |pair| s.bye(pair)));
            let session = peers.session.addr;
            let m = measure(&peers, || {
                pace(&env, plan.rate, plan.duration, |k| {
                    peers.pager.message(k, 0, session);
                });
            });
            (m.0, m.1, m.2, 0.0)
        }
        Scenario::S2p => {
            let conns = open_s2p(&peers, 0, n, plan.window, SETUP_LIMIT);
            let setup = setup_start.elapsed().as_secs_f64();
            let m = measure(&peers, || run_s2p(&peers, plan.rate, plan.duration, &conns));
            (m.0, m.1, m.2, setup)
        }
        Scenario::Mixed => {
            // Half the sessions each way, half the rate each way.
            let half = (n / 2).max(1);
            open_p2s(&peers, 0, half, SETUP_LIMIT);
            let conns = open_s2p(
                &peers,
                1_000_000,
                1_000_000 + half,
                plan.window,
                SETUP_LIMIT,
            );
            let setup = setup_start.elapsed().as_secs_f64();
            let session = peers.session.addr;
            let rate = plan.rate / 2;
            let m = measure(&peers, || {
                thread::scope(|sc| {
                    let b = thread::Builder::new().name("bench-send-s2p".into());
                    let h = b.spawn_scoped(sc, || run_s2p(&peers, rate, plan.duration, &conns));
                    let mut seqs = vec![1u64; half as usize];
                    pace(&env, rate, plan.duration, |k| {
                        let pair = k % half;
                        let seq = &mut seqs[pair as usize];
                        peers.pager.message(pair, *seq, session);
                        *seq += 1;
                    });
                    if let Ok(h) = h {
                        let _ = h.join();
                    }
                });
            });
            (m.0, m.1, m.2, setup)
        }
        Scenario::Ramp => {
            let mut open = 0;
            let mut seqs: Vec<u64> = Vec::new();
            let session = peers.session.addr;
            for &target in &plan.steps {
                if env.stop.load(Relaxed) {
                    break;
                }
                let t0 = Instant::now();
                if target > open {
                    open_p2s(&peers, open, target, SETUP_LIMIT);
                    seqs.resize(target as usize, 1);
                    open = target;
                }
                let setup = t0.elapsed().as_secs_f64();
                env.tracker.reset_latency();
                let before = env.tracker.delivered.load(Relaxed);
                let t1 = Instant::now();
                pace(&env, plan.rate, plan.step_duration, |k| {
                    let pair = k % open;
                    let seq = &mut seqs[pair as usize];
                    peers.pager.message(pair, *seq, session);
                    *seq += 1;
                });
                let secs = t1.elapsed().as_secs_f64();
                let delivered = env.tracker.delivered.load(Relaxed) - before;
                let gw = plan.gateway_pid.and_then(sample);
                peers.drain(plan.drain);
                let step = Step {
                    sessions: open,
                    setup_secs: setup,
                    delivered_per_sec: delivered as f64 / secs,
                    final_latency: env.tracker.final_latency(),
                    gateway: gw,
                };
                if plan.progress {
                    eprintln!(
                        "step {} sessions: {:.0} delivered/s, p99 {} µs, gateway {:?}",
                        step.sessions,
                        step.delivered_per_sec,
                        step.final_latency.p99_us,
                        step.gateway
                    );
                }
                steps.push(step);
            }
            (Duration::ZERO, 0, 0, 0.0)
        }
    };
    peers.drain(plan.drain);
    let gateway_end = plan.gateway_pid.and_then(sample);
    env.stop.store(true, Relaxed);
    let Peers { threads, peak, .. } = peers;
    for h in threads {
        let _ = h.join();
    }
    env.join_connections();
    let t = &env.tracker;
    let secs = measured.as_secs_f64().max(1e-9);
    let finals: Vec<u64> = t.finals.iter().map(|c| c.load(Relaxed)).collect();
    let gateway_peak = peak.lock().ok().and_then(|p| *p);
    Ok(Report {
        scenario: plan.scenario.name().to_owned(),
        sessions: if plan.scenario == Scenario::P2sNew {
            t.setups.load(Relaxed)
        } else {
            n
        },
        offered_rate: plan.rate,
        window: plan.window,
        duration_secs: measured.as_secs_f64(),
        offered: t.offered.load(Relaxed),
        finals_1xx_6xx: [
            finals[1], finals[2], finals[3], finals[4], finals[5], finals[6],
        ],
        finals_unparsable: finals[0],
        finals_by_code: t.by_code(),
        stray_finals: t.stray_finals.load(Relaxed),
        retransmits: t.retransmits.load(Relaxed),
        timeouts: t.timeouts.load(Relaxed),
        delivered: t.delivered.load(Relaxed),
        lost: t.lost(),
        duplicates: t.duplicates.load(Relaxed),
        order_violations: t.order_violations.load(Relaxed),
        retransmits_received: t.retransmits_received.load(Relaxed),
        setups: t.setups.load(Relaxed),
        setup_failures: t.setup_failures.load(Relaxed),
        errors: t.errors.load(Relaxed),
        delivered_per_sec: if measured.is_zero() {
            0.0
        } else {
            delivered as f64 / secs
        },
        ok_per_sec: if measured.is_zero() {
            0.0
        } else {
            ok as f64 / secs
        },
        setup_secs,
        final_latency: t.final_latency(),
        delivery_latency: t.delivery_latency(),
        gateway: gateway_end,
        gateway_peak,
        gateway_exited: env.gateway_gone.load(Relaxed),
        steps,
    })
}

/// Runs the load `f` as the measured interval: latency samples start
/// fresh; returns (interval, delivered in it, 2xx in it).
fn measure(peers: &Peers, f: impl FnOnce()) -> (Duration, u64, u64) {
    let t = &peers.env.tracker;
    t.reset_latency();
    let d0 = t.delivered.load(Relaxed);
    let ok0 = t.finals[2].load(Relaxed);
    let start = Instant::now();
    f();
    let d = t.delivered.load(Relaxed) - d0;
    let ok = t.finals[2].load(Relaxed) - ok0;
    (start.elapsed(), d, ok)
}

fn run_s2p(peers: &Peers, rate: u64, duration: Duration, conns: &[(u64, Arc<Conn>)]) {
    if conns.is_empty() {
        return;
    }
    let n = conns.len() as u64;
    let mut seqs = vec![0u64; conns.len()];
    let mut failed_in_a_row = 0;
    pace(&peers.env, rate, duration, |k| {
        let i = (k % n) as usize;
        let (pair, conn) = &conns[i];
        if peers.session.send(conn, *pair, seqs[i]) {
            seqs[i] += 1;
            failed_in_a_row = 0;
        } else {
            failed_in_a_row += 1;
            if failed_in_a_row >= n {
                // Every connection is gone: nothing left to offer.
                thread::sleep(Duration::from_millis(10));
            }
        }
    });
}
