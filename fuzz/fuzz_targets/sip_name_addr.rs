//! name-addr / addr-spec and comma lists: no panics; Display round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| msrpgw::proto::properties::sip_name_addr(data));
