//! The deadline queue behind `poll_timeout` / `handle_timeout`.
//!
//! Owns: every armed timer of every transaction, ordered by deadline, and
//! the per-transaction slots that remember which entries a transaction
//! armed so it can disarm them (on a state change or when it terminates).
//! Entries are removed when disarmed, so the queue never holds a stale
//! deadline: `poll_timeout` is exact and memory follows the live timers.
//!
//! Must not: read the clock (deadlines are `now + interval`, `now` given by
//! the caller), decide what a timer does (the state machines do).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Which transaction a timer belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum TxRef {
    Client(u64),
    Server(u64),
}

/// RFC 3261 Table 4 and RFC 6026 §8.11 timers, plus the layer's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimerKind {
    /// INVITE request retransmission (client, Calling).
    A,
    /// INVITE transaction timeout (client, Calling).
    B,
    /// Proceeding too long (client INVITE): CANCEL it.
    C,
    /// Wait time for response retransmissions (client INVITE, Completed).
    D,
    /// Non-INVITE request retransmission (client, Trying/Proceeding).
    E,
    /// Non-INVITE transaction timeout (client).
    F,
    /// INVITE final response retransmission (server, Completed).
    G,
    /// Wait time for ACK receipt (server INVITE, Completed).
    H,
    /// Wait time for ACK retransmissions (server INVITE, Confirmed).
    I,
    /// Wait time for request retransmissions (server non-INVITE, Completed).
    J,
    /// Wait time for response retransmissions (client non-INVITE, Completed).
    K,
    /// Wait time for INVITE retransmissions after a 2xx (server, Accepted).
    L,
    /// Wait time for 2xx retransmissions (client INVITE, Accepted).
    M,
    /// Send 100 Trying if the user layer has not responded (server INVITE).
    Trying,
    /// No final response 64·T1 after CANCEL: give up (§9.1).
    CancelGuard,
}

/// Each transaction arms at most one timer per slot; arming a slot
/// replaces what it held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    /// A, E, G.
    Retransmit = 0,
    /// B, C, F, H.
    Timeout = 1,
    /// D, I, J, K, L, M: the absorbing states' lifetimes.
    Linger = 2,
    /// Trying, CancelGuard.
    Aux = 3,
}

impl TimerKind {
    pub(crate) const fn slot(self) -> Slot {
        use TimerKind::*;
        match self {
            A | E | G => Slot::Retransmit,
            B | C | F | H => Slot::Timeout,
            D | I | J | K | L | M => Slot::Linger,
            Trying | CancelGuard => Slot::Aux,
        }
    }
}

/// A queue entry's key: deadline, then arming order (so equal deadlines
/// fire in the order they were armed, and keys are unique).
pub(crate) type TimerKey = (Instant, u64);

/// The armed entries of one transaction.
#[derive(Debug, Default, Clone)]
pub(crate) struct Slots([Option<TimerKey>; 4]);

impl Slots {
    pub(crate) fn get(&self, slot: Slot) -> Option<TimerKey> {
        self.0.get(slot as usize).copied().flatten()
    }

    fn take(&mut self, slot: Slot) -> Option<TimerKey> {
        self.0.get_mut(slot as usize).and_then(Option::take)
    }

    fn put(&mut self, slot: Slot, key: TimerKey) {
        if let Some(s) = self.0.get_mut(slot as usize) {
            *s = Some(key);
        }
    }

    /// Forgets the entry in `slot` if it is `key` (the queue already
    /// removed it: it fired).
    pub(crate) fn fired(&mut self, slot: Slot, key: TimerKey) -> bool {
        if self.get(slot) == Some(key) {
            self.take(slot);
            true
        } else {
            false
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct TimerQueue {
    map: BTreeMap<TimerKey, (TxRef, TimerKind)>,
    seq: u64,
}

impl TimerQueue {
    /// Arms `kind` for `tx` at `now + after` in its slot, disarming what
    /// the slot held. A deadline beyond what `Instant` can represent is
    /// never reached, so nothing is armed.
    pub(crate) fn arm(
        &mut self,
        slots: &mut Slots,
        tx: TxRef,
        kind: TimerKind,
        now: Instant,
        after: Duration,
    ) {
        self.disarm(slots, kind.slot());
        if let Some(at) = now.checked_add(after) {
            self.seq = self.seq.wrapping_add(1);
            let key = (at, self.seq);
            self.map.insert(key, (tx, kind));
            slots.put(kind.slot(), key);
        }
    }

    pub(crate) fn disarm(&mut self, slots: &mut Slots, slot: Slot) {
        if let Some(key) = slots.take(slot) {
            self.map.remove(&key);
        }
    }

    pub(crate) fn disarm_all(&mut self, slots: &mut Slots) {
        for slot in [Slot::Retransmit, Slot::Timeout, Slot::Linger, Slot::Aux] {
            self.disarm(slots, slot);
        }
    }

    /// Removes and returns the earliest entry due at `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<(TimerKey, TxRef, TimerKind)> {
        let (&key, _) = self.map.first_key_value()?;
        if key.0 > now {
            return None;
        }
        let (key, (tx, kind)) = self.map.pop_first()?;
        Some((key, tx, kind))
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.map.first_key_value().map(|(k, _)| k.0)
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}
