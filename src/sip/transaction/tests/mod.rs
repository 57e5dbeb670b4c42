//! Tests of the transaction layer, with a fake clock (a base `Instant`
//! plus offsets) and the RFC corpus messages as inputs.
//!
//! - `client_invite`, `client_non_invite`, `server_invite`,
//!   `server_non_invite`: every state × every input, unreliable and
//!   reliable, as tables.
//! - `timers`: the value of every timer, derived from configurable T1/T2/T4.
//! - `matching`: §17.1.3 and §17.2.3 keys, RFC 2543 fallback, ACK and CANCEL.
//! - `cancel`: CANCEL sent and received (§9).
//! - `api`: refused inputs, the cap, the corpus flows of RFC 3261 §24.2
//!   and RFC 3428 §10.
//! - `property`: random event sequences and the layer's invariants.

mod api;
mod cancel;
mod client_invite;
mod client_non_invite;
mod matching;
mod property;
mod server_invite;
mod server_non_invite;
mod timers;

use std::time::{Duration, Instant};

use crate::proto::sip::{HeaderName, Method, SipMessage, SipRequest, SipResponse, parse_datagram};

use super::{ClientTxId, Config, Output, ServerTxId, Timers, TransactionError, TransactionLayer};

/// Where messages come from and go: the caller's opaque destination.
pub(super) type Peer = &'static str;
/// The peer msrpgw's server transactions hear from.
pub(super) const ALICE: Peer = "alice";
/// The peer msrpgw's client transactions send to.
pub(super) const BOB: Peer = "bob";

pub(super) struct H {
    pub layer: TransactionLayer<Peer>,
    pub base: Instant,
    pub now: Instant,
    /// The raw outputs of the last step, for tests that look inside.
    pub raw: Vec<Output<Peer>>,
}

impl H {
    pub fn new() -> H {
        H::with(Config::default())
    }

    pub fn with(config: Config) -> H {
        let base = Instant::now();
        H {
            layer: TransactionLayer::with_config(config),
            base,
            now: base,
            raw: Vec::new(),
        }
    }

    pub fn with_timers(timers: Timers) -> H {
        H::with(Config {
            timers,
            ..Config::default()
        })
    }

    pub fn ms(&self, ms: u64) -> Instant {
        self.base + Duration::from_millis(ms)
    }

    /// Drains the outputs: their summaries, the raw ones kept in `raw`.
    pub fn drain(&mut self) -> Vec<String> {
        self.raw.clear();
        while let Some(o) = self.layer.poll_output() {
            self.raw.push(o);
        }
        self.raw.iter().map(summary).collect()
    }

    pub fn recv(&mut self, msg: impl IntoMsg, from: Peer, reliable: bool) -> Vec<String> {
        self.layer.receive(msg.msg(), from, reliable, self.now);
        self.drain()
    }

    pub fn send(&mut self, req: SipRequest<'static>, reliable: bool) -> ClientTxId {
        let tx = self
            .layer
            .send_request(req, BOB, reliable, self.now)
            .unwrap();
        assert_eq!(self.drain().len(), 1, "the request goes out at once");
        tx
    }

    pub fn respond(
        &mut self,
        tx: ServerTxId,
        resp: SipResponse<'static>,
    ) -> Result<Vec<String>, TransactionError> {
        self.layer.send_response(tx, resp, self.now)?;
        Ok(self.drain())
    }

    /// Receives `req` from ALICE as a new request; returns its transaction.
    pub fn incoming(&mut self, req: SipRequest<'static>, reliable: bool) -> ServerTxId {
        let out = self.recv(req, ALICE, reliable);
        let tx = self.raw.iter().find_map(|o| match o {
            Output::Request { tx, .. } => Some(*tx),
            _ => None,
        });
        tx.unwrap_or_else(|| panic!("no Request output: {out:?}"))
    }

    /// Advances the clock to the next deadline and runs it: the offset
    /// from `base` and the outputs. `None` when no timer is armed.
    pub fn fire(&mut self) -> Option<(Duration, Vec<String>)> {
        let at = self.layer.poll_timeout()?;
        assert!(at >= self.now, "deadline in the past");
        self.now = at;
        self.layer.handle_timeout(at);
        if let Some(next) = self.layer.poll_timeout() {
            assert!(next > at, "poll_timeout not after handle_timeout");
        }
        Some((at - self.base, self.drain()))
    }

    /// Every timer until none is armed: (offset, outputs) per firing that
    /// produced output, plus the offset of the last firing.
    pub fn run_out(&mut self) -> Vec<(Duration, Vec<String>)> {
        let mut all = Vec::new();
        while let Some(step) = self.fire() {
            all.push(step);
            assert!(all.len() < 10_000, "timers never stop");
        }
        all
    }

    /// The last `Transmit`ted message of the last step.
    pub fn sent(&self, index: usize) -> SipMessage<'static> {
        let mut sent = self.raw.iter().filter_map(|o| match o {
            Output::Transmit { message, .. } => Some((**message).clone()),
            _ => None,
        });
        sent.nth(index).expect("a transmitted message")
    }

    /// Layer-internal bookkeeping is empty once every transaction is gone.
    pub fn assert_clean(&self) {
        assert_eq!(self.layer.len(), 0);
        assert_eq!(self.layer.timers.len(), 0, "timers left armed");
        assert_eq!(self.layer.client_index.len(), 0);
        assert_eq!(self.layer.server_branches.len(), 0);
        assert_eq!(self.layer.server_calls.len(), 0);
        assert_eq!(self.layer.poll_timeout(), None);
    }
}

/// Requests and responses alike, for `H::recv`.
pub(super) trait IntoMsg {
    fn msg(self) -> SipMessage<'static>;
}

impl IntoMsg for SipRequest<'static> {
    fn msg(self) -> SipMessage<'static> {
        SipMessage::Request(self)
    }
}

impl IntoMsg for SipResponse<'static> {
    fn msg(self) -> SipMessage<'static> {
        SipMessage::Response(self)
    }
}

impl IntoMsg for SipMessage<'static> {
    fn msg(self) -> SipMessage<'static> {
        self
    }
}

fn start_line(m: &SipMessage<'_>) -> String {
    match m {
        SipMessage::Request(r) => r.method.to_string(),
        SipMessage::Response(r) => {
            let method = r
                .headers
                .cseq()
                .map(|c| c.method.to_string())
                .unwrap_or_default();
            format!("{} {method}", r.status)
        }
    }
}

/// One line per output, ids left out so tables stay readable.
pub(super) fn summary(o: &Output<Peer>) -> String {
    match o {
        Output::Transmit { to, message } => format!("{to} {}", start_line(message)),
        Output::Request { request, from, .. } => format!("request {} from {from}", request.method),
        Output::Response { response, .. } => format!("response {}", response.status),
        Output::Timeout { .. } => "timeout".into(),
        Output::TransportError { .. } => "transport error".into(),
        Output::Cancelled { .. } => "cancelled".into(),
        Output::Ack { from, .. } => format!("ack from {from}"),
        Output::Stray { message, error, .. } => match error {
            None => format!("stray {}", start_line(message)),
            Some(e) => format!("stray {}: {e}", start_line(message)),
        },
        Output::Overloaded { request, .. } => format!("overloaded {}", request.method),
    }
}

/// A corpus message (RFC placeholder bodies whose Content-Length does not
/// match are read head-only).
pub(super) fn corpus(name: &str) -> SipMessage<'static> {
    let path = format!(
        "{}/tests/fixtures/corpus/sip/message/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    parse_datagram(&bytes)
        .or_else(|_| SipMessage::parse_head(&bytes))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .into_owned()
}

pub(super) fn corpus_request(name: &str) -> SipRequest<'static> {
    match corpus(name) {
        SipMessage::Request(r) => r,
        SipMessage::Response(_) => panic!("{name} is a response"),
    }
}

pub(super) fn corpus_response(name: &str) -> SipResponse<'static> {
    match corpus(name) {
        SipMessage::Response(r) => r,
        SipMessage::Request(_) => panic!("{name} is a request"),
    }
}

/// RFC 3261 §24.2 F1: Alice's INVITE, branch z9hG4bKnashds8.
pub(super) fn invite() -> SipRequest<'static> {
    corpus_request("rfc3261-s24.2-F1-INVITE.sip")
}

/// RFC 3428 §10 F1: MESSAGE, branch z9hG4bK776sgdkse.
pub(super) fn message() -> SipRequest<'static> {
    corpus_request("rfc3428-s10-F1-MESSAGE.sip")
}

/// `req` with its Via replaced by one value.
pub(super) fn with_via(mut req: SipRequest<'static>, via: &str) -> SipRequest<'static> {
    req.headers.set(HeaderName::Via, via.to_owned());
    req
}

/// `req` as another method (CSeq follows).
pub(super) fn as_method(
    mut req: SipRequest<'static>,
    method: Method<'static>,
) -> SipRequest<'static> {
    let seq = req.headers.cseq().map(|c| c.seq).unwrap_or(1);
    req.headers.set(HeaderName::CSeq, format!("{seq} {method}"));
    req.method = method;
    req
}

pub(super) fn reason(status: u16) -> &'static str {
    match status {
        100 => "Trying",
        180 => "Ringing",
        200 => "OK",
        300 => "Multiple Choices",
        404 => "Not Found",
        486 => "Busy Here",
        487 => "Request Terminated",
        500 => "Server Internal Error",
        503 => "Service Unavailable",
        600 => "Busy Everywhere",
        603 => "Decline",
        _ => "Other",
    }
}

/// The UAS's response to `req`, with a To tag on everything but 100.
pub(super) fn reply(req: &SipRequest<'static>, status: u16) -> SipResponse<'static> {
    let mut r = SipResponse::for_request(req, status, reason(status));
    if status > 100 {
        r.set_to_tag("uas1");
    }
    r
}

/// The final statuses the tables run for "3xx–6xx".
pub(super) const NON_2XX_FINALS: [u16; 7] = [300, 404, 486, 500, 503, 600, 603];

pub(super) fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

pub(super) fn millis(ms: u64) -> Duration {
    Duration::from_millis(ms)
}
