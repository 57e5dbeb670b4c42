//! Identifiers msrpgw makes: SIP branches, tags and Call-IDs, MSRP session,
//! transaction and message ids.
//!
//! Owns: the one random source of the daemon (the OS's, via `getrandom`)
//! and the id formats. Session ids carry 120 bits from the OS (RFC 4975
//! §14.1 asks for at least 80, unguessable); ids that only need to be
//! unique (branches, transaction ids) are a per-instance random prefix of
//! 60 bits plus a counter, so several instances behind one load balancer
//! never collide (DESIGN §8) without a system call per id.
//!
//! Must not: be used for anything secret beyond unguessable ids.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

/// RFC 4648 base32 lower-case alphabet without padding: valid in SIP
/// tokens, MSRP idents and URI paths alike.
const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// OS random bytes fetched at once per thread: a tag per answered MESSAGE
/// was a `getrandom` system call per message on the session-table thread.
/// The bytes are still the OS's, only read ahead (the daemon never forks,
/// so no two processes share a pool).
const POOL_BYTES: usize = 512;

thread_local! {
    static POOL: RefCell<([u8; POOL_BYTES], usize)> = const { RefCell::new(([0; POOL_BYTES], POOL_BYTES)) };
}

/// Fills `out` from this thread's pool, refilling it from the OS.
fn fill_random(out: &mut [u8]) {
    POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        let (bytes, used) = &mut *pool;
        for b in out {
            if *used == POOL_BYTES {
                if getrandom::fill(bytes).is_err() {
                    // The OS random source does not fail on Linux once
                    // booted; if it ever did, ids must still differ, so
                    // fall back to the clock and a counter (unique, not
                    // unguessable).
                    fallback_fill(bytes);
                }
                *used = 0;
            }
            *b = bytes[*used];
            // Used bytes are not kept around.
            bytes[*used] = 0;
            *used += 1;
        }
    });
}

/// `n` random base32 characters (5 bits each) from the OS.
pub fn random_token(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    fill_random(&mut bytes);
    bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(b & 31)]))
        .collect()
}

fn fallback_fill(bytes: &mut [u8]) {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut x = t ^ COUNTER.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
    for b in bytes {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
}

/// The id maker of one running instance.
#[derive(Debug)]
pub struct IdSource {
    instance: String,
    counter: AtomicU64,
}

impl Default for IdSource {
    fn default() -> Self {
        Self::new()
    }
}

impl IdSource {
    pub fn new() -> Self {
        IdSource {
            instance: random_token(12),
            counter: AtomicU64::new(1),
        }
    }

    /// The per-instance random prefix (12 base32 characters).
    pub fn instance(&self) -> &str {
        &self.instance
    }

    fn next(&self) -> u64 {
        self.counter.fetch_add(1, Ordering::Relaxed)
    }

    /// The Via branch prefix every branch of this instance starts with:
    /// seeing it in a received request means a loop (RFC 3261 §16.3 4).
    pub fn branch_prefix(&self) -> String {
        format!("z9hG4bK-{}-", self.instance)
    }

    /// A new Via branch (RFC 3261 §8.1.1.7: magic cookie, unique).
    pub fn branch(&self) -> String {
        format!("z9hG4bK-{}-{:x}", self.instance, self.next())
    }

    /// A From/To tag (RFC 3261 §19.3: at least 32 random bits).
    pub fn tag(&self) -> String {
        random_token(10)
    }

    /// A Call-ID (RFC 3261 §8.1.1.4: globally unique).
    pub fn call_id(&self) -> String {
        format!("{}-{:x}", random_token(16), self.next())
    }

    /// An MSRP session id: 24 base32 characters = 120 random bits.
    pub fn msrp_session_id(&self) -> String {
        random_token(24)
    }

    /// An MSRP transaction id (RFC 4975 §7.1: unique within the session;
    /// 4 to 32 characters).
    pub fn msrp_transaction_id(&self) -> String {
        format!("{}{:x}", &self.instance[..6], self.next())
    }

    /// An MSRP Message-ID (RFC 4975 §7.1.1: unique within the session).
    pub fn msrp_message_id(&self) -> String {
        format!("{}{:x}", self.instance, self.next())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::lex::is_token_str;
    use std::collections::HashSet;

    #[test]
    fn ids_are_tokens_and_unique() {
        let ids = IdSource::new();
        let mut seen = HashSet::new();
        for _ in 0..1000 {
            for id in [
                ids.branch(),
                ids.tag(),
                ids.call_id(),
                ids.msrp_session_id(),
                ids.msrp_transaction_id(),
                ids.msrp_message_id(),
            ] {
                assert!(is_token_str(&id), "{id}");
                assert!(seen.insert(id.clone()), "duplicate {id}");
            }
        }
    }

    #[test]
    fn branches_carry_the_instance_prefix_and_instances_differ() {
        let a = IdSource::new();
        let b = IdSource::new();
        assert!(a.branch().starts_with(&a.branch_prefix()));
        assert!(a.branch_prefix().starts_with("z9hG4bK"));
        assert_ne!(a.instance(), b.instance());
        assert!(!b.branch().starts_with(&a.branch_prefix()));
    }

    #[test]
    fn session_ids_have_120_bits() {
        let ids = IdSource::new();
        let s = ids.msrp_session_id();
        assert_eq!(s.len(), 24);
        assert!(s.bytes().all(|c| ALPHABET.contains(&c)));
        let t = ids.msrp_transaction_id();
        assert!((4..=32).contains(&t.len()), "{t}");
    }
}
