//! What the load generator saw on the wire: counters, per-pair delivery
//! bookkeeping (losses, duplicates, order) and latency histograms.
//!
//! Owns: the shared [`Tracker`] every peer thread records into, and the
//! [`Report`] built from it. Must not: do I/O or own threads; time comes in
//! as nanoseconds since the run's start, given by the caller.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use hdrhistogram::Histogram;
use serde::Serialize;

/// Shards of the per-pair table: pairs are spread so that the pager reader,
/// the session reader and the MSRP readers rarely wait on one another.
const SHARDS: usize = 64;

/// Delivery state of one pair (one pager user, one session user).
#[derive(Default)]
struct PairTrack {
    /// Bit `seq` set: message `seq` arrived at the far end.
    delivered: Vec<u64>,
    /// Bit `seq` set: the sender got a 2xx (MSRP 200) for message `seq`.
    acked: Vec<u64>,
    /// Highest sequence number delivered so far.
    max_delivered: Option<u64>,
}

fn set_bit(bits: &mut Vec<u64>, i: u64) -> bool {
    let (w, b) = ((i / 64) as usize, i % 64);
    if bits.len() <= w {
        bits.resize(w + 1, 0);
    }
    let was = bits[w] & (1 << b) != 0;
    bits[w] |= 1 << b;
    was
}

/// Every counter of a run, shared by all peer threads.
pub struct Tracker {
    pub offered: AtomicU64,
    /// Final responses by class: index 1..=6 (index 0: unparsable status).
    pub finals: [AtomicU64; 7],
    /// Final responses for transactions already finished (retransmitted
    /// finals absorbed by the client).
    pub stray_finals: AtomicU64,
    /// Requests retransmitted by the bench (UDP, Timer E).
    pub retransmits: AtomicU64,
    /// Client transactions that got no final response in 64·T1.
    pub timeouts: AtomicU64,
    pub delivered: AtomicU64,
    pub duplicates: AtomicU64,
    pub order_violations: AtomicU64,
    /// Requests the gateway retransmitted to the bench (absorbed).
    pub retransmits_received: AtomicU64,
    /// Sessions set up (INVITE answered 200, either direction).
    pub setups: AtomicU64,
    pub setup_failures: AtomicU64,
    /// Socket or protocol errors seen by the bench's peers.
    pub errors: AtomicU64,
    pairs: Vec<Mutex<HashMap<u64, PairTrack>>>,
    /// Every final status seen, for the failures' codes.
    by_code: Mutex<BTreeMap<u16, u64>>,
    final_latency: Mutex<Histogram<u64>>,
    delivery_latency: Mutex<Histogram<u64>>,
}

fn histogram() -> Histogram<u64> {
    // 1 µs .. 1 h, 3 significant digits; the bounds are constants, so
    // construction cannot fail.
    Histogram::new_with_bounds(1, 3_600_000_000, 3).unwrap_or_else(|_| Histogram::new(3).unwrap())
}

impl Default for Tracker {
    fn default() -> Self {
        Tracker {
            offered: AtomicU64::new(0),
            finals: Default::default(),
            stray_finals: AtomicU64::new(0),
            retransmits: AtomicU64::new(0),
            timeouts: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            duplicates: AtomicU64::new(0),
            order_violations: AtomicU64::new(0),
            retransmits_received: AtomicU64::new(0),
            setups: AtomicU64::new(0),
            setup_failures: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            pairs: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            by_code: Mutex::new(BTreeMap::new()),
            final_latency: Mutex::new(histogram()),
            delivery_latency: Mutex::new(histogram()),
        }
    }
}

impl Tracker {
    fn shard(&self, pair: u64) -> &Mutex<HashMap<u64, PairTrack>> {
        &self.pairs[(pair % SHARDS as u64) as usize]
    }

    /// A final response (SIP status or MSRP status code) for message
    /// (`pair`, `seq`) sent at `sent_ns`.
    pub fn final_response(&self, pair: u64, seq: u64, status: u16, sent_ns: u64, now_ns: u64) {
        let class = usize::from(status / 100).min(6);
        self.finals[class].fetch_add(1, Relaxed);
        if let Ok(mut c) = self.by_code.lock() {
            *c.entry(status).or_default() += 1;
        }
        record(&self.final_latency, now_ns.saturating_sub(sent_ns));
        if (200..300).contains(&status) {
            if let Ok(mut s) = self.shard(pair).lock() {
                set_bit(&mut s.entry(pair).or_default().acked, seq);
            }
        }
    }

    /// Message (`pair`, `seq`), sent at `sent_ns`, arrived at the far end.
    pub fn delivery(&self, pair: u64, seq: u64, sent_ns: u64, now_ns: u64) {
        let Ok(mut s) = self.shard(pair).lock() else {
            return;
        };
        let t = s.entry(pair).or_default();
        if set_bit(&mut t.delivered, seq) {
            self.duplicates.fetch_add(1, Relaxed);
            return;
        }
        if t.max_delivered.is_some_and(|m| seq < m) {
            self.order_violations.fetch_add(1, Relaxed);
        }
        t.max_delivered = Some(t.max_delivered.map_or(seq, |m| m.max(seq)));
        drop(s);
        self.delivered.fetch_add(1, Relaxed);
        record(&self.delivery_latency, now_ns.saturating_sub(sent_ns));
    }

    /// Messages answered 2xx upstream but never delivered.
    pub fn lost(&self) -> u64 {
        let mut lost = 0u64;
        for shard in &self.pairs {
            let Ok(s) = shard.lock() else { continue };
            for t in s.values() {
                for (i, a) in t.acked.iter().enumerate() {
                    let d = t.delivered.get(i).copied().unwrap_or(0);
                    lost += u64::from((a & !d).count_ones());
                }
            }
        }
        lost
    }

    /// Forgets the latency samples so far (after a setup phase).
    pub fn reset_latency(&self) {
        for h in [&self.final_latency, &self.delivery_latency] {
            if let Ok(mut h) = h.lock() {
                h.reset();
            }
        }
    }

    /// Final statuses seen, code → count.
    pub fn by_code(&self) -> BTreeMap<u16, u64> {
        self.by_code.lock().map(|c| c.clone()).unwrap_or_default()
    }

    pub fn finals_total(&self) -> u64 {
        self.finals.iter().map(|c| c.load(Relaxed)).sum()
    }

    pub fn final_latency(&self) -> Latency {
        Latency::of(&self.final_latency)
    }

    pub fn delivery_latency(&self) -> Latency {
        Latency::of(&self.delivery_latency)
    }
}

fn record(h: &Mutex<Histogram<u64>>, ns: u64) {
    if let Ok(mut h) = h.lock() {
        h.saturating_record((ns / 1000).max(1));
    }
}

/// Latency percentiles in microseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Latency {
    pub count: u64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
}

impl Latency {
    fn of(h: &Mutex<Histogram<u64>>) -> Latency {
        let Ok(h) = h.lock() else {
            return Latency::default();
        };
        if h.is_empty() {
            return Latency::default();
        }
        Latency {
            count: h.len(),
            p50_us: h.value_at_quantile(0.50),
            p90_us: h.value_at_quantile(0.90),
            p99_us: h.value_at_quantile(0.99),
            max_us: h.max(),
        }
    }
}

/// The gateway process as /proc shows it.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct ProcSample {
    pub rss_kib: u64,
    pub threads: u64,
}

impl ProcSample {
    /// `VmRSS` and `Threads` from the text of /proc/PID/status.
    pub fn parse(status: &str) -> ProcSample {
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        ProcSample {
            rss_kib: field("VmRSS:"),
            threads: field("Threads:"),
        }
    }
}

/// One ramp step.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub sessions: u64,
    pub setup_secs: f64,
    pub delivered_per_sec: f64,
    pub final_latency: Latency,
    pub gateway: Option<ProcSample>,
}

/// The outcome of a run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub scenario: String,
    pub sessions: u64,
    pub offered_rate: u64,
    pub window: u64,
    pub duration_secs: f64,
    pub offered: u64,
    pub finals_1xx_6xx: [u64; 6],
    pub finals_unparsable: u64,
    /// Final statuses by code (SIP for MESSAGEs, MSRP for SENDs).
    pub finals_by_code: BTreeMap<u16, u64>,
    pub stray_finals: u64,
    pub retransmits: u64,
    pub timeouts: u64,
    pub delivered: u64,
    pub lost: u64,
    pub duplicates: u64,
    pub order_violations: u64,
    pub retransmits_received: u64,
    pub setups: u64,
    pub setup_failures: u64,
    pub errors: u64,
    /// Messages delivered per second during the measured interval.
    pub delivered_per_sec: f64,
    /// 2xx final responses per second during the measured interval.
    pub ok_per_sec: f64,
    pub setup_secs: f64,
    pub final_latency: Latency,
    pub delivery_latency: Latency,
    pub gateway: Option<ProcSample>,
    pub gateway_peak: Option<ProcSample>,
    /// The gateway process exited during the run (crash, kill).
    pub gateway_exited: bool,
    pub steps: Vec<Step>,
}

impl Report {
    pub fn table(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let f = &self.finals_1xx_6xx;
        let _ = writeln!(
            s,
            "scenario {}  sessions {}  rate {}  window {}  measured {:.1} s",
            self.scenario,
            self.sessions,
            if self.offered_rate == 0 {
                "max".to_owned()
            } else {
                format!("{}/s", self.offered_rate)
            },
            self.window,
            self.duration_secs
        );
        let rows: [(&str, String); 17] = [
            ("offered", self.offered.to_string()),
            (
                "finals 2xx/3xx/4xx/5xx/6xx",
                format!("{}/{}/{}/{}/{}", f[1], f[2], f[3], f[4], f[5]),
            ),
            (
                "finals by code",
                self.finals_by_code
                    .iter()
                    .map(|(c, n)| format!("{c}:{n}"))
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            ("delivered", self.delivered.to_string()),
            ("lost (2xx, never delivered)", self.lost.to_string()),
            ("duplicates", self.duplicates.to_string()),
            ("order violations", self.order_violations.to_string()),
            (
                "timeouts / retransmits / stray finals",
                format!(
                    "{} / {} / {}",
                    self.timeouts, self.retransmits, self.stray_finals
                ),
            ),
            (
                "setups / setup failures / errors",
                format!(
                    "{} / {} / {}",
                    self.setups, self.setup_failures, self.errors
                ),
            ),
            ("setup time", format!("{:.2} s", self.setup_secs)),
            (
                "delivered/s (measured)",
                format!("{:.0}", self.delivered_per_sec),
            ),
            ("2xx/s (measured)", format!("{:.0}", self.ok_per_sec)),
            ("latency to final (µs)", lat(&self.final_latency)),
            ("latency to delivery (µs)", lat(&self.delivery_latency)),
            ("gateway RSS / threads (end)", proc(self.gateway)),
            ("gateway RSS / threads (peak)", proc(self.gateway_peak)),
            (
                "gateway retransmits absorbed",
                self.retransmits_received.to_string(),
            ),
        ];
        for (k, v) in rows {
            let _ = writeln!(s, "  {k:<40} {v}");
        }
        if self.gateway_exited {
            let _ = writeln!(s, "  THE GATEWAY PROCESS EXITED DURING THE RUN");
        }
        if !self.steps.is_empty() {
            let _ = writeln!(
                s,
                "  {:>8} {:>9} {:>12} {:>9} {:>9} {:>10} {:>8}",
                "sessions", "setup s", "delivered/s", "p50 µs", "p99 µs", "RSS MiB", "threads"
            );
            for st in &self.steps {
                let g = st.gateway.unwrap_or_default();
                let _ = writeln!(
                    s,
                    "  {:>8} {:>9.2} {:>12.0} {:>9} {:>9} {:>10.1} {:>8}",
                    st.sessions,
                    st.setup_secs,
                    st.delivered_per_sec,
                    st.final_latency.p50_us,
                    st.final_latency.p99_us,
                    g.rss_kib as f64 / 1024.0,
                    g.threads
                );
            }
        }
        s
    }
}

fn lat(l: &Latency) -> String {
    format!(
        "p50 {} p90 {} p99 {} max {} (n={})",
        l.p50_us, l.p90_us, l.p99_us, l.max_us, l.count
    )
}

fn proc(p: Option<ProcSample>) -> String {
    p.map_or("-".to_owned(), |p| {
        format!("{:.1} MiB / {}", p.rss_kib as f64 / 1024.0, p.threads)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loss_duplicates_and_order() {
        let t = Tracker::default();
        t.final_response(1, 0, 200, 0, 1000);
        t.final_response(1, 1, 200, 0, 1000);
        t.final_response(1, 2, 480, 0, 1000);
        t.delivery(1, 1, 0, 10);
        t.delivery(1, 0, 0, 10);
        t.delivery(1, 0, 0, 10);
        assert_eq!(t.lost(), 0);
        assert_eq!(t.duplicates.load(Relaxed), 1);
        assert_eq!(t.order_violations.load(Relaxed), 1);
        t.final_response(2, 70, 200, 0, 1000);
        assert_eq!(t.lost(), 1);
        assert_eq!(t.finals[2].load(Relaxed), 3);
    }

    #[test]
    fn proc_status_fields() {
        let p = ProcSample::parse("Name:\tmsrpgw\nVmRSS:\t  12345 kB\nThreads:\t17\n");
        assert_eq!((p.rss_kib, p.threads), (12345, 17));
    }
}
