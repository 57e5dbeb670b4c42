//! SIP codec (RFC 3261, RFC 3581, RFC 3428): framing, messages, headers, URIs.
//!
//! Entry points (all pure, total functions of their input, fuzzable):
//! - UDP: [`parse_datagram`] on one datagram.
//! - TCP/TLS: [`parse_stream`] on the connection's buffer (frames and
//!   parses in one pass), or [`framer::frame`] then [`SipMessage::parse`]
//!   on the `consumed` bytes of each message frame (same results).
//! - Building and encoding: [`SipRequest::new`], [`SipResponse::for_request`],
//!   `encode` / `to_bytes`.
//! - Server-side checks: [`validate::validate_request`],
//!   [`validate::validate_response`].
//!
//! Typed header views ([`Headers::vias`], [`Headers::cseq`], ...) parse a
//! value only when called.
//!
//! Owns: everything about SIP bytes: framing with caps, messages, header
//! names and values, URIs, name-addrs, the server-side validity rules and
//! the status each problem calls for.
//!
//! Must not: do I/O, keep transaction or dialog state (that is
//! `crate::sip`), or panic on any input.

pub mod addr;
pub mod error;
pub mod framer;
pub mod header;
pub mod message;
mod scan;
pub mod typed;
pub mod uri;
pub mod validate;

pub use error::{SipError, SipErrorKind};
pub use framer::{Frame, FrameError, FrameErrorKind, FrameKind, FrameLimits, frame};
pub use header::{Header, HeaderName, Headers};
pub use message::{
    Method, SipMessage, SipRequest, SipResponse, StreamError, StreamUnit, Version,
    is_response_start, parse_datagram, parse_stream,
};
pub use typed::{CSeq, Contact, MediaType, RetryAfter, Transport, Via, Warning};
pub use validate::{Discard, Rejection, validate_request, validate_response};
