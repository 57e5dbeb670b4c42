//! message/cpim: parse never panics; encode → parse round-trips; the
//! namespace lookups, address views and multipart splitter never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| msrpgw::proto::properties::cpim(data));
