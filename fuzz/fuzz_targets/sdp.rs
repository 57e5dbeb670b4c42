//! SDP: parse never panics; what parses re-encodes to bytes that parse to the
//! same description; the MSRP usability check never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use msrpgw::proto::sdp;

fuzz_target!(|data: &[u8]| {
    if let Ok(d) = sdp::parse(data) {
        let _ = d.validate_msrp();
        let bytes = d.to_bytes();
        let again = sdp::parse(&bytes).expect("encoded SDP parses");
        assert_eq!(again, d);
    }
});
