//! MSRP stream framing: the one-shot `frame` and the incremental `Framer`
//! fed the same bytes in two pieces agree; framed messages parse or fail
//! without panicking; what parses re-encodes to a message that parses equal.
#![no_main]

use libfuzzer_sys::fuzz_target;
use msrpgw::proto::msrp::{FrameLimits, Framer, Message, frame};

fuzz_target!(|data: &[u8]| {
    let limits = FrameLimits {
        max_header_bytes: 4096,
        max_body_bytes: 16384,
    };
    let oneshot = frame(data, &limits);
    // Incremental: feed a prefix, then everything.
    let split = data.first().map_or(0, |&b| b as usize % (data.len() + 1));
    let mut f = Framer::new();
    let partial = f.frame(&data[..split], &limits);
    let whole = if matches!(partial, Ok(None)) {
        Some(f.frame(data, &limits))
    } else {
        None
    };
    if let (Ok(Some(a)), Some(Ok(Some(b)))) = (&oneshot, &whole) {
        assert_eq!(a, b, "incremental and one-shot framing disagree");
    }
    if let Ok(Some(fr)) = oneshot {
        if let Ok(m) = Message::parse_frame(data, &fr) {
            let _ = m.validate();
            let bytes = m.to_bytes();
            let again = Message::parse(&bytes).expect("encoded MSRP parses");
            assert_eq!(again, m);
        }
    }
});
