//! MSRP message parse (one complete message): no panics; encode → parse
//! round-trips; the receiver checks and response/report builders never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| msrpgw::proto::properties::msrp_message(data));
