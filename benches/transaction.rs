//! Transaction layer throughput: how many events per second the
//! session-table thread can push through the RFC 3261 §17 machines.
//!
//! Messages are parsed and made owned before timing (the transport threads
//! do that); each iteration gets a fresh clone, made outside the timed
//! part in batches of 1,000, and the outputs are kept until the batch's
//! clock stopped, so their drop is not timed either (the user layer owns
//! them). What is timed is the layer alone.
//!
//! - `server_message`: receive MESSAGE → `Request` out → `send_response`
//!   200 → `Transmit` out → Timer J (UDP) terminates it. Three events.
//! - `server_message_tcp`: the same over TCP: Timer J is zero, so two.
//! - `client_message`: `send_request` MESSAGE → `Transmit` out → receive
//!   200 → `Response` out → Timer K terminates it. Three events.
//! - `server_message_10k_live`: `server_message` with 10,000 other
//!   transactions alive (their timers far in the future), to show lookups
//!   and the timer queue do not degrade.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use msrpgw::proto::sip::{HeaderName, SipMessage, SipRequest, SipResponse, parse_datagram};
use msrpgw::sip::transaction::{Config, Output, Timers, TransactionLayer};

const MESSAGE: &[u8] =
    include_bytes!("../tests/fixtures/corpus/sip/message/rfc3428-s10-F1-MESSAGE.sip");
const OK: &[u8] = include_bytes!("../tests/fixtures/corpus/sip/message/rfc3428-s10-F4-200.sip");

type Peer = u32;

fn request(bytes: &[u8]) -> SipRequest<'static> {
    match parse_datagram(bytes).unwrap().into_owned() {
        SipMessage::Request(r) => r,
        SipMessage::Response(_) => panic!("not a request"),
    }
}

fn response(bytes: &[u8]) -> SipResponse<'static> {
    match parse_datagram(bytes).unwrap().into_owned() {
        SipMessage::Response(r) => r,
        SipMessage::Request(_) => panic!("not a response"),
    }
}

/// One full server non-INVITE transaction; returns what the user layer
/// would keep (the request) and the transmitted response.
fn server_round(
    layer: &mut TransactionLayer<Peer>,
    now: &mut Instant,
    req: SipRequest<'static>,
    resp: SipResponse<'static>,
    reliable: bool,
) -> (Option<SipRequest<'static>>, Option<Output<Peer>>) {
    layer.receive(SipMessage::Request(req), 1, reliable, *now);
    let (tx, request) = match layer.poll_output() {
        Some(Output::Request { tx, request, .. }) => (tx, request),
        other => panic!("expected a request, got {other:?}"),
    };
    layer.send_response(tx, resp, *now).unwrap();
    let sent = layer.poll_output();
    if !reliable {
        *now += Duration::from_secs(33);
        layer.handle_timeout(*now);
    }
    (Some(request), sent)
}

/// Times `routine` over `iters` inputs made by `setup`, in batches, with
/// making the inputs and dropping the outputs left out.
fn timed<I, O>(
    iters: u64,
    mut setup: impl FnMut() -> I,
    mut routine: impl FnMut(I) -> O,
) -> Duration {
    const BATCH: u64 = 1_000;
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(BATCH);
        left -= n;
        let inputs: Vec<I> = (0..n).map(|_| setup()).collect();
        let mut outputs = Vec::with_capacity(inputs.len());
        let start = Instant::now();
        for input in inputs {
            outputs.push(routine(input));
        }
        total += start.elapsed();
        drop(black_box(outputs));
    }
    total
}

fn transaction(c: &mut Criterion) {
    let req = request(MESSAGE);
    let ok = SipResponse::for_request(&req, 200, "OK");
    let mut g = c.benchmark_group("transaction");

    g.throughput(Throughput::Elements(3));
    g.bench_function("server_message", |b| {
        let mut layer: TransactionLayer<Peer> = TransactionLayer::new(Timers::default());
        let mut now = Instant::now();
        b.iter_custom(|iters| {
            timed(
                iters,
                || (req.clone(), ok.clone()),
                |(r, s)| {
                    let out = server_round(&mut layer, &mut now, r, s, false);
                    debug_assert!(layer.is_empty());
                    out
                },
            )
        })
    });

    g.throughput(Throughput::Elements(2));
    g.bench_function("server_message_tcp", |b| {
        let mut layer: TransactionLayer<Peer> = TransactionLayer::new(Timers::default());
        let mut now = Instant::now();
        b.iter_custom(|iters| {
            timed(
                iters,
                || (req.clone(), ok.clone()),
                |(r, s)| server_round(&mut layer, &mut now, r, s, true),
            )
        })
    });

    g.throughput(Throughput::Elements(3));
    g.bench_function("client_message", |b| {
        let resp = response(OK);
        let mut layer: TransactionLayer<Peer> = TransactionLayer::new(Timers::default());
        let mut now = Instant::now();
        b.iter_custom(|iters| {
            timed(
                iters,
                || (req.clone(), resp.clone()),
                |(r, s)| {
                    let tx = layer.send_request(r, 2, false, now).unwrap();
                    let sent = layer.poll_output();
                    layer.receive(SipMessage::Response(s), 2, false, now);
                    let got = layer.poll_output();
                    now += Duration::from_secs(6);
                    layer.handle_timeout(now);
                    debug_assert!(layer.is_empty());
                    (black_box(tx), sent, got)
                },
            )
        })
    });

    g.throughput(Throughput::Elements(3));
    g.bench_function("server_message_10k_live", |b| {
        let mut layer: TransactionLayer<Peer> = TransactionLayer::with_config(Config {
            timers: Timers {
                t1: Duration::from_secs(3600),
                ..Timers::default()
            },
            ..Config::default()
        });
        let mut now = Instant::now();
        for i in 0..10_000 {
            let mut other = req.clone();
            other.headers.set(
                HeaderName::Via,
                format!("SIP/2.0/UDP user1pc.domain.com;branch=z9hG4bKlive{i}"),
            );
            layer.receive(SipMessage::Request(other), 3, false, now);
        }
        while layer.poll_output().is_some() {}
        assert_eq!(layer.len(), 10_000);
        // Timer J is 64 hours here: advance past it each round, but the
        // 10,000 (never answered) stay: they have no timer.
        b.iter_custom(|iters| {
            timed(
                iters,
                || (req.clone(), ok.clone()),
                |(r, s)| {
                    layer.receive(SipMessage::Request(r), 1, false, now);
                    let (tx, request) = match layer.poll_output() {
                        Some(Output::Request { tx, request, .. }) => (tx, request),
                        other => panic!("expected a request, got {other:?}"),
                    };
                    layer.send_response(tx, s, now).unwrap();
                    let sent = layer.poll_output();
                    now += Duration::from_secs(64 * 3600 + 1);
                    layer.handle_timeout(now);
                    (request, sent)
                },
            )
        })
    });
    g.finish();
}

criterion_group!(benches, transaction);
criterion_main!(benches);
