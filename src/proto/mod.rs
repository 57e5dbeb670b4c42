//! Protocol codecs: SIP, SDP, MSRP and CPIM.
//!
//! In scope: turning bytes into typed messages and typed messages into bytes,
//! framing byte streams into messages (with caps on sizes), splitting and
//! reassembling MSRP chunks.
//!
//! Out of scope, and never allowed here: sockets, threads, channels, clocks,
//! logging of message contents, or anything else with side effects. Every
//! function in this tree is a pure function of its arguments, which is what
//! makes it fuzzable (see `fuzz/`) and testable byte for byte.
//!
//! Errors: every parser returns [`ParseError`] with a module-specific `Copy`
//! kind enum and the byte offset where the problem was found, so hostile input
//! costs no allocation to reject and an admin (or a 400 reason phrase) can name
//! what was wrong.
//!
//! Text fields borrow from the input (`Cow::Borrowed`) so parsing is zero-copy;
//! the same types are built with owned strings when msrpgw creates messages,
//! and `into_owned()` detaches a parsed message from its buffer.

pub mod cpim;
pub mod imdn;
pub mod lex;
pub mod msrp;
#[doc(hidden)]
pub mod properties;
pub mod sdp;
pub mod sip;

use std::fmt;

/// A parse failure: what was wrong (`kind`) and where (`offset`, in bytes from
/// the start of the input given to the parser that failed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseError<K> {
    pub kind: K,
    pub offset: usize,
}

impl<K: Copy> ParseError<K> {
    pub const fn new(kind: K, offset: usize) -> Self {
        ParseError { kind, offset }
    }

    /// The same error, its offset moved by `base` (used when a sub-parser ran
    /// on a slice that starts `base` bytes into the caller's input).
    pub const fn shifted(self, base: usize) -> Self {
        ParseError {
            kind: self.kind,
            offset: self.offset + base,
        }
    }

    /// The same position with another kind (used to lift a sub-parser's error
    /// into the caller's error enum).
    pub fn map_kind<L>(self, f: impl FnOnce(K) -> L) -> ParseError<L> {
        ParseError {
            kind: f(self.kind),
            offset: self.offset,
        }
    }
}

impl<K: fmt::Display> fmt::Display for ParseError<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.kind, self.offset)
    }
}

impl<K: fmt::Display + fmt::Debug> std::error::Error for ParseError<K> {}
