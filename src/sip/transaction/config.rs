//! Timer values (RFC 3261 §17, Table 4; RFC 6026 §8.11) and the layer's
//! bounds.
//!
//! Owns: the configurable base values (T1, T2, T4 and the few fixed ones)
//! and every timer derived from them, in one place so the state machines
//! never compute an interval themselves.
//!
//! Must not: read the clock or the environment.

use std::time::Duration;

/// The base timer values. `Default` is RFC 3261's: T1 = 500 ms, T2 = 4 s,
/// T4 = 5 s. Tests and a daemon on a fast network may shorten them; every
/// derived timer (A..M) follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    /// RTT estimate: first retransmission interval (Timers A, E, G).
    pub t1: Duration,
    /// Cap on the retransmission interval of non-INVITE requests and of
    /// INVITE final responses (Timers E, G).
    pub t2: Duration,
    /// How long a message may stay in the network: Timers I and K.
    pub t4: Duration,
    /// Timer D on unreliable transports: how long a client INVITE
    /// transaction absorbs retransmitted final responses (RFC 3261: at
    /// least 32 s).
    pub d: Duration,
    /// Longest time a client INVITE transaction waits in Proceeding for a
    /// final response (RFC 3261 §16.6 Timer C, borrowed from proxies: more
    /// than 3 minutes). When it fires the layer CANCELs the INVITE, so no
    /// transaction lives forever on a peer that rings without end.
    pub c: Duration,
    /// How long a server INVITE transaction waits for the user layer's
    /// first response before sending 100 Trying itself (RFC 3261 §17.2.1:
    /// 200 ms). Zero sends 100 Trying at once.
    pub trying: Duration,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
            d: Duration::from_secs(32),
            c: Duration::from_secs(181),
            trying: Duration::from_millis(200),
        }
    }
}

/// Shortest retransmission interval: a zero T1 or T2 from a bad
/// configuration must not make retransmission timers fire in a loop.
const MIN_INTERVAL: Duration = Duration::from_millis(1);

impl Timers {
    /// RFC 3261's values with other T1, T2, T4.
    pub fn new(t1: Duration, t2: Duration, t4: Duration) -> Timers {
        Timers {
            t1,
            t2,
            t4,
            ..Timers::default()
        }
    }

    /// 64·T1: Timers B, F, H, J and RFC 6026's L and M; also how long a
    /// CANCELled INVITE waits for its final response (§9.1).
    pub fn t1x64(&self) -> Duration {
        self.t1.saturating_mul(64)
    }

    /// First retransmission interval (Timers A, E, G).
    pub(crate) fn first_interval(&self) -> Duration {
        self.t1.max(MIN_INTERVAL)
    }

    /// The interval after one that just elapsed, doubled and capped at T2
    /// (Timers E and G; `capped` false for Timer A, which has no cap).
    pub(crate) fn next_interval(&self, current: Duration, capped: bool) -> Duration {
        let doubled = current.saturating_mul(2);
        let next = if capped {
            doubled.min(self.t2)
        } else {
            doubled
        };
        next.max(MIN_INTERVAL)
    }

    /// T2 itself, as a retransmission interval (Timer E in Proceeding).
    pub(crate) fn t2_interval(&self) -> Duration {
        self.t2.max(MIN_INTERVAL)
    }
}

/// Everything the layer is configured with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    pub timers: Timers,
    /// Most live transactions (client and server together). A new server
    /// transaction beyond it is not created: the request comes out as
    /// [`super::Output::Overloaded`] for a stateless 503. A new client
    /// transaction beyond it is refused with
    /// [`super::TransactionError::Overloaded`].
    pub max_transactions: usize,
    /// Seed for the To tags of the responses the layer builds itself (487
    /// to a CANCELled INVITE, 200 and 481 to CANCEL). The layer draws no
    /// randomness: the daemon passes random bits here at startup so tags
    /// differ across instances (RFC 3261 §19.3).
    pub tag_seed: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            timers: Timers::default(),
            max_transactions: 65_536,
            tag_seed: 0,
        }
    }
}
