//! message/imdn+xml: the bounded XML scanner never panics; encode → parse
//! round-trips; Disposition-Notification values never fail.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| msrpgw::proto::properties::imdn(data));
