//! SIP requests and responses: parse, build, encode (RFC 3261 §7, §8.2.6,
//! §18.3; RFC 3428 MESSAGE).
//!
//! Owns: the start line (`Request-Line`, `Status-Line`, RFC 3261 §7.1,
//! §7.2), splitting the header block into [`Headers`] in one pass,
//! delimiting the body by Content-Length (datagram and stream rules of RFC
//! 3261 §18.3; [`parse_stream`] applies the framer's rules and caps in the
//! same pass), the builders msrpgw uses to create messages, and the
//! encoder.
//!
//! Must not: interpret header values beyond Content-Length (typed views
//! are lazy, in `typed`), decide how to answer a bad request (that is
//! `validate`), keep state between calls.
//!
//! Parsing is zero-copy: method, URI text, reason phrase, header values and
//! body borrow from the input; only a folded header value is copied (to
//! unfold it). What a parse costs: one UTF-8 check of the input, one pass
//! over the header block that classifies each name without allocating
//! (perfect hash, word-wide compare), one allocation for the header list,
//! plus the Request-URI parse.
//!
//! Encoding writes the full header name for compact forms (`v` → `Via`),
//! unknown names as written, one header per line (never folded), CRLF line
//! ends, and always exactly one `Content-Length` equal to the body length
//! (at the position of the first Content-Length in the list, else last).
//! Structural equality (`==`) ignores Content-Length headers and value
//! offsets, so `parse(encode(m)) == m` for every parsed message, and for
//! every built one whose text fields are valid on the wire.
//!
//! Strictness: the Request-Line must be exactly `Method SP Request-URI SP
//! SIP-Version` (RFC 4475 §3.1.2.9 `lwsstart` and §3.1.2.10 `trws` are
//! rejected with 400, which RFC 4475 allows); line ends must be CRLF.

use std::borrow::Cow;
use std::fmt;

use super::error::{SipError, SipErrorKind};
use super::framer::{
    Frame, FrameError, FrameErrorKind, FrameKind, FrameLimits, KeepAlive, frame, keep_alive,
};
use super::header::{CONTENT_LENGTH, Header, HeaderName, Headers, classify_in, clean_value};
use super::scan::{Step, name_error, next_header};
use super::typed::parse_name_addr;
use super::uri::Uri;
use crate::proto::lex::{
    find_byte, find_eol, is_token, is_token_str, parse_decimal, trim_lws, unfold,
};

/// Request method (RFC 3261 §7.1; MESSAGE from RFC 3428). Methods are
/// case-sensitive: `invite` is an extension method, not INVITE.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method<'a> {
    Invite,
    Ack,
    Bye,
    Cancel,
    Options,
    Register,
    Message,
    Info,
    Prack,
    Update,
    Subscribe,
    Notify,
    Refer,
    Publish,
    /// Any other token (RFC 3261 `extension-method`), as written.
    Other(Cow<'a, str>),
}

impl<'a> Method<'a> {
    pub fn parse(s: &'a str) -> Method<'a> {
        match s {
            "INVITE" => Method::Invite,
            "ACK" => Method::Ack,
            "BYE" => Method::Bye,
            "CANCEL" => Method::Cancel,
            "OPTIONS" => Method::Options,
            "REGISTER" => Method::Register,
            "MESSAGE" => Method::Message,
            "INFO" => Method::Info,
            "PRACK" => Method::Prack,
            "UPDATE" => Method::Update,
            "SUBSCRIBE" => Method::Subscribe,
            "NOTIFY" => Method::Notify,
            "REFER" => Method::Refer,
            "PUBLISH" => Method::Publish,
            _ => Method::Other(Cow::Borrowed(s)),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Method::Invite => "INVITE",
            Method::Ack => "ACK",
            Method::Bye => "BYE",
            Method::Cancel => "CANCEL",
            Method::Options => "OPTIONS",
            Method::Register => "REGISTER",
            Method::Message => "MESSAGE",
            Method::Info => "INFO",
            Method::Prack => "PRACK",
            Method::Update => "UPDATE",
            Method::Subscribe => "SUBSCRIBE",
            Method::Notify => "NOTIFY",
            Method::Refer => "REFER",
            Method::Publish => "PUBLISH",
            Method::Other(s) => s,
        }
    }

    /// One of the standard methods above (an `Other` method is one no SIP
    /// element of ours implements: an endpoint answers it 501).
    pub fn is_known(&self) -> bool {
        !matches!(self, Method::Other(_))
    }

    pub fn into_owned(self) -> Method<'static> {
        match self {
            Method::Other(s) => Method::Other(Cow::Owned(s.into_owned())),
            Method::Invite => Method::Invite,
            Method::Ack => Method::Ack,
            Method::Bye => Method::Bye,
            Method::Cancel => Method::Cancel,
            Method::Options => Method::Options,
            Method::Register => Method::Register,
            Method::Message => Method::Message,
            Method::Info => Method::Info,
            Method::Prack => Method::Prack,
            Method::Update => Method::Update,
            Method::Subscribe => Method::Subscribe,
            Method::Notify => Method::Notify,
            Method::Refer => Method::Refer,
            Method::Publish => Method::Publish,
        }
    }
}

impl fmt::Display for Method<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT` (RFC 3261 §7.1). Parsed
/// for any numbers so that `validate` can answer 505 to other versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Version {
    pub major: u16,
    pub minor: u16,
}

impl Version {
    pub const SIP_2_0: Version = Version { major: 2, minor: 0 };

    /// RFC 3261 §7.1 `SIP-Version`; "SIP" is case-insensitive (RFC 5234
    /// literal). Numbers beyond four digits are refused.
    pub fn parse(b: &[u8]) -> Option<Version> {
        if b == b"SIP/2.0" {
            return Some(Version::SIP_2_0);
        }
        let rest = match b {
            [s, i, p, b'/', rest @ ..] if [*s, *i, *p].eq_ignore_ascii_case(b"SIP") => rest,
            _ => return None,
        };
        let dot = rest.iter().position(|&c| c == b'.')?;
        let num = |d: &[u8]| -> Option<u16> {
            if d.is_empty() || d.len() > 4 || !d.iter().all(u8::is_ascii_digit) {
                return None;
            }
            Some(d.iter().fold(0u16, |n, &c| n * 10 + u16::from(c - b'0')))
        };
        Some(Version {
            major: num(&rest[..dot])?,
            minor: num(&rest[dot + 1..])?,
        })
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIP/{}.{}", self.major, self.minor)
    }
}

/// A SIP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipRequest<'a> {
    pub method: Method<'a>,
    pub uri: Uri<'a>,
    pub version: Version,
    pub headers: Headers<'a>,
    pub body: Cow<'a, [u8]>,
}

/// A SIP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipResponse<'a> {
    pub version: Version,
    /// 100..=699 when parsed.
    pub status: u16,
    /// As written: may be empty (RFC 4475 `noreason`) or UTF-8
    /// (`unreason`); escapes are not decoded.
    pub reason: Cow<'a, str>,
    pub headers: Headers<'a>,
    pub body: Cow<'a, [u8]>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SipMessage<'a> {
    Request(SipRequest<'a>),
    Response(SipResponse<'a>),
}

/// Parses one UDP datagram (RFC 3261 §18.3): Content-Length may be absent
/// (the body is the rest of the datagram); when present and smaller,
/// trailing octets are ignored (RFC 4475 §3.1.1.8 `dblreq`); when larger,
/// [`SipErrorKind::ContentLengthExceedsBody`] (400, RFC 4475 §3.1.2.2
/// `clerr`). Leading CRLFs are skipped (RFC 3261 §7.5).
pub fn parse_datagram(bytes: &[u8]) -> Result<SipMessage<'_>, SipError> {
    sip_only(parse(bytes, BodyRule::Datagram))
}

/// The result of a parse that cannot need more input or lose framing.
fn sip_only(r: Result<(SipMessage<'_>, usize), Fail>) -> Result<SipMessage<'_>, SipError> {
    match r {
        Ok((m, _)) => Ok(m),
        Err(Fail::Sip(e)) => Err(e),
        // Not produced outside stream rules; kept total all the same.
        Err(Fail::NeedMore | Fail::Frame(_)) => Err(SipError::new(SipErrorKind::Unterminated, 0)),
    }
}

/// One unit from the front of a stream buffer (see [`parse_stream`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamUnit<'a> {
    /// What the unit is and how many octets to drop for it.
    pub frame: Frame,
    /// The message; `None` for a keep-alive.
    pub message: Option<SipMessage<'a>>,
}

/// Why [`parse_stream`] produced no unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamError {
    /// Framing is lost or a cap was exceeded: close the connection (after,
    /// at best, answering [`FrameError::status_code`]).
    Frame(FrameError),
    /// The first `consumed` octets are one well-framed message that does
    /// not parse: answer it (a request) with `error.status_code()` and
    /// `error.reason()` where possible, drop the octets, and go on.
    Message { consumed: usize, error: SipError },
}

/// The stream entry point in one pass (RFC 3261 §18.3): frame and parse the
/// unit at the front of `buf`. `Ok(None)`: more bytes are needed. The same
/// rules as [`frame`] followed by [`SipMessage::parse`] of the framed bytes
/// (and the same results), but the header block is scanned once; only a
/// malformed message falls back to [`frame`] to find where it ends.
pub fn parse_stream<'a>(
    buf: &'a [u8],
    limits: &FrameLimits,
) -> Result<Option<StreamUnit<'a>>, StreamError> {
    match keep_alive(buf) {
        KeepAlive::NeedMore => return Ok(None),
        KeepAlive::Unit(frame) => {
            return Ok(Some(StreamUnit {
                frame,
                message: None,
            }));
        }
        KeepAlive::No => {}
    }
    match parse(buf, BodyRule::Stream(*limits)) {
        Ok((message, consumed)) => {
            let body_len = message.body().len();
            Ok(Some(StreamUnit {
                frame: Frame {
                    consumed,
                    kind: FrameKind::Message {
                        head_len: consumed - body_len,
                        body_len,
                    },
                },
                message: Some(message),
            }))
        }
        Err(Fail::NeedMore) => Ok(None),
        Err(Fail::Frame(e)) => Err(StreamError::Frame(e)),
        Err(Fail::Sip(error)) => match frame(buf, limits) {
            Ok(Some(f)) => Err(StreamError::Message {
                consumed: f.consumed,
                error,
            }),
            Ok(None) => Ok(None),
            Err(e) => Err(StreamError::Frame(e)),
        },
    }
}

/// True when `bytes` (after CRLFs) starts like a Status-Line. A response
/// that fails to parse or validate is discarded, never answered (RFC 3261
/// §18.1.2; RFC 4475 `bigcode`, `scalarlg`).
pub fn is_response_start(bytes: &[u8]) -> bool {
    let mut i = 0;
    while bytes.get(i..i + 2) == Some(b"\r\n") {
        i += 2;
    }
    bytes
        .get(i..i + 4)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"SIP/"))
}

/// How the body is delimited.
#[derive(Clone, Copy, PartialEq, Eq)]
enum BodyRule {
    /// RFC 3261 §18.3 datagram: Content-Length if present, else the rest.
    Datagram,
    /// Whatever follows the empty line.
    Rest,
    /// RFC 3261 §18.3 stream: exactly Content-Length octets, which must be
    /// present; the header block and body within the caps.
    Stream(FrameLimits),
}

/// Why a parse did not produce a message.
enum Fail {
    /// The message is malformed.
    Sip(SipError),
    /// Stream only: the message is not complete yet.
    NeedMore,
    /// Stream only: the framing is lost or a cap is exceeded.
    Frame(FrameError),
}

impl From<SipError> for Fail {
    fn from(e: SipError) -> Self {
        Fail::Sip(e)
    }
}

/// Why the UTF-8 text of the input is shorter than the input.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cut {
    /// It is not: the text is all of the input.
    None,
    /// An invalid UTF-8 sequence (maybe in a binary body).
    Invalid,
    /// The stream's header cap.
    Cap,
}

/// One message from the start of `bytes`: the message and how many octets
/// it took.
fn parse(bytes: &[u8], rule: BodyRule) -> Result<(SipMessage<'_>, usize), Fail> {
    // One UTF-8 check for the whole message instead of one per value: for
    // the short values of SIP, per-call overhead dominates. A body that is
    // not UTF-8 (binary) ends the text early; the header block must fit in
    // the valid prefix. On a stream, only the capped header window is
    // checked, so a long body is never validated (or re-validated on
    // every read).
    let window = match rule {
        BodyRule::Stream(l) => &bytes[..bytes.len().min(l.max_header_bytes)],
        _ => bytes,
    };
    let capped = matches!(rule, BodyRule::Stream(l) if bytes.len() >= l.max_header_bytes);
    let (text, cut) = match std::str::from_utf8(window) {
        Ok(t) if capped => (t, Cut::Cap),
        Ok(t) => (t, Cut::None),
        Err(e) => match std::str::from_utf8(&window[..e.valid_up_to()]) {
            Ok(t) => (t, Cut::Invalid),
            Err(_) => return Err(Fail::Sip(SipError::new(SipErrorKind::NotUtf8, 0))),
        },
    };
    parse_text(bytes, text, rule).map_err(|f| match f {
        // Running out of text is not always running out of input.
        // (Unterminated always means the scanner ran out of text.)
        Fail::Sip(e) if e.kind == SipErrorKind::Unterminated => match (cut, rule) {
            (Cut::Invalid, _) => Fail::Sip(SipError::new(SipErrorKind::NotUtf8, text.len())),
            (Cut::Cap, _) => {
                Fail::Frame(FrameError::new(FrameErrorKind::HeaderTooLarge, text.len()))
            }
            (Cut::None, BodyRule::Stream(_)) => Fail::NeedMore,
            (Cut::None, _) => Fail::Sip(e),
        },
        f => f,
    })
}

fn parse_text<'a>(
    bytes: &'a [u8],
    text: &'a str,
    rule: BodyRule,
) -> Result<(SipMessage<'a>, usize), Fail> {
    let b = text.as_bytes();
    let mut pos = 0;
    while b.get(pos..pos + 2) == Some(b"\r\n") {
        pos += 2;
    }
    if pos == bytes.len() {
        return Err(SipError::new(SipErrorKind::Empty, pos).into());
    }
    let Some(eol) = find_eol(b, pos) else {
        return Err(SipError::new(SipErrorKind::Unterminated, b.len()).into());
    };
    match (b[eol], b.get(eol + 1)) {
        (b'\r', Some(b'\n')) => {}
        (b'\r', None) => return Err(SipError::new(SipErrorKind::Unterminated, eol).into()),
        _ => return Err(SipError::new(SipErrorKind::BadLineEnding, eol).into()),
    }
    let rest = Rest {
        bytes,
        text,
        start: eol + 2,
        rule,
    };
    // Each arm builds the final struct in place: the Uri is large, and
    // moving it through intermediate enums costs memcpy calls.
    if is_response_start(&b[pos..]) {
        let (version, status, reason) = parse_status_line(text, pos, eol)?;
        let (headers, body, used) = rest.parse()?;
        let resp = SipResponse {
            version,
            status,
            reason,
            headers,
            body,
        };
        Ok((SipMessage::Response(resp), used))
    } else {
        let (method, uri_text, uri_at, version) = split_request_line(text, pos, eol)?;
        // The headers are split before the Request-URI is parsed, so the
        // (large) Uri goes straight into the message instead of being
        // moved past that call. A bad Request-URI is still the error
        // reported, whatever the headers hold: both are pure functions.
        let rest = rest.parse();
        match Uri::parse(uri_text) {
            Ok(uri) => {
                let (headers, body, used) = rest?;
                let req = SipRequest {
                    method: Method::parse(method),
                    uri,
                    version,
                    headers,
                    body,
                };
                Ok((SipMessage::Request(req), used))
            }
            Err(e) => {
                let at = uri_at + e.offset;
                Err(SipError::new(SipErrorKind::BadRequestUri, at).into())
            }
        }
    }
}

/// What follows the start line: header block and body.
struct Rest<'a> {
    bytes: &'a [u8],
    /// `bytes`, or a prefix of it that is valid UTF-8.
    text: &'a str,
    start: usize,
    rule: BodyRule,
}

impl<'a> Rest<'a> {
    /// RFC 3261 §7.3 header fields up to the empty line, then the body per
    /// `rule` (§18.3). Also returns the octets used.
    fn parse(&self) -> Result<(Headers<'a>, Cow<'a, [u8]>, usize), Fail> {
        let (text, bytes) = (self.text, self.bytes);
        let b = text.as_bytes();
        let mut headers = Headers::with_capacity((text.len() / 32).clamp(8, 48));
        let mut pos = self.start;
        // The first Content-Length value and its offset, and how many.
        let mut content_length: Option<(&'a str, usize)> = None;
        let mut cl_count = 0u32;
        // Where the first repeated Content-Length header starts: the
        // offset reported for MultipleContentLength (the framer agrees).
        let mut cl_repeat_at = 0usize;
        let body_start = loop {
            let h = match next_header(b, pos)? {
                Step::Header(h) => h,
                Step::End(end) => break end,
            };
            // Every range ends next to an ASCII byte of valid UTF-8, so
            // these are char boundaries; `get` keeps that unproven claim
            // from ever becoming a panic. A known name is classified from
            // the bytes and needs no text of its own.
            let not_utf8 = || SipError::new(SipErrorKind::NotUtf8, h.name_start);
            let known = classify_in(b, h.name_start, h.name_end);
            let name = match known {
                Some(_) => "",
                None => {
                    let name = text.get(h.name_start..h.name_end).ok_or_else(not_utf8)?;
                    if !is_token_str(name) {
                        return Err(name_error(b, h.name_start).into());
                    }
                    name
                }
            };
            let raw = text.get(h.value_start..h.value_end).ok_or_else(not_utf8)?;
            let value = if h.folded {
                match unfold(raw) {
                    Cow::Borrowed(t) => Cow::Borrowed(trim_lws(t)),
                    Cow::Owned(t) => Cow::Owned(trim_lws(&t).to_owned()),
                }
            } else {
                Cow::Borrowed(raw)
            };
            if known == Some(CONTENT_LENGTH) {
                cl_count += 1;
                if cl_count == 1 {
                    // A folded value is copied; digits never need the fold.
                    // Errors point at the first octet of the value itself,
                    // past any fold, as the framer's do.
                    let lead = raw.len() - raw.trim_start_matches([' ', '\t', '\r', '\n']).len();
                    content_length = Some((trim_lws(raw), h.value_start + lead));
                } else if cl_count == 2 {
                    cl_repeat_at = h.name_start;
                }
            }
            match value {
                Cow::Borrowed(v) => headers.push_borrowed(known, name, v, h.value_start),
                value => headers.push_raw(Header {
                    name: match known {
                        Some(i) => HeaderName::from_index(i),
                        None => HeaderName::Other(Cow::Borrowed(name)),
                    },
                    value,
                    offset: h.value_start,
                }),
            }
            pos = h.next;
        };

        let rest = bytes.get(body_start..).unwrap_or_default();
        let n = match (self.rule, content_length) {
            (BodyRule::Rest, _) | (BodyRule::Datagram, None) => rest.len(),
            (BodyRule::Datagram, Some((v, at))) => {
                if cl_count > 1 {
                    let e = SipError::new(SipErrorKind::MultipleContentLength, cl_repeat_at);
                    return Err(e.into());
                }
                let n = content_length_value(v, at)?;
                if n > rest.len() {
                    let e = SipError::new(SipErrorKind::ContentLengthExceedsBody, at);
                    return Err(e.into());
                }
                n
            }
            (BodyRule::Stream(_), None) => {
                let e = FrameError::new(FrameErrorKind::MissingContentLength, body_start);
                return Err(Fail::Frame(e));
            }
            (BodyRule::Stream(limits), Some((v, at))) => {
                let kind = if cl_count > 1 {
                    Some(FrameErrorKind::MultipleContentLength)
                } else if v.is_empty() || !v.bytes().all(|c| c.is_ascii_digit()) {
                    Some(FrameErrorKind::BadContentLength)
                } else {
                    None
                };
                if let Some(k) = kind {
                    let at = if cl_count > 1 { cl_repeat_at } else { at };
                    return Err(Fail::Frame(FrameError::new(k, at)));
                }
                match parse_decimal(v, limits.max_body_bytes as u64) {
                    Some(n) if n as usize <= rest.len() => n as usize,
                    Some(_) => return Err(Fail::NeedMore),
                    None => {
                        let e = FrameError::new(FrameErrorKind::BodyTooLarge, at);
                        return Err(Fail::Frame(e));
                    }
                }
            }
        };
        let body = rest.get(..n).unwrap_or_default();
        Ok((headers, Cow::Borrowed(body), body_start + n))
    }
}

/// RFC 3261 §20.14 `1*DIGIT`; a number too large for any datagram is
/// reported as exceeding the body.
fn content_length_value(v: &str, at: usize) -> Result<usize, SipError> {
    if v.is_empty() || !v.bytes().all(|c| c.is_ascii_digit()) {
        return Err(SipError::new(SipErrorKind::BadContentLength, at));
    }
    parse_decimal(v, u64::from(u32::MAX))
        .and_then(|n| usize::try_from(n).ok())
        .ok_or(SipError::new(SipErrorKind::ContentLengthExceedsBody, at))
}

/// RFC 3261 §7.1 `Request-Line = Method SP Request-URI SP SIP-Version
/// CRLF`, exactly one SP between elements: the method, the Request-URI
/// text and its offset, and the version.
fn split_request_line(
    text: &str,
    start: usize,
    end: usize,
) -> Result<(&str, &str, usize, Version), SipError> {
    let line = &text.as_bytes()[start..end];
    let bad = |at| SipError::new(SipErrorKind::BadRequestLine, at);
    let sp1 = find_byte(line, b' ').ok_or(bad(end))?;
    if sp1 == 0 {
        return Err(bad(start));
    }
    if let Some(i) = line[..sp1].iter().position(|&c| !is_token(c)) {
        return Err(SipError::new(SipErrorKind::BadMethod, start + i));
    }
    let uri_start = sp1 + 1;
    let sp2 = find_byte(&line[uri_start..], b' ')
        .map(|i| uri_start + i)
        .ok_or(bad(end))?;
    if sp2 == uri_start {
        return Err(bad(start + uri_start));
    }
    let version = Version::parse(&line[sp2 + 1..]).ok_or(bad(start + sp2 + 1))?;
    // All three ends are at ASCII SPs, hence char boundaries.
    Ok((
        &text[start..start + sp1],
        &text[start + uri_start..start + sp2],
        start + uri_start,
        version,
    ))
}

/// RFC 3261 §7.2 `Status-Line = SIP-Version SP Status-Code SP
/// Reason-Phrase CRLF`, `Status-Code = 3DIGIT` (we require 100..=699).
/// A missing SP before an empty reason phrase is tolerated.
fn parse_status_line(
    text: &str,
    start: usize,
    end: usize,
) -> Result<(Version, u16, Cow<'_, str>), SipError> {
    let line = &text.as_bytes()[start..end];
    let bad = |at| SipError::new(SipErrorKind::BadStatusLine, at);
    let sp1 = line.iter().position(|&c| c == b' ').ok_or(bad(end))?;
    let version = Version::parse(&line[..sp1]).ok_or(bad(start))?;
    let code_at = sp1 + 1;
    let status = match line.get(code_at..code_at + 3) {
        Some(d) if d.iter().all(u8::is_ascii_digit) => {
            u16::from(d[0] - b'0') * 100 + u16::from(d[1] - b'0') * 10 + u16::from(d[2] - b'0')
        }
        _ => return Err(SipError::new(SipErrorKind::BadStatusCode, start + code_at)),
    };
    if !(100..=699).contains(&status) {
        return Err(SipError::new(SipErrorKind::BadStatusCode, start + code_at));
    }
    let after = code_at + 3;
    let reason = match line.get(after) {
        None => "",
        Some(b' ') => &text[start + after + 1..end],
        Some(_) => return Err(SipError::new(SipErrorKind::BadStatusCode, start + code_at)),
    };
    Ok((version, status, Cow::Borrowed(reason)))
}

impl<'a> SipMessage<'a> {
    /// Parses a complete message: a UDP datagram, or the bytes of one
    /// [`super::framer::frame`] (which have exactly Content-Length body
    /// octets, so the datagram rules give the same result).
    pub fn parse(bytes: &'a [u8]) -> Result<SipMessage<'a>, SipError> {
        sip_only(parse(bytes, BodyRule::Datagram))
    }

    /// Parses the start line and headers only; the body is whatever follows
    /// the empty line, Content-Length notwithstanding. For answering a
    /// message whose body framing failed (RFC 4475 `clerr` over UDP: 400
    /// needs the Via, From, To, Call-ID and CSeq).
    pub fn parse_head(bytes: &'a [u8]) -> Result<SipMessage<'a>, SipError> {
        sip_only(parse(bytes, BodyRule::Rest))
    }

    pub fn headers(&self) -> &Headers<'a> {
        match self {
            SipMessage::Request(r) => &r.headers,
            SipMessage::Response(r) => &r.headers,
        }
    }

    pub fn headers_mut(&mut self) -> &mut Headers<'a> {
        match self {
            SipMessage::Request(r) => &mut r.headers,
            SipMessage::Response(r) => &mut r.headers,
        }
    }

    pub fn body(&self) -> &[u8] {
        match self {
            SipMessage::Request(r) => &r.body,
            SipMessage::Response(r) => &r.body,
        }
    }

    pub fn version(&self) -> Version {
        match self {
            SipMessage::Request(r) => r.version,
            SipMessage::Response(r) => r.version,
        }
    }

    pub fn as_request(&self) -> Option<&SipRequest<'a>> {
        match self {
            SipMessage::Request(r) => Some(r),
            SipMessage::Response(_) => None,
        }
    }

    pub fn as_response(&self) -> Option<&SipResponse<'a>> {
        match self {
            SipMessage::Response(r) => Some(r),
            SipMessage::Request(_) => None,
        }
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            SipMessage::Request(r) => r.encode(out),
            SipMessage::Response(r) => r.encode(out),
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    pub fn into_owned(self) -> SipMessage<'static> {
        match self {
            SipMessage::Request(r) => SipMessage::Request(r.into_owned()),
            SipMessage::Response(r) => SipMessage::Response(r.into_owned()),
        }
    }
}

impl<'a> SipRequest<'a> {
    /// An empty `SIP/2.0` request: add headers with [`Self::push_header`],
    /// a body with [`Self::set_body`].
    pub fn new(method: Method<'a>, uri: Uri<'a>) -> SipRequest<'a> {
        SipRequest {
            method,
            uri,
            version: Version::SIP_2_0,
            headers: Headers::with_capacity(12),
            body: Cow::Borrowed(&[]),
        }
    }

    /// Appends a header (value made single-line, see [`Headers::push`]).
    pub fn push_header(
        &mut self,
        name: HeaderName<'a>,
        value: impl Into<Cow<'a, str>>,
    ) -> &mut Self {
        self.headers.push(name, value);
        self
    }

    /// Sets the body with its Content-Type, and Content-Length to match.
    pub fn set_body(
        &mut self,
        content_type: impl Into<Cow<'a, str>>,
        body: impl Into<Cow<'a, [u8]>>,
    ) -> &mut Self {
        set_body(
            &mut self.headers,
            &mut self.body,
            content_type.into(),
            body.into(),
        );
        self
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(256 + self.body.len());
        write_token(out, self.method.as_str());
        out.push(b' ');
        write_uri(out, &self.uri);
        out.push(b' ');
        write_version(out, self.version);
        out.extend_from_slice(b"\r\n");
        encode_rest(&self.headers, &self.body, out);
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    pub fn into_owned(self) -> SipRequest<'static> {
        SipRequest {
            method: self.method.into_owned(),
            uri: self.uri.into_owned(),
            version: self.version,
            headers: self.headers.into_owned(),
            body: Cow::Owned(self.body.into_owned()),
        }
    }
}

impl<'a> SipResponse<'a> {
    /// An empty `SIP/2.0` response. A status outside 100..=699 is encoded
    /// as 500 (the encoder never writes an invalid Status-Line).
    pub fn new(status: u16, reason: impl Into<Cow<'a, str>>) -> SipResponse<'a> {
        SipResponse {
            version: Version::SIP_2_0,
            status,
            reason: reason.into(),
            headers: Headers::with_capacity(10),
            body: Cow::Borrowed(&[]),
        }
    }

    /// A response to `req` per RFC 3261 §8.2.6.2: every Via (in order),
    /// From, To, Call-ID and CSeq copied, plus Timestamp for a 100
    /// (§8.2.6.1). Add the To tag with [`Self::set_to_tag`] (required for
    /// a final response when the request's To had none). Record-Route and
    /// Contact for a dialog-creating 2xx (§12.1.1) are the caller's to add.
    pub fn for_request(
        req: &SipRequest<'a>,
        status: u16,
        reason: impl Into<Cow<'a, str>>,
    ) -> SipResponse<'a> {
        let mut resp = SipResponse::new(status, reason);
        for h in &req.headers {
            let copy = matches!(
                h.name,
                HeaderName::Via
                    | HeaderName::From
                    | HeaderName::To
                    | HeaderName::CallId
                    | HeaderName::CSeq
            ) || (status == 100 && h.name == HeaderName::Timestamp);
            if copy {
                resp.headers.push_raw(Header {
                    name: h.name.clone(),
                    value: h.value.clone(),
                    offset: 0,
                });
            }
        }
        resp
    }

    /// Adds `;tag=<tag>` to the To header unless it already has a tag (or
    /// there is no To, or `tag` is not a token). Returns whether it did.
    pub fn set_to_tag(&mut self, tag: &str) -> bool {
        if !is_token_str(tag) {
            return false;
        }
        let Some(i) = self.headers.iter().position(|h| h.name == HeaderName::To) else {
            return false;
        };
        let current = &self.headers.as_slice()[i].value;
        if parse_name_addr(current).is_ok_and(|a| a.tag().is_some()) {
            return false;
        }
        let value = format!("{current};tag={tag}");
        self.headers.set(HeaderName::To, value);
        true
    }

    pub fn push_header(
        &mut self,
        name: HeaderName<'a>,
        value: impl Into<Cow<'a, str>>,
    ) -> &mut Self {
        self.headers.push(name, value);
        self
    }

    /// Sets the body with its Content-Type, and Content-Length to match.
    pub fn set_body(
        &mut self,
        content_type: impl Into<Cow<'a, str>>,
        body: impl Into<Cow<'a, [u8]>>,
    ) -> &mut Self {
        set_body(
            &mut self.headers,
            &mut self.body,
            content_type.into(),
            body.into(),
        );
        self
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(256 + self.body.len());
        write_version(out, self.version);
        out.push(b' ');
        let status = if (100..=699).contains(&self.status) {
            self.status
        } else {
            500
        };
        push_decimal(out, u64::from(status));
        out.push(b' ');
        // Reason-Phrase allows anything but CR and LF; keep it otherwise
        // as is (trailing spaces included) so the round trip is exact.
        for c in self.reason.bytes() {
            out.push(if c == b'\r' || c == b'\n' { b' ' } else { c });
        }
        out.extend_from_slice(b"\r\n");
        encode_rest(&self.headers, &self.body, out);
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    pub fn into_owned(self) -> SipResponse<'static> {
        SipResponse {
            version: self.version,
            status: self.status,
            reason: Cow::Owned(self.reason.into_owned()),
            headers: self.headers.into_owned(),
            body: Cow::Owned(self.body.into_owned()),
        }
    }
}

fn set_body<'a>(
    headers: &mut Headers<'a>,
    body: &mut Cow<'a, [u8]>,
    content_type: Cow<'a, str>,
    new_body: Cow<'a, [u8]>,
) {
    headers.set(HeaderName::ContentType, content_type);
    headers.set(HeaderName::ContentLength, new_body.len().to_string());
    *body = new_body;
}

fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

fn write_version(out: &mut Vec<u8>, v: Version) {
    out.extend_from_slice(b"SIP/");
    push_decimal(out, u64::from(v.major));
    out.push(b'.');
    push_decimal(out, u64::from(v.minor));
}

/// A method or header name that must be a token: non-token bytes become
/// `-` (only reachable by building one from invalid text).
fn write_token(out: &mut Vec<u8>, s: &str) {
    if s.is_empty() {
        out.push(b'-');
        return;
    }
    out.extend(s.bytes().map(|c| if is_token(c) { c } else { b'-' }));
}

/// The Request-URI can never contain whitespace or control characters on
/// the wire; escape any a built URI carries.
fn write_uri(out: &mut Vec<u8>, uri: &Uri<'_>) {
    let text = uri.to_string();
    for c in text.bytes() {
        if c <= b' ' || c == 0x7f {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.extend_from_slice(&[b'%', HEX[usize::from(c >> 4)], HEX[usize::from(c & 15)]]);
        } else {
            out.push(c);
        }
    }
}

fn encode_rest(headers: &Headers<'_>, body: &[u8], out: &mut Vec<u8>) {
    let mut wrote_length = false;
    for h in headers {
        if h.name == HeaderName::ContentLength {
            if !wrote_length {
                write_content_length(out, body.len());
                wrote_length = true;
            }
            continue;
        }
        if !h.name.is_valid() {
            // An invalid name cannot be written; built headers only.
            continue;
        }
        out.extend_from_slice(h.name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(clean_value(Cow::Borrowed(&*h.value)).as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !wrote_length {
        write_content_length(out, body.len());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
}

fn write_content_length(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(b"Content-Length: ");
    push_decimal(out, n as u64);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::sip::framer::{FrameLimits, frame};
    use crate::proto::sip::message::{StreamError, StreamUnit, parse_stream};

    const F1: &[u8] = b"MESSAGE sip:user2@domain.com SIP/2.0\r\n\
Via: SIP/2.0/TCP user1pc.domain.com;branch=z9hG4bK776sgdkse\r\n\
Max-Forwards: 70\r\n\
From: sip:user1@domain.com;tag=49583\r\n\
To: sip:user2@domain.com\r\n\
Call-ID: asd88asd77a@1.2.3.4\r\n\
CSeq: 1 MESSAGE\r\n\
Content-Type: text/plain\r\n\
Content-Length: 18\r\n\
\r\n\
Watson, come here.";

    fn req(b: &[u8]) -> SipRequest<'_> {
        match parse_datagram(b).unwrap() {
            SipMessage::Request(r) => r,
            SipMessage::Response(_) => panic!("not a request"),
        }
    }

    fn resp(b: &[u8]) -> SipResponse<'_> {
        match parse_datagram(b).unwrap() {
            SipMessage::Response(r) => r,
            SipMessage::Request(_) => panic!("not a response"),
        }
    }

    fn err(b: &[u8]) -> (SipErrorKind, usize) {
        let e = parse_datagram(b).unwrap_err();
        (e.kind, e.offset)
    }

    #[test]
    fn request_known_answer() {
        let r = req(F1);
        assert_eq!(r.method, Method::Message);
        assert_eq!(r.uri.host, "domain.com");
        assert_eq!(r.uri.user.as_deref(), Some("user2"));
        assert_eq!(r.version, Version::SIP_2_0);
        assert_eq!(r.headers.len(), 8);
        assert_eq!(
            r.headers.get(&HeaderName::CallId),
            Some("asd88asd77a@1.2.3.4")
        );
        assert_eq!(r.headers.call_id().unwrap(), "asd88asd77a@1.2.3.4");
        assert_eq!(r.headers.first(&HeaderName::CallId).unwrap().offset, 190);
        assert_eq!(r.headers.cseq().unwrap().seq, 1);
        assert_eq!(r.headers.content_length().unwrap(), Some(18));
        assert_eq!(&*r.body, b"Watson, come here.");
        assert!(matches!(r.headers.get(&HeaderName::Via), Some(v) if v.ends_with("gdkse")));
        // Zero-copy: values and body point into the input.
        assert!(matches!(r.headers.as_slice()[0].value, Cow::Borrowed(_)));
        assert!(matches!(r.body, Cow::Borrowed(_)));
    }

    #[test]
    fn response_known_answers() {
        let r = resp(b"SIP/2.0 180 Ringing\r\nl: 0\r\n\r\n");
        assert_eq!((r.status, &*r.reason), (180, "Ringing"));
        let r = resp(b"SIP/2.0 100 \r\n\r\n");
        assert_eq!((r.status, &*r.reason), (100, ""));
        let r = resp(b"SIP/2.0 100\r\n\r\n");
        assert_eq!((r.status, &*r.reason), (100, ""));
        let r = resp("SIP/2.0 200 = 2**3 * 5**2 но\r\n\r\n".as_bytes());
        assert_eq!(&*r.reason, "= 2**3 * 5**2 но");
        let r = resp(b"sip/2.0 699 x  \r\n\r\n");
        assert_eq!((r.status, &*r.reason), (699, "x  "));
        assert_eq!(r.version, Version::SIP_2_0);
    }

    #[test]
    fn start_line_errors() {
        use SipErrorKind::*;
        assert_eq!(err(b""), (Empty, 0));
        assert_eq!(err(b"\r\n\r\n"), (Empty, 4));
        assert_eq!(err(b"INVITE sip:a@b SIP/2.0"), (Unterminated, 22));
        assert_eq!(err(b"INVITE sip:a@b SIP/2.0\n\r\n"), (BadLineEnding, 22));
        assert_eq!(err(b"INVITE sip:a@b SIP/2.0\r"), (Unterminated, 22));
        assert_eq!(err(b"INVITE sip:a@b\r\n\r\n"), (BadRequestLine, 14));
        assert_eq!(err(b"INVITE  sip:a@b SIP/2.0\r\n\r\n"), (BadRequestLine, 7));
        assert_eq!(
            err(b"INVITE sip:a@b SIP/2.0 \r\n\r\n"),
            (BadRequestLine, 15)
        );
        assert_eq!(
            err(b"INVITE sip:a@b HTTP/1.1\r\n\r\n"),
            (BadRequestLine, 15)
        );
        assert_eq!(err(b" INVITE sip:a@b SIP/2.0\r\n\r\n"), (BadRequestLine, 0));
        assert_eq!(err(b"IN(VITE sip:a@b SIP/2.0\r\n\r\n"), (BadMethod, 2));
        assert_eq!(err(b"INVITE <sip:a@b> SIP/2.0\r\n\r\n"), (BadRequestUri, 7));
        assert_eq!(err(b"SIP/2.0 4294967301 x\r\n\r\n"), (BadStatusCode, 8));
        assert_eq!(err(b"SIP/2.0 099 x\r\n\r\n"), (BadStatusCode, 8));
        assert_eq!(err(b"SIP/2.0 700 x\r\n\r\n"), (BadStatusCode, 8));
        assert_eq!(err(b"SIP/2.0 20 x\r\n\r\n"), (BadStatusCode, 8));
        assert_eq!(err(b"SIP/2.0\r\n\r\n"), (BadStatusLine, 7));
        assert_eq!(err(b"SIP/2 200 OK\r\n\r\n"), (BadStatusLine, 0));
        assert_eq!(err(b"SIP/2.0 200 \xffOK\r\n\r\n"), (NotUtf8, 12));
        assert_eq!(
            Version::parse(b"SIP/7.0"),
            Some(Version { major: 7, minor: 0 })
        );
        assert_eq!(Version::parse(b"SIP/12345.0"), None);
        assert_eq!(Version::parse(b"SIP/2."), None);
    }

    #[test]
    fn header_errors_and_body_rules() {
        use SipErrorKind::*;
        let h = |s: &str| {
            let mut m = b"OPTIONS sip:a@b SIP/2.0\r\n".to_vec();
            m.extend_from_slice(s.as_bytes());
            m
        };
        assert_eq!(err(&h("X: a\nY: b\r\n\r\n")), (BadLineEnding, 29));
        assert_eq!(err(&h("X a\r\n\r\n")), (MissingColon, 27));
        assert_eq!(err(&h("X: a\r\n")), (Unterminated, 31));
        assert_eq!(
            err(&h("l: 5\r\nl: 5\r\n\r\nhello")),
            (MultipleContentLength, 31)
        );
        assert_eq!(err(&h("l: -1\r\n\r\n")), (BadContentLength, 28));
        assert_eq!(err(&h("l: 1 2\r\n\r\n12")), (BadContentLength, 28));
        assert_eq!(err(&h("l: 6\r\n\r\nhello")), (ContentLengthExceedsBody, 28));
        assert_eq!(
            err(&h("l: 99999999999999999999\r\n\r\n")),
            (ContentLengthExceedsBody, 28)
        );
        let mut bad_utf8 = h("Subject: caf");
        bad_utf8.extend_from_slice(b"\xe9\r\n\r\n");
        assert_eq!(err(&bad_utf8), (NotUtf8, 37));

        // A folded Content-Length is still one.
        assert_eq!(&*req(&h("l:\r\n 2\r\n\r\nabc")).body, b"ab");
        // Absent: the rest. Smaller: trailing octets ignored.
        assert_eq!(&*req(&h("\r\nabc")).body, b"abc");
        assert_eq!(&*req(&h("l: 1\r\n\r\nabc")).body, b"a");
        // parse_head ignores Content-Length entirely.
        let two = h("l: 9\r\nl: 7\r\n\r\nabc");
        let m = SipMessage::parse_head(&two).unwrap();
        assert_eq!(m.body(), b"abc");
        // Leading CRLFs are skipped (RFC 3261 §7.5).
        let mut lead = b"\r\n\r\n".to_vec();
        lead.extend_from_slice(F1);
        assert_eq!(parse_datagram(&lead).unwrap(), parse_datagram(F1).unwrap());
        assert!(is_response_start(b"\r\nSIP/2.0 200 OK"));
        assert!(!is_response_start(b"SIP"));
    }

    #[test]
    fn folding_and_names() {
        let r = req(
            b"OPTIONS sip:a@b SIP/2.0\r\nTO :\r\n sip:x@y ;  tag = 1\r\n\
NewFangledHeader:   newfangled value\r\n continued newfangled value\r\ns :\r\n\
v: SIP/2.0/UDP h\r\nUnknownHeaderWithUnusualValue: ;;,,;;,;\r\n\r\n",
        );
        let names: Vec<_> = r.headers.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "To",
                "NewFangledHeader",
                "Subject",
                "Via",
                "UnknownHeaderWithUnusualValue"
            ]
        );
        let values: Vec<_> = r.headers.iter().map(|h| &*h.value).collect();
        assert_eq!(
            values,
            [
                "sip:x@y ;  tag = 1",
                "newfangled value continued newfangled value",
                "",
                "SIP/2.0/UDP h",
                ";;,,;;,;"
            ]
        );
        assert_eq!(r.headers.to_addr().unwrap().tag(), Some("1"));
    }

    #[test]
    fn encode_canonical_form() {
        let m = parse_datagram(
            b"OPTIONS sip:a@b SIP/2.0\r\nv: SIP/2.0/UDP h\r\n  ;branch=z9hG4bK1\r\nl: 99\r\n\
X-Thing: 1\r\ni: c@h\r\n\r\n",
        );
        // Content-Length 99 with no body is an error for a datagram...
        assert!(m.is_err());
        // ...but parse_head keeps the headers, and the encoder fixes it.
        let m = SipMessage::parse_head(
            b"OPTIONS sip:a@b SIP/2.0\r\nv: SIP/2.0/UDP h\r\n  ;branch=z9hG4bK1\r\nl: 99\r\n\
X-Thing: 1\r\ni: c@h\r\n\r\n",
        )
        .unwrap();
        assert_eq!(
            m.to_bytes(),
            b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h ;branch=z9hG4bK1\r\n\
Content-Length: 0\r\nX-Thing: 1\r\nCall-ID: c@h\r\n\r\n"
        );
        assert_eq!(parse_datagram(&m.to_bytes()).unwrap(), m);
    }

    #[test]
    fn build_request_and_response() {
        let uri = Uri::parse("sip:bob@biloxi.example.com").unwrap();
        let mut r = SipRequest::new(Method::Message, uri);
        r.push_header(
            HeaderName::Via,
            "SIP/2.0/TCP gw.example.net;branch=z9hG4bKa1",
        )
        .push_header(HeaderName::MaxForwards, "70")
        .push_header(HeaderName::From, "<sip:alice@atlanta.example.com>;tag=f1")
        .push_header(HeaderName::To, "<sip:bob@biloxi.example.com>")
        .push_header(HeaderName::CallId, "c1@gw")
        .push_header(HeaderName::CSeq, "1 MESSAGE")
        .push_header(HeaderName::from("X-Injected"), "a\r\nVia: evil")
        .push_header(HeaderName::Other("bad name".into()), "dropped")
        .set_body("text/plain", &b"hi"[..]);
        let bytes = r.to_bytes();
        assert_eq!(
            std::str::from_utf8(&bytes).unwrap(),
            "MESSAGE sip:bob@biloxi.example.com SIP/2.0\r\n\
Via: SIP/2.0/TCP gw.example.net;branch=z9hG4bKa1\r\n\
Max-Forwards: 70\r\n\
From: <sip:alice@atlanta.example.com>;tag=f1\r\n\
To: <sip:bob@biloxi.example.com>\r\n\
Call-ID: c1@gw\r\n\
CSeq: 1 MESSAGE\r\n\
X-Injected: a  Via: evil\r\n\
Content-Type: text/plain\r\n\
Content-Length: 2\r\n\
\r\n\
hi"
        );
        let back = req(&bytes);
        assert_eq!(back.headers.count(&HeaderName::Via), 1);
        assert_eq!(back.headers.content_length().unwrap(), Some(2));
        // Equal apart from the header with an unwritable name.
        let mut expect = r.clone();
        expect.headers.remove(&HeaderName::Other("bad name".into()));
        assert_eq!(back, expect);

        // The body can be replaced; Content-Length follows.
        r.set_body("text/html", b"<p>hello</p>".to_vec());
        assert_eq!(r.headers.count(&HeaderName::ContentType), 1);
        assert_eq!(r.headers.get(&HeaderName::ContentLength), Some("12"));
        r.body = Cow::Borrowed(b"x");
        assert_eq!(req(&r.to_bytes()).body.len(), 1);

        let mut ok = SipResponse::for_request(&back, 200, "OK");
        let names: Vec<_> = ok.headers.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, ["Via", "From", "To", "Call-ID", "CSeq"]);
        assert!(ok.set_to_tag("t9"));
        assert!(!ok.set_to_tag("t10"));
        assert!(!ok.set_to_tag("bad tag"));
        assert_eq!(ok.headers.to_addr().unwrap().tag(), Some("t9"));
        assert_eq!(
            String::from_utf8(ok.to_bytes()).unwrap(),
            "SIP/2.0 200 OK\r\n\
Via: SIP/2.0/TCP gw.example.net;branch=z9hG4bKa1\r\n\
From: <sip:alice@atlanta.example.com>;tag=f1\r\n\
To: <sip:bob@biloxi.example.com>;tag=t9\r\n\
Call-ID: c1@gw\r\n\
CSeq: 1 MESSAGE\r\n\
Content-Length: 0\r\n\r\n"
        );
        assert_eq!(resp(&ok.to_bytes()), ok);

        let mut weird = SipResponse::new(42, "a\r\nb");
        weird.version = Version { major: 2, minor: 0 };
        assert_eq!(
            weird.to_bytes(),
            b"SIP/2.0 500 a  b\r\nContent-Length: 0\r\n\r\n"
        );
        let owned: SipMessage<'static> = SipMessage::Response(ok.clone()).into_owned();
        assert_eq!(owned, SipMessage::Response(ok));
    }

    /// `frame` then `SipMessage::parse`: what `parse_stream` must equal.
    fn two_step<'a>(
        v: &'a [u8],
        limits: &FrameLimits,
    ) -> Result<Option<StreamUnit<'a>>, StreamError> {
        match frame(v, limits) {
            Ok(None) => Ok(None),
            Err(e) => Err(StreamError::Frame(e)),
            Ok(Some(f)) if f.is_keep_alive() => Ok(Some(StreamUnit {
                frame: f,
                message: None,
            })),
            Ok(Some(f)) => match SipMessage::parse(&v[..f.consumed]) {
                Ok(m) => Ok(Some(StreamUnit {
                    frame: f,
                    message: Some(m),
                })),
                Err(error) => Err(StreamError::Message {
                    consumed: f.consumed,
                    error,
                }),
            },
        }
    }

    /// Same outcome; error offsets may differ (the framer points at the
    /// Content-Length it saw last, the parser at the first).
    fn assert_same_outcome(v: &[u8], limits: &FrameLimits) {
        let one = parse_stream(v, limits);
        let two = two_step(v, limits);
        let shape = |r: &Result<Option<StreamUnit<'_>>, StreamError>| match r {
            Ok(u) => format!("{u:?}"),
            Err(StreamError::Frame(e)) => format!("frame {:?}", e.kind),
            Err(StreamError::Message { consumed, error }) => {
                format!("message {consumed} {:?}", error.kind)
            }
        };
        assert_eq!(shape(&one), shape(&two), "{:?}", String::from_utf8_lossy(v));
    }

    #[test]
    fn stream_parse_equals_frame_then_parse() {
        let small = FrameLimits {
            max_header_bytes: 200,
            max_body_bytes: 10,
        };
        let cases: &[&[u8]] = &[
            b"",
            b"\r",
            b"\r\n",
            b"\r\n\r\nX",
            b"\r\nINVITE",
            b"\rINVITE sip:a@b SIP/2.0\r\nl: 0\r\n\r\n",
            b"INVITE sip:a@b SIP/2.0\r\nl: 0\r\n\r\nNEXT",
            b"INVITE sip:a@b SIP/2.0\r\nl: 3\r\n\r\nab",
            b"INVITE sip:a@b SIP/2.0\r\nl:\r\n 3\r\n\r\nabc",
            b"INVITE sip:a@b SIP/2.0\r\nX: \xff\r\nl: 1\r\n\r\nabc",
            b"INVITE sip:a@b SIP/2.0\r\nX: a\nY: b\r\nl: 1\r\n\r\nabc",
            b"INVITE <sip:a@b> SIP/2.0\r\nl: 1\r\n\r\nabc",
            b"INVITE <sip:a@b> SIP/2.0\r\nl: 1\r\n",
            b"INVITE sip:a@b SIP/2.0\r\nl: 1\r\nl: 1\r\n\r\nabc",
            b"INVITE sip:a@b SIP/2.0\r\nl: -1\r\n\r\nabc",
            b"INVITE sip:a@b SIP/2.0\r\nl: 11\r\n\r\nabc",
            b"INVITE sip:a@b SIP/2.0\r\nX: 1\r\n\r\nabc",
            b"SIP/2.0 200 OK\r\nl: 0\r\n\r\n",
            b"SIP/2.0 2000 OK\r\nl: 0\r\n\r\n",
        ];
        for v in cases {
            assert_same_outcome(v, &FrameLimits::default());
            assert_same_outcome(v, &small);
        }
        // At and around the header cap.
        let m = b"MESSAGE sip:a@b SIP/2.0\r\nl: 0\r\n\r\n";
        for cap in 30..40 {
            let lim = FrameLimits {
                max_header_bytes: cap,
                max_body_bytes: 0,
            };
            for n in 0..=m.len() {
                assert_same_outcome(&m[..n], &lim);
            }
        }
        let u = parse_stream(F1, &FrameLimits::default()).unwrap().unwrap();
        assert_eq!(u.frame.consumed, F1.len());
        assert_eq!(u.message.unwrap(), parse_datagram(F1).unwrap());
    }

    /// Every truncation and many single-byte corruptions of real messages:
    /// no panic, and whatever parses round-trips through the encoder.
    #[test]
    fn hostile_variants_never_panic_and_round_trip() {
        const SUBST: &[u8] = &[
            0, b'\r', b'\n', b' ', b'\t', b':', b';', b',', b'"', b'<', b'>', b'\\', 0xff, 0xc3,
            b'9', b'%', b'/', b'@', b'=',
        ];
        let folded =
            b"SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP p;branch=z9hG4bK1;\r\n  received=1.2.3.4\r\n\
From: \"A \\\"q\\\"\" <sip:a@b>;;tag=1\r\nTo: sip:c@d;tag=2\r\nCall-ID: x\r\nCSeq: 1 MESSAGE\r\n\
Contact: <sip:c@h>, *\r\nl: 3\r\n\r\nabc";
        let limits = FrameLimits::default();
        for sample in [F1, &folded[..]] {
            let mut variants: Vec<Vec<u8>> =
                (0..=sample.len()).map(|n| sample[..n].to_vec()).collect();
            for i in 0..sample.len() {
                for &c in SUBST {
                    let mut v = sample.to_vec();
                    v[i] = c;
                    variants.push(v);
                }
            }
            for v in &variants {
                assert_same_outcome(v, &limits);
                let _ = SipMessage::parse_head(v);
                if let Ok(m) = parse_datagram(v) {
                    let h = m.headers();
                    let _ = (
                        h.vias().count(),
                        h.from_addr(),
                        h.to_addr(),
                        h.cseq(),
                        h.contact(),
                    );
                    let _ = (
                        h.call_id(),
                        h.max_forwards(),
                        h.content_type(),
                        h.retry_after(),
                    );
                    let enc = m.to_bytes();
                    let back = parse_datagram(&enc).unwrap_or_else(|e| {
                        panic!("{e} re-parsing {:?}", String::from_utf8_lossy(&enc))
                    });
                    assert_eq!(back, m, "{:?}", String::from_utf8_lossy(v));
                    let framed = frame(&enc, &limits).unwrap().unwrap();
                    assert_eq!(framed.consumed, enc.len());
                }
            }
        }
    }
}
