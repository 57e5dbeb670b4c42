//! MSRP URIs and URI lists: no panics; Display round-trips; comparison is
//! reflexive; CEMA matching is reflexive for URIs with a session-id.
#![no_main]

use libfuzzer_sys::fuzz_target;
use msrpgw::proto::msrp::MsrpUri;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(u) = MsrpUri::parse(s) {
        let printed = u.to_string();
        let again = MsrpUri::parse_list(&printed).expect("printed URI parses");
        assert_eq!(again.len(), 1);
        assert_eq!(again[0], u);
        assert!(u.equivalent(&u));
        // URIs without a session-id (relay URIs) never match by design.
        assert_eq!(u.session_matches(&u), u.session_id.is_some());
    }
    let _ = MsrpUri::parse_list(s);
});
