//! SIP/SIPS/tel/other URIs: parse never panics; what parses prints back to
//! text that parses to the same value; equivalence is reflexive.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| msrpgw::proto::properties::sip_uri(data));
