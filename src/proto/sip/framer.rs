//! Stream framing for SIP over TCP and TLS (RFC 3261 §18.3, §7.5; RFC 5626
//! §4.4.1 CRLF keep-alives).
//!
//! Owns: finding where one message ends in a byte stream: the header block
//! up to the empty line, then exactly Content-Length octets; skipping the
//! CRLF keep-alives allowed between messages; enforcing the caller's caps on
//! header and body size so a peer can never make us buffer without bound.
//!
//! Must not: parse the message (that is [`super::message`], run on the
//! framed bytes; its `parse_stream` applies these same rules and caps while
//! parsing, in one pass), read sockets, or keep state between calls: `frame` is a
//! pure function of the bytes buffered so far, in the ureq-proto and
//! httparse style. It rescans the (capped) header block on each call, so the
//! cost per call is bounded by `max_header_bytes`.
//!
//! Every error here means the stream has lost its framing (or the peer
//! exceeded a cap): the caller must close the connection after, at best,
//! answering with [`FrameError::status_code`].

use std::fmt;

use crate::proto::ParseError;
use crate::proto::lex::{LfIter, is_wsp, skip_wsp};

/// Caps a connection's owner sets for one message.
///
/// Not the same type as `msrp::FrameLimits`, on purpose: a SIP body cap
/// refuses a declared Content-Length before any body byte is buffered, and
/// the header cap counts the empty line; an MSRP body has no declared
/// length, so its cap bounds the scan for the end-line instead. Separate
/// types keep one protocol's configured caps from being passed to the
/// other's framer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameLimits {
    /// Start line plus headers plus the empty line, in octets.
    pub max_header_bytes: usize,
    /// Content-Length above this is refused before any body is buffered.
    pub max_body_bytes: usize,
}

impl Default for FrameLimits {
    /// 16 KiB of headers and 1 MiB of body: generous for SIP signalling and
    /// pager-mode messages.
    fn default() -> Self {
        FrameLimits {
            max_header_bytes: 16 * 1024,
            max_body_bytes: 1024 * 1024,
        }
    }
}

/// One unit found at the start of the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    /// Octets to drop from the front of the buffer for this unit.
    pub consumed: usize,
    pub kind: FrameKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// CRLFCRLF: an RFC 5626 keep-alive ping; the server answers CRLF.
    Ping,
    /// A single CRLF not followed by another: an RFC 5626 pong, or a stray
    /// CRLF before a start line (RFC 3261 §7.5 says to ignore it).
    Pong,
    /// A message: `buf[..consumed]` is exactly its bytes (pass them to
    /// [`super::message::SipMessage::parse`]); the body is the last
    /// `body_len` octets and the header block the first `head_len`.
    Message { head_len: usize, body_len: usize },
}

impl Frame {
    pub const fn is_keep_alive(&self) -> bool {
        matches!(self.kind, FrameKind::Ping | FrameKind::Pong)
    }
}

/// Why the stream cannot be framed. In every case the connection must be
/// closed: the message boundary is unknown or the peer broke a cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameErrorKind {
    /// The header block (up to and including the empty line) is larger than
    /// `max_header_bytes`.
    HeaderTooLarge,
    /// Content-Length is larger than `max_body_bytes`.
    BodyTooLarge,
    /// No Content-Length header: mandatory on streams (RFC 3261 §18.3,
    /// §20.14), without it the end of the body is unknowable.
    MissingContentLength,
    /// More than one Content-Length header (RFC 4475 §3.3.9 `mcl01`).
    MultipleContentLength,
    /// Content-Length not a plain decimal number: negative, signed, empty
    /// or with other characters (RFC 4475 §3.1.2.3 `ncl`).
    BadContentLength,
}

impl FrameErrorKind {
    pub const fn description(self) -> &'static str {
        match self {
            FrameErrorKind::HeaderTooLarge => "header block too large",
            FrameErrorKind::BodyTooLarge => "Content-Length exceeds limit",
            FrameErrorKind::MissingContentLength => "missing Content-Length on stream transport",
            FrameErrorKind::MultipleContentLength => "multiple Content-Length headers",
            FrameErrorKind::BadContentLength => "invalid Content-Length",
        }
    }

    /// Status to answer (when the header block is complete enough to build
    /// a response) before closing: 513 Message Too Large for oversized
    /// headers, 413 Request Entity Too Large for an oversized body, else 400.
    pub const fn status_code(self) -> u16 {
        match self {
            FrameErrorKind::HeaderTooLarge => 513,
            FrameErrorKind::BodyTooLarge => 413,
            _ => 400,
        }
    }
}

impl fmt::Display for FrameErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

/// A framing failure; `offset` is into the buffer given to [`frame`]. The
/// connection must be closed.
pub type FrameError = ParseError<FrameErrorKind>;

impl ParseError<FrameErrorKind> {
    /// See [`FrameErrorKind::status_code`].
    pub const fn status_code(self) -> u16 {
        self.kind.status_code()
    }
}

/// Whether `buf` starts with a keep-alive.
pub(crate) enum KeepAlive {
    /// Maybe: CR, CRLF or CRLFCR so far.
    NeedMore,
    Unit(Frame),
    /// No: a message (or garbage) starts here.
    No,
}

/// Keep-alives (RFC 5626 §4.4.1) and stray CRLFs before a start line (RFC
/// 3261 §7.5): CRLFCRLF is a ping, a CRLF not followed by CRLF a pong.
pub(crate) fn keep_alive(buf: &[u8]) -> KeepAlive {
    if buf.first() != Some(&b'\r') {
        return KeepAlive::No;
    }
    let unit = |consumed, kind| KeepAlive::Unit(Frame { consumed, kind });
    match (buf.get(1), buf.get(2), buf.get(3)) {
        (None, _, _) => KeepAlive::NeedMore,
        (Some(b'\n'), None, _) | (Some(b'\n'), Some(b'\r'), None) => KeepAlive::NeedMore,
        (Some(b'\n'), Some(b'\r'), Some(b'\n')) => unit(4, FrameKind::Ping),
        (Some(b'\n'), _, _) => unit(2, FrameKind::Pong),
        // A lone CR is not a keep-alive; let the parser reject it.
        _ => KeepAlive::No,
    }
}

/// Finds the first unit in `buf`: `Ok(None)` means more bytes are needed
/// (never returned once `buf` holds more than `max_header_bytes` without a
/// complete header block). RFC 3261 §18.3: the body is exactly
/// Content-Length octets, which must be present on a stream.
///
/// Line ends are found at CRLF only; a bare LF inside the header block is
/// left for the parser to reject (with a 400 the caller can still send,
/// since framing itself succeeded).
pub fn frame(buf: &[u8], limits: &FrameLimits) -> Result<Option<Frame>, FrameError> {
    match keep_alive(buf) {
        KeepAlive::NeedMore => return Ok(None),
        KeepAlive::Unit(f) => return Ok(Some(f)),
        KeepAlive::No => {}
    }

    let limit = buf.len().min(limits.max_header_bytes);
    let head = &buf[..limit];
    // One pass over the LFs of the header block. At each CRLF, look at the
    // line that starts after it: an empty line ends the block, a line
    // starting with whitespace continues the previous header, a line
    // starting with c/C/l/L may be Content-Length.
    let mut in_cl = false;
    let mut cl_count = 0usize;
    let mut cl_range = (0, 0);
    // Where the first repeated Content-Length header starts (reported).
    let mut cl_repeat_at = 0;
    let mut head_len = None;
    for lf in LfIter::new(head) {
        if lf == 0 || head[lf - 1] != b'\r' {
            continue; // a bare LF is not a line end
        }
        if in_cl {
            cl_range.1 = lf - 1;
        }
        let line = lf + 1;
        let Some(&first) = head.get(line) else {
            break;
        };
        if first == b'\r' {
            if head.get(line + 1) == Some(&b'\n') {
                head_len = Some(line + 2);
                break;
            }
        } else if is_wsp(first) {
            continue;
        } else if (first | 0x20 == b'c' || first | 0x20 == b'l')
            && let Some(v) = content_length_value(&head[line..])
        {
            in_cl = true;
            cl_count += 1;
            if cl_count == 2 {
                cl_repeat_at = line;
            }
            cl_range = (line + v, line + v);
            continue;
        }
        in_cl = false;
    }
    let Some(head_len) = head_len else {
        return if buf.len() >= limits.max_header_bytes {
            Err(FrameError::new(FrameErrorKind::HeaderTooLarge, limit))
        } else {
            Ok(None)
        };
    };

    if cl_count == 0 {
        return Err(FrameError::new(
            FrameErrorKind::MissingContentLength,
            head_len,
        ));
    }
    if cl_count > 1 {
        return Err(FrameError::new(
            FrameErrorKind::MultipleContentLength,
            cl_repeat_at,
        ));
    }
    let value = buf.get(cl_range.0..cl_range.1).unwrap_or_default();
    let body_len = parse_length(value, limits.max_body_bytes)
        .map_err(|(k, at)| FrameError::new(k, cl_range.0 + at))?;
    let total = head_len + body_len;
    if buf.len() < total {
        return Ok(None);
    }
    Ok(Some(Frame {
        consumed: total,
        kind: FrameKind::Message { head_len, body_len },
    }))
}

/// If `line` (running to the end of the header block) is a Content-Length
/// header (`Content-Length` or compact `l`, any case, RFC 3261 §20.14), the
/// index where its value starts.
#[inline]
fn content_length_value(line: &[u8]) -> Option<usize> {
    let i = match line.first()? | 0x20 {
        b'l' => 1,
        b'c' if line.get(..14)?.eq_ignore_ascii_case(b"content-length") => 14,
        _ => return None,
    };
    let i = skip_wsp(line, i);
    (line.get(i) == Some(&b':')).then_some(i + 1)
}

/// RFC 3261 §20.14 `1*DIGIT`, surrounded by LWS, capped at `max`. The
/// error carries the offset of the value's first non-LWS octet in `v`, the
/// position [`super::message::parse_stream`] reports for the same problem.
fn parse_length(v: &[u8], max: usize) -> Result<usize, (FrameErrorKind, usize)> {
    let lws = |c: &u8| matches!(c, b' ' | b'\t' | b'\r' | b'\n');
    let start = v.iter().position(|c| !lws(c)).unwrap_or(v.len());
    let end = v.iter().rposition(|c| !lws(c)).map_or(start, |e| e + 1);
    let digits = &v[start..end];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err((FrameErrorKind::BadContentLength, start));
    }
    let mut n: usize = 0;
    for &d in digits {
        n = match n
            .checked_mul(10)
            .and_then(|n| n.checked_add(usize::from(d - b'0')))
        {
            Some(n) if n <= max => n,
            _ => return Err((FrameErrorKind::BodyTooLarge, start)),
        };
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIM: FrameLimits = FrameLimits {
        max_header_bytes: 4096,
        max_body_bytes: 4096,
    };

    const M1: &[u8] = b"MESSAGE sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n\
Content-Length: 5\r\n\r\nhello";
    const M2: &[u8] = b"SIP/2.0 200 OK\r\nl:\r\n 0\r\nCall-ID: x\r\n\r\n";
    const M3: &[u8] = b"OPTIONS sip:a@b SIP/2.0\r\ncontent-LENGTH  :  3\r\nX: \r\n\r\n\r\n\r";

    /// Frames everything in `buf`, returning the units and what is left.
    fn drain(buf: &mut Vec<u8>, out: &mut Vec<(FrameKind, Vec<u8>)>) {
        while let Some(f) = frame(buf, &LIM).unwrap() {
            out.push((f.kind, buf[..f.consumed].to_vec()));
            buf.drain(..f.consumed);
        }
    }

    fn stream() -> (Vec<u8>, Vec<(FrameKind, Vec<u8>)>) {
        let mut s = Vec::new();
        let mut want = Vec::new();
        s.extend_from_slice(b"\r\n\r\n");
        want.push((FrameKind::Ping, b"\r\n\r\n".to_vec()));
        s.extend_from_slice(M1);
        want.push((
            FrameKind::Message {
                head_len: M1.len() - 5,
                body_len: 5,
            },
            M1.to_vec(),
        ));
        s.extend_from_slice(b"\r\n");
        want.push((FrameKind::Pong, b"\r\n".to_vec()));
        s.extend_from_slice(M2);
        want.push((
            FrameKind::Message {
                head_len: M2.len(),
                body_len: 0,
            },
            M2.to_vec(),
        ));
        s.extend_from_slice(M3);
        want.push((
            FrameKind::Message {
                head_len: M3.len() - 3,
                body_len: 3,
            },
            M3.to_vec(),
        ));
        s.extend_from_slice(b"\r\n\r\n");
        want.push((FrameKind::Ping, b"\r\n\r\n".to_vec()));
        (s, want)
    }

    #[test]
    fn whole_stream() {
        let (s, want) = stream();
        let mut buf = s.clone();
        let mut got = Vec::new();
        drain(&mut buf, &mut got);
        assert_eq!(got, want);
        assert!(buf.is_empty());
    }

    #[test]
    fn byte_by_byte() {
        let (s, want) = stream();
        let mut buf = Vec::new();
        let mut got = Vec::new();
        for &b in &s {
            buf.push(b);
            drain(&mut buf, &mut got);
        }
        assert_eq!(got, want);
        assert!(buf.is_empty());
    }

    #[test]
    fn every_two_piece_split() {
        let (s, want) = stream();
        for split in 0..=s.len() {
            let mut buf = s[..split].to_vec();
            let mut got = Vec::new();
            drain(&mut buf, &mut got);
            buf.extend_from_slice(&s[split..]);
            drain(&mut buf, &mut got);
            assert_eq!(got, want, "split at {split}");
            assert!(buf.is_empty());
        }
    }

    #[test]
    fn keep_alive_prefixes() {
        assert_eq!(frame(b"", &LIM), Ok(None));
        assert_eq!(frame(b"\r", &LIM), Ok(None));
        assert_eq!(frame(b"\r\n", &LIM), Ok(None));
        assert_eq!(frame(b"\r\n\r", &LIM), Ok(None));
        assert_eq!(
            frame(b"\r\nI", &LIM).unwrap().unwrap().kind,
            FrameKind::Pong
        );
        assert_eq!(
            frame(b"\r\n\rx", &LIM).unwrap().unwrap().kind,
            FrameKind::Pong
        );
        let f = frame(b"\r\n\r\n\r\n", &LIM).unwrap().unwrap();
        assert_eq!((f.consumed, f.kind), (4, FrameKind::Ping));
        assert!(f.is_keep_alive());
    }

    #[test]
    fn content_length_errors() {
        let e = |m: &[u8]| frame(m, &LIM).unwrap_err();
        let miss = e(b"INVITE sip:a SIP/2.0\r\nVia: x\r\n\r\nbody");
        assert_eq!(miss.kind, FrameErrorKind::MissingContentLength);
        assert_eq!(miss.status_code(), 400);
        let neg = e(b"INVITE sip:a SIP/2.0\r\nContent-Length: -999\r\n\r\n");
        assert_eq!(neg.kind, FrameErrorKind::BadContentLength);
        assert_eq!(neg.offset, 38);
        assert_eq!(
            e(b"INVITE sip:a SIP/2.0\r\nl: 1x\r\n\r\n").kind,
            FrameErrorKind::BadContentLength
        );
        assert_eq!(
            e(b"INVITE sip:a SIP/2.0\r\nl: \r\n\r\n").kind,
            FrameErrorKind::BadContentLength
        );
        assert_eq!(
            e(b"INVITE sip:a SIP/2.0\r\nl: +1\r\n\r\n").kind,
            FrameErrorKind::BadContentLength
        );
        let multi = e(b"INVITE sip:a SIP/2.0\r\nl: 1\r\nContent-Length: 1\r\n\r\nx");
        assert_eq!(multi.kind, FrameErrorKind::MultipleContentLength);
        let big = e(b"INVITE sip:a SIP/2.0\r\nl: 4097\r\n\r\n");
        assert_eq!(
            (big.kind, big.status_code()),
            (FrameErrorKind::BodyTooLarge, 413)
        );
        let huge = e(b"INVITE sip:a SIP/2.0\r\nl: 99999999999999999999999999\r\n\r\n");
        assert_eq!(huge.kind, FrameErrorKind::BodyTooLarge);
        // Names that merely start like Content-Length are other headers.
        assert_eq!(
            e(b"INVITE sip:a SIP/2.0\r\nContent-Lengthy: 1\r\nLx: 2\r\n\r\n").kind,
            FrameErrorKind::MissingContentLength
        );
        // A fold continues only the header it belongs to.
        let m = b"M s SIP/2.0\r\nl: 0\r\nX: 1\r\n 2\r\n\r\n";
        let f = frame(m, &LIM).unwrap().unwrap();
        assert_eq!(
            f.kind,
            FrameKind::Message {
                head_len: m.len(),
                body_len: 0
            }
        );
    }

    #[test]
    fn header_cap() {
        let lim = FrameLimits {
            max_header_bytes: 40,
            max_body_bytes: 10,
        };
        let m = b"MESSAGE sip:a@b SIP/2.0\r\nl: 0\r\n\r\n"; // 33 octets
        assert!(frame(m, &lim).unwrap().is_some());
        let long = b"MESSAGE sip:a@b SIP/2.0\r\nX-Long: 123456\r\nl: 0\r\n\r\n";
        for n in 0..long.len() {
            let r = frame(&long[..n], &lim);
            if n < 40 {
                assert_eq!(r, Ok(None), "{n}");
            } else {
                let e = r.unwrap_err();
                assert_eq!(
                    (e.kind, e.status_code()),
                    (FrameErrorKind::HeaderTooLarge, 513)
                );
            }
        }
        // Garbage without any line end stops at the cap, too.
        assert_eq!(
            frame(&[0u8; 41], &lim).unwrap_err().kind,
            FrameErrorKind::HeaderTooLarge
        );
        // Exactly at the cap is fine.
        let exact = FrameLimits {
            max_header_bytes: 33,
            max_body_bytes: 0,
        };
        assert!(frame(m, &exact).unwrap().is_some());
        let under = FrameLimits {
            max_header_bytes: 32,
            max_body_bytes: 0,
        };
        assert!(frame(m, &under).is_err());
    }

    #[test]
    fn bare_lf_does_not_end_lines() {
        // The bare LF is left inside the frame for the parser to reject.
        let m = b"M s SIP/2.0\r\nX: a\nl: 9\r\nl: 1\r\n\r\nx";
        let f = frame(m, &LIM).unwrap().unwrap();
        assert_eq!(f.consumed, m.len());
    }
}
