//! MSRP codec (RFC 4975, RFC 4976): framing, messages, URIs, chunking.
