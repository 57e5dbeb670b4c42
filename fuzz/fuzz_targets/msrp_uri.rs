//! MSRP URIs and URI lists: no panics; Display round-trips; comparison is
//! reflexive; CEMA matching is reflexive for URIs with a session-id.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| msrpgw::proto::properties::msrp_uri(data));
