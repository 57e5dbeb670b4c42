//! SDP: parse never panics; what parses re-encodes to bytes that parse to the
//! same description; the MSRP usability check never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| msrpgw::proto::properties::sdp(data));
