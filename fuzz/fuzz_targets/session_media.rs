//! A peer's SDP as the session table reads it: never panics; a usable
//! description written back as msrpgw's own SDP reads back the same path.
#![no_main]

use libfuzzer_sys::fuzz_target;
use msrpgw::session::media::{LocalMedia, RemoteMedia, local_sdp};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = RemoteMedia::from_sdp(data) {
        let body = local_sdp(&LocalMedia {
            path: &m.path,
            setup: m.setup,
            accept_types: &m.accept_types,
            accept_wrapped_types: &m.accept_wrapped_types,
            max_size: m.max_size,
            cema: m.cema,
            sdp_session_id: 1,
        });
        let back = RemoteMedia::from_sdp(&body).expect("our own SDP is usable");
        assert_eq!(back.path, m.path);
    }
});
