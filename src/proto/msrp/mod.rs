//! MSRP codec (RFC 4975, RFC 4976): framing, messages, URIs, chunking.
//!
//! Owns: everything msrpgw needs to turn an MSRP byte stream into typed
//! requests and responses and back, and to split and reassemble message
//! content:
//!
//! - [`framer`]: finds where one request or response ends in a stream
//!   (RFC 4975 §5.1, §7.1 end-line), with caller-given size caps.
//! - [`message`]: start line, headers (RFC 4975 §9, RFC 4976 §7), body;
//!   encoder, builder, `response_for` (RFC 4975 §7.2), receiver checks.
//! - [`header`]: typed header values (Byte-Range, Status, report flags).
//! - [`digest`]: HTTP Digest challenge/credentials/info (RFC 4976 §5.1, §9.1).
//! - [`uri`]: `msrp:`/`msrps:` URIs and their comparison (RFC 4975 §6.1).
//! - [`chunk`]: splitting a message into SEND chunks and reassembling
//!   received chunks (RFC 4975 §5.1, §7.1.1, §7.3.1).
//!
//! Must not: do I/O, read clocks, generate randomness (transaction and
//! message ids come from the caller), log, or panic on any input.
//!
//! Typical receive path:
//!
//! ```
//! use msrpgw::proto::msrp::{Framer, FrameLimits, Message};
//!
//! let wire = b"MSRP a786hjs2 SEND\r\n\
//! To-Path: msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp\r\n\
//! From-Path: msrp://atlanta.example.com:7654/jshA7weztas;tcp\r\n\
//! Message-ID: 87652491\r\n\
//! Byte-Range: 1-23/23\r\n\
//! Content-Type: text/plain\r\n\
//! \r\n\
//! Hey Bob, are you there?\r\n\
//! -------a786hjs2$\r\n";
//! let mut framer = Framer::new();
//! let frame = framer.frame(wire, &FrameLimits::default()).unwrap().unwrap();
//! let msg = Message::parse_frame(wire, &frame).unwrap();
//! assert_eq!(msg.body.as_deref(), Some(&b"Hey Bob, are you there?"[..]));
//! ```

pub mod chunk;
pub mod digest;
pub mod framer;
pub mod header;
pub mod message;
pub mod uri;

pub use chunk::{
    Assembled, ChunkError, ChunkErrorKind, ChunkRef, ChunkSpec, Chunker, Progress, RangeEndStyle,
    Reassembler, ReassemblyLimits,
};
pub use digest::{AuthParam, AuthenticationInfo, DigestChallenge, DigestCredentials};
pub use framer::{Flag, Frame, FrameError, FrameErrorKind, FrameLimits, Framer, frame};
pub use header::{ByteRange, ByteRangeProblem, FailureReport, HeaderName, Status, SuccessReport};
pub use message::{
    ExtHeader, Headers, Kind, Message, Method, MsrpError, MsrpErrorKind, RequestBuilder,
    reason_phrase,
};
pub use uri::{MsrpUri, Scheme, UriError, UriErrorKind};

/// Longest transaction id accepted. RFC 4975 §9 `ident` allows 4 to 32
/// characters; we accept 1 to 64 on receipt (liberal, but bounded so the
/// end-line scanner's look-ahead stays small).
pub const MAX_TID_LEN: usize = 64;

/// Longest Message-ID accepted. RFC 4975 §9 says 4 to 32 `ident-char`s, but
/// deployed clients send UUID-based ids longer than that.
pub const MAX_MESSAGE_ID_LEN: usize = 128;

/// RFC 4975 §9 `ident-char = ALPHANUM / "." / "-" / "+" / "%" / "="`.
#[inline]
pub(crate) const fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+' | b'%' | b'=')
}

/// RFC 4975 §9 `ident = ALPHANUM 3*31ident-char`, with the length relaxed to
/// `1..=max` (see [`MAX_TID_LEN`], [`MAX_MESSAGE_ID_LEN`]).
pub(crate) fn is_ident(s: &[u8], max: usize) -> bool {
    match s.split_first() {
        Some((first, rest)) => {
            s.len() <= max
                && first.is_ascii_alphanumeric()
                && rest.iter().all(|&b| is_ident_char(b))
        }
        None => false,
    }
}

/// True when `b` is allowed in RFC 4975 §9 `utf8text` once the text is known
/// to be UTF-8: HTAB, printable ASCII, or any non-ASCII byte.
#[inline]
pub(crate) const fn is_text_byte(b: u8) -> bool {
    b == b'\t' || (b >= 0x20 && b != 0x7f)
}

/// Index of the first byte of `s` that is not `utf8text`.
#[inline]
pub(crate) fn first_non_text(s: &[u8]) -> Option<usize> {
    s.iter().position(|&b| !is_text_byte(b))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// RFC 4975 Figure 2's SEND (its Byte-Range total as printed, 25, for
    /// the 23-octet body), shared by the framer and message tests.
    pub(crate) const SEND: &[u8] = b"MSRP a786hjs2 SEND\r\n\
To-Path: msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp\r\n\
From-Path: msrp://atlanta.example.com:7654/jshA7weztas;tcp\r\n\
Message-ID: 87652491\r\n\
Byte-Range: 1-25/25\r\n\
Content-Type: text/plain\r\n\
\r\n\
Hey Bob, are you there?\r\n\
-------a786hjs2$\r\n";

    #[test]
    fn idents() {
        assert!(is_ident(b"a786hjs2", MAX_TID_LEN));
        assert!(is_ident(b"x", MAX_TID_LEN));
        assert!(!is_ident(b"", MAX_TID_LEN));
        assert!(!is_ident(b"-abc", MAX_TID_LEN));
        assert!(!is_ident(b"ab c", MAX_TID_LEN));
        assert!(!is_ident(&[b'a'; 65], MAX_TID_LEN));
        assert!(is_ident(b"a.b-c+d%e=f", MAX_TID_LEN));
    }
}
