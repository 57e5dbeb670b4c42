//! MSRP requests and responses: parse, encode, build, check.
//!
//! Owns: RFC 4975 §9 `msrp-request` / `msrp-response` once framed (start
//! line, header fields, body, continuation flag), the header fields of
//! RFC 4975 §9 and RFC 4976 §7 as typed values, unknown headers
//! (`ext-header`, kept in order), the encoder, a request builder, response
//! construction (RFC 4975 §7.2), REPORT construction (§7.1.3), and the
//! checks a receiver and a sender need (§7.1, §7.1.1, §7.1.2, §7.3).
//!
//! Must not: find message boundaries in a stream (that is
//! [`super::framer`]), reassemble chunks ([`super::chunk`]), or decide
//! session membership (the caller compares To-Path with its sessions).
//!
//! Parsing is split in two so the reader pays for one scan: the framer
//! finds the header block, body and flag; [`Message::parse_frame`] reads
//! the header block (which must be UTF-8) and borrows the body. Parsing is
//! syntax only; [`Message::validate`] applies the RFC's "MUST contain"
//! rules, so a request that parses but is missing, say, Message-ID can
//! still be answered (its From-Path is known) with a 400 whose comment is
//! the error's description.

use std::borrow::Cow;
use std::fmt;
use std::io::Write as _;

use super::digest::{AuthenticationInfo, DigestChallenge, DigestCredentials};
use super::framer::{Flag, Frame, FrameErrorKind, FrameLimits, frame};
use super::header::{
    ByteRange, ByteRangeProblem, FailureReport, HeaderName, Status, SuccessReport, three_digits,
};
use super::uri::{MsrpUri, UriErrorKind};
use super::{MAX_MESSAGE_ID_LEN, MAX_TID_LEN, first_non_text, is_ident};
use crate::proto::ParseError;
use crate::proto::lex::{
    find_byte, find_bytes, is_token, parse_decimal, parse_params, wsp_trimmed,
};

/// RFC 4975 §7.1: non-SEND request bodies MUST NOT exceed 10240 octets.
pub const MAX_NON_SEND_BODY: usize = 10240;

/// RFC 4975 §9 `method` (+ RFC 4976 §7 `mAUTH`). Unknown methods are kept
/// so the receiver can answer 501 (§10.9).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method<'a> {
    Send,
    Report,
    Auth,
    /// `other-method = 1*UPALPHA`.
    Other(Cow<'a, str>),
}

impl<'a> Method<'a> {
    /// RFC 4975 §9 `method = mSEND / mREPORT / other-method` (+ RFC 4976
    /// `mAUTH`); case-sensitive upper-case (`%x53.45.4e.44` etc.).
    pub fn parse(s: &'a str) -> Option<Method<'a>> {
        match s {
            "SEND" => Some(Method::Send),
            "REPORT" => Some(Method::Report),
            "AUTH" => Some(Method::Auth),
            _ if !s.is_empty() && s.bytes().all(|b| b.is_ascii_uppercase()) => {
                Some(Method::Other(Cow::Borrowed(s)))
            }
            _ => None,
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Method::Send => "SEND",
            Method::Report => "REPORT",
            Method::Auth => "AUTH",
            Method::Other(m) => m,
        }
    }

    pub fn into_owned(self) -> Method<'static> {
        match self {
            Method::Send => Method::Send,
            Method::Report => Method::Report,
            Method::Auth => Method::Auth,
            Method::Other(m) => Method::Other(Cow::Owned(m.into_owned())),
        }
    }
}

/// Request or response, from the start line (RFC 4975 §9 `req-start`,
/// `resp-start`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Kind<'a> {
    Request(Method<'a>),
    Response {
        /// `status-code = 3DIGIT`.
        code: u16,
        comment: Option<Cow<'a, str>>,
    },
}

/// RFC 4975 §9 `ext-header` (and MIME extension fields): any header this
/// codec has no typed field for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExtHeader<'a> {
    pub name: Cow<'a, str>,
    pub value: Cow<'a, str>,
}

/// The header fields of one message. Path lists are empty when the header
/// is absent (a present path header always holds at least one URI).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Headers<'a> {
    pub to_path: Vec<MsrpUri<'a>>,
    pub from_path: Vec<MsrpUri<'a>>,
    pub message_id: Option<Cow<'a, str>>,
    pub byte_range: Option<ByteRange>,
    pub success_report: Option<SuccessReport>,
    pub failure_report: Option<FailureReport>,
    pub status: Option<Status<'a>>,
    /// RFC 4976 §7: URIs a relay returns in a 200 to AUTH.
    pub use_path: Vec<MsrpUri<'a>>,
    /// RFC 4976 Digest headers, boxed: they are rare (AUTH and its
    /// responses) and large, and keeping them out of line keeps every
    /// other message small to build and move.
    pub www_authenticate: Option<Box<DigestChallenge<'a>>>,
    pub authorization: Option<Box<DigestCredentials<'a>>>,
    pub authentication_info: Option<Box<AuthenticationInfo<'a>>>,
    /// RFC 4976 §4: seconds.
    pub expires: Option<u32>,
    pub min_expires: Option<u32>,
    pub max_expires: Option<u32>,
    /// RFC 4975 §9 `Content-Type` value (`type/subtype *(;param)`), as written.
    pub content_type: Option<Cow<'a, str>>,
    pub content_id: Option<Cow<'a, str>>,
    pub content_description: Option<Cow<'a, str>>,
    pub content_disposition: Option<Cow<'a, str>>,
    /// Unknown headers, in the order received.
    pub ext: Vec<ExtHeader<'a>>,
}

/// One MSRP request or response.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Message<'a> {
    pub tid: Cow<'a, str>,
    pub kind: Kind<'a>,
    pub headers: Headers<'a>,
    /// `None`: no body (RFC 4975 §7.1 "bodiless"); `Some(empty)`: empty body.
    pub body: Option<Cow<'a, [u8]>>,
    pub flag: Flag,
}

/// What is wrong with a message. `description()` is short enough for a
/// 400 comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsrpErrorKind {
    /// The framer rejected the bytes.
    Frame(FrameErrorKind),
    /// No end-line: the message is not complete (e.g. RFC 4976's `xght6`
    /// 200 OK as printed).
    Incomplete,
    /// Bytes after the end-line given to [`Message::parse`].
    TrailingBytes,
    /// The start line and headers must be UTF-8 (RFC 4975 §9 `utf8text`).
    HeaderNotUtf8,
    BadStartLine,
    BadTransactionId,
    /// A method that is not `1*UPALPHA`.
    BadMethod,
    /// A status code that is not three digits.
    BadStatusCode,
    /// A control character in the response comment.
    BadComment,
    /// A header line without `:` or not ending in CRLF.
    BadHeaderLine,
    /// A header name that is not `ALPHA *token`.
    BadHeaderName,
    /// A control character in a header value.
    BadHeaderValue,
    Duplicate(HeaderName),
    Invalid(HeaderName),
    /// A path header with an invalid URI; the URI problem says which.
    BadPath(HeaderName, UriErrorKind),
    Missing(HeaderName),
    /// RFC 4975 §9: responses have no body.
    BodyInResponse,
    ByteRangeStartZero,
    ByteRangeEndBeforeStart,
    ByteRangeEndAfterTotal,
    ByteRangeStartAfterTotal,
    // Sender-side rules (RFC 4975 §7.1, §7.1.2, §7.2).
    BodyWithoutContentType,
    ContentTypeWithoutBody,
    ReportHeaderInReport,
    BodyTooLargeForMethod,
    EndLineInBody,
    ResponseFlagNotEnd,
    NotARequest,
}

impl MsrpErrorKind {
    pub const fn description(self) -> &'static str {
        use MsrpErrorKind::*;
        match self {
            Frame(k) => k.description(),
            Incomplete => "message has no end-line",
            TrailingBytes => "bytes after the end-line",
            HeaderNotUtf8 => "header section is not UTF-8",
            BadStartLine => "malformed start line",
            BadTransactionId => "invalid transaction id",
            BadMethod => "invalid method",
            BadStatusCode => "invalid status code",
            BadComment => "invalid response comment",
            BadHeaderLine => "malformed header line",
            BadHeaderName => "invalid header name",
            BadHeaderValue => "control character in header value",
            Duplicate(h) => h.duplicate(),
            Invalid(h) => h.invalid(),
            BadPath(h, _) => h.invalid(),
            Missing(h) => h.missing(),
            BodyInResponse => "response with a body",
            ByteRangeStartZero => "Byte-Range start is zero",
            ByteRangeEndBeforeStart => "Byte-Range end before start",
            ByteRangeEndAfterTotal => "Byte-Range end after total",
            ByteRangeStartAfterTotal => "Byte-Range start after total",
            BodyWithoutContentType => "body without Content-Type",
            ContentTypeWithoutBody => "MIME header without body",
            ReportHeaderInReport => "Success-Report or Failure-Report in REPORT",
            BodyTooLargeForMethod => "non-SEND body larger than 10240 octets",
            EndLineInBody => "body contains the end-line",
            ResponseFlagNotEnd => "response continuation flag is not $",
            NotARequest => "not a request",
        }
    }
}

impl fmt::Display for MsrpErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())?;
        if let MsrpErrorKind::BadPath(_, u) = self {
            write!(f, ": {u}")?;
        }
        Ok(())
    }
}

impl From<ByteRangeProblem> for MsrpErrorKind {
    fn from(p: ByteRangeProblem) -> Self {
        match p {
            ByteRangeProblem::StartZero => MsrpErrorKind::ByteRangeStartZero,
            ByteRangeProblem::EndBeforeStart => MsrpErrorKind::ByteRangeEndBeforeStart,
            ByteRangeProblem::EndAfterTotal => MsrpErrorKind::ByteRangeEndAfterTotal,
            ByteRangeProblem::StartAfterTotal => MsrpErrorKind::ByteRangeStartAfterTotal,
        }
    }
}

pub type MsrpError = ParseError<MsrpErrorKind>;

fn err<T>(kind: MsrpErrorKind, at: usize) -> Result<T, MsrpError> {
    Err(MsrpError::new(kind, at))
}

/// Standard comment for a response code (RFC 4975 §10, RFC 4976 §5.1,
/// §6), used by [`Message::response_for`] when the caller gives none.
pub const fn reason_phrase(code: u16) -> Option<&'static str> {
    Some(match code {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        408 => "Request Timeout",
        413 => "Message Too Large",
        415 => "Unsupported Media Type",
        423 => "Interval Out-of-Bounds",
        481 => "Session Does Not Exist",
        501 => "Method Not Implemented",
        506 => "Session Already Bound",
        _ => return None,
    })
}

impl<'a> Message<'a> {
    /// RFC 4975 §9 `msrp-req-or-resp`: parses exactly one complete message
    /// (end-line included, nothing after it). For streams, use [`super::Framer`] and
    /// [`Message::parse_frame`].
    pub fn parse(buf: &'a [u8]) -> Result<Message<'a>, MsrpError> {
        let f = match frame(buf, &FrameLimits::UNLIMITED) {
            Ok(Some(f)) => f,
            Ok(None) => return err(MsrpErrorKind::Incomplete, buf.len()),
            Err(e) => return Err(e.map_kind(MsrpErrorKind::Frame)),
        };
        if f.len != buf.len() {
            return err(MsrpErrorKind::TrailingBytes, f.len);
        }
        Message::parse_frame(buf, &f)
    }

    /// RFC 4975 §9 `req-start` / `resp-start` and `headers` (+ RFC 4976 §7
    /// headers) of the message the framer found in `buf` (offsets in errors
    /// are into `buf`). The frame must come from the framer run on this `buf`;
    /// any other frame yields an error, never a panic.
    pub fn parse_frame(buf: &'a [u8], frame: &Frame) -> Result<Message<'a>, MsrpError> {
        let base = frame.header.start;
        let Some(head) = buf.get(frame.header.clone()) else {
            return err(MsrpErrorKind::BadStartLine, 0);
        };
        let head = match std::str::from_utf8(head) {
            Ok(h) => h,
            Err(e) => return err(MsrpErrorKind::HeaderNotUtf8, base + e.valid_up_to()),
        };

        // One branch-free pass over the whole block: when the only control
        // characters are the CRLFs that end lines, no value needs its own
        // `utf8text` check; otherwise each value is checked to find the
        // offending byte.
        let clean = only_line_end_controls(head.as_bytes());
        let (tid, kind, mut pos) = parse_start_line(head, base, clean)?;
        if buf.get(frame.tid.clone()) != Some(tid.as_bytes()) {
            return err(MsrpErrorKind::BadTransactionId, base + 5);
        }

        let mut h = Headers::default();
        let hb = head.as_bytes();
        while pos < hb.len() {
            let Some(nl) = find_byte(&hb[pos..], b'\n') else {
                return err(MsrpErrorKind::BadHeaderLine, base + pos);
            };
            if nl == 0 || hb[pos + nl - 1] != b'\r' {
                return err(MsrpErrorKind::BadHeaderLine, base + pos + nl);
            }
            parse_header(&mut h, &head[pos..pos + nl - 1], base + pos, clean)?;
            pos += nl + 1;
        }

        let body = match &frame.body {
            None => None,
            Some(r) => match buf.get(r.clone()) {
                Some(b) => Some(Cow::Borrowed(b)),
                None => return err(MsrpErrorKind::BadHeaderLine, r.start.min(buf.len())),
            },
        };
        if body.is_some() && matches!(kind, Kind::Response { .. }) {
            let at = frame.body.as_ref().map_or(0, |r| r.start);
            return err(MsrpErrorKind::BodyInResponse, at);
        }
        Ok(Message {
            tid: Cow::Borrowed(tid),
            kind,
            headers: h,
            body,
            flag: frame.flag,
        })
    }

    pub fn is_request(&self) -> bool {
        matches!(self.kind, Kind::Request(_))
    }

    pub fn method(&self) -> Option<&Method<'a>> {
        match &self.kind {
            Kind::Request(m) => Some(m),
            Kind::Response { .. } => None,
        }
    }

    /// The response code, for responses.
    pub fn code(&self) -> Option<u16> {
        match self.kind {
            Kind::Response { code, .. } => Some(code),
            Kind::Request(_) => None,
        }
    }

    /// Writes the wire form. Every parsed message, and every message that
    /// passes [`Message::check_sendable`], encodes to bytes that parse back
    /// to an equal message. Headers go out in a fixed order: To-Path,
    /// From-Path first (RFC 4975 §9 `headers`), MIME headers last with
    /// Content-Type at the very end (§7.1).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(256 + self.body.as_ref().map_or(0, |b| b.len()));
        out.extend_from_slice(b"MSRP ");
        out.extend_from_slice(self.tid.as_bytes());
        out.push(b' ');
        match &self.kind {
            Kind::Request(m) => out.extend_from_slice(m.as_str().as_bytes()),
            Kind::Response { code, comment } => {
                let _ = write!(out, "{:03}", code % 1000);
                if let Some(c) = comment {
                    out.push(b' ');
                    out.extend_from_slice(c.as_bytes());
                }
            }
        }
        out.extend_from_slice(b"\r\n");
        self.headers.encode(out);
        if let Some(body) = &self.body {
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(body);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"-------");
        out.extend_from_slice(self.tid.as_bytes());
        out.push(self.flag.as_byte());
        out.extend_from_slice(b"\r\n");
    }

    /// The wire form as a new buffer.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.encode(&mut v);
        v
    }

    pub fn into_owned(self) -> Message<'static> {
        Message {
            tid: Cow::Owned(self.tid.into_owned()),
            kind: match self.kind {
                Kind::Request(m) => Kind::Request(m.into_owned()),
                Kind::Response { code, comment } => Kind::Response {
                    code,
                    comment: comment.map(|c| Cow::Owned(c.into_owned())),
                },
            },
            headers: self.headers.into_owned(),
            body: self.body.map(|b| Cow::Owned(b.into_owned())),
            flag: self.flag,
        }
    }

    /// What a receiver must reject (answer 400 with
    /// `description()` as the comment, RFC 4975 §10.2):
    /// To-Path and From-Path on every message (§9 `headers`), Message-ID on
    /// SEND and REPORT (§7.1.1, §7.1.2), Status on REPORT (§7.1.2), and an
    /// impossible Byte-Range (§7.1.1).
    pub fn validate(&self) -> Result<(), MsrpErrorKind> {
        let h = &self.headers;
        if h.to_path.is_empty() {
            return Err(MsrpErrorKind::Missing(HeaderName::ToPath));
        }
        if h.from_path.is_empty() {
            return Err(MsrpErrorKind::Missing(HeaderName::FromPath));
        }
        if let Kind::Request(m) = &self.kind {
            if matches!(m, Method::Send | Method::Report) && h.message_id.is_none() {
                return Err(MsrpErrorKind::Missing(HeaderName::MessageId));
            }
            if *m == Method::Report && h.status.is_none() {
                return Err(MsrpErrorKind::Missing(HeaderName::Status));
            }
        }
        if let Some(r) = &h.byte_range {
            r.check()?;
        }
        Ok(())
    }

    /// [`Message::validate`] plus everything a sender must get right so
    /// the bytes are valid and parse back equal (RFC 4975 §7.1, §7.1.2,
    /// §7.2): a valid tid, text without control characters or
    /// leading/trailing whitespace, Content-Type iff a request has a body,
    /// no report headers in REPORT, non-SEND bodies ≤ 10240 octets, no
    /// responses with a body or a flag other than `$`, and no end-line
    /// (`-------tid`) inside the body.
    pub fn check_sendable(&self) -> Result<(), MsrpErrorKind> {
        use MsrpErrorKind as E;
        self.validate()?;
        if !is_ident(self.tid.as_bytes(), MAX_TID_LEN) {
            return Err(E::BadTransactionId);
        }
        match &self.kind {
            Kind::Request(m) => {
                if Method::parse(m.as_str()).as_ref() != Some(m) {
                    return Err(E::BadMethod);
                }
                let h = &self.headers;
                let mime = h.content_type.is_some()
                    || h.content_id.is_some()
                    || h.content_description.is_some()
                    || h.content_disposition.is_some();
                match &self.body {
                    Some(b) => {
                        if h.content_type.is_none() {
                            return Err(E::BodyWithoutContentType);
                        }
                        if *m != Method::Send && b.len() > MAX_NON_SEND_BODY {
                            return Err(E::BodyTooLargeForMethod);
                        }
                    }
                    None if mime => return Err(E::ContentTypeWithoutBody),
                    None => {}
                }
                if *m == Method::Report
                    && (h.success_report.is_some() || h.failure_report.is_some())
                {
                    return Err(E::ReportHeaderInReport);
                }
            }
            Kind::Response { code, comment } => {
                if *code > 999 {
                    return Err(E::BadStatusCode);
                }
                if comment
                    .as_deref()
                    .is_some_and(|c| first_non_text(c.as_bytes()).is_some())
                {
                    return Err(E::BadComment);
                }
                if self.body.is_some() {
                    return Err(E::BodyInResponse);
                }
                if self.flag != Flag::End {
                    return Err(E::ResponseFlagNotEnd);
                }
            }
        }
        self.headers.check_sendable()?;
        if let Some(b) = &self.body {
            let mut pat = Vec::with_capacity(7 + self.tid.len());
            pat.extend_from_slice(b"-------");
            pat.extend_from_slice(self.tid.as_bytes());
            if find_bytes(b, &pat).is_some() {
                return Err(E::EndLineInBody);
            }
        }
        Ok(())
    }

    /// The response to `req` (RFC 4975 §7.2): same transaction id; To-Path
    /// is the first From-Path URI of a SEND (responses to SEND go back one
    /// hop) or the whole From-Path for other methods (RFC 4976 §6.4.3:
    /// AUTH responses travel back through the relays); From-Path is the
    /// responder's URI, taken as the first To-Path URI of the request (the
    /// only one at an endpoint, RFC 4975 §7.3; the relay's own at a relay,
    /// RFC 4976 §6.2). `comment` defaults to [`reason_phrase`]. Flag `$`,
    /// no body. Fields are public: set others (e.g. Use-Path) afterwards.
    pub fn response_for(
        req: &Message<'a>,
        code: u16,
        comment: Option<Cow<'a, str>>,
    ) -> Result<Message<'a>, MsrpErrorKind> {
        let Kind::Request(m) = &req.kind else {
            return Err(MsrpErrorKind::NotARequest);
        };
        if code > 999 {
            return Err(MsrpErrorKind::BadStatusCode);
        }
        let h = &req.headers;
        let first_from = h
            .from_path
            .first()
            .ok_or(MsrpErrorKind::Missing(HeaderName::FromPath))?;
        let me = h
            .to_path
            .first()
            .ok_or(MsrpErrorKind::Missing(HeaderName::ToPath))?;
        let to_path = if *m == Method::Send {
            vec![first_from.clone()]
        } else {
            h.from_path.clone()
        };
        Ok(Message {
            tid: req.tid.clone(),
            kind: Kind::Response {
                code,
                comment: comment.or_else(|| reason_phrase(code).map(Cow::Borrowed)),
            },
            headers: Headers {
                to_path,
                from_path: vec![me.clone()],
                ..Headers::default()
            },
            body: None,
            flag: Flag::End,
        })
    }

    /// A REPORT about `send` (RFC 4975 §7.1.3, §7.1.4): To-Path = the
    /// SEND's From-Path, From-Path = the receiver's own URI (the last
    /// To-Path URI of the SEND), the SEND's Message-ID, a Status with
    /// namespace 000, and `byte_range` (default: the SEND's). `tid` is a
    /// new transaction id chosen by the caller.
    pub fn report_for(
        send: &Message<'a>,
        tid: impl Into<Cow<'a, str>>,
        code: u16,
        comment: Option<Cow<'a, str>>,
        byte_range: Option<ByteRange>,
    ) -> Result<Message<'a>, MsrpErrorKind> {
        let h = &send.headers;
        if h.from_path.is_empty() {
            return Err(MsrpErrorKind::Missing(HeaderName::FromPath));
        }
        let me = h
            .to_path
            .last()
            .ok_or(MsrpErrorKind::Missing(HeaderName::ToPath))?;
        let message_id = h
            .message_id
            .clone()
            .ok_or(MsrpErrorKind::Missing(HeaderName::MessageId))?;
        let m = Message {
            tid: tid.into(),
            kind: Kind::Request(Method::Report),
            headers: Headers {
                to_path: h.from_path.clone(),
                from_path: vec![me.clone()],
                message_id: Some(message_id),
                byte_range: byte_range.or(h.byte_range),
                status: Some(Status::new(
                    code,
                    comment.or_else(|| reason_phrase(code).map(Cow::Borrowed)),
                )),
                ..Headers::default()
            },
            body: None,
            flag: Flag::End,
        };
        m.check_sendable()?;
        Ok(m)
    }
}

/// RFC 4975 §9 `req-start` / `resp-start`. Returns the tid, kind and the
/// offset of the first header line.
fn parse_start_line(
    head: &str,
    base: usize,
    clean: bool,
) -> Result<(&str, Kind<'_>, usize), MsrpError> {
    let hb = head.as_bytes();
    let Some(nl) = find_byte(hb, b'\n') else {
        return err(MsrpErrorKind::BadStartLine, base + hb.len());
    };
    if nl == 0 || hb[nl - 1] != b'\r' {
        return err(MsrpErrorKind::BadStartLine, base + nl);
    }
    let line = &head[..nl - 1];
    let Some(rest) = line.strip_prefix("MSRP ") else {
        return err(MsrpErrorKind::BadStartLine, base);
    };
    let Some(sp) = find_byte(rest.as_bytes(), b' ') else {
        return err(MsrpErrorKind::BadStartLine, base + line.len());
    };
    let (tid, what) = (&rest[..sp], &rest[sp + 1..]);
    if !is_ident(tid.as_bytes(), MAX_TID_LEN) {
        return err(MsrpErrorKind::BadTransactionId, base + 5);
    }
    let at = base + 6 + tid.len();
    let wb = what.as_bytes();
    let kind = if wb.first().is_some_and(u8::is_ascii_digit) {
        let code = match wb.get(..3).and_then(three_digits) {
            Some(c) if wb.len() == 3 || wb[3] == b' ' => c,
            _ => return err(MsrpErrorKind::BadStatusCode, at),
        };
        let comment = what.get(4..);
        if let Some(i) = comment.and_then(|c| {
            if clean {
                None
            } else {
                first_non_text(c.as_bytes())
            }
        }) {
            return err(MsrpErrorKind::BadComment, at + 4 + i);
        }
        Kind::Response {
            code,
            comment: comment.map(Cow::Borrowed),
        }
    } else {
        match Method::parse(what) {
            Some(m) => Kind::Request(m),
            None => return err(MsrpErrorKind::BadMethod, at),
        }
    };
    Ok((tid, kind, nl + 1))
}

/// `hname ":" SP hval` (RFC 4975 §9 `ext-header` and the typed headers),
/// liberal on the whitespace after the colon.
fn parse_header<'a>(
    h: &mut Headers<'a>,
    line: &'a str,
    at: usize,
    clean: bool,
) -> Result<(), MsrpError> {
    use MsrpErrorKind as E;
    let lb = line.as_bytes();
    // `hname = ALPHA *token`, then ':' (one scan for both).
    let mut colon = 0;
    while colon < lb.len() && is_token(lb[colon]) {
        colon += 1;
    }
    if lb.get(colon) != Some(&b':') {
        let kind = if lb[colon..].contains(&b':') {
            E::BadHeaderName
        } else {
            E::BadHeaderLine
        };
        return err(kind, at);
    }
    if !lb.first().is_some_and(u8::is_ascii_alphabetic) {
        return err(E::BadHeaderName, at);
    }
    let name = &line[..colon];
    let (vs, ve) = wsp_trimmed(lb, colon + 1, lb.len());
    let value = &line[vs..ve];
    let vat = at + vs;
    if !clean {
        if let Some(i) = first_non_text(value.as_bytes()) {
            return err(E::BadHeaderValue, vat + i);
        }
    }
    let Some(hn) = HeaderName::from_name(name) else {
        h.ext.push(ExtHeader {
            name: Cow::Borrowed(name),
            value: Cow::Borrowed(value),
        });
        return Ok(());
    };
    let dup = || err(E::Duplicate(hn), at);
    let bad = || err(E::Invalid(hn), vat);
    macro_rules! once {
        ($slot:expr, $v:expr) => {{
            if $slot.is_some() {
                return dup();
            }
            $slot = Some($v);
        }};
    }
    let path = |slot: &mut Vec<MsrpUri<'a>>| -> Result<(), MsrpError> {
        if !slot.is_empty() {
            return dup();
        }
        *slot = MsrpUri::parse_list(value)
            .map_err(|e| MsrpError::new(E::BadPath(hn, e.kind), vat + e.offset))?;
        Ok(())
    };
    let seconds = || parse_decimal(value, u64::from(u32::MAX)).map(|v| v as u32);
    match hn {
        HeaderName::ToPath => path(&mut h.to_path)?,
        HeaderName::FromPath => path(&mut h.from_path)?,
        HeaderName::UsePath => path(&mut h.use_path)?,
        HeaderName::MessageId => {
            if !is_ident(value.as_bytes(), MAX_MESSAGE_ID_LEN) {
                return bad();
            }
            once!(h.message_id, Cow::Borrowed(value))
        }
        HeaderName::ByteRange => match ByteRange::parse(value) {
            Some(r) => once!(h.byte_range, r),
            None => return bad(),
        },
        HeaderName::SuccessReport => match SuccessReport::parse(value) {
            Some(r) => once!(h.success_report, r),
            None => return bad(),
        },
        HeaderName::FailureReport => match FailureReport::parse(value) {
            Some(r) => once!(h.failure_report, r),
            None => return bad(),
        },
        HeaderName::Status => match Status::parse(value) {
            Some(s) => once!(h.status, s),
            None => return bad(),
        },
        HeaderName::WwwAuthenticate => match DigestChallenge::parse(value) {
            Ok(c) => once!(h.www_authenticate, Box::new(c)),
            Err(o) => return err(E::Invalid(hn), vat + o),
        },
        HeaderName::Authorization => match DigestCredentials::parse(value) {
            Ok(c) => once!(h.authorization, Box::new(c)),
            Err(o) => return err(E::Invalid(hn), vat + o),
        },
        HeaderName::AuthenticationInfo => match AuthenticationInfo::parse(value) {
            Ok(c) => once!(h.authentication_info, Box::new(c)),
            Err(o) => return err(E::Invalid(hn), vat + o),
        },
        HeaderName::Expires => match seconds() {
            Some(s) => once!(h.expires, s),
            None => return bad(),
        },
        HeaderName::MinExpires => match seconds() {
            Some(s) => once!(h.min_expires, s),
            None => return bad(),
        },
        HeaderName::MaxExpires => match seconds() {
            Some(s) => once!(h.max_expires, s),
            None => return bad(),
        },
        HeaderName::ContentType => {
            if let Err(o) = check_media_type(value) {
                return err(E::Invalid(hn), vat + o);
            }
            once!(h.content_type, Cow::Borrowed(value))
        }
        HeaderName::ContentId => once!(h.content_id, Cow::Borrowed(value)),
        HeaderName::ContentDescription => once!(h.content_description, Cow::Borrowed(value)),
        HeaderName::ContentDisposition => once!(h.content_disposition, Cow::Borrowed(value)),
    }
    Ok(())
}

/// True when the only bytes of `b` outside `utf8text` are CRLF pairs: no
/// other control character, every CR followed by LF, every LF preceded by
/// CR. Written as a branch-free pass over byte pairs so it compiles to
/// SIMD.
fn only_line_end_controls(b: &[u8]) -> bool {
    let Some((&first, rest)) = b.split_first() else {
        return true;
    };
    let ctl = |c: u8| (c < 0x20 && c != b'\t' && c != b'\r' && c != b'\n') || c == 0x7f;
    let mut bad = u8::from(first == b'\n');
    for (&c, &n) in b.iter().zip(rest) {
        bad |= u8::from(ctl(c)) | u8::from((c == b'\r') != (n == b'\n'));
    }
    let last = b[b.len() - 1];
    bad |= u8::from(ctl(last) || last == b'\r');
    bad == 0
}

/// RFC 4975 §9 `media-type = type "/" subtype *( ";" gen-param )`; `Err`
/// is the offset of the problem.
fn check_media_type(v: &str) -> Result<(), usize> {
    let b = v.as_bytes();
    let mut i = 0;
    while i < b.len() && is_token(b[i]) {
        i += 1;
    }
    if i == 0 || b.get(i) != Some(&b'/') {
        return Err(i);
    }
    i += 1;
    let s = i;
    while i < b.len() && is_token(b[i]) {
        i += 1;
    }
    if i == s {
        return Err(i);
    }
    parse_params(&v[i..], i, is_token)
        .map(|_| ())
        .map_err(|e| e.offset)
}

/// True for text we can write as a header value that parses back equal:
/// no control characters, no leading or trailing whitespace.
fn value_ok(v: &str) -> bool {
    first_non_text(v.as_bytes()).is_none()
        && !v.starts_with([' ', '\t'])
        && !v.ends_with([' ', '\t'])
}

fn uri_ok(u: &MsrpUri<'_>) -> bool {
    MsrpUri::parse(&u.to_string()).is_ok_and(|p| p == *u)
}

impl<'a> Headers<'a> {
    pub fn into_owned(self) -> Headers<'static> {
        let o = |c: Option<Cow<'_, str>>| c.map(|c| Cow::Owned(c.into_owned()));
        let path = |p: Vec<MsrpUri<'_>>| p.into_iter().map(MsrpUri::into_owned).collect();
        Headers {
            to_path: path(self.to_path),
            from_path: path(self.from_path),
            message_id: o(self.message_id),
            byte_range: self.byte_range,
            success_report: self.success_report,
            failure_report: self.failure_report,
            status: self.status.map(Status::into_owned),
            use_path: path(self.use_path),
            www_authenticate: self.www_authenticate.map(|c| Box::new(c.into_owned())),
            authorization: self.authorization.map(|c| Box::new(c.into_owned())),
            authentication_info: self.authentication_info.map(|c| Box::new(c.into_owned())),
            expires: self.expires,
            min_expires: self.min_expires,
            max_expires: self.max_expires,
            content_type: o(self.content_type),
            content_id: o(self.content_id),
            content_description: o(self.content_description),
            content_disposition: o(self.content_disposition),
            ext: self
                .ext
                .into_iter()
                .map(|e| ExtHeader {
                    name: Cow::Owned(e.name.into_owned()),
                    value: Cow::Owned(e.value.into_owned()),
                })
                .collect(),
        }
    }

    /// The first unknown header called `name` (case-insensitive).
    pub fn ext(&self, name: &str) -> Option<&str> {
        self.ext
            .iter()
            .find(|e| e.name.eq_ignore_ascii_case(name))
            .map(|e| &*e.value)
    }

    fn encode(&self, out: &mut Vec<u8>) {
        fn line(out: &mut Vec<u8>, name: HeaderName, v: &dyn fmt::Display) {
            let _ = write!(out, "{}: {}\r\n", name.as_str(), v);
        }
        fn path(out: &mut Vec<u8>, name: HeaderName, p: &[MsrpUri<'_>]) {
            if p.is_empty() {
                return;
            }
            out.extend_from_slice(name.as_str().as_bytes());
            out.push(b':');
            for u in p {
                let _ = write!(out, " {u}");
            }
            out.extend_from_slice(b"\r\n");
        }
        fn opt<T: fmt::Display>(out: &mut Vec<u8>, name: HeaderName, v: &Option<T>) {
            if let Some(v) = v {
                line(out, name, v);
            }
        }
        use HeaderName as H;
        path(out, H::ToPath, &self.to_path);
        path(out, H::FromPath, &self.from_path);
        opt(out, H::MessageId, &self.message_id);
        opt(out, H::ByteRange, &self.byte_range);
        opt(
            out,
            H::SuccessReport,
            &self.success_report.map(|r| r.as_str()),
        );
        opt(
            out,
            H::FailureReport,
            &self.failure_report.map(|r| r.as_str()),
        );
        opt(out, H::Status, &self.status);
        path(out, H::UsePath, &self.use_path);
        opt(out, H::WwwAuthenticate, &self.www_authenticate);
        opt(out, H::Authorization, &self.authorization);
        opt(out, H::AuthenticationInfo, &self.authentication_info);
        opt(out, H::Expires, &self.expires);
        opt(out, H::MinExpires, &self.min_expires);
        opt(out, H::MaxExpires, &self.max_expires);
        for e in &self.ext {
            let _ = write!(out, "{}: {}\r\n", e.name, e.value);
        }
        opt(out, H::ContentId, &self.content_id);
        opt(out, H::ContentDescription, &self.content_description);
        opt(out, H::ContentDisposition, &self.content_disposition);
        opt(out, H::ContentType, &self.content_type);
    }

    fn check_sendable(&self) -> Result<(), MsrpErrorKind> {
        use HeaderName as H;
        use MsrpErrorKind as E;
        for (hn, p) in [
            (H::ToPath, &self.to_path),
            (H::FromPath, &self.from_path),
            (H::UsePath, &self.use_path),
        ] {
            if !p.iter().all(uri_ok) {
                return Err(E::Invalid(hn));
            }
        }
        if let Some(id) = &self.message_id {
            if !is_ident(id.as_bytes(), MAX_MESSAGE_ID_LEN) {
                return Err(E::Invalid(H::MessageId));
            }
        }
        if let Some(s) = &self.status {
            if s.namespace > 999
                || s.code > 999
                || s.comment
                    .as_deref()
                    .is_some_and(|c| !value_ok(c) || c.is_empty())
            {
                return Err(E::Invalid(H::Status));
            }
        }
        if self.www_authenticate.as_ref().is_some_and(|c| !c.is_text()) {
            return Err(E::Invalid(H::WwwAuthenticate));
        }
        if self.authorization.as_ref().is_some_and(|c| !c.is_text()) {
            return Err(E::Invalid(H::Authorization));
        }
        if self
            .authentication_info
            .as_ref()
            .is_some_and(|c| !c.is_text())
        {
            return Err(E::Invalid(H::AuthenticationInfo));
        }
        if let Some(ct) = &self.content_type {
            if !value_ok(ct) || check_media_type(ct).is_err() {
                return Err(E::Invalid(H::ContentType));
            }
        }
        for (hn, v) in [
            (H::ContentId, &self.content_id),
            (H::ContentDescription, &self.content_description),
            (H::ContentDisposition, &self.content_disposition),
        ] {
            if v.as_deref().is_some_and(|v| !value_ok(v)) {
                return Err(E::Invalid(hn));
            }
        }
        for e in &self.ext {
            let nb = e.name.as_bytes();
            if !nb.first().is_some_and(u8::is_ascii_alphabetic)
                || !nb.iter().all(|&b| is_token(b))
                || HeaderName::from_name(&e.name).is_some()
            {
                return Err(E::BadHeaderName);
            }
            if !value_ok(&e.value) {
                return Err(E::BadHeaderValue);
            }
        }
        Ok(())
    }
}

/// Builds requests (SEND, REPORT, AUTH, or any method) that are checked by
/// [`Message::check_sendable`] before they are handed out.
///
/// ```
/// use msrpgw::proto::msrp::{ByteRange, Flag, MsrpUri, RequestBuilder, Scheme};
///
/// let me = MsrpUri::local(Scheme::Msrp, "gw.example.net", 2855, "s1").unwrap();
/// let peer = MsrpUri::parse("msrp://bob.example.com:8888/9di4eae923wzd;tcp").unwrap();
/// let m = RequestBuilder::send("tid1234", "msg-1")
///     .to_path(vec![peer])
///     .from_path(vec![me])
///     .byte_range(ByteRange::new(1, Some(2), Some(2)))
///     .body("text/plain", &b"hi"[..])
///     .build()
///     .unwrap();
/// assert!(m.to_bytes().ends_with(b"\r\nhi\r\n-------tid1234$\r\n"));
/// ```
#[derive(Debug, Clone)]
pub struct RequestBuilder<'a> {
    msg: Message<'a>,
}

impl<'a> RequestBuilder<'a> {
    pub fn new(method: Method<'a>, tid: impl Into<Cow<'a, str>>) -> Self {
        RequestBuilder {
            msg: Message {
                tid: tid.into(),
                kind: Kind::Request(method),
                headers: Headers::default(),
                body: None,
                flag: Flag::End,
            },
        }
    }

    /// A SEND; Message-ID is mandatory (RFC 4975 §7.1.1).
    pub fn send(tid: impl Into<Cow<'a, str>>, message_id: impl Into<Cow<'a, str>>) -> Self {
        RequestBuilder::new(Method::Send, tid).message_id(message_id)
    }

    /// A REPORT; Message-ID and Status are mandatory (RFC 4975 §7.1.2).
    pub fn report(
        tid: impl Into<Cow<'a, str>>,
        message_id: impl Into<Cow<'a, str>>,
        status: Status<'a>,
    ) -> Self {
        RequestBuilder::new(Method::Report, tid)
            .message_id(message_id)
            .status(status)
    }

    /// An AUTH (RFC 4976 §5.1).
    pub fn auth(tid: impl Into<Cow<'a, str>>) -> Self {
        RequestBuilder::new(Method::Auth, tid)
    }

    pub fn to_path(mut self, path: Vec<MsrpUri<'a>>) -> Self {
        self.msg.headers.to_path = path;
        self
    }

    pub fn from_path(mut self, path: Vec<MsrpUri<'a>>) -> Self {
        self.msg.headers.from_path = path;
        self
    }

    pub fn message_id(mut self, id: impl Into<Cow<'a, str>>) -> Self {
        self.msg.headers.message_id = Some(id.into());
        self
    }

    pub fn byte_range(mut self, r: ByteRange) -> Self {
        self.msg.headers.byte_range = Some(r);
        self
    }

    pub fn success_report(mut self, r: SuccessReport) -> Self {
        self.msg.headers.success_report = Some(r);
        self
    }

    pub fn failure_report(mut self, r: FailureReport) -> Self {
        self.msg.headers.failure_report = Some(r);
        self
    }

    pub fn status(mut self, s: Status<'a>) -> Self {
        self.msg.headers.status = Some(s);
        self
    }

    pub fn authorization(mut self, c: DigestCredentials<'a>) -> Self {
        self.msg.headers.authorization = Some(Box::new(c));
        self
    }

    pub fn expires(mut self, secs: u32) -> Self {
        self.msg.headers.expires = Some(secs);
        self
    }

    /// Adds an extension header (kept in call order).
    pub fn header(mut self, name: impl Into<Cow<'a, str>>, value: impl Into<Cow<'a, str>>) -> Self {
        self.msg.headers.ext.push(ExtHeader {
            name: name.into(),
            value: value.into(),
        });
        self
    }

    /// Sets the body and its Content-Type (both or neither, RFC 4975 §7.1).
    pub fn body(
        mut self,
        content_type: impl Into<Cow<'a, str>>,
        body: impl Into<Cow<'a, [u8]>>,
    ) -> Self {
        self.msg.headers.content_type = Some(content_type.into());
        self.msg.body = Some(body.into());
        self
    }

    pub fn flag(mut self, flag: Flag) -> Self {
        self.msg.flag = flag;
        self
    }

    /// Direct access for anything without a setter.
    pub fn headers_mut(&mut self) -> &mut Headers<'a> {
        &mut self.msg.headers
    }

    pub fn build(self) -> Result<Message<'a>, MsrpErrorKind> {
        self.msg.check_sendable()?;
        Ok(self.msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::msrp::tests::SEND;

    fn kind_of(b: &[u8]) -> MsrpError {
        Message::parse(b).unwrap_err()
    }

    fn roundtrip(m: &Message<'_>) {
        let bytes = m.to_bytes();
        let again = Message::parse(&bytes).unwrap_or_else(|e| {
            panic!("{e}: {}", String::from_utf8_lossy(&bytes));
        });
        assert_eq!(&again, m);
    }

    #[test]
    fn parse_send() {
        let m = Message::parse(SEND).unwrap();
        assert_eq!(m.tid, "a786hjs2");
        assert_eq!(m.kind, Kind::Request(Method::Send));
        assert_eq!(m.headers.to_path.len(), 1);
        assert_eq!(m.headers.to_path[0].host, "biloxi.example.com");
        assert_eq!(m.headers.from_path[0].port, Some(7654));
        assert_eq!(m.headers.message_id.as_deref(), Some("87652491"));
        assert_eq!(
            m.headers.byte_range,
            Some(ByteRange::new(1, Some(25), Some(25)))
        );
        assert_eq!(m.headers.content_type.as_deref(), Some("text/plain"));
        assert_eq!(m.body.as_deref(), Some(&b"Hey Bob, are you there?"[..]));
        assert_eq!(m.flag, Flag::End);
        assert_eq!(m.validate(), Ok(()));
        assert_eq!(m.to_bytes(), SEND);
        roundtrip(&m);
        let owned = m.clone().into_owned();
        assert_eq!(owned, m);
    }

    #[test]
    fn start_lines() {
        let m = Message::parse(b"MSRP abcd 200 OK\r\n-------abcd$\r\n").unwrap();
        assert_eq!(
            m.kind,
            Kind::Response {
                code: 200,
                comment: Some("OK".into())
            }
        );
        let m = Message::parse(b"MSRP abcd 413\r\n-------abcd$\r\n").unwrap();
        assert_eq!(m.code(), Some(413));
        assert_eq!(
            m.kind,
            Kind::Response {
                code: 413,
                comment: None
            }
        );
        let m = Message::parse(b"MSRP abcd 200 \r\n-------abcd$\r\n").unwrap();
        assert_eq!(
            m.kind,
            Kind::Response {
                code: 200,
                comment: Some("".into())
            }
        );
        roundtrip(&m);
        let m = Message::parse(b"MSRP abcd NICKNAME\r\n-------abcd$\r\n").unwrap();
        assert_eq!(m.method(), Some(&Method::Other("NICKNAME".into())));
        roundtrip(&m);
        let m = Message::parse("MSRP abcd 481 Sesión\r\n-------abcd$\r\n".as_bytes()).unwrap();
        assert_eq!(
            m.kind,
            Kind::Response {
                code: 481,
                comment: Some("Sesión".into())
            }
        );

        use MsrpErrorKind::*;
        assert_eq!(
            kind_of(b"MSRP abcd send\r\n-------abcd$\r\n"),
            MsrpError::new(BadMethod, 10)
        );
        assert_eq!(
            kind_of(b"MSRP abcd 20\r\n-------abcd$\r\n"),
            MsrpError::new(BadStatusCode, 10)
        );
        assert_eq!(
            kind_of(b"MSRP abcd 2000\r\n-------abcd$\r\n").kind,
            BadStatusCode
        );
        assert_eq!(
            kind_of(b"MSRP abcd 200OK\r\n-------abcd$\r\n").kind,
            BadStatusCode
        );
        assert_eq!(
            kind_of(b"MSRP abcd 200 a\x01\r\n-------abcd$\r\n"),
            MsrpError::new(BadComment, 15)
        );
        assert_eq!(
            kind_of(b"MSRP abcd SEND\r\n-------abcd$\r\nX").kind,
            TrailingBytes
        );
        assert_eq!(
            kind_of(b"MSRP abcd SEND\r\nTo-Path: x\r\n"),
            MsrpError::new(Incomplete, 28)
        );
        assert_eq!(
            kind_of(b"HTTP/1.1 200").kind,
            Frame(FrameErrorKind::BadStartLine)
        );
        assert_eq!(
            kind_of(b"MSRP abcd SEND\r\nX: \xff\r\n-------abcd$\r\n"),
            MsrpError::new(HeaderNotUtf8, 19)
        );
        assert_eq!(
            kind_of(b"MSRP abcd 200 OK\r\nA: b\r\n\r\nbody\r\n-------abcd$\r\n"),
            MsrpError::new(BodyInResponse, 26)
        );
    }

    #[test]
    fn header_errors_have_offsets() {
        use HeaderName as H;
        use MsrpErrorKind::*;
        let pre = "MSRP abcd SEND\r\n"; // 16 bytes
        let p = |hdr: &str| {
            let s = format!("{pre}{hdr}\r\n-------abcd$\r\n");
            match Message::parse(s.as_bytes()) {
                Ok(_) => panic!("accepted {hdr:?}"),
                Err(e) => e,
            }
        };
        assert_eq!(p("1X: y"), MsrpError::new(BadHeaderName, 16));
        assert_eq!(p("X Y: y"), MsrpError::new(BadHeaderName, 16));
        assert_eq!(p("X: a\x7fb"), MsrpError::new(BadHeaderValue, 20));
        assert_eq!(p("X: a\rb"), MsrpError::new(BadHeaderValue, 20));
        assert_eq!(
            p("To-Path: msrp://a:1/s;tcp\r\nTo-Path: msrp://a:1/s;tcp"),
            MsrpError::new(Duplicate(H::ToPath), 43)
        );
        assert_eq!(
            p("To-Path: msrp://a:x/s;tcp"),
            MsrpError::new(BadPath(H::ToPath, UriErrorKind::BadPort), 34)
        );
        assert_eq!(
            p("From-Path:"),
            MsrpError::new(BadPath(H::FromPath, UriErrorKind::EmptyPath), 26)
        );
        assert_eq!(
            p("Message-ID: a b"),
            MsrpError::new(Invalid(H::MessageId), 28)
        );
        assert_eq!(
            p("Byte-Range: 1-2"),
            MsrpError::new(Invalid(H::ByteRange), 28)
        );
        assert_eq!(
            p("Success-Report: maybe"),
            MsrpError::new(Invalid(H::SuccessReport), 32)
        );
        assert_eq!(
            p("Failure-Report: sometimes").kind,
            Invalid(H::FailureReport)
        );
        assert_eq!(p("Status: 200 OK").kind, Invalid(H::Status));
        assert_eq!(p("Expires: -1").kind, Invalid(H::Expires));
        assert_eq!(p("Min-Expires: 4294967296").kind, Invalid(H::MinExpires));
        assert_eq!(p("Max-Expires: x").kind, Invalid(H::MaxExpires));
        assert_eq!(p("Content-Type: text").kind, Invalid(H::ContentType));
        assert_eq!(
            p("Content-Type: text/plain; =x").kind,
            Invalid(H::ContentType)
        );
        // RFC 4975 §9 gen-param: the value is optional.
        assert!(
            Message::parse(b"MSRP abcd SEND\r\nContent-Type: a/b;c\r\n\r\nx\r\n-------abcd$\r\n")
                .is_ok()
        );
        assert_eq!(
            p("WWW-Authenticate: Basic x").kind,
            Invalid(H::WwwAuthenticate)
        );
        assert_eq!(
            p("Authorization: Digest realm=x").kind,
            Invalid(H::Authorization)
        );
        assert_eq!(
            p("Authentication-Info: nc=xyz"),
            MsrpError::new(Invalid(H::AuthenticationInfo), 37)
        );
        assert_eq!(
            p("Use-Path: msrp://a;tcp msrp://;tcp").kind,
            BadPath(H::UsePath, UriErrorKind::EmptyHost)
        );
        assert_eq!(
            MsrpErrorKind::BadPath(H::ToPath, UriErrorKind::BadPort).to_string(),
            "invalid To-Path header: invalid port in URI"
        );
    }

    #[test]
    fn all_headers_roundtrip() {
        let s: &[u8] = b"MSRP abcd SEND\r\n\
To-Path: msrp://a.example:1/s;tcp msrps://[::1]:2/t;tcp;x=y\r\n\
From-Path: msrp://b.example:2/t;tcp\r\n\
Message-ID: m-1.x\r\n\
Byte-Range: 1-*/*\r\n\
Success-Report: yes\r\n\
Failure-Report: partial\r\n\
Use-Path: msrps://r.example;tcp\r\n\
Expires: 900\r\n\
Min-Expires: 60\r\n\
Max-Expires: 3600\r\n\
X-Foo:   bar baz  \r\n\
x-foo: second\r\n\
Content-ID: <1@x>\r\n\
Content-Description: d\r\n\
Content-Disposition: inline\r\n\
Content-Type: text/plain; charset=\"utf-8\"\r\n\
\r\n\
\x00\x01binary\xff\r\n\
-------abcd+\r\n";
        let m = Message::parse(s).unwrap();
        let h = &m.headers;
        assert_eq!(h.to_path.len(), 2);
        assert_eq!(h.success_report, Some(SuccessReport::Yes));
        assert_eq!(h.failure_report, Some(FailureReport::Partial));
        assert_eq!(h.expires, Some(900));
        assert_eq!(h.min_expires, Some(60));
        assert_eq!(h.max_expires, Some(3600));
        assert_eq!(h.ext.len(), 2);
        assert_eq!(h.ext("X-FOO"), Some("bar baz"));
        assert_eq!(h.ext[1].value, "second");
        assert_eq!(h.content_id.as_deref(), Some("<1@x>"));
        assert_eq!(
            h.content_type.as_deref(),
            Some("text/plain; charset=\"utf-8\"")
        );
        assert_eq!(m.body.as_deref(), Some(&b"\x00\x01binary\xff"[..]));
        assert_eq!(m.flag, Flag::More);
        roundtrip(&m);
        assert_eq!(m.check_sendable(), Ok(()));
    }

    #[test]
    fn control_character_prescan() {
        for (s, ok) in [
            (&b""[..], true),
            (b"a\r\nb\r\n", true),
            (b"a\tb\r\n", true),
            (b"\xc3\xa9\r\n", true),
            (b"a\rb\r\n", false),
            (b"a\nb\r\n", false),
            (b"\n", false),
            (b"\r", false),
            (b"a\r", false),
            (b"a\r\r\n", false),
            (b"a\x01\r\n", false),
            (b"a\x7f\r\n", false),
            (b"\x00", false),
        ] {
            assert_eq!(only_line_end_controls(s), ok, "{s:?}");
        }
    }

    #[test]
    fn validation() {
        use HeaderName as H;
        let m = Message::parse(SEND).unwrap();
        let mut x = m.clone();
        x.headers.to_path.clear();
        assert_eq!(x.validate(), Err(MsrpErrorKind::Missing(H::ToPath)));
        assert_eq!(
            x.validate().unwrap_err().description(),
            "missing To-Path header"
        );
        let mut x = m.clone();
        x.headers.from_path.clear();
        assert_eq!(x.validate(), Err(MsrpErrorKind::Missing(H::FromPath)));
        let mut x = m.clone();
        x.headers.message_id = None;
        assert_eq!(x.validate(), Err(MsrpErrorKind::Missing(H::MessageId)));
        for (r, e) in [
            ("0-1/1", MsrpErrorKind::ByteRangeStartZero),
            ("5-3/9", MsrpErrorKind::ByteRangeEndBeforeStart),
            ("1-9/8", MsrpErrorKind::ByteRangeEndAfterTotal),
            ("10-*/8", MsrpErrorKind::ByteRangeStartAfterTotal),
        ] {
            let mut x = m.clone();
            x.headers.byte_range = ByteRange::parse(r);
            assert_eq!(x.validate(), Err(e), "{r}");
        }
        assert_eq!(
            MsrpErrorKind::ByteRangeEndBeforeStart.description(),
            "Byte-Range end before start"
        );
        // REPORT needs Status.
        let r = Message::parse(
            b"MSRP abcd REPORT\r\nTo-Path: msrp://a:1/s;tcp\r\nFrom-Path: msrp://b:1/s;tcp\r\n\
Message-ID: m1\r\n-------abcd$\r\n",
        )
        .unwrap();
        assert_eq!(r.validate(), Err(MsrpErrorKind::Missing(H::Status)));
        // AUTH needs neither Message-ID nor Status.
        let a = Message::parse(
            b"MSRP abcd AUTH\r\nTo-Path: msrps://r;tcp\r\nFrom-Path: msrps://b:1/s;tcp\r\n-------abcd$\r\n",
        )
        .unwrap();
        assert_eq!(a.validate(), Ok(()));
    }

    #[test]
    fn sender_checks() {
        use MsrpErrorKind as E;
        let base = Message::parse(SEND).unwrap();
        let chk = |f: &dyn Fn(&mut Message<'_>)| {
            let mut m = base.clone();
            f(&mut m);
            m.check_sendable()
        };
        assert_eq!(chk(&|_| {}), Ok(()));
        assert_eq!(chk(&|m| m.tid = "a b".into()), Err(E::BadTransactionId));
        assert_eq!(
            chk(&|m| m.headers.content_type = None),
            Err(E::BodyWithoutContentType)
        );
        assert_eq!(chk(&|m| m.body = None), Err(E::ContentTypeWithoutBody));
        assert_eq!(
            chk(&|m| m.body = Some(b"x\r\n-------a786hjs2$\r\ny".to_vec().into())),
            Err(E::EndLineInBody)
        );
        assert_eq!(
            chk(&|m| m.body = Some(b"-------a786hjs2".to_vec().into())),
            Err(E::EndLineInBody)
        );
        assert_eq!(
            chk(&|m| m.kind = Kind::Request(Method::Other("lower".into()))),
            Err(E::BadMethod)
        );
        assert_eq!(
            chk(&|m| {
                m.kind = Kind::Request(Method::Report);
                m.headers.status = Some(Status::new(200, None));
                m.headers.success_report = Some(SuccessReport::Yes);
            }),
            Err(E::ReportHeaderInReport)
        );
        assert_eq!(
            chk(&|m| {
                m.kind = Kind::Request(Method::Auth);
                m.body = Some(vec![b'a'; MAX_NON_SEND_BODY + 1].into());
            }),
            Err(E::BodyTooLargeForMethod)
        );
        assert_eq!(
            chk(&|m| m.kind = Kind::Response {
                code: 200,
                comment: None
            }),
            Err(E::BodyInResponse)
        );
        assert_eq!(
            chk(&|m| {
                m.kind = Kind::Response {
                    code: 200,
                    comment: None,
                };
                m.body = None;
                m.headers.content_type = None;
                m.flag = Flag::More;
            }),
            Err(E::ResponseFlagNotEnd)
        );
        assert_eq!(
            chk(&|m| m.headers.ext.push(ExtHeader {
                name: "To-Path".into(),
                value: "x".into()
            })),
            Err(E::BadHeaderName)
        );
        assert_eq!(
            chk(&|m| m.headers.ext.push(ExtHeader {
                name: "X".into(),
                value: "a\r\nB: c".into()
            })),
            Err(E::BadHeaderValue)
        );
        assert_eq!(
            chk(&|m| m.headers.ext.push(ExtHeader {
                name: "X".into(),
                value: " padded".into()
            })),
            Err(E::BadHeaderValue)
        );
        assert_eq!(
            chk(&|m| m.headers.to_path[0].host = "a b".into()),
            Err(E::Invalid(HeaderName::ToPath))
        );
        assert_eq!(
            chk(&|m| m.headers.content_type = Some("text".into())),
            Err(E::Invalid(HeaderName::ContentType))
        );
    }

    #[test]
    fn responses_rfc4975_7_2() {
        let req = Message::parse(SEND).unwrap();
        let r = Message::response_for(&req, 200, None).unwrap();
        assert_eq!(
            r.to_bytes(),
            b"MSRP a786hjs2 200 OK\r\n\
To-Path: msrp://atlanta.example.com:7654/jshA7weztas;tcp\r\n\
From-Path: msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp\r\n\
-------a786hjs2$\r\n"
        );
        assert_eq!(r.check_sendable(), Ok(()));
        let r = Message::response_for(&req, 400, Some("missing Message-ID header".into())).unwrap();
        assert_eq!(
            r.kind,
            Kind::Response {
                code: 400,
                comment: Some("missing Message-ID header".into())
            }
        );
        let r = Message::response_for(&req, 299, None).unwrap();
        assert_eq!(
            r.kind,
            Kind::Response {
                code: 299,
                comment: None
            }
        );
        assert_eq!(
            Message::response_for(&r, 200, None),
            Err(MsrpErrorKind::NotARequest)
        );
        let mut no_from = req.clone();
        no_from.headers.from_path.clear();
        assert_eq!(
            Message::response_for(&no_from, 400, None),
            Err(MsrpErrorKind::Missing(HeaderName::FromPath))
        );
    }

    #[test]
    fn reports_rfc4975_7_1_3() {
        let req = Message::parse(SEND).unwrap();
        let rep = Message::report_for(&req, "rep1", 200, None, None).unwrap();
        assert_eq!(
            rep.to_bytes(),
            b"MSRP rep1 REPORT\r\n\
To-Path: msrp://atlanta.example.com:7654/jshA7weztas;tcp\r\n\
From-Path: msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp\r\n\
Message-ID: 87652491\r\n\
Byte-Range: 1-25/25\r\n\
Status: 000 200 OK\r\n\
-------rep1$\r\n"
        );
        roundtrip(&rep);
    }

    #[test]
    fn builder() {
        let to = MsrpUri::parse("msrps://intra.example.com:9000/jui787s2f;tcp").unwrap();
        let from = MsrpUri::parse("msrps://alice.example.com:9892/98cjs;tcp").unwrap();
        let ch = DigestChallenge::parse(
            r#"Digest realm="intra.example.com", qop="auth", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093""#,
        )
        .unwrap();
        let creds = DigestCredentials::for_challenge(
            &ch,
            "Alice",
            "0a4f113b",
            1,
            "6629fae49393a05397450978507c4ef1",
        );
        let m = RequestBuilder::auth("49fi")
            .to_path(vec![to.clone()])
            .from_path(vec![from.clone()])
            .authorization(creds)
            .expires(900)
            .build()
            .unwrap();
        roundtrip(&m);
        let r = RequestBuilder::report("rp12", "m1", Status::new(413, Some("too big".into())))
            .to_path(vec![to.clone()])
            .from_path(vec![from.clone()])
            .build()
            .unwrap();
        let needle = b"Status: 000 413 too big\r\n---";
        assert!(r.to_bytes().windows(needle.len()).any(|w| w == needle));
        roundtrip(&r);
        let e = RequestBuilder::send("tid1", "m1")
            .to_path(vec![to.clone()])
            .from_path(vec![from.clone()])
            .body("text/plain", &b"oops -------tid1$"[..])
            .build();
        assert_eq!(e, Err(MsrpErrorKind::EndLineInBody));
        let m = RequestBuilder::send("tid1", "m1")
            .to_path(vec![to])
            .from_path(vec![from])
            .header("X-Test", "1")
            .success_report(SuccessReport::Yes)
            .failure_report(FailureReport::No)
            .body("text/plain", Vec::new())
            .flag(Flag::Abort)
            .build()
            .unwrap();
        roundtrip(&m);
    }
}
