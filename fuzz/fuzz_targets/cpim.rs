//! message/cpim: parse never panics; encode → parse round-trips; the
//! namespace lookups, address views and multipart splitter never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use msrpgw::proto::{cpim, imdn};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = cpim::parse(data) {
        let _ = m.from();
        let _ = m.to().count();
        let _ = imdn::DispositionRequest::from_cpim(&m);
        let _ = imdn::message_id(&m);
        if let Some(b) = m.content_type().and_then(cpim::multipart_boundary) {
            let _ = cpim::split_multipart(&m.body, &b);
        }
        let bytes = m.to_bytes();
        let again = cpim::parse(&bytes).expect("encoded CPIM parses");
        assert_eq!(again, m);
    }
});
