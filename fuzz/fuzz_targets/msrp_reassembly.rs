//! Chunk reassembly fed arbitrary chunk sequences: no panics, and memory
//! held never exceeds what the limits allow.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| msrpgw::proto::properties::msrp_reassembly(data));
