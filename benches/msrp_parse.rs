//! MSRP codec speed on one core: framing and parsing a typical SEND, a
//! 2 KB chunk, and reassembling a 64 KB message from 2 KB chunks.
//! Goal: ≥ 1 M frame+parse per second for the RFC 4975 Figure 2 SEND.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use msrpgw::proto::msrp::{
    ChunkRef, Chunker, FrameLimits, Framer, Headers, Message, MsrpUri, Progress, RangeEndStyle,
    Reassembler, ReassemblyLimits,
};

const FIG2_SEND: &[u8] =
    include_bytes!("../tests/fixtures/corpus/msrp/rfc4975-s4-fig2-send-a786hjs2.msrp");

fn headers() -> Headers<'static> {
    Headers {
        to_path: vec![MsrpUri::parse("msrp://bob.example.com:8888/9di4eae923wzd;tcp").unwrap()],
        from_path: vec![
            MsrpUri::parse("msrp://alicepc.example.com:7777/iau39soe2843z;tcp").unwrap(),
        ],
        message_id: Some("12339sdqwer".into()),
        content_type: Some("text/plain".into()),
        ..Headers::default()
    }
}

/// The wire form of every chunk of a `len`-octet message cut in 2 KB.
fn chunks(len: usize) -> Vec<Vec<u8>> {
    let data: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
    let h = headers();
    Chunker::new(len, 2048, RangeEndStyle::Exact)
        .enumerate()
        .map(|(i, spec)| spec.to_message(format!("tid{i:05}x"), &h, &data).to_bytes())
        .collect()
}

fn frame_parse(c: &mut Criterion) {
    let limits = FrameLimits::default();
    let mut g = c.benchmark_group("msrp");

    g.throughput(Throughput::Elements(1));
    g.bench_function("frame_fig2_send", |b| {
        let mut fr = Framer::new();
        b.iter(|| black_box(fr.frame(black_box(FIG2_SEND), &limits).unwrap().unwrap()));
    });
    g.bench_function("frame_parse_fig2_send", |b| {
        let mut fr = Framer::new();
        b.iter(|| {
            let buf = black_box(FIG2_SEND);
            let f = fr.frame(buf, &limits).unwrap().unwrap();
            black_box(Message::parse_frame(buf, &f).unwrap())
        });
    });
    let send = Message::parse(FIG2_SEND).unwrap();
    g.bench_function("encode_fig2_send", |b| {
        let mut out = Vec::with_capacity(512);
        b.iter(|| {
            out.clear();
            black_box(&send).encode(&mut out);
            black_box(out.len())
        });
    });

    let chunk = chunks(4096).remove(0);
    g.throughput(Throughput::Bytes(chunk.len() as u64));
    g.bench_function("frame_parse_2k_chunk", |b| {
        let mut fr = Framer::new();
        b.iter(|| {
            let buf = black_box(chunk.as_slice());
            let f = fr.frame(buf, &limits).unwrap().unwrap();
            black_box(Message::parse_frame(buf, &f).unwrap())
        });
    });

    let all = chunks(64 * 1024);
    let stream: Vec<u8> = all.concat();
    g.throughput(Throughput::Bytes(64 * 1024));
    g.bench_function("reassemble_64k_from_2k_chunks", |b| {
        let mut fr = Framer::new();
        b.iter(|| {
            let mut r = Reassembler::new(ReassemblyLimits::default());
            let mut buf = black_box(stream.as_slice());
            let mut done = None;
            while let Some(f) = fr.frame(buf, &limits).unwrap() {
                let m = Message::parse_frame(buf, &f).unwrap();
                if let Progress::Complete(a) = r.push(ChunkRef::from_message(&m).unwrap()).unwrap()
                {
                    done = Some(a);
                }
                buf = &buf[f.len..];
            }
            black_box(done.unwrap())
        });
    });
    g.finish();
}

criterion_group!(benches, frame_parse);
criterion_main!(benches);
