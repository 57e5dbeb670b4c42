//! MSRP stream framing: the one-shot `frame` and the incremental `Framer`
//! fed the same bytes in two pieces agree; framed messages parse or fail
//! without panicking; what parses re-encodes to a message that parses equal.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| msrpgw::proto::properties::msrp_framer(data));
