//! name-addr / addr-spec and comma lists: no panics; Display round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use msrpgw::proto::sip::addr::NameAddr;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(a) = NameAddr::parse(s) {
        let printed = a.to_string();
        let again = NameAddr::parse(&printed).expect("printed name-addr parses");
        assert_eq!(again, a);
        let _ = a.tag();
        let _ = a.display_text();
    }
    let _ = NameAddr::parse_list(s);
});
