//! SDP (RFC 4566) with the MSRP media attributes (RFC 4975 §8, RFC 6135,
//! RFC 6714, RFC 4145).
