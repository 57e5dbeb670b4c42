//! Byte scanning for the hot paths: end-of-line search and header-line
//! splitting (RFC 3261 §7.3.1 `message-header`, folding per §7.3.1).
//!
//! Owns: word-at-a-time CR/LF search and the one-pass header-line walker
//! used by both the datagram parser and the stream framer.
//!
//! Must not: allocate, classify header names, or interpret values.

use super::error::{SipError, SipErrorKind};
use crate::proto::lex::{is_token, is_wsp};

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// Bits set at (at least) the lowest byte of `x` equal to `byte`; bits above
/// a true match may be spurious, so only the lowest set bit is meaningful.
#[inline(always)]
const fn match_mask(x: u64, byte: u8) -> u64 {
    let v = x ^ (LO * byte as u64);
    v.wrapping_sub(LO) & !v & HI
}

/// Index of the first CR or LF in `b` at or after `from`. Eight bytes at a
/// time: header values are tens of bytes, so this beats a byte loop without
/// pulling in a SIMD crate.
#[inline]
pub(crate) fn find_eol(b: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    let tail = b.get(from..)?;
    let mut chunks = tail.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        let x = u64::from_le_bytes(w);
        let m = match_mask(x, b'\r') | match_mask(x, b'\n');
        if m != 0 {
            return Some(i + (m.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    for &c in chunks.remainder() {
        if c == b'\r' || c == b'\n' {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Index of the first LF in `b` at or after `from`, word at a time.
#[inline]
pub(crate) fn find_lf(b: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    let tail = b.get(from..)?;
    let mut chunks = tail.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        let m = match_mask(u64::from_le_bytes(w), b'\n');
        if m != 0 {
            return Some(i + (m.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    for &c in chunks.remainder() {
        if c == b'\n' {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// One header line found by [`next_header`], as byte ranges into the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawHeader {
    pub name_start: usize,
    pub name_end: usize,
    /// After the colon and the whitespace following it.
    pub value_start: usize,
    /// At the CR that ends the (last continuation) line; may include
    /// trailing whitespace.
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
    let mut i = pos;
    while i < b.len() && is_token(b[i]) {
        i += 1;
    }
    if i == pos {
        return err(SipErrorKind::BadHeaderName, pos);
    }
    let name_end = i;
    while i < b.len() && is_wsp(b[i]) {
        i += 1;
    }
    match b.get(i) {
        Some(b':') => i += 1,
        None => return err(SipErrorKind::Unterminated, i),
        Some(_) => return err(SipErrorKind::MissingColon, i),
    }
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
                return Ok(Step::Header(RawHeader {
                    name_start: pos,
                    name_end,
                    value_start,
                    value_end: e,
                    folded,
                    next: e + 2,
                }));
            }
        }
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
                assert_eq!(find_lf(&v, 0), Some(at));
            }
            assert_eq!(find_eol(&vec![b'x'; len], 0), None);
            assert_eq!(find_lf(&vec![b'\r'; len], 0), None);
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
    }
}
