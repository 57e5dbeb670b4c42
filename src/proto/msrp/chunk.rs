//! Splitting messages into SEND chunks and putting received chunks back
//! together (RFC 4975 §5.1, §7.1.1, §7.3.1).
//!
//! Owns: the sender's chunk plan ([`Chunker`]: body ranges, `Byte-Range`
//! values, `+`/`$`/`#` flags, interruption) and the receiver's reassembly
//! buffer ([`Reassembler`]: by Message-ID, out of order, overlapping, with
//! caps).
//!
//! Must not: do I/O, keep time (the caller expires stale partial messages
//! with [`Reassembler::abandon`]), or allocate anything sized by a number
//! read from a header before checking it against the caps.
//!
//! ## Receiver policy
//!
//! - The body is authoritative (RFC 4975 §7.3.1: "determine the actual
//!   length of each chunk by inspecting the payload itself"): a chunk
//!   covers `range-start .. range-start + body length − 1`, whatever its
//!   `range-end` says.
//! - The chunk flagged `$` defines the end of the message (same section:
//!   "the chunk that has a termination character of `$` defines the total
//!   length"). A declared `total` is only used to refuse messages over the
//!   cap early (413).
//! - So Byte-Range values that disagree with the bodies — as printed in 7
//!   of RFC 4975's SENDs, e.g. `1-25/25` for 23 octets — are tolerated; the
//!   finished message says so in [`Assembled::range_mismatch`] (log it, do
//!   not reject it). Byte-Ranges that contradict themselves (start 0, end
//!   before start, end after total) are errors.
//! - Overlapping data: the chunk received last wins (RFC 4975 §7.3.1
//!   SHOULD), so a resent range simply overwrites.
//! - `#` drops everything received for that Message-ID.
//! - Memory: at most `max_in_progress` messages, each buffered up to
//!   `max_message_bytes`; the covered ranges are at most `max_fragments`
//!   intervals. Total bound: `max_in_progress × max_message_bytes` plus
//!   small bookkeeping. A message over a cap is dropped and the error says
//!   413 ([`ChunkErrorKind::status_code`]).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use super::framer::Flag;
use super::header::{ByteRange, ByteRangeProblem};
use super::message::{Headers, Kind, Message, Method};
use crate::proto::ParseError;

/// RFC 4975 §7.1.1: chunks over 2048 octets must be interruptible (`*` as
/// range-end).
pub const INTERRUPTIBLE_ABOVE: usize = 2048;

/// How the sender writes `range-end` (RFC 4975 §7.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeEndStyle {
    /// Always the last octet's position: the chunk cannot be interrupted.
    Exact,
    /// Always `*`: every chunk can be interrupted.
    Star,
    /// `*` only for chunks over 2048 octets, as the RFC requires.
    StarAboveLimit,
}

/// One chunk to send: which part of the message body, its Byte-Range and
/// its end-line flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkSpec {
    /// Range in the message body (0-based, half-open).
    pub body: Range<usize>,
    pub byte_range: ByteRange,
    pub flag: Flag,
}

impl ChunkSpec {
    /// The SEND request for this chunk: `headers` (To-Path, From-Path,
    /// Message-ID, Content-Type, report headers...) with this chunk's
    /// Byte-Range, the chunk's slice of `message` as body, and its flag.
    pub fn to_message<'a>(
        &self,
        tid: impl Into<Cow<'a, str>>,
        headers: &Headers<'a>,
        message: &'a [u8],
    ) -> Message<'a> {
        let mut h = headers.clone();
        h.byte_range = Some(self.byte_range);
        let body = message.get(self.body.clone()).unwrap_or(&[]);
        Message {
            tid: tid.into(),
            kind: Kind::Request(Method::Send),
            headers: h,
            body: Some(Cow::Borrowed(body)),
            flag: self.flag,
        }
    }
}

/// Plans the chunks of one message of `len` octets. Pure arithmetic: the
/// caller owns the bytes and the connection.
///
/// ```
/// use msrpgw::proto::msrp::{Chunker, Flag, RangeEndStyle};
/// let plan: Vec<_> = Chunker::new(5000, 2048, RangeEndStyle::Exact).collect();
/// assert_eq!(plan.len(), 3);
/// assert_eq!(plan[2].byte_range.to_string(), "4097-5000/5000");
/// assert_eq!(plan[2].flag, Flag::End);
/// ```
#[derive(Debug, Clone)]
pub struct Chunker {
    len: usize,
    chunk_size: usize,
    style: RangeEndStyle,
    next: usize,
    done: bool,
}

impl Chunker {
    /// `chunk_size` is the caller's maximum body per chunk (0 is read as 1).
    pub fn new(len: usize, chunk_size: usize, style: RangeEndStyle) -> Chunker {
        Chunker {
            len,
            chunk_size: chunk_size.max(1),
            style,
            next: 0,
            done: false,
        }
    }

    /// The next chunk, or `None` once the `$` (or `#`) chunk was handed out.
    /// An empty message is one empty chunk `1-0/0` with `$`.
    pub fn next_chunk(&mut self) -> Option<ChunkSpec> {
        if self.done {
            return None;
        }
        let start = self.next;
        let end = start.saturating_add(self.chunk_size).min(self.len);
        let last = end == self.len;
        let star = match self.style {
            RangeEndStyle::Exact => false,
            RangeEndStyle::Star => true,
            RangeEndStyle::StarAboveLimit => end - start > INTERRUPTIBLE_ABOVE,
        };
        self.next = end;
        self.done = last;
        Some(ChunkSpec {
            body: start..end,
            byte_range: ByteRange::new(
                start as u64 + 1,
                if star { None } else { Some(end as u64) },
                Some(self.len as u64),
            ),
            flag: if last { Flag::End } else { Flag::More },
        })
    }

    /// The sender stopped writing `spec` (the chunk last handed out) after
    /// `sent` body octets, to let other traffic through (RFC 4975 §7.1.1).
    /// Returns the chunk as actually sent — end it with its flag `+` — and
    /// resumes the plan right after it. Only chunks with range-end `*` may
    /// be interrupted.
    pub fn interrupt(&mut self, spec: &ChunkSpec, sent: usize) -> Result<ChunkSpec, ChunkError> {
        if spec.byte_range.end.is_some() {
            return Err(ChunkError::new(
                ChunkErrorKind::NotInterruptible,
                spec.body.start,
            ));
        }
        if spec.body.end != self.next || sent > spec.body.len() {
            return Err(ChunkError::new(ChunkErrorKind::StaleChunk, spec.body.start));
        }
        let end = spec.body.start + sent;
        self.next = end;
        self.done = false;
        Ok(ChunkSpec {
            body: spec.body.start..end,
            byte_range: spec.byte_range,
            flag: Flag::More,
        })
    }

    /// The sender gives up on the message (e.g. after a 413): end the chunk
    /// being written with the returned `#` flag; no more chunks follow.
    pub fn abort(&mut self) -> Flag {
        self.done = true;
        Flag::Abort
    }

    /// Body octets not yet handed out.
    pub fn remaining(&self) -> usize {
        if self.done { 0 } else { self.len - self.next }
    }
}

impl Iterator for Chunker {
    type Item = ChunkSpec;

    fn next(&mut self) -> Option<ChunkSpec> {
        self.next_chunk()
    }
}

/// Why a chunk was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkErrorKind {
    /// Only SEND requests carry chunks.
    NotSend,
    /// RFC 4975 §7.1.1: every chunk carries a Message-ID.
    MissingMessageId,
    RangeStartZero,
    RangeEndBeforeStart,
    RangeEndAfterTotal,
    RangeStartAfterTotal,
    /// The message is (or says it will be) over `max_message_bytes`: 413.
    TooLarge,
    /// Too many messages in progress at once: 413 for the new one.
    TooManyMessages,
    /// More than `max_fragments` separate received ranges.
    TooFragmented,
    /// Data past the end a `$` chunk already defined.
    DataBeyondEnd,
    /// Two `$` chunks that end the message at different positions.
    ConflictingEnd,
    /// Sender side: interrupting a chunk whose range-end is not `*`.
    NotInterruptible,
    /// Sender side: interrupting a chunk that is not the last handed out.
    StaleChunk,
}

impl ChunkErrorKind {
    pub const fn description(self) -> &'static str {
        use ChunkErrorKind::*;
        match self {
            NotSend => "chunk is not a SEND request",
            MissingMessageId => "missing Message-ID header",
            RangeStartZero => "Byte-Range start is zero",
            RangeEndBeforeStart => "Byte-Range end before start",
            RangeEndAfterTotal => "Byte-Range end after total",
            RangeStartAfterTotal => "Byte-Range start after total",
            TooLarge => "message too large",
            TooManyMessages => "too many messages in progress",
            TooFragmented => "message too fragmented",
            DataBeyondEnd => "chunk data beyond the end of the message",
            ConflictingEnd => "conflicting end of message",
            NotInterruptible => "chunk with a known range-end cannot be interrupted",
            StaleChunk => "not the chunk being sent",
        }
    }

    /// The MSRP response code for this refusal (RFC 4975 §10): 413 for the
    /// caps, 400 for malformed chunks (500 is never used: the sender-side
    /// kinds are programming errors).
    pub const fn status_code(self) -> u16 {
        match self {
            ChunkErrorKind::TooLarge | ChunkErrorKind::TooManyMessages => 413,
            _ => 400,
        }
    }
}

impl fmt::Display for ChunkErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

/// A refused chunk. `offset` is the 0-based position in the *message*
/// where the problem lies (the chunk's start, or the cap), not a position
/// in any wire buffer.
pub type ChunkError = ParseError<ChunkErrorKind>;

impl From<ByteRangeProblem> for ChunkErrorKind {
    fn from(p: ByteRangeProblem) -> Self {
        match p {
            ByteRangeProblem::StartZero => ChunkErrorKind::RangeStartZero,
            ByteRangeProblem::EndBeforeStart => ChunkErrorKind::RangeEndBeforeStart,
            ByteRangeProblem::EndAfterTotal => ChunkErrorKind::RangeEndAfterTotal,
            ByteRangeProblem::StartAfterTotal => ChunkErrorKind::RangeStartAfterTotal,
        }
    }
}

/// What the reassembler needs from one received SEND. Build it with
/// [`ChunkRef::from_message`], or by hand (e.g. from a fuzzer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkRef<'a> {
    pub message_id: &'a str,
    /// `None` when the SEND had no Byte-Range (read as `1-*/*`, §7.3.1).
    pub byte_range: Option<ByteRange>,
    pub flag: Flag,
    pub body: &'a [u8],
    pub content_type: Option<&'a str>,
}

impl<'a> ChunkRef<'a> {
    pub fn from_message(m: &'a Message<'_>) -> Result<ChunkRef<'a>, ChunkError> {
        if m.method() != Some(&Method::Send) {
            return Err(ChunkError::new(ChunkErrorKind::NotSend, 0));
        }
        let Some(id) = m.headers.message_id.as_deref() else {
            return Err(ChunkError::new(ChunkErrorKind::MissingMessageId, 0));
        };
        Ok(ChunkRef {
            message_id: id,
            byte_range: m.headers.byte_range,
            flag: m.flag,
            body: m.body.as_deref().unwrap_or(&[]),
            content_type: m.headers.content_type.as_deref(),
        })
    }
}

/// Caps for one [`Reassembler`] (one per session).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReassemblyLimits {
    /// Largest complete message, in octets (msrpgw's `max_message_bytes`).
    pub max_message_bytes: u64,
    /// Messages that may be partially received at once.
    pub max_in_progress: usize,
    /// Separate received ranges per message (out-of-order arrival makes
    /// gaps; in-order arrival keeps one range).
    pub max_fragments: usize,
}

impl Default for ReassemblyLimits {
    fn default() -> Self {
        ReassemblyLimits {
            max_message_bytes: 1024 * 1024,
            max_in_progress: 16,
            max_fragments: 64,
        }
    }
}

/// A complete message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assembled {
    pub message_id: String,
    /// From the first chunk that carried one.
    pub content_type: Option<String>,
    pub data: Vec<u8>,
    /// Some chunk's range-end or total disagreed with the bodies received
    /// (tolerated, see the module docs).
    pub range_mismatch: bool,
}

/// What a chunk did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Stored; the message is not complete yet. `received` counts distinct
    /// octets so far.
    InProgress {
        received: u64,
    },
    Complete(Assembled),
    /// A `#` chunk: everything held for this Message-ID was dropped.
    Aborted,
}

#[derive(Debug, Clone, Default)]
struct Partial {
    data: Vec<u8>,
    /// Received ranges, 0-based half-open, sorted, disjoint, not touching.
    covered: Vec<(u64, u64)>,
    /// Message length, once the `$` chunk arrived.
    end: Option<u64>,
    declared_total: Option<u64>,
    content_type: Option<String>,
    mismatch: bool,
}

/// Reassembles chunked messages of one session, keyed by Message-ID.
/// Deterministic (ordered map, no hashing seeds) so fuzzing reproduces.
#[derive(Debug, Clone, Default)]
pub struct Reassembler {
    limits: ReassemblyLimits,
    partial: BTreeMap<String, Partial>,
}

impl Reassembler {
    pub fn new(limits: ReassemblyLimits) -> Self {
        Reassembler {
            limits,
            partial: BTreeMap::new(),
        }
    }

    pub fn limits(&self) -> &ReassemblyLimits {
        &self.limits
    }

    /// Messages partially received.
    pub fn in_progress(&self) -> usize {
        self.partial.len()
    }

    /// Message-IDs partially received (for the caller's timeouts).
    pub fn message_ids(&self) -> impl Iterator<Item = &str> {
        self.partial.keys().map(String::as_str)
    }

    /// Octets held in reassembly buffers.
    pub fn buffered_bytes(&self) -> usize {
        self.partial.values().map(|p| p.data.capacity()).sum()
    }

    /// Drops a partial message (timeout, session end). True if it existed.
    pub fn abandon(&mut self, message_id: &str) -> bool {
        self.partial.remove(message_id).is_some()
    }

    /// Takes one chunk (RFC 4975 §7.3.1). On an error that concerns the
    /// whole message (over a cap, contradictory ends), whatever was held
    /// for it is dropped; answer with [`ChunkErrorKind::status_code`].
    pub fn push(&mut self, c: ChunkRef<'_>) -> Result<Progress, ChunkError> {
        let max = self.limits.max_message_bytes;
        let start = c.byte_range.map_or(1, |r| r.start);
        let fail = |k, at: u64| {
            Err(ChunkError::new(
                k,
                usize::try_from(at).unwrap_or(usize::MAX),
            ))
        };
        if let Some(r) = c.byte_range {
            if let Err(p) = r.check() {
                return fail(p.into(), start.saturating_sub(1));
            }
        }
        if start == 0 {
            return fail(ChunkErrorKind::RangeStartZero, 0);
        }
        let first = start - 1;
        let end = first.saturating_add(c.body.len() as u64);
        let declared_end = c.byte_range.and_then(|r| r.end);
        let total = c.byte_range.and_then(|r| r.total);

        // Caps before anything is stored or allocated.
        if end > max || total.is_some_and(|t| t > max) || declared_end.is_some_and(|e| e > max) {
            self.partial.remove(c.message_id);
            return fail(ChunkErrorKind::TooLarge, max);
        }
        if c.flag == Flag::Abort {
            self.partial.remove(c.message_id);
            return Ok(Progress::Aborted);
        }
        let mismatch = declared_end.is_some_and(|e| e != end);

        if !self.partial.contains_key(c.message_id) {
            // The whole message in one request (RFC 4975 §7.3.1).
            if start == 1 && c.flag == Flag::End {
                return Ok(Progress::Complete(Assembled {
                    message_id: c.message_id.to_owned(),
                    content_type: c.content_type.map(str::to_owned),
                    data: c.body.to_vec(),
                    range_mismatch: mismatch || total.is_some_and(|t| t != end),
                }));
            }
            if self.partial.len() >= self.limits.max_in_progress {
                return fail(ChunkErrorKind::TooManyMessages, first);
            }
            self.partial
                .insert(c.message_id.to_owned(), Partial::default());
        }
        let limits = self.limits;
        let Some(p) = self.partial.get_mut(c.message_id) else {
            return fail(ChunkErrorKind::MissingMessageId, first);
        };
        if let Err(k) = p.apply(&c, first, end, &limits) {
            self.partial.remove(c.message_id);
            return fail(k, first);
        }
        p.mismatch |= mismatch;
        if let Some(t) = total {
            match p.declared_total {
                None => p.declared_total = Some(t),
                Some(d) if d != t => p.mismatch = true,
                Some(_) => {}
            }
        }
        if p.content_type.is_none() {
            p.content_type = c.content_type.map(str::to_owned);
        }
        if !p.is_complete() {
            return Ok(Progress::InProgress {
                received: p.covered.iter().map(|(a, b)| b - a).sum(),
            });
        }
        let Some(mut p) = self.partial.remove(c.message_id) else {
            return fail(ChunkErrorKind::MissingMessageId, first);
        };
        let len = p.end.unwrap_or(0);
        p.data.truncate(usize::try_from(len).unwrap_or(usize::MAX));
        Ok(Progress::Complete(Assembled {
            message_id: c.message_id.to_owned(),
            content_type: p.content_type,
            data: p.data,
            range_mismatch: p.mismatch || p.declared_total.is_some_and(|t| t != len),
        }))
    }
}

impl Partial {
    /// Stores `c` (covering `first..end`, 0-based half-open).
    fn apply(
        &mut self,
        c: &ChunkRef<'_>,
        first: u64,
        end: u64,
        limits: &ReassemblyLimits,
    ) -> Result<(), ChunkErrorKind> {
        if self.end.is_some_and(|e| end > e) {
            return Err(ChunkErrorKind::DataBeyondEnd);
        }
        if c.flag == Flag::End {
            if self.end.is_some_and(|e| e != end) {
                return Err(ChunkErrorKind::ConflictingEnd);
            }
            if self.covered.last().is_some_and(|&(_, b)| b > end) {
                return Err(ChunkErrorKind::DataBeyondEnd);
            }
            self.end = Some(end);
        }
        if end > first {
            let (Ok(lo), Ok(hi)) = (usize::try_from(first), usize::try_from(end)) else {
                return Err(ChunkErrorKind::TooLarge);
            };
            if hi > self.data.len() {
                // Grow geometrically but never past the cap; `hi` is
                // already known to be within it.
                let cap = usize::try_from(limits.max_message_bytes).unwrap_or(usize::MAX);
                if hi > self.data.capacity() {
                    let want = hi
                        .max(self.data.capacity().saturating_mul(2))
                        .min(cap)
                        .max(hi);
                    self.data.reserve_exact(want - self.data.len());
                }
                self.data.resize(hi, 0);
            }
            self.data[lo..hi].copy_from_slice(c.body);
            insert_range(&mut self.covered, first, end);
            if self.covered.len() > limits.max_fragments {
                return Err(ChunkErrorKind::TooFragmented);
            }
        }
        Ok(())
    }

    fn is_complete(&self) -> bool {
        match self.end {
            Some(0) => self.covered.is_empty(),
            Some(e) => self.covered.as_slice() == [(0, e)],
            None => false,
        }
    }
}

/// Adds `[a, b)` to sorted, disjoint, non-touching ranges, merging.
fn insert_range(cov: &mut Vec<(u64, u64)>, a: u64, b: u64) {
    let i = cov.partition_point(|&(_, e)| e < a);
    let mut j = i;
    let (mut lo, mut hi) = (a, b);
    while j < cov.len() && cov[j].0 <= b {
        lo = lo.min(cov[j].0);
        hi = hi.max(cov[j].1);
        j += 1;
    }
    cov.splice(i..j, [(lo, hi)]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk<'a>(id: &'a str, r: &str, flag: Flag, body: &'a [u8]) -> ChunkRef<'a> {
        ChunkRef {
            message_id: id,
            byte_range: ByteRange::parse(r),
            flag,
            body,
            content_type: Some("text/plain"),
        }
    }

    fn complete(p: Progress) -> Assembled {
        match p {
            Progress::Complete(a) => a,
            other => panic!("not complete: {other:?}"),
        }
    }

    #[test]
    fn chunker_plans() {
        let plan: Vec<_> = Chunker::new(10, 4, RangeEndStyle::Exact).collect();
        assert_eq!(
            plan,
            vec![
                ChunkSpec {
                    body: 0..4,
                    byte_range: ByteRange::new(1, Some(4), Some(10)),
                    flag: Flag::More
                },
                ChunkSpec {
                    body: 4..8,
                    byte_range: ByteRange::new(5, Some(8), Some(10)),
                    flag: Flag::More
                },
                ChunkSpec {
                    body: 8..10,
                    byte_range: ByteRange::new(9, Some(10), Some(10)),
                    flag: Flag::End
                },
            ]
        );
        let plan: Vec<_> = Chunker::new(8, 4, RangeEndStyle::Star).collect();
        assert_eq!(plan.len(), 2);
        assert_eq!(plan[0].byte_range.to_string(), "1-*/8");
        assert_eq!(plan[1].byte_range.to_string(), "5-*/8");
        assert_eq!(plan[1].flag, Flag::End);
        let plan: Vec<_> = Chunker::new(0, 4, RangeEndStyle::Exact).collect();
        assert_eq!(plan.len(), 1);
        assert_eq!(plan[0].byte_range.to_string(), "1-0/0");
        assert_eq!(plan[0].flag, Flag::End);
        let plan: Vec<_> = Chunker::new(5000, 4096, RangeEndStyle::StarAboveLimit).collect();
        assert_eq!(plan[0].byte_range.to_string(), "1-*/5000");
        assert_eq!(plan[1].byte_range.to_string(), "4097-5000/5000");
        let plan: Vec<_> = Chunker::new(3, 0, RangeEndStyle::Exact).collect();
        assert_eq!(plan.len(), 3);
        for p in Chunker::new(100_000, 2048, RangeEndStyle::StarAboveLimit) {
            assert!(p.body.len() <= 2048);
            assert_eq!(p.byte_range.check(), Ok(()));
        }
    }

    #[test]
    fn chunker_interrupt_and_abort() {
        let mut c = Chunker::new(10_000, 5000, RangeEndStyle::StarAboveLimit);
        let first = c.next_chunk().unwrap();
        assert_eq!(first.byte_range.end, None);
        let sent = c.interrupt(&first, 1234).unwrap();
        assert_eq!(sent.body, 0..1234);
        assert_eq!(sent.flag, Flag::More);
        assert_eq!(c.remaining(), 10_000 - 1234);
        let next = c.next_chunk().unwrap();
        assert_eq!(next.body, 1234..6234);
        assert_eq!(next.byte_range.start, 1235);
        assert_eq!(
            c.interrupt(&first, 1).unwrap_err().kind,
            ChunkErrorKind::StaleChunk
        );
        assert_eq!(
            c.interrupt(&next, 5001).unwrap_err().kind,
            ChunkErrorKind::StaleChunk
        );
        let mut e = Chunker::new(10, 4, RangeEndStyle::Exact);
        let s = e.next_chunk().unwrap();
        assert_eq!(
            e.interrupt(&s, 2).unwrap_err().kind,
            ChunkErrorKind::NotInterruptible
        );
        assert_eq!(e.abort(), Flag::Abort);
        assert_eq!(e.next_chunk(), None);
        assert_eq!(e.remaining(), 0);
    }

    #[test]
    fn chunks_to_messages_roundtrip() {
        let data: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
        let to = super::super::MsrpUri::parse("msrp://a.example:1/s;tcp").unwrap();
        let from = super::super::MsrpUri::parse("msrp://b.example:2/t;tcp").unwrap();
        let headers = Headers {
            to_path: vec![to],
            from_path: vec![from],
            message_id: Some("msg1".into()),
            content_type: Some("application/octet-stream".into()),
            ..Headers::default()
        };
        let mut r = Reassembler::default();
        let mut done = None;
        for (i, spec) in Chunker::new(data.len(), 2048, RangeEndStyle::Exact).enumerate() {
            let m = spec.to_message(format!("tid{i}"), &headers, &data);
            assert_eq!(m.check_sendable(), Ok(()));
            let bytes = m.to_bytes();
            let parsed = Message::parse(&bytes).unwrap();
            assert_eq!(parsed, m);
            if let Progress::Complete(a) = r.push(ChunkRef::from_message(&parsed).unwrap()).unwrap()
            {
                done = Some(a);
            }
        }
        let a = done.unwrap();
        assert_eq!(a.data, data);
        assert!(!a.range_mismatch);
        assert_eq!(a.content_type.as_deref(), Some("application/octet-stream"));
        assert_eq!(r.in_progress(), 0);
    }

    #[test]
    fn rfc4975_fig3_in_and_out_of_order() {
        for order in [[0, 1], [1, 0]] {
            let chunks = [
                chunk("4564dpWd", "1-*/8", Flag::More, b"abcd"),
                chunk("4564dpWd", "5-8/8", Flag::End, b"EFGH"),
            ];
            let mut r = Reassembler::default();
            assert_eq!(
                r.push(chunks[order[0]]).unwrap(),
                Progress::InProgress { received: 4 }
            );
            let a = complete(r.push(chunks[order[1]]).unwrap());
            assert_eq!(a.data, b"abcdEFGH");
            assert!(!a.range_mismatch);
            assert_eq!(r.in_progress(), 0);
        }
    }

    #[test]
    fn single_chunk_and_no_byte_range() {
        let mut r = Reassembler::default();
        let a = complete(r.push(chunk("m", "1-5/5", Flag::End, b"hello")).unwrap());
        assert_eq!(a.data, b"hello");
        let mut c = chunk("m", "", Flag::End, b"hi");
        c.byte_range = None;
        assert_eq!(complete(r.push(c).unwrap()).data, b"hi");
        let a = complete(r.push(chunk("m", "1-0/0", Flag::End, b"")).unwrap());
        assert!(a.data.is_empty() && !a.range_mismatch);
    }

    #[test]
    fn body_is_authoritative() {
        let mut r = Reassembler::default();
        // RFC 4975 Figure 2 as printed: 1-25/25 with 23 octets.
        let a = complete(
            r.push(chunk(
                "87652491",
                "1-25/25",
                Flag::End,
                b"Hey Bob, are you there?",
            ))
            .unwrap(),
        );
        assert_eq!(a.data, b"Hey Bob, are you there?");
        assert!(a.range_mismatch);
        // Longer than declared (RFC 4975 §11.2: 1-374/374 with 384 octets).
        let body = vec![b'x'; 384];
        let a = complete(
            r.push(chunk("456so39s", "1-374/374", Flag::End, &body))
                .unwrap(),
        );
        assert_eq!(a.data.len(), 384);
        assert!(a.range_mismatch);
        // Chunked, second chunk one short (RFC 4975 §11.4).
        let c1 = vec![b'a'; 137];
        assert!(matches!(
            r.push(chunk("12339sdqwer", "1-137/148", Flag::More, &c1))
                .unwrap(),
            Progress::InProgress { received: 137 }
        ));
        let a = complete(
            r.push(chunk(
                "12339sdqwer",
                "138-148/148",
                Flag::End,
                b"1234567890",
            ))
            .unwrap(),
        );
        assert_eq!(a.data.len(), 147);
        assert!(a.data.ends_with(b"a1234567890"));
        assert!(a.range_mismatch);
    }

    #[test]
    fn overlap_last_wins() {
        let mut r = Reassembler::default();
        r.push(chunk("m", "1-*/*", Flag::More, b"aaaaaaaaaa"))
            .unwrap();
        r.push(chunk("m", "5-*/*", Flag::More, b"BBBB")).unwrap();
        let a = complete(r.push(chunk("m", "9-12/12", Flag::End, b"CCCC")).unwrap());
        assert_eq!(a.data, b"aaaaBBBBCCCC");
        // Resent first chunk after the others.
        r.push(chunk("n", "5-8/8", Flag::End, b"EFGH")).unwrap();
        r.push(chunk("n", "3-6/8", Flag::More, b"xxyy")).unwrap();
        let a = complete(r.push(chunk("n", "1-4/8", Flag::More, b"abcd")).unwrap());
        assert_eq!(a.data, b"abcdyyGH");
    }

    #[test]
    fn abort() {
        let mut r = Reassembler::default();
        r.push(chunk("m", "1-*/100", Flag::More, b"abc")).unwrap();
        assert_eq!(r.in_progress(), 1);
        assert_eq!(
            r.push(chunk("m", "4-*/100", Flag::Abort, b"de")).unwrap(),
            Progress::Aborted
        );
        assert_eq!(r.in_progress(), 0);
        assert_eq!(
            r.push(chunk("z", "1-*/100", Flag::Abort, b"de")).unwrap(),
            Progress::Aborted
        );
    }

    #[test]
    fn caps_without_allocation() {
        let limits = ReassemblyLimits {
            max_message_bytes: 1000,
            max_in_progress: 2,
            max_fragments: 3,
        };
        let mut r = Reassembler::new(limits);
        // A total far over the cap is refused before anything is stored.
        let e = r
            .push(chunk("big", "1-1/999999999999", Flag::More, b"x"))
            .unwrap_err();
        assert_eq!(e.kind, ChunkErrorKind::TooLarge);
        assert_eq!(e.kind.status_code(), 413);
        assert_eq!(r.buffered_bytes(), 0);
        // An offset past the cap, with no total.
        let e = r
            .push(chunk("big", "1000000-*/*", Flag::More, b"x"))
            .unwrap_err();
        assert_eq!(e.kind, ChunkErrorKind::TooLarge);
        assert_eq!(r.buffered_bytes(), 0);
        // Data that crosses the cap drops what was held.
        r.push(chunk("m", "1-*/*", Flag::More, &[1; 600])).unwrap();
        let e = r
            .push(chunk("m", "601-*/*", Flag::More, &[2; 401]))
            .unwrap_err();
        assert_eq!(e.kind, ChunkErrorKind::TooLarge);
        assert_eq!(r.in_progress(), 0);
        // Exactly at the cap is fine.
        r.push(chunk("m", "1-*/*", Flag::More, &[1; 600])).unwrap();
        let a = complete(
            r.push(chunk("m", "601-1000/1000", Flag::End, &[2; 400]))
                .unwrap(),
        );
        assert_eq!(a.data.len(), 1000);
        // Concurrent messages.
        r.push(chunk("a", "1-*/*", Flag::More, b"x")).unwrap();
        r.push(chunk("b", "1-*/*", Flag::More, b"x")).unwrap();
        let e = r.push(chunk("c", "1-*/*", Flag::More, b"x")).unwrap_err();
        assert_eq!(e.kind, ChunkErrorKind::TooManyMessages);
        assert_eq!(e.kind.status_code(), 413);
        // Single-chunk messages need no slot.
        assert!(matches!(
            r.push(chunk("d", "1-1/1", Flag::End, b"x")).unwrap(),
            Progress::Complete(_)
        ));
        assert!(r.abandon("a"));
        assert!(!r.abandon("a"));
        // Fragments.
        r.push(chunk("c", "1-1/*", Flag::More, b"x")).unwrap();
        r.push(chunk("c", "3-3/*", Flag::More, b"x")).unwrap();
        r.push(chunk("c", "5-5/*", Flag::More, b"x")).unwrap();
        let e = r.push(chunk("c", "7-7/*", Flag::More, b"x")).unwrap_err();
        assert_eq!(e.kind, ChunkErrorKind::TooFragmented);
        assert_eq!(r.message_ids().collect::<Vec<_>>(), ["b"]);
        assert!(r.buffered_bytes() <= 1000 * 2);
    }

    #[test]
    fn contradictions() {
        let mut r = Reassembler::default();
        let k = |r: &mut Reassembler, c| r.push(c).unwrap_err().kind;
        assert_eq!(
            k(&mut r, chunk("m", "0-1/2", Flag::More, b"x")),
            ChunkErrorKind::RangeStartZero
        );
        assert_eq!(
            k(&mut r, chunk("m", "5-2/9", Flag::More, b"x")),
            ChunkErrorKind::RangeEndBeforeStart
        );
        assert_eq!(
            k(&mut r, chunk("m", "1-9/8", Flag::More, b"x")),
            ChunkErrorKind::RangeEndAfterTotal
        );
        assert_eq!(
            k(&mut r, chunk("m", "10-*/8", Flag::More, b"x")),
            ChunkErrorKind::RangeStartAfterTotal
        );
        r.push(chunk("m", "5-8/8", Flag::End, b"EFGH")).unwrap();
        assert_eq!(
            k(&mut r, chunk("m", "7-10/*", Flag::More, b"GHIJ")),
            ChunkErrorKind::DataBeyondEnd
        );
        assert_eq!(r.in_progress(), 0);
        r.push(chunk("m", "5-8/8", Flag::End, b"EFGH")).unwrap();
        assert_eq!(
            k(&mut r, chunk("m", "2-4/8", Flag::End, b"BCD")),
            ChunkErrorKind::ConflictingEnd
        );
        r.push(chunk("m", "5-*/*", Flag::More, b"EFGH")).unwrap();
        assert_eq!(
            k(&mut r, chunk("m", "2-3/*", Flag::End, b"BC")),
            ChunkErrorKind::DataBeyondEnd
        );
    }

    #[test]
    fn from_message() {
        let m = Message::parse(
            b"MSRP abcd SEND\r\nMessage-ID: m1\r\nByte-Range: 1-*/8\r\nContent-Type: text/plain\r\n\r\nabcd\r\n-------abcd+\r\n",
        )
        .unwrap();
        let c = ChunkRef::from_message(&m).unwrap();
        assert_eq!(c.message_id, "m1");
        assert_eq!(c.body, b"abcd");
        assert_eq!(c.flag, Flag::More);
        let rep =
            Message::parse(b"MSRP abcd REPORT\r\nMessage-ID: m1\r\n-------abcd$\r\n").unwrap();
        assert_eq!(
            ChunkRef::from_message(&rep).unwrap_err().kind,
            ChunkErrorKind::NotSend
        );
        let no_id = Message::parse(b"MSRP abcd SEND\r\n-------abcd$\r\n").unwrap();
        assert_eq!(
            ChunkRef::from_message(&no_id).unwrap_err().kind,
            ChunkErrorKind::MissingMessageId
        );
    }

    /// Deterministic pseudo-random sequences: split, shuffle, duplicate,
    /// push; the message always comes back whole.
    #[test]
    fn shuffled_chunks_reassemble() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut rnd = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n.max(1)
        };
        for round in 0..200 {
            let len = rnd(3000) as usize;
            let data: Vec<u8> = (0..len).map(|i| (i * 7 + round) as u8).collect();
            let size = 1 + rnd(700) as usize;
            let mut plan: Vec<_> = Chunker::new(len, size, RangeEndStyle::Star).collect();
            // Duplicate a few chunks, then shuffle.
            for _ in 0..rnd(3) {
                let i = rnd(plan.len() as u64) as usize;
                let mut dup = plan[i].clone();
                dup.flag = Flag::More;
                if plan[i].flag != Flag::End {
                    plan.push(dup);
                }
            }
            for i in (1..plan.len()).rev() {
                let j = rnd(i as u64 + 1) as usize;
                plan.swap(i, j);
            }
            let mut r = Reassembler::new(ReassemblyLimits {
                max_message_bytes: 4096,
                max_in_progress: 1,
                max_fragments: 4096,
            });
            let mut got = None;
            for s in &plan {
                let c = ChunkRef {
                    message_id: "m",
                    byte_range: Some(s.byte_range),
                    flag: s.flag,
                    body: &data[s.body.clone()],
                    content_type: None,
                };
                if let Progress::Complete(a) = r.push(c).unwrap() {
                    assert!(got.is_none(), "completed twice");
                    got = Some(a);
                    // A late duplicate starts a new partial; drop it.
                    break;
                }
            }
            let a = got.unwrap_or_else(|| panic!("round {round} incomplete"));
            assert_eq!(a.data, data, "round {round}");
        }
    }
}
