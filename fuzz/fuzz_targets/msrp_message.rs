//! MSRP message parse (one complete message): no panics; encode → parse
//! round-trips; the receiver checks and response/report builders never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use msrpgw::proto::msrp::{ChunkRef, Message};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Message::parse(data) {
        let _ = m.validate();
        let _ = m.check_sendable();
        let _ = ChunkRef::from_message(&m);
        if let Ok(r) = Message::response_for(&m, 200, None) {
            let bytes = r.to_bytes();
            let _ = Message::parse(&bytes).expect("built response parses");
        }
        let bytes = m.to_bytes();
        let again = Message::parse(&bytes).expect("encoded MSRP parses");
        assert_eq!(again, m);
    }
});
