//! What can be wrong with a SIP message, and which response that calls for.
//!
//! Owns: [`SipErrorKind`] (every message-level parse and typed-view failure)
//! and the mapping from a kind to the status code a server answers with
//! (RFC 3261 §8.2, §21.4, §21.5; RFC 4475 §3 for the torture cases).
//!
//! Must not: know how a response is routed or sent; decide policy such as
//! which extensions are supported (that is `validate`).

use std::fmt;

use crate::proto::ParseError;

/// A message-level parse failure: kind and byte offset into the bytes given
/// to the parser (for a lazily parsed header, the offset of its value in the
/// original message; for a folded value, approximate within that header).
pub type SipError = ParseError<SipErrorKind>;

/// What was wrong with a SIP message. Descriptions are usable verbatim as
/// the reason phrase of the error response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SipErrorKind {
    /// Nothing but CRLFs (or nothing at all).
    Empty,
    /// The start line or a header is not valid UTF-8.
    NotUtf8,
    /// A CR not followed by LF, or an LF not preceded by CR, in the header block.
    BadLineEnding,
    /// The header block never ends with an empty line.
    Unterminated,
    /// Request-Line is not `Method SP Request-URI SP SIP-Version`.
    BadRequestLine,
    /// The method is not a token.
    BadMethod,
    /// The Request-URI does not parse.
    BadRequestUri,
    /// Status-Line is not `SIP-Version SP Status-Code SP Reason-Phrase`.
    BadStatusLine,
    /// The status code is not three digits in 100..=699.
    BadStatusCode,
    /// A header line does not start with a token name.
    BadHeaderName,
    /// A header name is not followed by `:`.
    MissingColon,
    /// A header line starts with whitespace before any header.
    BadContinuation,
    /// Content-Length is not a decimal number of at most 2^32-1.
    BadContentLength,
    /// Content-Length appears more than once.
    MultipleContentLength,
    /// Content-Length claims more octets than the datagram holds.
    ContentLengthExceedsBody,
    MissingVia,
    MissingFrom,
    MissingTo,
    MissingCallId,
    MissingCSeq,
    MultipleFrom,
    MultipleTo,
    MultipleCallId,
    MultipleCSeq,
    MultipleMaxForwards,
    MultipleContentType,
    MultipleExpires,
    /// Another header that allows one value appears more than once.
    MultipleSingleValue,
    BadVia,
    BadFrom,
    BadTo,
    BadCallId,
    BadCSeq,
    /// CSeq sequence number above 2^32-1 (RFC 3261 §8.1.1.5).
    CSeqTooLarge,
    /// Max-Forwards is not a number in 0..=255.
    BadMaxForwards,
    BadContact,
    /// A Contact URI carrying `?headers`, `,` or `;` not enclosed in `<>`
    /// (RFC 3261 §20: such URIs must use the name-addr form).
    ContactNotEnclosed,
    BadRoute,
    BadRecordRoute,
    BadPAssertedIdentity,
    BadExpires,
    BadRetryAfter,
    BadContentType,
    /// An option tag (Require, Supported, ...) is not a token.
    BadOptionTag,
    /// A Warning header whose code is not three digits.
    BadWarning,
}

impl SipErrorKind {
    pub const fn description(self) -> &'static str {
        use SipErrorKind::*;
        match self {
            Empty => "empty message",
            NotUtf8 => "header not valid UTF-8",
            BadLineEnding => "bare CR or LF in header",
            Unterminated => "header block not terminated by an empty line",
            BadRequestLine => "malformed Request-Line",
            BadMethod => "invalid method",
            BadRequestUri => "malformed Request-URI",
            BadStatusLine => "malformed Status-Line",
            BadStatusCode => "invalid status code",
            BadHeaderName => "invalid header name",
            MissingColon => "header name not followed by colon",
            BadContinuation => "continuation line before first header",
            BadContentLength => "invalid Content-Length",
            MultipleContentLength => "multiple Content-Length headers",
            ContentLengthExceedsBody => "Content-Length larger than message body",
            MissingVia => "missing Via header",
            MissingFrom => "missing From header",
            MissingTo => "missing To header",
            MissingCallId => "missing Call-ID header",
            MissingCSeq => "missing CSeq header",
            MultipleFrom => "multiple From headers",
            MultipleTo => "multiple To headers",
            MultipleCallId => "multiple Call-ID headers",
            MultipleCSeq => "multiple CSeq headers",
            MultipleMaxForwards => "multiple Max-Forwards headers",
            MultipleContentType => "multiple Content-Type headers",
            MultipleExpires => "multiple Expires headers",
            MultipleSingleValue => "single-value header repeated",
            BadVia => "malformed Via header",
            BadFrom => "malformed From header",
            BadTo => "malformed To header",
            BadCallId => "malformed Call-ID header",
            BadCSeq => "malformed CSeq header",
            CSeqTooLarge => "CSeq number larger than 2^32-1",
            BadMaxForwards => "Max-Forwards not in 0..255",
            BadContact => "malformed Contact header",
            ContactNotEnclosed => "Contact URI with parameters or headers not in <>",
            BadRoute => "malformed Route header",
            BadRecordRoute => "malformed Record-Route header",
            BadPAssertedIdentity => "malformed P-Asserted-Identity header",
            BadExpires => "malformed Expires header",
            BadRetryAfter => "malformed Retry-After header",
            BadContentType => "malformed Content-Type header",
            BadOptionTag => "invalid option tag",
            BadWarning => "malformed Warning header",
        }
    }

    /// The status a server answers a request with when this is wrong with
    /// it. Always 400 except where RFC 3261 names another: every failure
    /// here is a malformed request. (Version and URI-scheme failures, 505
    /// and 416, are policy decisions made by `validate`, since the message
    /// itself parses.) A response that fails to parse is never answered:
    /// it is discarded (see [`super::message::is_response_start`]).
    pub const fn status_code(self) -> u16 {
        400
    }
}

impl fmt::Display for SipErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

impl ParseError<SipErrorKind> {
    /// Status code to answer a request that failed this way (see
    /// [`SipErrorKind::status_code`]); the reason phrase is
    /// [`ParseError::reason`].
    pub const fn status_code(self) -> u16 {
        self.kind.status_code()
    }

    /// A reason phrase naming what was wrong.
    pub const fn reason(self) -> &'static str {
        self.kind.description()
    }
}
