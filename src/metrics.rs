//! The gateway's counters, gauges and latency histogram, exposed by the
//! status endpoint in the Prometheus/OpenMetrics text format.
//!
//! Owns: [`Metrics`], the one registry. prometheus-client's metrics are
//! atomics behind `Arc`s: the session-table thread updates them without
//! locks or messages, and the status thread encodes a consistent-enough
//! snapshot whenever it is scraped.
//!
//! Must not: decide what counts as what (the session table labels each
//! event), or hold anything that grows with traffic: every label takes a
//! value from a small fixed set.

use std::fmt;
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Which way a message or session goes through the gateway.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub enum Direction {
    /// MESSAGE in, MSRP SEND out.
    PagerToSession,
    /// MSRP SEND in, MESSAGE out.
    SessionToPager,
}

/// How a message ended, by the class of the final answer it got.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// The far side refused it (4xx/6xx or an MSRP error status).
    Refused,
    /// No answer in time (408).
    Timeout,
    /// The gateway could not try (overload, session setup failed, stop).
    Failed,
}

impl Outcome {
    /// The outcome a final status stands for.
    pub fn of_status(status: u16) -> Outcome {
        match status {
            200..=299 => Outcome::Delivered,
            408 => Outcome::Timeout,
            500..=599 => Outcome::Failed,
            _ => Outcome::Refused,
        }
    }
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub enum EndReason {
    Idle,
    ByeFromPeer,
    ConnectionLost,
    SetupFailed,
    /// The MSRP relay renewed the reservation under a new path.
    RelayRenewal,
    Shutdown,
    Error,
}

/// Label values in the snake_case Prometheus uses.
macro_rules! label_values {
    ($($t:ty { $($v:ident => $s:literal),* $(,)? })*) => {$(
        impl $t {
            pub const fn as_str(self) -> &'static str {
                match self { $(Self::$v => $s),* }
            }
        }
        impl EncodeLabelValue for $t {
            fn encode(&self, e: &mut LabelValueEncoder) -> Result<(), fmt::Error> {
                fmt::Write::write_str(e, self.as_str())
            }
        }
    )*};
}

label_values! {
    Direction {
        PagerToSession => "pager_to_session",
        SessionToPager => "session_to_pager",
    }
    Outcome {
        Delivered => "delivered",
        Refused => "refused",
        Timeout => "timeout",
        Failed => "failed",
    }
    EndReason {
        Idle => "idle",
        ByeFromPeer => "bye_from_peer",
        ConnectionLost => "connection_lost",
        SetupFailed => "setup_failed",
        RelayRenewal => "relay_renewal",
        Shutdown => "shutdown",
        Error => "error",
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MessageLabels {
    direction: Direction,
    outcome: Outcome,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DirectionLabel {
    direction: Direction,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: EndReason,
}

/// Every metric msrpgw exports. Cloning shares the same values.
#[derive(Clone)]
pub struct Metrics {
    registry: std::sync::Arc<Registry>,
    messages: Family<MessageLabels, Counter>,
    sessions_created: Family<DirectionLabel, Counter>,
    sessions_ended: Family<ReasonLabel, Counter>,
    sessions: Gauge,
    sip_connections: Gauge,
    msrp_connections: Gauge,
    latency: Family<DirectionLabel, Histogram>,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("msrpgw");
        let messages = Family::<MessageLabels, Counter>::default();
        registry.register(
            "messages",
            "Messages through the gateway, by direction and final outcome",
            messages.clone(),
        );
        let sessions_created = Family::<DirectionLabel, Counter>::default();
        registry.register(
            "sessions_created",
            "MSRP sessions set up, by direction of the message that made them",
            sessions_created.clone(),
        );
        let sessions_ended = Family::<ReasonLabel, Counter>::default();
        registry.register(
            "sessions_ended",
            "MSRP sessions ended, by reason",
            sessions_ended.clone(),
        );
        let sessions = Gauge::default();
        registry.register("sessions", "MSRP sessions open now", sessions.clone());
        let sip_connections = Gauge::default();
        registry.register(
            "sip_connections",
            "SIP TCP/TLS connections open now",
            sip_connections.clone(),
        );
        let msrp_connections = Gauge::default();
        registry.register(
            "msrp_connections",
            "MSRP connections open now",
            msrp_connections.clone(),
        );
        // 0.5 ms .. ~16 s: a loopback delivery to a 32 s transaction timeout.
        let latency = Family::<DirectionLabel, Histogram>::new_with_constructor(
            (|| Histogram::new(exponential_buckets(0.0005, 2.0, 16))) as fn() -> Histogram,
        );
        registry.register(
            "message_latency_seconds",
            "Time from a message's arrival to the final response sent for it",
            latency.clone(),
        );
        // Every series exists from the start at 0: rate() over a counter
        // that appears late misses its first increments.
        for direction in [Direction::PagerToSession, Direction::SessionToPager] {
            for outcome in [
                Outcome::Delivered,
                Outcome::Refused,
                Outcome::Timeout,
                Outcome::Failed,
            ] {
                let _ = messages.get_or_create(&MessageLabels { direction, outcome });
            }
            let _ = sessions_created.get_or_create(&DirectionLabel { direction });
            let _ = latency.get_or_create(&DirectionLabel { direction });
        }
        for reason in [
            EndReason::Idle,
            EndReason::ByeFromPeer,
            EndReason::ConnectionLost,
            EndReason::SetupFailed,
            EndReason::RelayRenewal,
            EndReason::Shutdown,
            EndReason::Error,
        ] {
            let _ = sessions_ended.get_or_create(&ReasonLabel { reason });
        }
        Metrics {
            registry: std::sync::Arc::new(registry),
            messages,
            sessions_created,
            sessions_ended,
            sessions,
            sip_connections,
            msrp_connections,
            latency,
        }
    }

    /// A message got its final answer `status` after `elapsed`.
    pub fn message_done(&self, direction: Direction, status: u16, elapsed: Duration) {
        self.messages
            .get_or_create(&MessageLabels {
                direction,
                outcome: Outcome::of_status(status),
            })
            .inc();
        self.latency
            .get_or_create(&DirectionLabel { direction })
            .observe(elapsed.as_secs_f64());
    }

    pub fn session_created(&self, direction: Direction) {
        self.sessions_created
            .get_or_create(&DirectionLabel { direction })
            .inc();
        self.sessions.inc();
    }

    pub fn session_ended(&self, reason: EndReason) {
        self.sessions_ended
            .get_or_create(&ReasonLabel { reason })
            .inc();
        self.sessions.dec();
    }

    pub fn set_connections(&self, sip: usize, msrp: usize) {
        self.sip_connections
            .set(i64::try_from(sip).unwrap_or(i64::MAX));
        self.msrp_connections
            .set(i64::try_from(msrp).unwrap_or(i64::MAX));
    }

    /// The OpenMetrics text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(4096);
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_names_every_metric_with_its_labels() {
        let m = Metrics::new();
        m.session_created(Direction::PagerToSession);
        m.message_done(Direction::PagerToSession, 200, Duration::from_millis(3));
        m.message_done(Direction::SessionToPager, 408, Duration::from_secs(32));
        m.session_ended(EndReason::Idle);
        m.set_connections(2, 3);
        let text = m.encode();
        for needle in [
            "msrpgw_messages_total{direction=\"pager_to_session\",outcome=\"delivered\"} 1",
            "msrpgw_messages_total{direction=\"session_to_pager\",outcome=\"timeout\"} 1",
            "msrpgw_sessions_created_total{direction=\"pager_to_session\"} 1",
            "msrpgw_sessions_ended_total{reason=\"idle\"} 1",
            "msrpgw_sessions 0",
            "msrpgw_sip_connections 2",
            "msrpgw_msrp_connections 3",
            "msrpgw_message_latency_seconds_count{direction=\"pager_to_session\"} 1",
            "# EOF",
        ] {
            assert!(text.contains(needle), "{needle} missing in:\n{text}");
        }
    }

    #[test]
    fn outcomes_by_status() {
        assert_eq!(Outcome::of_status(200), Outcome::Delivered);
        assert_eq!(Outcome::of_status(408), Outcome::Timeout);
        assert_eq!(Outcome::of_status(486), Outcome::Refused);
        assert_eq!(Outcome::of_status(503), Outcome::Failed);
    }
}
