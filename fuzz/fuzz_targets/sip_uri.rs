//! SIP/SIPS/tel/other URIs: parse never panics; what parses prints back to
//! text that parses to the same value; equivalence is reflexive.
#![no_main]

use libfuzzer_sys::fuzz_target;
use msrpgw::proto::sip::uri::Uri;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(u) = Uri::parse(s) {
        let printed = u.to_string();
        let again = Uri::parse(&printed).expect("printed URI parses");
        assert_eq!(again, u);
        assert!(u.equivalent(&u));
        let _ = u.aor_key();
    }
});
