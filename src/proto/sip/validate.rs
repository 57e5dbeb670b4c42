//! Server-side checks of a parsed message, separate from parsing (RFC 3261
//! §8.2.1–§8.2.3 for requests a UAS receives, §8.1.3.3 for responses a UAC
//! receives; RFC 4475 for the torture cases).
//!
//! Owns: which status a well-framed but unacceptable request gets (400,
//! 416, 420, 501, 505) and when a response is discarded.
//!
//! Must not: build or send the response (the caller does, with
//! `SipResponse::for_request` and [`Rejection::status`]/[`Rejection::reason`]),
//! or decide per-method behaviour (405/501 for methods msrpgw does not
//! implement, 415/406 for bodies, 483 for Max-Forwards 0 at a proxy: the
//! session layer decides those).
//!
//! Decisions for RFC 4475's "may reject" cases, made for a gateway that
//! acts as UAS and UAC (never a proxy):
//! - Every Via, From, To, Contact, Route, Record-Route value must parse (400):
//!   `badinv01`, `quotbal`, `badaspec`, `baddn`, `regbadct` are rejected.
//! - Headers in the Request-URI (`escruri`) → 400 (RFC 3261 §19.1.1 table:
//!   not allowed in a Request-URI).
//! - Max-Forwards above 255 → 400 (not treated as absent); Expires above
//!   2^32-1 → 400 (`scalar02` is rejected by its CSeq anyway).
//! - `baddate`: Date is not used by msrpgw and is not checked.
//! - `badbranch`: a branch without the magic cookie is accepted (RFC 2543
//!   fallback, see `Via::has_rfc3261_branch`).
//! - Proxy-Require is ignored: a UAS does not act on it (RFC 3261 §8.2.2.3),
//!   so `bext01` gets 420 listing the Require options only.
//! - Require is not enforced for ACK and CANCEL (RFC 3261 §8.2.2.3); an
//!   ACK is never answered at all, whatever this returns.
//! - A non-empty body without Content-Type → 400 (RFC 3261 §7.4.1 MUST).

use std::borrow::Cow;

use super::error::{SipError, SipErrorKind};
use super::header::HeaderName;
use super::message::{Method, SipRequest, SipResponse, Version};
use super::uri::Scheme;

/// Why a request is refused, and what to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection<'a> {
    pub status: u16,
    pub reason: &'static str,
    /// For 420 Bad Extension: the Require option tags we do not support,
    /// for the Unsupported header (RFC 3261 §8.2.2.3).
    pub unsupported: Vec<Cow<'a, str>>,
    /// The parse error behind a 400, with its offset in the message.
    pub error: Option<SipError>,
}

impl Rejection<'_> {
    fn with_status(status: u16, reason: &'static str) -> Rejection<'static> {
        Rejection {
            status,
            reason,
            unsupported: Vec::new(),
            error: None,
        }
    }

    pub fn into_owned(self) -> Rejection<'static> {
        Rejection {
            status: self.status,
            reason: self.reason,
            unsupported: self
                .unsupported
                .into_iter()
                .map(|s| Cow::Owned(s.into_owned()))
                .collect(),
            error: self.error,
        }
    }
}

impl From<SipError> for Rejection<'_> {
    /// A malformed request: the error's status (400) and description.
    fn from(e: SipError) -> Self {
        Rejection {
            status: e.status_code(),
            reason: e.reason(),
            unsupported: Vec::new(),
            error: Some(e),
        }
    }
}

/// A response that must be dropped without further processing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Discard {
    pub reason: &'static str,
    pub error: Option<SipError>,
}

impl From<SipError> for Discard {
    fn from(e: SipError) -> Self {
        Discard {
            reason: e.reason(),
            error: Some(e),
        }
    }
}

/// Checks a request a UAS received, in RFC 3261 §8.2 order: version (505),
/// syntax of the headers a transaction and dialog depend on (400),
/// Request-URI scheme (416, §8.2.2.1), CSeq method (400, or 501 for an
/// unknown method: RFC 4475 §3.1.2.18), Require (420, §8.2.2.3).
/// `supported_extensions` are the option tags msrpgw implements.
pub fn validate_request<'a>(
    req: &'a SipRequest<'_>,
    supported_extensions: &[&str],
) -> Result<(), Rejection<'a>> {
    if req.version != Version::SIP_2_0 {
        return Err(Rejection::with_status(505, "Version Not Supported"));
    }
    let h = &req.headers;
    check_single_values(h)?;
    let mut vias = 0;
    for via in h.vias() {
        via?;
        vias += 1;
    }
    if vias == 0 {
        return Err(SipError::new(SipErrorKind::MissingVia, 0).into());
    }
    h.to_addr()?;
    h.from_addr()?;
    h.call_id()?;
    let cseq = h.cseq()?;
    h.max_forwards()?;
    h.contact()?;
    h.route()?;
    h.record_route()?;
    h.expires()?;
    let content_type = h.content_type()?;
    h.content_length()?;
    if !req.body.is_empty() && content_type.is_none() {
        return Err(Rejection::with_status(
            400,
            "missing Content-Type for non-empty body",
        ));
    }
    if !req.uri.headers.is_empty() {
        return Err(Rejection::with_status(
            400,
            "headers not allowed in Request-URI",
        ));
    }
    if !matches!(req.uri.scheme, Scheme::Sip | Scheme::Sips | Scheme::Tel) {
        return Err(Rejection::with_status(416, "Unsupported URI Scheme"));
    }
    if cseq.method != req.method {
        return Err(if req.method.is_known() {
            Rejection::with_status(400, "CSeq method does not match request method")
        } else {
            Rejection::with_status(501, "Not Implemented")
        });
    }
    if !matches!(req.method, Method::Ack | Method::Cancel) {
        let unsupported: Vec<Cow<'a, str>> = h
            .require()?
            .into_iter()
            .filter(|t| !supported_extensions.contains(t))
            .map(Cow::Borrowed)
            .collect();
        if !unsupported.is_empty() {
            return Err(Rejection {
                status: 420,
                reason: "Bad Extension",
                unsupported,
                error: None,
            });
        }
    }
    Ok(())
}

/// Checks a response msrpgw received as UAC (RFC 3261 §8.1.3.3): exactly
/// one Via (more means it was meant for a proxy: RFC 4475 `bcast`), and
/// well-formed From, To, Call-ID, CSeq (within 2^32-1: `scalarlg`),
/// Retry-After and Warning. Anything else → [`Discard`].
pub fn validate_response(resp: &SipResponse<'_>) -> Result<(), Discard> {
    if resp.version != Version::SIP_2_0 {
        return Err(Discard {
            reason: "SIP version not 2.0",
            error: None,
        });
    }
    let h = &resp.headers;
    check_single_values(h).map_err(|r| Discard {
        reason: r.reason,
        error: r.error,
    })?;
    h.top_via()?;
    if h.via_count() != 1 {
        return Err(Discard {
            reason: "more than one Via in a response to a UAC",
            error: None,
        });
    }
    h.from_addr()?;
    h.to_addr()?;
    h.call_id()?;
    h.cseq()?;
    h.retry_after()?;
    h.warnings()?;
    h.contact()?;
    h.content_type()?;
    h.content_length()?;
    Ok(())
}

/// Single-value headers may appear once (RFC 3261 §7.3.1; RFC 4475
/// §3.3.8 `multi01`). Counted per name in one pass, so a message with
/// thousands of headers costs linear time.
fn check_single_values<'a>(h: &super::header::Headers<'_>) -> Result<(), Rejection<'a>> {
    const CHECKED: [(HeaderName<'static>, SipErrorKind); 16] = [
        (HeaderName::CallId, SipErrorKind::MultipleCallId),
        (HeaderName::From, SipErrorKind::MultipleFrom),
        (HeaderName::To, SipErrorKind::MultipleTo),
        (HeaderName::CSeq, SipErrorKind::MultipleCSeq),
        (HeaderName::MaxForwards, SipErrorKind::MultipleMaxForwards),
        (HeaderName::ContentType, SipErrorKind::MultipleContentType),
        (
            HeaderName::ContentLength,
            SipErrorKind::MultipleContentLength,
        ),
        (HeaderName::Expires, SipErrorKind::MultipleExpires),
        (HeaderName::Date, SipErrorKind::MultipleSingleValue),
        (HeaderName::MinExpires, SipErrorKind::MultipleSingleValue),
        (HeaderName::RetryAfter, SipErrorKind::MultipleSingleValue),
        (HeaderName::Timestamp, SipErrorKind::MultipleSingleValue),
        (
            HeaderName::ContentDisposition,
            SipErrorKind::MultipleSingleValue,
        ),
        (HeaderName::MimeVersion, SipErrorKind::MultipleSingleValue),
        (HeaderName::Priority, SipErrorKind::MultipleSingleValue),
        (
            HeaderName::SessionExpires,
            SipErrorKind::MultipleSingleValue,
        ),
    ];
    let mut seen = [false; CHECKED.len()];
    for hdr in h {
        if !hdr.name.is_single_value() {
            continue;
        }
        if let Some(i) = CHECKED.iter().position(|(n, _)| *n == hdr.name) {
            if seen[i] {
                return Err(SipError::new(CHECKED[i].1, hdr.offset).into());
            }
            seen[i] = true;
        }
    }
    Ok(())
}
