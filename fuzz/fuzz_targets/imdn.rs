//! message/imdn+xml: the bounded XML scanner never panics; encode → parse
//! round-trips; Disposition-Notification values never fail.
#![no_main]

use libfuzzer_sys::fuzz_target;
use msrpgw::proto::imdn;

fuzz_target!(|data: &[u8]| {
    if let Ok(n) = imdn::parse(data) {
        let bytes = n.to_bytes();
        let again = imdn::parse(&bytes).expect("encoded IMDN parses");
        assert_eq!(again, n);
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = imdn::DispositionRequest::parse(s);
    }
});
