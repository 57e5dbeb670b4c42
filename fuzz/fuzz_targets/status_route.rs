//! The status endpoint's request head parser: never panics, and refuses
//! an incomplete head once it reaches the size cap.
#![no_main]

use libfuzzer_sys::fuzz_target;
use msrpgw::status::{MAX_REQUEST_BYTES, RequestError, route};

fuzz_target!(|data: &[u8]| {
    if let Ok(None) = route(data) {
        assert!(data.len() < MAX_REQUEST_BYTES);
    }
    let _ = RequestError::TooLarge;
});
