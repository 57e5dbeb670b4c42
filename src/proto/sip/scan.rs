//! Byte scanning for the hot paths: line-end, colon and LF search, and
//! header-line splitting (RFC 3261 §7.3.1 `message-header`, folding per
//! §7.3.1).
//!
//! Owns: word-at-a-time (SWAR) byte search and the header-line walker used
//! by the datagram parser; the LF iterator used by the stream framer.
//!
//! Must not: allocate, classify header names, or interpret values.
//!
//! Why SWAR: SIP header lines are tens of bytes, so a portable eight-bytes-
//! per-step search beats a byte loop, without unsafe code or a SIMD crate.

use super::error::{SipError, SipErrorKind};
use crate::proto::lex::{is_token, is_wsp};

const LO7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
const HI: u64 = 0x8080_8080_8080_8080;
const LO: u64 = 0x0101_0101_0101_0101;

/// The high bit set in exactly the bytes of `x` equal to `byte` (exact: no
/// carries between bytes, so every set bit is a true match).
#[inline(always)]
const fn match_mask(x: u64, byte: u8) -> u64 {
    let v = x ^ (LO * byte as u64);
    !(((v & LO7) + LO7) | v) & HI
}

/// High bits at the bytes of `x` below `n` (n <= 128). Only the lowest set
/// bit is exact (a borrow can mark bytes above it), which is all a
/// find-first search needs.
#[inline(always)]
const fn below_mask(x: u64, n: u8) -> u64 {
    x.wrapping_sub(LO * n as u64) & !x & HI
}

/// Like `match_mask`, exact in its lowest set bit only, one op cheaper.
#[inline(always)]
const fn first_match_mask(x: u64, byte: u8) -> u64 {
    below_mask(x ^ (LO * byte as u64), 1)
}

#[inline(always)]
fn word(c: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(c);
    u64::from_le_bytes(w)
}

/// Index of the first byte at or after `from` for which `hit` holds, where
/// `mask` marks (at least the first of) the matching bytes of a word.
#[inline(always)]
fn find_by(
    b: &[u8],
    from: usize,
    mask: impl Fn(u64) -> u64,
    hit: impl Fn(u8) -> bool,
) -> Option<usize> {
    let tail = b.get(from..)?;
    let mut i = from;
    let mut chunks = tail.chunks_exact(8);
    for c in &mut chunks {
        let m = mask(word(c));
        if m != 0 {
            return Some(i + (m.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&c| hit(c))
        .map(|p| i + p)
}

/// Index of the first CR or LF in `b` at or after `from`. Searches for any
/// byte below 0x0E (CR is 0x0D, LF 0x0A) with one mask, and steps over the
/// rare other control characters (HTAB, or NUL in a quoted-pair).
#[inline]
pub(crate) fn find_eol(b: &[u8], mut from: usize) -> Option<usize> {
    loop {
        let p = find_by(b, from, |x| below_mask(x, 0x0e), |c| c < 0x0e)?;
        if b[p] == b'\r' || b[p] == b'\n' {
            return Some(p);
        }
        from = p + 1;
    }
}

/// Index of the first `byte` in `b` at or after `from`.
#[inline]
pub(crate) fn find_byte(b: &[u8], from: usize, byte: u8) -> Option<usize> {
    find_by(b, from, |x| first_match_mask(x, byte), |c| c == byte)
}

/// Index of the first `:`, CR or LF in `b` at or after `from`.
#[inline]
fn find_colon_or_eol(b: &[u8], mut from: usize) -> Option<usize> {
    loop {
        let p = find_by(
            b,
            from,
            |x| below_mask(x, 0x0e) | first_match_mask(x, b':'),
            |c| c < 0x0e || c == b':',
        )?;
        if matches!(b[p], b':' | b'\r' | b'\n') {
            return Some(p);
        }
        from = p + 1;
    }
}

/// Every LF in `b`, in order, eight bytes per step.
pub(crate) struct LfIter<'b> {
    b: &'b [u8],
    /// Start of the next word to load.
    next: usize,
    /// Start of the word whose remaining matches are in `mask`.
    base: usize,
    mask: u64,
}

impl<'b> LfIter<'b> {
    pub(crate) fn new(b: &'b [u8]) -> Self {
        LfIter {
            b,
            next: 0,
            base: 0,
            mask: 0,
        }
    }
}

impl Iterator for LfIter<'_> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        loop {
            if self.mask != 0 {
                let at = self.base + (self.mask.trailing_zeros() / 8) as usize;
                self.mask &= self.mask - 1;
                return Some(at);
            }
            let rest = self.b.get(self.next..)?;
            if rest.is_empty() {
                return None;
            }
            self.base = self.next;
            self.next += 8;
            self.mask = match rest.get(..8) {
                Some(c) => match_mask(word(c), b'\n'),
                // A tail shorter than a word: set the bits by hand.
                None => rest
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| **c == b'\n')
                    .fold(0, |m, (k, _)| m | 0x80 << (8 * k)),
            };
        }
    }
}

/// One header line found by [`next_header`], as byte ranges into the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawHeader {
    pub name_start: usize,
    /// Before the colon, whitespace trimmed.
    pub name_end: usize,
    /// After the colon and the whitespace following it.
    pub value_start: usize,
    /// At the CR that ends the (last continuation) line, trailing
    /// whitespace trimmed (unless folded: then the caller unfolds).
    pub value_end: usize,
    /// The value spans continuation lines (contains CRLF + WSP).
    pub folded: bool,
    /// Where the next header line (or the empty line) starts.
    pub next: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    Header(RawHeader),
    /// The empty line; the body starts at this index.
    End(usize),
}

/// Splits off the header line starting at `pos` (RFC 3261 §7.3.1:
/// `field-name HCOLON field-value CRLF`, `HCOLON = *( SP / HTAB ) ":" SWS`),
/// following continuation lines. Line ends must be CRLF: a bare CR or LF is
/// an error (it is how header injection and desynchronised framing look).
///
/// The name is NOT checked to be a token here: a known name is one by
/// construction, so the caller checks only unknown names, and reports
/// [`name_error`] when one is not a token.
#[inline]
pub(crate) fn next_header(b: &[u8], pos: usize) -> Result<Step, SipError> {
    let err = |k, at| Err(SipError::new(k, at));
    match b.get(pos) {
        None => return err(SipErrorKind::Unterminated, pos),
        Some(b'\r') => {
            return match b.get(pos + 1) {
                Some(b'\n') => Ok(Step::End(pos + 2)),
                None => err(SipErrorKind::Unterminated, pos),
                Some(_) => err(SipErrorKind::BadLineEnding, pos),
            };
        }
        Some(b'\n') => return err(SipErrorKind::BadLineEnding, pos),
        Some(&c) if is_wsp(c) => return err(SipErrorKind::BadContinuation, pos),
        Some(_) => {}
    }
    let Some(colon) = find_colon_or_eol(b, pos) else {
        return err(SipErrorKind::Unterminated, b.len());
    };
    if b[colon] != b':' {
        return Err(name_error(b, pos));
    }
    let mut name_end = colon;
    while name_end > pos && is_wsp(b[name_end - 1]) {
        name_end -= 1;
    }
    if name_end == pos {
        return err(SipErrorKind::BadHeaderName, pos);
    }
    let mut i = colon + 1;
    while i < b.len() && is_wsp(b[i]) {
        i += 1;
    }
    let value_start = i;
    let mut folded = false;
    loop {
        let Some(e) = find_eol(b, i) else {
            return err(SipErrorKind::Unterminated, b.len());
        };
        if b[e] == b'\n' {
            return err(SipErrorKind::BadLineEnding, e);
        }
        match b.get(e + 1) {
            Some(b'\n') => {}
            None => return err(SipErrorKind::Unterminated, e),
            Some(_) => return err(SipErrorKind::BadLineEnding, e),
        }
        match b.get(e + 2) {
            Some(&c) if is_wsp(c) => {
                folded = true;
                i = e + 3;
            }
            None => return err(SipErrorKind::Unterminated, e + 2),
            Some(_) => {
                let mut value_end = e;
                while value_end > value_start && is_wsp(b[value_end - 1]) {
                    value_end -= 1;
                }
                return Ok(Step::Header(RawHeader {
                    name_start: pos,
                    name_end,
                    value_start,
                    value_end,
                    folded,
                    next: e + 2,
                }));
            }
        }
    }
}

/// The error for a header line at `pos` whose name is not a token followed
/// by optional whitespace and `:`: `BadHeaderName` when it does not start
/// with a token character, else `MissingColon` where the colon should be.
pub(crate) fn name_error(b: &[u8], pos: usize) -> SipError {
    let mut i = pos;
    while i < b.len() && is_token(b[i]) {
        i += 1;
    }
    if i == pos {
        return SipError::new(SipErrorKind::BadHeaderName, pos);
    }
    while i < b.len() && is_wsp(b[i]) {
        i += 1;
    }
    match b.get(i) {
        None => SipError::new(SipErrorKind::Unterminated, i),
        _ => SipError::new(SipErrorKind::MissingColon, i),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eol_search_every_position() {
        for len in 0..40 {
            for at in 0..len {
                for c in [b'\r', b'\n'] {
                    let mut v = vec![b'a'; len];
                    v[at] = c;
                    for from in 0..=len + 1 {
                        let want = (from <= at).then_some(at);
                        assert_eq!(find_eol(&v, from), want, "len {len} at {at} from {from}");
                    }
                }
                let mut v = vec![b'\r'; len];
                v[at] = b'\n';
                assert_eq!(LfIter::new(&v).collect::<Vec<_>>(), [at]);
            }
            assert_eq!(find_eol(&vec![b'x'; len], 0), None);
            assert_eq!(LfIter::new(&vec![b'\r'; len]).next(), None);
            let all = vec![b'\n'; len];
            assert_eq!(
                LfIter::new(&all).collect::<Vec<_>>(),
                (0..len).collect::<Vec<_>>()
            );
        }
        // High bytes and near misses must not look like matches.
        let v = [0x8d, 0x8a, 0xff, 0x0e, 0x0b, 0x0c, 0x09, 0x00, 0x8d, b'\n'];
        assert_eq!(find_eol(&v, 0), Some(9));
    }

    #[test]
    fn header_lines() {
        let b = b"Via : a\r\n b\r\nX:\r\n\r\nbody";
        let Ok(Step::Header(h)) = next_header(b, 0) else {
            panic!()
        };
        assert_eq!(&b[h.name_start..h.name_end], b"Via");
        assert_eq!(&b[h.value_start..h.value_end], b"a\r\n b");
        assert!(h.folded);
        let Ok(Step::Header(h2)) = next_header(b, h.next) else {
            panic!()
        };
        assert_eq!(&b[h2.value_start..h2.value_end], b"");
        assert!(!h2.folded);
        assert_eq!(next_header(b, h2.next), Ok(Step::End(19)));
    }

    #[test]
    fn header_line_errors() {
        let k = |b: &[u8]| next_header(b, 0).unwrap_err();
        assert_eq!(k(b"X: a\nY: b\r\n\r\n").kind, SipErrorKind::BadLineEnding);
        assert_eq!(k(b"X: a\nY: b\r\n\r\n").offset, 4);
        assert_eq!(k(b"X: a\rY: b\r\n\r\n").kind, SipErrorKind::BadLineEnding);
        assert_eq!(k(b"X a\r\n\r\n").kind, SipErrorKind::MissingColon);
        assert_eq!(k(b"X a\r\n\r\n").offset, 2);
        assert_eq!(k(b":a\r\n\r\n").kind, SipErrorKind::BadHeaderName);
        assert_eq!(k(b" a\r\n\r\n").kind, SipErrorKind::BadContinuation);
        assert_eq!(k(b"X: a\r\n").kind, SipErrorKind::Unterminated);
        assert_eq!(k(b"X: a").kind, SipErrorKind::Unterminated);
        assert_eq!(k(b"X").kind, SipErrorKind::Unterminated);
        assert_eq!(k(b"").kind, SipErrorKind::Unterminated);
        assert_eq!(k(b"\r").kind, SipErrorKind::Unterminated);
        assert_eq!(k(b"\rx").kind, SipErrorKind::BadLineEnding);
        assert_eq!(k(b"\n").kind, SipErrorKind::BadLineEnding);
        // The name is not checked here; name_error says what is wrong.
        let Ok(Step::Header(h)) = next_header(b"X a : v  \r\n\r\n", 0) else {
            panic!()
        };
        assert_eq!((h.name_end, h.value_start, h.value_end), (3, 6, 7));
        assert_eq!(name_error(b"X a : v\r\n", 0).offset, 2);
        assert_eq!(
            name_error(b"X a : v\r\n", 0).kind,
            SipErrorKind::MissingColon
        );
        assert_eq!(
            name_error(b"(X: v\r\n", 0).kind,
            SipErrorKind::BadHeaderName
        );
        assert_eq!(k(b"X \t: v").kind, SipErrorKind::Unterminated);
        assert_eq!(k(b"  : v").kind, SipErrorKind::BadContinuation);
        assert_eq!(k(b": v\r\n").kind, SipErrorKind::BadHeaderName);
    }
}
