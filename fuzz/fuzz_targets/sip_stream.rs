//! See msrpgw::proto::properties::sip_stream for the properties checked.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| msrpgw::proto::properties::sip_stream(data));
