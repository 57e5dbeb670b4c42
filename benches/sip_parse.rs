//! SIP parse speed: msrpgw's parser against rsip on the same bytes, and
//! against httparse on an HTTP/1.1 request of the same size and header
//! count (the floor for "split a text header block").
//!
//! What "ours" times: start line with the Request-URI parsed into a `Uri`,
//! every header line split, its name classified (compact forms included)
//! and its value borrowed and UTF-8-checked, the body delimited by
//! Content-Length. `ours_parse_stream` does it with stream framing in one
//! pass (the TCP/TLS path); `ours_frame_and_parse` is the two-step path
//! (`frame`, then `SipMessage::parse` of the framed bytes); `ours_datagram`
//! is the UDP path. Typed header views (Via, CSeq, ...) are lazy and not
//! included; `ours_with_typed_views` adds the ones a gateway reads per
//! MESSAGE.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use msrpgw::proto::sip::{FrameLimits, SipMessage, frame, parse_datagram, parse_stream};

const F1: &[u8] = include_bytes!("../tests/fixtures/corpus/sip/message/rfc3428-s10-F1-MESSAGE.sip");

/// An HTTP/1.1 request with as many headers as F1 and exactly its length.
fn http_twin(len: usize, headers: usize) -> Vec<u8> {
    let body = b"Watson, come here.";
    let mut head = String::from("POST /user2/domain.com/messages HTTP/1.1\r\n");
    let names = [
        "Host",
        "User-Agent",
        "Accept",
        "Accept-Language",
        "Connection",
        "Content-Type",
        "Content-Length",
        "X-Request-Id",
        "Cache-Control",
        "Referer",
    ];
    for name in &names[..headers - 1] {
        let value = match *name {
            "Content-Type" => "text/plain".to_owned(),
            "Content-Length" => body.len().to_string(),
            _ => "value-0123456789".to_owned(),
        };
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    // The last header's value pads the request to the target length.
    let fixed = head.len() + "X-Pad: \r\n\r\n".len() + body.len();
    assert!(len > fixed, "F1 is larger than the HTTP skeleton");
    head.push_str(&format!("X-Pad: {}\r\n\r\n", "p".repeat(len - fixed)));
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    out
}

fn sip_parse(c: &mut Criterion) {
    let limits = FrameLimits::default();
    let ours = parse_datagram(F1).expect("F1 parses");
    let header_count = ours.headers().len();
    let http = http_twin(F1.len(), header_count);
    assert_eq!(http.len(), F1.len());
    {
        let mut hs = [httparse::EMPTY_HEADER; 32];
        let mut req = httparse::Request::new(&mut hs);
        assert!(req.parse(&http).unwrap().is_complete());
        assert_eq!(req.headers.len(), header_count);
    }
    assert!(rsip::SipMessage::try_from(F1).is_ok(), "rsip parses F1");

    let mut g = c.benchmark_group("sip_parse_rfc3428_F1");
    g.bench_function("ours_frame_and_parse", |b| {
        b.iter(|| {
            let buf = black_box(F1);
            let f = frame(buf, &limits).unwrap().unwrap();
            let m = SipMessage::parse(&buf[..f.consumed]).unwrap();
            black_box(m);
        })
    });
    g.bench_function("ours_parse_stream", |b| {
        b.iter(|| black_box(parse_stream(black_box(F1), &limits).unwrap().unwrap()))
    });
    g.bench_function("ours_datagram", |b| {
        b.iter(|| black_box(parse_datagram(black_box(F1)).unwrap()))
    });
    g.bench_function("ours_with_typed_views", |b| {
        b.iter(|| {
            let m = parse_datagram(black_box(F1)).unwrap();
            let h = m.headers();
            black_box((
                h.top_via().unwrap(),
                h.from_addr().unwrap(),
                h.to_addr().unwrap(),
                h.call_id().unwrap(),
                h.cseq().unwrap(),
                h.content_type().unwrap(),
            ));
        })
    });
    g.bench_function("rsip", |b| {
        b.iter(|| black_box(rsip::SipMessage::try_from(black_box(F1)).unwrap()))
    });
    g.bench_function("httparse_same_size", |b| {
        b.iter(|| {
            let mut hs = [httparse::EMPTY_HEADER; 32];
            let mut req = httparse::Request::new(&mut hs);
            let status = req.parse(black_box(&http)).unwrap();
            black_box((status, req.method, req.path, req.headers.len()));
        })
    });
    g.finish();
}

criterion_group!(benches, sip_parse);
criterion_main!(benches);
