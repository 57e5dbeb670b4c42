//! Random event sequences through the layer, checking its invariants:
//! no panic; `poll_timeout` never in the past after `handle_timeout`;
//! outputs only name transactions the user layer knows; every transaction
//! ends once the user layer has answered and time runs on; no bookkeeping
//! left behind.

use std::collections::HashSet;
use std::time::Duration;

use super::{ALICE, BOB, H, Peer, as_method, invite, message, reply, with_via};
use crate::proto::sip::{HeaderName, Method, SipMessage, SipRequest, SipResponse, parse_datagram};
use crate::sip::transaction::{ClientTxId, Config, Output, ServerTxId, Timers, TxId};

/// xorshift64*: deterministic, so a failing seed can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn coin(&mut self) -> bool {
        self.next() & 1 == 1
    }
}

const METHODS: [Method<'static>; 5] = [
    Method::Invite,
    Method::Message,
    Method::Bye,
    Method::Options,
    Method::Info,
];
const STATUSES: [u16; 9] = [100, 180, 183, 200, 202, 404, 487, 500, 603];

/// A request with a Via drawn from a small pool, so branches collide,
/// RFC 2543 Vias appear, and retransmissions happen by chance.
fn random_request(rng: &mut Rng, incoming: bool) -> SipRequest<'static> {
    let method = if incoming {
        rng.pick(&[
            Method::Invite,
            Method::Message,
            Method::Ack,
            Method::Cancel,
            Method::Bye,
        ])
        .clone()
    } else {
        rng.pick(&METHODS).clone()
    };
    let base = if rng.coin() { invite() } else { message() };
    let mut req = as_method(base, method);
    let host = rng.pick(&["pc33.atlanta.com", "PC33.atlanta.com", "other.example:5070"]);
    let via = match rng.below(6) {
        0 if incoming => format!("SIP/2.0/UDP {host}"),
        1 if incoming => format!("SIP/2.0/UDP {host};branch=old{}", rng.below(3)),
        _ => format!("SIP/2.0/UDP {host};branch=z9hG4bK{}", rng.below(6)),
    };
    req = with_via(req, &via);
    if rng.below(4) == 0 {
        req.headers.set(
            HeaderName::To,
            format!("<sip:bob@biloxi.com>;tag=t{}", rng.below(3)),
        );
    }
    if rng.below(5) == 0 {
        req.headers
            .set(HeaderName::CSeq, format!("{} {}", rng.below(3), req.method));
    }
    req
}

/// Every output: only known transactions, nothing after a transaction
/// was reported gone, every transmitted message encodes to one that
/// parses.
struct Book {
    clients: HashSet<ClientTxId>,
    servers: HashSet<ServerTxId>,
    ended: HashSet<TxId>,
    requests: Vec<(ServerTxId, SipRequest<'static>)>,
    sent: Vec<(ClientTxId, SipRequest<'static>)>,
    received: Vec<SipRequest<'static>>,
}

impl Book {
    fn check(&mut self, outputs: Vec<Output<Peer>>, seed: u64) {
        for o in outputs {
            match o {
                Output::Transmit { message, .. } => {
                    let bytes = message.to_bytes();
                    assert!(
                        parse_datagram(&bytes).is_ok(),
                        "seed {seed}: unparsable {message:?}"
                    );
                }
                Output::Request { tx, request, .. } => {
                    assert!(self.servers.insert(tx), "seed {seed}: {tx} reused");
                    self.requests.push((tx, request));
                }
                Output::Response { tx, .. } => {
                    assert!(self.clients.contains(&tx), "seed {seed}: unknown {tx}");
                    assert!(
                        !self.ended.contains(&TxId::Client(tx)),
                        "seed {seed}: {tx} ended"
                    );
                }
                Output::Timeout { tx } | Output::TransportError { tx } => {
                    let known = match tx {
                        TxId::Client(c) => self.clients.contains(&c),
                        TxId::Server(s) => self.servers.contains(&s),
                    };
                    assert!(known, "seed {seed}: unknown {tx}");
                    assert!(self.ended.insert(tx), "seed {seed}: {tx} ended twice");
                }
                Output::Cancelled { tx } => {
                    assert!(self.servers.contains(&tx), "seed {seed}: unknown {tx}");
                    assert!(
                        !self.ended.contains(&TxId::Server(tx)),
                        "seed {seed}: {tx} ended"
                    );
                }
                Output::Ack { .. } | Output::Stray { .. } | Output::Overloaded { .. } => {}
            }
        }
    }
}

fn drain(h: &mut H) -> Vec<Output<Peer>> {
    let mut v = Vec::new();
    while let Some(o) = h.layer.poll_output() {
        v.push(o);
    }
    v
}

fn run(seed: u64, steps: usize) {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let timers = if rng.coin() {
        Timers::default()
    } else {
        Timers {
            d: Duration::from_secs(2),
            c: Duration::from_secs(10),
            ..Timers::new(
                Duration::from_millis(100),
                Duration::from_millis(400),
                Duration::from_secs(1),
            )
        }
    };
    let max = 1 + rng.below(16);
    let mut h = H::with(Config {
        timers,
        max_transactions: max,
        tag_seed: seed,
    });
    let mut book = Book {
        clients: HashSet::new(),
        servers: HashSet::new(),
        ended: HashSet::new(),
        requests: Vec::new(),
        sent: Vec::new(),
        received: Vec::new(),
    };
    for _ in 0..steps {
        let now = h.now;
        match rng.below(12) {
            0 => {
                let req = random_request(&mut rng, false);
                if let Ok(tx) = h.layer.send_request(req.clone(), BOB, rng.coin(), now) {
                    assert!(book.clients.insert(tx), "seed {seed}: {tx} reused");
                    book.sent.push((tx, req));
                }
            }
            1 | 2 => {
                let req = random_request(&mut rng, true);
                book.received.push(req.clone());
                h.layer
                    .receive(SipMessage::Request(req), ALICE, rng.coin(), now);
            }
            3 if !book.received.is_empty() => {
                let req = rng.pick(&book.received).clone();
                h.layer
                    .receive(SipMessage::Request(req), ALICE, rng.coin(), now);
            }
            4 | 5 if !book.sent.is_empty() => {
                let (_, req) = rng.pick(&book.sent).clone();
                let mut resp = reply(&req, *rng.pick(&STATUSES));
                if rng.below(4) == 0 {
                    resp.headers
                        .set(HeaderName::CSeq, format!("314159 {}", rng.pick(&METHODS)));
                }
                h.layer.receive(SipMessage::Response(resp), BOB, false, now);
            }
            6 if !book.requests.is_empty() => {
                let (tx, req) = rng.pick(&book.requests).clone();
                let _ = h
                    .layer
                    .send_response(tx, reply(&req, *rng.pick(&STATUSES)), now);
            }
            7 if !book.sent.is_empty() => {
                let (tx, _) = rng.pick(&book.sent).clone();
                let _ = h.layer.cancel(tx, now);
            }
            8 => match rng.below(4) {
                0 if !book.sent.is_empty() => {
                    let tx = rng.pick(&book.sent).0;
                    h.layer.transport_error(TxId::Client(tx));
                }
                1 if !book.requests.is_empty() => {
                    let tx = rng.pick(&book.requests).0;
                    h.layer.transport_error(TxId::Server(tx));
                }
                2 => h
                    .layer
                    .transport_error_to(if rng.coin() { &ALICE } else { &BOB }),
                _ => h
                    .layer
                    .transport_error(TxId::Server(ServerTxId(rng.next()))),
            },
            _ => {
                let ms = match rng.below(4) {
                    0 => rng.below(50),
                    1 => rng.below(1_000),
                    2 => rng.below(10_000),
                    _ => rng.below(70_000),
                };
                h.now += Duration::from_millis(ms as u64);
                h.layer.handle_timeout(h.now);
                if let Some(next) = h.layer.poll_timeout() {
                    assert!(next > h.now, "seed {seed}: poll_timeout in the past");
                }
            }
        }
        if let Some(next) = h.layer.poll_timeout() {
            assert!(next >= h.now, "seed {seed}: deadline before now");
        }
        let out = drain(&mut h);
        book.check(out, seed);
        let internal_clients = h.layer.clients.values().filter(|t| t.internal).count();
        // Only the CANCELs the layer sends may exceed the cap.
        assert!(
            h.layer.len() - internal_clients <= max,
            "seed {seed}: over the cap"
        );
    }
    // The user layer answers what is pending; then time alone ends all.
    let pending: Vec<_> = h.layer.awaiting_final().collect();
    for tx in pending {
        h.layer
            .send_response(tx, SipResponse::new(500, "Server Internal Error"), h.now)
            .unwrap();
    }
    let out = drain(&mut h);
    book.check(out, seed);
    let mut rounds = 0;
    while let Some(next) = h.layer.poll_timeout() {
        h.now = next;
        h.layer.handle_timeout(next);
        let out = drain(&mut h);
        book.check(out, seed);
        rounds += 1;
        assert!(rounds < 100_000, "seed {seed}: timers never stop");
    }
    assert!(
        h.layer.is_empty(),
        "seed {seed}: {} transactions left",
        h.layer.len()
    );
    h.assert_clean();
}

#[test]
fn random_sequences_keep_the_invariants() {
    for seed in 0..400 {
        run(seed, 150);
    }
}

#[test]
fn long_random_sequences_keep_the_invariants() {
    for seed in 1000..1010 {
        run(seed, 3000);
    }
}
