//! MSRP stream framer: where does one request or response end?
//!
//! Owns: RFC 4975 §5.1 and §7.1 boundary framing. A message is the start
//! line `MSRP <tid> ...` CRLF, header lines, then either
//! (a) the end-line right after the last header (no body), or
//! (b) an empty line, the body, CRLF, and the end-line (RFC 4975 §9
//! `content-stuff`), where the end-line is `-------<tid><flag>` CRLF and
//! `<flag>` is `+`, `$` or `#`.
//!
//! Must not: interpret header values (that is [`super::message`]), allocate,
//! or read past the caps the caller gives.
//!
//! ## How the body end is found
//!
//! The body may hold anything, including text that looks like an end-line.
//! An end-line only counts when it is preceded by CRLF, carries exactly this
//! message's transaction id, and is followed by a flag byte and CRLF:
//! `CRLF "-------" tid flag CRLF`. So `-------othertid$`, `x-------tid$`,
//! `-------tidx`, and `-------tid$more` inside a body are all body bytes,
//! and a longer id that merely starts with `tid` fails at the flag check.
//! (RFC 4975 §7.1 makes the sender pick a tid that does not occur in the
//! body, so the first match is the real one.) The search jumps from LF to LF
//! with a word-at-a-time byte search.
//!
//! ## Why it stays linear
//!
//! [`Framer`] remembers where it stopped: the phase (start line, headers,
//! body) and the first position that could still begin an undecided
//! end-line. When more bytes arrive, scanning resumes there, so over a whole
//! message each byte is examined a bounded number of times (at most once
//! per call for the last `CRLF + 7 + tid + 3` bytes that might be a split
//! end-line). Feeding a message one byte at a time costs O(n · end-line
//! length), not O(n²). The stateless [`frame`] function rescans from the
//! start; use it for one-shot parsing and fuzzing, and `Framer` on streams.
//!
//! Contract (as in ureq-proto): `Ok(None)` = need more bytes;
//! `Ok(Some(frame))` = a complete message occupies `buf[..frame.len]`;
//! `Err(_)` = the stream is malformed or over a cap, and the connection
//! should be closed. After [`FrameErrorKind::BodyTooLarge`] the headers are
//! complete: [`Framer::header_frame`] gives them to the parser so the caller
//! can answer 413 (RFC 4975 §10.5) before closing.

use std::fmt;
use std::ops::Range;

use super::{MAX_TID_LEN, is_ident_char};
use crate::proto::ParseError;
use crate::proto::lex::find_byte;

const DASHES: &[u8; 7] = b"-------";
const START: &[u8; 5] = b"MSRP ";

/// RFC 4975 §9 `continuation-flag`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flag {
    /// `+`: more chunks of this message follow.
    More,
    /// `$`: this chunk ends the message (always `$` on responses).
    End,
    /// `#`: the sender aborts the message; no more chunks follow.
    Abort,
}

impl Flag {
    pub const fn as_byte(self) -> u8 {
        match self {
            Flag::More => b'+',
            Flag::End => b'$',
            Flag::Abort => b'#',
        }
    }

    pub const fn from_byte(b: u8) -> Option<Flag> {
        match b {
            b'+' => Some(Flag::More),
            b'$' => Some(Flag::End),
            b'#' => Some(Flag::Abort),
            _ => None,
        }
    }
}

/// Caps, chosen by the caller (msrpgw's config). A message whose start line
/// plus headers exceed `max_header_bytes` is [`FrameErrorKind::HeaderTooLarge`];
/// one whose body exceeds `max_body_bytes` is [`FrameErrorKind::BodyTooLarge`].
///
/// Not the same type as `sip::FrameLimits`, on purpose: an MSRP chunk
/// declares no body length, so `max_body_bytes` bounds how far the framer
/// scans for the end-line (the body of one chunk, not of the whole
/// message), and the header cap does not count the empty line. SIP refuses
/// a declared Content-Length up front. Separate types keep one protocol's
/// configured caps from being passed to the other's framer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameLimits {
    pub max_header_bytes: usize,
    pub max_body_bytes: usize,
}

impl Default for FrameLimits {
    /// 16 KiB of headers, 1 MiB of body (one chunk of a message as large as
    /// msrpgw's default `max_message_bytes`).
    fn default() -> Self {
        FrameLimits {
            max_header_bytes: 16 * 1024,
            max_body_bytes: 1024 * 1024,
        }
    }
}

impl FrameLimits {
    /// No caps at all: for parsing a buffer that is already complete.
    pub const UNLIMITED: FrameLimits = FrameLimits {
        max_header_bytes: usize::MAX,
        max_body_bytes: usize::MAX,
    };
}

/// One complete message found at the start of the caller's buffer. All
/// ranges index that buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Bytes the message occupies, end-line and its CRLF included.
    pub len: usize,
    /// The transaction id (in the start line).
    pub tid: Range<usize>,
    /// Start line and header lines, each with its CRLF.
    pub header: Range<usize>,
    /// The body, without the empty line before it or the CRLF after it.
    /// `None` when the message has no body (RFC 4975 §7.1 "bodiless").
    pub body: Option<Range<usize>>,
    pub flag: Flag,
}

/// What made a stream unframeable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameErrorKind {
    /// The stream does not start with `MSRP` SP.
    BadStartLine,
    /// The transaction id is empty, too long, or has a bad character.
    BadTransactionId,
    /// An LF not preceded by CR in the start line or headers.
    BareLineFeed,
    /// A header-block line that is neither `name:value`, nor empty, nor
    /// this message's end-line (e.g. a missing end-line followed by the
    /// next message's start line).
    BadHeaderLine,
    /// Start line plus headers over `max_header_bytes`.
    HeaderTooLarge,
    /// Body over `max_body_bytes` (RFC 4975 §10.5: answer 413).
    BodyTooLarge,
}

impl FrameErrorKind {
    pub const fn description(self) -> &'static str {
        match self {
            FrameErrorKind::BadStartLine => "start line does not begin with \"MSRP \"",
            FrameErrorKind::BadTransactionId => "invalid transaction id",
            FrameErrorKind::BareLineFeed => "line feed without carriage return",
            FrameErrorKind::BadHeaderLine => "malformed header line",
            FrameErrorKind::HeaderTooLarge => "header section too large",
            FrameErrorKind::BodyTooLarge => "body too large",
        }
    }
}

impl fmt::Display for FrameErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

pub type FrameError = ParseError<FrameErrorKind>;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Phase {
    /// Reading `MSRP tid ...` CRLF.
    #[default]
    StartLine,
    /// Reading header lines; `line` is where the current line starts.
    Headers { tid_end: usize, line: usize },
    /// Looking for `CRLF ------- tid flag CRLF`. `header_end` is where the
    /// empty line starts; `scan` is the first CR position not yet ruled out.
    Body {
        tid_end: usize,
        header_end: usize,
        scan: usize,
    },
}

/// Incremental framer for one byte stream. Feed it the same buffer, grown
/// by whatever arrived, until it returns a frame; then drop `frame.len`
/// bytes from the front of the buffer and carry on (the framer resets
/// itself after each frame).
#[derive(Debug, Clone, Default)]
pub struct Framer {
    phase: Phase,
    /// Where the next LF search resumes in the start line or current header
    /// line (everything before it has no LF).
    pos: usize,
    /// Buffer length at the previous call: a shorter buffer means the
    /// caller started over, and so do we.
    seen: usize,
}

/// One-shot framing of `buf` from its first byte (rescans on every call;
/// see [`Framer`] for streams).
pub fn frame(buf: &[u8], limits: &FrameLimits) -> Result<Option<Frame>, FrameError> {
    Framer::new().frame(buf, limits)
}

impl Framer {
    pub fn new() -> Self {
        Framer::default()
    }

    /// Forgets any partial progress (next call starts at `buf[0]`).
    pub fn reset(&mut self) {
        *self = Framer::default();
    }

    /// While the body is being read, or after
    /// [`FrameErrorKind::BodyTooLarge`]: the start line and headers of the
    /// message as a frame without body (`len` = end of the headers), for
    /// [`super::Message::parse_frame`] on the same buffer.
    pub fn header_frame(&self) -> Option<Frame> {
        match self.phase {
            Phase::Body {
                tid_end,
                header_end,
                ..
            } => Some(Frame {
                len: header_end,
                tid: START.len()..tid_end,
                header: 0..header_end,
                body: None,
                flag: Flag::End,
            }),
            _ => None,
        }
    }

    /// Looks for one complete message (RFC 4975 §9 `msrp-req-or-resp`,
    /// delimited by its `end-line`) at the start of `buf`.
    pub fn frame(&mut self, buf: &[u8], limits: &FrameLimits) -> Result<Option<Frame>, FrameError> {
        if buf.len() < self.seen {
            self.reset();
        }
        self.seen = buf.len();
        let r = self.step(buf, limits);
        if let Ok(Some(_)) = r {
            self.reset();
        }
        r
    }

    fn step(&mut self, buf: &[u8], limits: &FrameLimits) -> Result<Option<Frame>, FrameError> {
        loop {
            match self.phase {
                Phase::StartLine => match self.start_line(buf, limits)? {
                    Some(next) => self.phase = next,
                    None => return Ok(None),
                },
                Phase::Headers { tid_end, line } => {
                    match self.header_line(buf, limits, tid_end, line)? {
                        HeaderStep::Next(next) => self.phase = next,
                        HeaderStep::Done(f) => return Ok(Some(f)),
                        HeaderStep::NeedMore => return Ok(None),
                    }
                }
                Phase::Body {
                    tid_end,
                    header_end,
                    scan,
                } => {
                    let (res, scan) = scan_body(buf, limits, tid_end, header_end, scan)?;
                    self.phase = Phase::Body {
                        tid_end,
                        header_end,
                        scan,
                    };
                    return Ok(res);
                }
            }
        }
    }

    /// RFC 4975 §9 `req-start` / `resp-start`: only `"MSRP" SP transact-id SP`
    /// is checked here; the rest of the line is the parser's business.
    fn start_line(
        &mut self,
        buf: &[u8],
        limits: &FrameLimits,
    ) -> Result<Option<Phase>, FrameError> {
        for (i, (&got, &want)) in buf.iter().zip(START.iter()).enumerate() {
            if got != want {
                return Err(FrameError::new(FrameErrorKind::BadStartLine, i));
            }
        }
        if buf.len() <= START.len() {
            return Ok(None);
        }
        // Transaction id: ident chars up to the SP.
        let tid_start = START.len();
        let mut i = tid_start;
        let tid_cap = (tid_start + MAX_TID_LEN + 1).min(buf.len());
        while i < tid_cap && is_ident_char(buf[i]) {
            i += 1;
        }
        if i - tid_start > MAX_TID_LEN {
            return Err(FrameError::new(FrameErrorKind::BadTransactionId, tid_start));
        }
        if i == buf.len() {
            return Ok(None);
        }
        if i == tid_start || !buf[tid_start].is_ascii_alphanumeric() {
            return Err(FrameError::new(FrameErrorKind::BadTransactionId, tid_start));
        }
        if buf[i] != b' ' {
            return Err(FrameError::new(FrameErrorKind::BadTransactionId, i));
        }
        let tid_end = i;
        match self.find_line_end(buf, limits, tid_end + 1)? {
            None => Ok(None),
            Some(cr) => {
                if cr <= tid_end + 1 {
                    // Nothing after "MSRP tid ".
                    return Err(FrameError::new(FrameErrorKind::BadStartLine, cr));
                }
                self.pos = cr + 2;
                Ok(Some(Phase::Headers {
                    tid_end,
                    line: cr + 2,
                }))
            }
        }
    }

    /// Finds the CR of the CRLF ending the line that starts at or before
    /// `self.pos` (no earlier than `line`), within the header cap.
    fn find_line_end(
        &mut self,
        buf: &[u8],
        limits: &FrameLimits,
        line: usize,
    ) -> Result<Option<usize>, FrameError> {
        let from = self.pos.max(line);
        // A line's LF must sit before `max_header_bytes` for the header
        // section to fit; never look further than that.
        let cap = limits.max_header_bytes.min(buf.len());
        let hay = buf.get(from..cap).unwrap_or(&[]);
        match find_byte(hay, b'\n') {
            Some(k) => {
                let lf = from + k;
                if lf == 0 || lf <= line || buf[lf - 1] != b'\r' {
                    return Err(FrameError::new(FrameErrorKind::BareLineFeed, lf));
                }
                Ok(Some(lf - 1))
            }
            None => {
                if buf.len() >= limits.max_header_bytes {
                    return Err(FrameError::new(
                        FrameErrorKind::HeaderTooLarge,
                        limits.max_header_bytes,
                    ));
                }
                self.pos = buf.len().max(from);
                Ok(None)
            }
        }
    }

    fn header_line(
        &mut self,
        buf: &[u8],
        limits: &FrameLimits,
        tid_end: usize,
        line: usize,
    ) -> Result<HeaderStep, FrameError> {
        let Some(&first) = buf.get(line) else {
            return Ok(HeaderStep::NeedMore);
        };
        if line > limits.max_header_bytes {
            return Err(FrameError::new(
                FrameErrorKind::HeaderTooLarge,
                limits.max_header_bytes,
            ));
        }
        match first {
            b'\r' => match buf.get(line + 1) {
                None => Ok(HeaderStep::NeedMore),
                Some(b'\n') => Ok(HeaderStep::Next(Phase::Body {
                    tid_end,
                    header_end: line,
                    scan: line,
                })),
                Some(_) => Err(FrameError::new(FrameErrorKind::BadHeaderLine, line)),
            },
            b'-' => {
                // Only this message's end-line may start with '-' here
                // (header names start with ALPHA, RFC 4975 §9 `hname`).
                let tid = &buf[START.len()..tid_end];
                match match_end_line(buf, line, tid) {
                    EndLine::Yes(flag, len) => Ok(HeaderStep::Done(Frame {
                        len: line + len,
                        tid: START.len()..tid_end,
                        header: 0..line,
                        body: None,
                        flag,
                    })),
                    EndLine::Partial => Ok(HeaderStep::NeedMore),
                    EndLine::No(at) => Err(FrameError::new(FrameErrorKind::BadHeaderLine, at)),
                }
            }
            _ => match self.find_line_end(buf, limits, line)? {
                None => Ok(HeaderStep::NeedMore),
                Some(cr) => {
                    if !buf[line..cr].contains(&b':') {
                        return Err(FrameError::new(FrameErrorKind::BadHeaderLine, line));
                    }
                    self.pos = cr + 2;
                    Ok(HeaderStep::Next(Phase::Headers {
                        tid_end,
                        line: cr + 2,
                    }))
                }
            },
        }
    }
}

enum HeaderStep {
    Next(Phase),
    Done(Frame),
    NeedMore,
}

enum EndLine {
    /// A complete end-line: its flag and length (CRLF included).
    Yes(Flag, usize),
    /// Every byte present matches, but it is not complete yet.
    Partial,
    /// Not an end-line; offset of the first byte that rules it out.
    No(usize),
}

/// Does `buf[at..]` hold `"-------" tid flag CRLF`?
#[inline]
fn match_end_line(buf: &[u8], at: usize, tid: &[u8]) -> EndLine {
    let rest = buf.get(at..).unwrap_or(&[]);
    let need = DASHES.len() + tid.len() + 3;
    let flag_at = DASHES.len() + tid.len();
    // Fast path: the whole candidate is there; compare slices.
    if let Some(cand) = rest.get(..need) {
        if cand[..DASHES.len()] == *DASHES
            && cand[DASHES.len()..flag_at] == *tid
            && cand[flag_at + 1..] == *b"\r\n"
        {
            if let Some(flag) = Flag::from_byte(cand[flag_at]) {
                return EndLine::Yes(flag, need);
            }
        }
    }
    let fixed = DASHES.iter().chain(tid.iter());
    for (i, (&got, &want)) in rest.iter().zip(fixed).enumerate() {
        if got != want {
            return EndLine::No(at + i);
        }
    }
    let Some(&f) = rest.get(flag_at) else {
        return EndLine::Partial;
    };
    let Some(flag) = Flag::from_byte(f) else {
        return EndLine::No(at + flag_at);
    };
    match rest.get(flag_at + 1) {
        None => return EndLine::Partial,
        Some(b'\r') => {}
        Some(_) => return EndLine::No(at + flag_at + 1),
    }
    match rest.get(flag_at + 2) {
        None => EndLine::Partial,
        Some(b'\n') => EndLine::Yes(flag, need),
        Some(_) => EndLine::No(at + flag_at + 2),
    }
}

/// Searches the body for `CRLF "-------" tid flag CRLF`, starting with the
/// candidate CR at `scan`. Returns the frame if found, and the new `scan`.
fn scan_body(
    buf: &[u8],
    limits: &FrameLimits,
    tid_end: usize,
    header_end: usize,
    mut scan: usize,
) -> Result<(Option<Frame>, usize), FrameError> {
    let tid = &buf[START.len()..tid_end];
    let body_start = header_end + 2;
    let end_line_len = DASHES.len() + tid.len() + 3;
    // Last CR position whose body would still fit the cap, and how far a
    // candidate there reaches: no need to look beyond that.
    let last_cr = body_start.saturating_add(limits.max_body_bytes);
    let search_end = buf.len().min(last_cr.saturating_add(2 + end_line_len));
    loop {
        let from = scan + 1;
        let hay = buf.get(from..search_end).unwrap_or(&[]);
        let Some(k) = find_byte(hay, b'\n') else {
            // No LF in (scan, search_end): every CR position before
            // search_end - 1 is ruled out, and that one too unless it is a CR.
            let last = search_end.saturating_sub(1);
            if last >= scan {
                scan = if buf.get(last) == Some(&b'\r') {
                    last
                } else {
                    search_end
                };
            }
            break;
        };
        let lf = from + k;
        let cr = lf - 1;
        if buf[cr] != b'\r' {
            scan = lf;
            continue;
        }
        match match_end_line(buf, lf + 1, tid) {
            EndLine::Yes(flag, len) => {
                if cr > last_cr {
                    return Err(FrameError::new(FrameErrorKind::BodyTooLarge, last_cr));
                }
                // `cr == header_end`: the end-line right after the empty
                // line, with no CRLF of its own; read as an empty body.
                let body = if cr <= body_start {
                    body_start..body_start
                } else {
                    body_start..cr
                };
                let frame = Frame {
                    len: lf + 1 + len,
                    tid: START.len()..tid_end,
                    header: 0..header_end,
                    body: Some(body),
                    flag,
                };
                return Ok((Some(frame), cr));
            }
            EndLine::Partial => {
                scan = cr;
                break;
            }
            EndLine::No(_) => scan = lf,
        }
    }
    if scan > last_cr {
        return Err(FrameError::new(FrameErrorKind::BodyTooLarge, last_cr));
    }
    Ok((None, scan))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::msrp::tests::SEND;

    const OK: &[u8] = b"MSRP a786hjs2 200 OK\r\n\
To-Path: msrp://atlanta.example.com:7654/jshA7weztas;tcp\r\n\
From-Path: msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp\r\n\
-------a786hjs2$\r\n";

    fn lim() -> FrameLimits {
        FrameLimits::default()
    }

    fn body_of<'a>(buf: &'a [u8], f: &Frame) -> Option<&'a [u8]> {
        f.body.clone().map(|r| &buf[r])
    }

    /// A SEND with `body` and tid `tid`, as a sender would write it.
    fn send_with(tid: &str, body: &[u8], flag: u8) -> Vec<u8> {
        let mut v = format!(
            "MSRP {tid} SEND\r\nTo-Path: msrp://a.example:1/s;tcp\r\n\
From-Path: msrp://b.example:2/t;tcp\r\nMessage-ID: m1\r\nContent-Type: text/plain\r\n\r\n"
        )
        .into_bytes();
        v.extend_from_slice(body);
        v.extend_from_slice(b"\r\n-------");
        v.extend_from_slice(tid.as_bytes());
        v.push(flag);
        v.extend_from_slice(b"\r\n");
        v
    }

    #[test]
    fn frames_send_and_response() {
        let f = frame(SEND, &lim()).unwrap().unwrap();
        assert_eq!(f.len, SEND.len());
        assert_eq!(&SEND[f.tid.clone()], b"a786hjs2");
        assert_eq!(body_of(SEND, &f), Some(&b"Hey Bob, are you there?"[..]));
        assert_eq!(f.flag, Flag::End);
        assert!(SEND[f.header.clone()].ends_with(b"text/plain\r\n"));

        let f = frame(OK, &lim()).unwrap().unwrap();
        assert_eq!(f.len, OK.len());
        assert_eq!(f.body, None);
        assert!(OK[f.header.clone()].ends_with(b"kjhd37s2s20w2a;tcp\r\n"));
    }

    #[test]
    fn leaves_following_bytes_alone() {
        let mut two = SEND.to_vec();
        two.extend_from_slice(OK);
        let f = frame(&two, &lim()).unwrap().unwrap();
        assert_eq!(f.len, SEND.len());
        let f2 = frame(&two[f.len..], &lim()).unwrap().unwrap();
        assert_eq!(f2.len, OK.len());
    }

    /// Every split point, fed incrementally through one Framer and also
    /// one-shot: need-more before the end, the same frame at the end.
    fn all_splits(msg: &[u8]) {
        let whole = frame(msg, &lim()).unwrap().unwrap();
        for cut in 0..msg.len() {
            assert_eq!(
                frame(&msg[..cut], &lim()).unwrap(),
                None,
                "one-shot cut {cut}"
            );
            let mut fr = Framer::new();
            assert_eq!(fr.frame(&msg[..cut], &lim()).unwrap(), None, "cut {cut}");
            assert_eq!(
                fr.frame(msg, &lim()).unwrap(),
                Some(whole.clone()),
                "cut {cut}"
            );
        }
        // Byte by byte through one framer.
        let mut fr = Framer::new();
        for n in 0..msg.len() {
            assert_eq!(fr.frame(&msg[..n], &lim()).unwrap(), None, "n {n}");
        }
        assert_eq!(fr.frame(msg, &lim()).unwrap(), Some(whole));
    }

    #[test]
    fn every_split_point() {
        all_splits(SEND);
        all_splits(OK);
        all_splits(&send_with("tid1", b"", b'$'));
        all_splits(&send_with("tid1", b"\r\n-------tid1x\r\n-------tid1", b'+'));
        all_splits(&send_with(
            "abcd",
            b"-------abcdX\r\n\r\n-------abcd+x",
            b'#',
        ));
    }

    #[test]
    fn look_alike_end_lines_in_body() {
        let cases: &[&[u8]] = &[
            b"-------othertid$\r\n",
            b"x-------tid1$\r\n",              // not preceded by CRLF
            b"a\r\n-------tid1x\r\n",          // no flag
            b"a\r\n-------tid1$x\r\n",         // flag not followed by CRLF
            b"a\r\n-------tid1+\rX",           // CR without LF
            b"a\r\n-------tid12$\r\nrest",     // tid is a prefix of a longer id
            b"a\r\n-------tid1.more$\r\nrest", // ditto with an ident char
            b"a\r\n------tid1$\r\n",           // six dashes
            b"a\n-------tid1$\r\n",            // bare LF before
            b"\r\n\r\n\r\n",
            b"-------tid1",
        ];
        for body in cases {
            let msg = send_with("tid1", body, b'$');
            let f = frame(&msg, &lim()).unwrap().unwrap();
            assert_eq!(f.len, msg.len(), "{}", String::from_utf8_lossy(body));
            assert_eq!(body_of(&msg, &f), Some(*body));
            all_splits(&msg);
        }
    }

    #[test]
    fn binary_body() {
        let body: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
        let msg = send_with("bin9", &body, b'+');
        let f = frame(&msg, &lim()).unwrap().unwrap();
        assert_eq!(body_of(&msg, &f), Some(&body[..]));
        assert_eq!(f.flag, Flag::More);
    }

    #[test]
    fn flags() {
        for (b, fl) in [(b'+', Flag::More), (b'$', Flag::End), (b'#', Flag::Abort)] {
            let msg = send_with("t1", b"x", b);
            assert_eq!(frame(&msg, &lim()).unwrap().unwrap().flag, fl);
            assert_eq!(Flag::from_byte(fl.as_byte()), Some(fl));
        }
        assert_eq!(Flag::from_byte(b'x'), None);
    }

    #[test]
    fn end_line_right_after_empty_line_is_empty_body() {
        let msg = b"MSRP t1 SEND\r\nContent-Type: a/b\r\n\r\n-------t1$\r\n";
        let f = frame(msg, &lim()).unwrap().unwrap();
        assert_eq!(f.len, msg.len());
        assert_eq!(body_of(msg, &f), Some(&b""[..]));
        let msg = b"MSRP t1 SEND\r\nContent-Type: a/b\r\n\r\n\r\n-------t1$\r\n";
        let f = frame(msg, &lim()).unwrap().unwrap();
        assert_eq!(f.len, msg.len());
        assert_eq!(body_of(msg, &f), Some(&b""[..]));
    }

    /// A body that starts with its own end-line breaks RFC 4975 §7.1 (the
    /// sender must pick another tid); the end-line right after the empty
    /// line then ends the message with an empty body.
    #[test]
    fn body_starting_with_end_line_is_senders_fault() {
        let msg = send_with("abcd", b"-------abcd$\r\nrest", b'$');
        let f = frame(&msg, &lim()).unwrap().unwrap();
        assert_eq!(body_of(&msg, &f), Some(&b""[..]));
        assert!(f.len < msg.len());
    }

    #[test]
    fn minimal_messages() {
        let msg = b"MSRP abcd SEND\r\n-------abcd$\r\n";
        let f = frame(msg, &lim()).unwrap().unwrap();
        assert_eq!(f.len, msg.len());
        assert_eq!(f.header, 0..16);
        assert_eq!(f.body, None);
        all_splits(msg);
    }

    #[test]
    fn start_line_errors() {
        let e = |b: &[u8]| frame(b, &lim()).unwrap_err();
        assert_eq!(e(b"MSRQ"), FrameError::new(FrameErrorKind::BadStartLine, 3));
        assert_eq!(
            e(b"msrp x"),
            FrameError::new(FrameErrorKind::BadStartLine, 0)
        );
        assert_eq!(
            e(b"\r\nMSRP"),
            FrameError::new(FrameErrorKind::BadStartLine, 0)
        );
        assert_eq!(
            e(b"MSRP  SEND"),
            FrameError::new(FrameErrorKind::BadTransactionId, 5)
        );
        assert_eq!(e(b"MSRP ab/c SEND").kind, FrameErrorKind::BadTransactionId);
        assert_eq!(e(b"MSRP -abc SEND").kind, FrameErrorKind::BadTransactionId);
        let long = format!("MSRP {} SEND\r\n", "a".repeat(65));
        assert_eq!(
            e(long.as_bytes()),
            FrameError::new(FrameErrorKind::BadTransactionId, 5)
        );
        // 64 is fine.
        let ok = format!("MSRP {} SEND\r\n", "a".repeat(64));
        assert_eq!(frame(ok.as_bytes(), &lim()).unwrap(), None);
        assert_eq!(e(b"MSRP abc \r\n").kind, FrameErrorKind::BadStartLine);
        assert_eq!(
            e(b"MSRP abc SEND\n"),
            FrameError::new(FrameErrorKind::BareLineFeed, 13)
        );
        assert_eq!(frame(b"MSR", &lim()).unwrap(), None);
        assert_eq!(frame(b"", &lim()).unwrap(), None);
        assert_eq!(frame(b"MSRP abc", &lim()).unwrap(), None);
    }

    #[test]
    fn header_errors() {
        let e = |b: &[u8]| frame(b, &lim()).unwrap_err();
        assert_eq!(
            e(b"MSRP abc SEND\r\nTo-Path x\r\n"),
            FrameError::new(FrameErrorKind::BadHeaderLine, 15)
        );
        assert_eq!(
            e(b"MSRP abc SEND\r\nA: b\nc"),
            FrameError::new(FrameErrorKind::BareLineFeed, 19)
        );
        assert_eq!(
            e(b"MSRP abc SEND\r\n-------abd$\r\n"),
            FrameError::new(FrameErrorKind::BadHeaderLine, 24)
        );
        assert_eq!(
            e(b"MSRP abc SEND\r\n-------abc!"),
            FrameError::new(FrameErrorKind::BadHeaderLine, 25)
        );
        assert_eq!(
            e(b"MSRP abc SEND\r\n\rx"),
            FrameError::new(FrameErrorKind::BadHeaderLine, 15)
        );
        // RFC 4976 xght6 as printed, followed by the next message: the
        // next start line is not a header line.
        assert_eq!(
            e(b"MSRP xght6 200 OK\r\nMessage-ID: 1\r\nMSRP abcd SEND\r\n").kind,
            FrameErrorKind::BadHeaderLine
        );
    }

    #[test]
    fn header_cap() {
        let l = FrameLimits {
            max_header_bytes: 40,
            max_body_bytes: 100,
        };
        // Exactly 40 bytes of start line + headers, then the end-line: fits.
        let msg = b"MSRP abcd SEND\r\nXXXXXXXXXXXXXXX: 12345\r\n-------abcd$\r\n";
        assert_eq!(frame(msg, &l).unwrap().unwrap().header, 0..40);
        let msg = b"MSRP abcd SEND\r\nXXXXXXXXXXXXXXX: 123456\r\n-------abcd$\r\n";
        assert_eq!(
            frame(msg, &l).unwrap_err(),
            FrameError::new(FrameErrorKind::HeaderTooLarge, 40)
        );
        // Never-ending header line: error as soon as the cap is reached.
        let mut fr = Framer::new();
        let long = [b"MSRP abcd SEND\r\nA: ".as_slice(), &[b'x'; 100]].concat();
        assert_eq!(fr.frame(&long[..39], &l).unwrap(), None);
        assert_eq!(
            fr.frame(&long[..40], &l).unwrap_err().kind,
            FrameErrorKind::HeaderTooLarge
        );
    }

    #[test]
    fn body_cap() {
        let l = FrameLimits {
            max_header_bytes: 1000,
            max_body_bytes: 10,
        };
        let ok = send_with("abcd", b"0123456789", b'$');
        assert!(frame(&ok, &l).unwrap().is_some());
        all_splits(&ok);
        let big = send_with("abcd", b"0123456789A", b'$');
        assert_eq!(
            frame(&big, &l).unwrap_err().kind,
            FrameErrorKind::BodyTooLarge
        );
        // Streaming: the error comes once the cap is certainly exceeded,
        // without waiting for an end-line.
        let head = send_with("abcd", b"", b'$');
        let head = &head[..head.len() - 16]; // up to and including the empty line
        let mut s = head.to_vec();
        s.extend_from_slice(&[b'z'; 1000]);
        let mut fr = Framer::new();
        let mut err = None;
        for n in head.len()..=s.len() {
            match fr.frame(&s[..n], &l) {
                Ok(None) => {}
                Ok(Some(_)) => panic!("framed"),
                Err(e) => {
                    err = Some((n, e));
                    break;
                }
            }
        }
        let (n, e) = err.expect("body cap error");
        assert_eq!(e.kind, FrameErrorKind::BodyTooLarge);
        // The headers are there to answer 413 with.
        let hf = fr.header_frame().unwrap();
        let m = crate::proto::msrp::Message::parse_frame(&s, &hf).unwrap();
        let r = crate::proto::msrp::Message::response_for(&m, 413, None).unwrap();
        assert_eq!(r.tid, "abcd");
        assert_eq!(Framer::new().header_frame(), None);
        // Eleven body bytes without a CR: no body of at most 10 can end.
        assert_eq!(n, head.len() + 11);
    }

    #[test]
    fn framer_resets_after_frame_and_on_shorter_buffer() {
        let mut fr = Framer::new();
        assert_eq!(fr.frame(&SEND[..50], &lim()).unwrap(), None);
        // Caller restarts with a different, shorter buffer.
        assert_eq!(fr.frame(&OK[..10], &lim()).unwrap(), None);
        assert_eq!(fr.frame(OK, &lim()).unwrap().unwrap().len, OK.len());
        assert_eq!(fr.frame(SEND, &lim()).unwrap().unwrap().len, SEND.len());
    }

    #[test]
    fn no_end_line_waits() {
        let msg = b"MSRP xght6 200 OK\r\n\
To-Path: msrps://b.example.net:9000/aeiug;tcp\r\n\
From-Path: msrps://bob.example.net:8145/foo;tcp\r\n\
Message-ID: 87652\r\n";
        assert_eq!(frame(msg, &lim()).unwrap(), None);
        let l = FrameLimits {
            max_header_bytes: msg.len() + 20,
            max_body_bytes: 10,
        };
        let mut s = msg.to_vec();
        let mut fr = Framer::new();
        assert_eq!(fr.frame(&s, &l).unwrap(), None);
        s.extend_from_slice(b"X-Pad: 0123456789012345678\r\n");
        assert_eq!(
            fr.frame(&s, &l).unwrap_err().kind,
            FrameErrorKind::HeaderTooLarge
        );
    }

    #[test]
    fn linear_on_hostile_body() {
        // A body full of near-miss end-lines, fed in small steps: must
        // finish quickly (each call resumes where the last stopped).
        let mut body = Vec::new();
        while body.len() < 200_000 {
            body.extend_from_slice(b"\r\n-------abcd");
        }
        let msg = send_with("abcd", &body, b'$');
        let mut fr = Framer::new();
        let l = FrameLimits::UNLIMITED;
        let mut n = 0;
        let f = loop {
            n = (n + 7).min(msg.len());
            if let Some(f) = fr.frame(&msg[..n], &l).unwrap() {
                break f;
            }
        };
        assert_eq!(f.len, msg.len());
    }
}
