//! Header-line splitting for the SIP parser (RFC 3261 §7.3.1
//! `message-header`, folding per §7.3.1).
//!
//! Owns: the header-line walker used by the message parser, and the error
//! it reports for a line that is not `name: value`. The word-at-a-time
//! byte search it runs on lives in [`crate::proto::lex`].
//!
//! Must not: allocate, classify header names, or interpret values.

use super::error::{SipError, SipErrorKind};
use crate::proto::lex::{
    below_mask, find_by, find_eol, first_match_mask, is_token, is_wsp, skip_wsp,
};

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
    let mut i = skip_wsp(b, colon + 1);
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
    i = skip_wsp(b, i);
    match b.get(i) {
        None => SipError::new(SipErrorKind::Unterminated, i),
        _ => SipError::new(SipErrorKind::MissingColon, i),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
