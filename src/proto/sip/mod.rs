//! SIP codec (RFC 3261, RFC 3581, RFC 3428): framing, messages, headers, URIs.

pub mod addr;
pub mod uri;
