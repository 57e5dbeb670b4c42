//! Chunk reassembly fed arbitrary chunk sequences: no panics, and memory
//! held never exceeds what the limits allow.
#![no_main]

use libfuzzer_sys::fuzz_target;
use msrpgw::proto::msrp::{ByteRange, ChunkRef, Flag, Reassembler, ReassemblyLimits};

fuzz_target!(|data: &[u8]| {
    let limits = ReassemblyLimits {
        max_message_bytes: 4096,
        max_in_progress: 4,
        max_fragments: 16,
    };
    let mut r = Reassembler::new(limits);
    // Each chunk: [id, flag, start(2), end(2), total(2), len] then body.
    let mut rest = data;
    while rest.len() >= 9 {
        let (h, tail) = rest.split_at(9);
        let len = (h[8] as usize).min(tail.len());
        let (body, tail) = tail.split_at(len);
        rest = tail;
        let ids = ["a", "b", "c", "d", "e", "f"];
        let id = ids[h[0] as usize % ids.len()];
        let flag = match h[1] % 3 {
            0 => Flag::More,
            1 => Flag::End,
            _ => Flag::Abort,
        };
        let num = |i: usize| u64::from(u16::from_be_bytes([h[i], h[i + 1]]));
        let (start, end, total) = (num(2), num(4), num(6));
        let byte_range = if h[1] & 0x80 != 0 {
            None
        } else {
            Some(ByteRange {
                start,
                end: if h[1] & 0x40 != 0 { None } else { Some(end) },
                total: if h[1] & 0x20 != 0 { None } else { Some(total) },
            })
        };
        let _ = r.push(ChunkRef {
            message_id: id,
            byte_range,
            flag,
            body,
            content_type: None,
        });
        let cap = limits.max_in_progress as u64 * limits.max_message_bytes;
        assert!(r.buffered_bytes() as u64 <= cap);
        assert!(r.in_progress() <= limits.max_in_progress);
    }
});
