//! RFC 3261 §17 transactions as a sans-I/O state machine (with the RFC
//! 6026 corrections for INVITE 2xx).
//!
//! Owns: the four transaction machines (client INVITE §17.1.1, client
//! non-INVITE §17.1.2, server INVITE §17.2.1, server non-INVITE §17.2.2),
//! their timers (A–M), matching messages to transactions (§17.1.3,
//! §17.2.3, RFC 2543 fallback), retransmission and absorption, the ACK
//! for non-2xx finals, CANCEL on both sides (§9), and the cap on live
//! transactions.
//!
//! Must not: touch sockets, threads, channels or clocks (time comes in as
//! `now`; destinations are the caller's opaque `D`), draw randomness
//! (branches come from the caller; tags from [`Config::tag_seed`]), own
//! dialogs (ACK for 2xx, 2xx retransmission by a UAS, merged-request and
//! loop detection belong to the user layer), or parse bytes.
//!
//! # Driving it
//!
//! The session-table thread owns one [`TransactionLayer`]. Inputs:
//! [`receive`](TransactionLayer::receive) (a parsed message from a
//! transport), [`send_request`](TransactionLayer::send_request),
//! [`send_response`](TransactionLayer::send_response),
//! [`cancel`](TransactionLayer::cancel),
//! [`transport_error`](TransactionLayer::transport_error) and
//! [`handle_timeout`](TransactionLayer::handle_timeout). After each input,
//! drain [`poll_output`](TransactionLayer::poll_output) until `None`, then
//! sleep until [`poll_timeout`](TransactionLayer::poll_timeout) or the next
//! event, whichever comes first:
//!
//! ```
//! use std::time::{Duration, Instant};
//! use msrpgw::sip::transaction::{Output, Timers, TransactionLayer};
//!
//! let mut layer: TransactionLayer<&str> = TransactionLayer::new(Timers::default());
//! let now = Instant::now();
//! layer.handle_timeout(now);
//! while let Some(out) = layer.poll_output() {
//!     match out {
//!         Output::Transmit { to, message } => { /* encode, send to `to` */ }
//!         _ => { /* session logic */ }
//!     }
//! }
//! assert_eq!(layer.poll_timeout(), None);
//! ```
//!
//! Requests given to `receive` should have passed
//! [`crate::proto::sip::validate_request`]; the layer itself only needs a
//! parsable top Via and CSeq (and Call-ID, From and To from RFC 2543
//! peers), and hands anything else back as [`Output::Stray`].
//!
//! # Decisions
//!
//! - **100 Trying**: a server INVITE transaction sends it itself when the
//!   user layer has not responded within [`Timers::trying`] (200 ms,
//!   §17.2.1; zero sends it at once), and at once when the INVITE is
//!   retransmitted before any provisional response was sent (the client
//!   is evidently waiting).
//! - **RFC 6026**: a 2xx moves a server INVITE transaction to Accepted
//!   (Timer L = 64·T1): retransmitted INVITEs are absorbed, a matching ACK
//!   goes to the user layer, and 2xx retransmissions until the ACK are the
//!   user layer's job (it calls `send_response` again on the same id while
//!   the transaction lives). A client INVITE transaction moves to Accepted
//!   (Timer M = 64·T1) on a 2xx and passes every further 2xx (forks,
//!   retransmissions) up; it never ACKs a 2xx.
//! - **Timeouts**: Timer B/F (and H on the server side) produce
//!   [`Output::Timeout`], which the user layer treats as a 408 (§8.1.3.1);
//!   no synthetic 408 [`Output::Response`] is produced, so a real 408 from
//!   the peer and a local timeout stay distinguishable in logs.
//! - **Transport errors** produce [`Output::TransportError`] (treat as 503,
//!   §8.1.3.1) when they end a transaction whose outcome the user layer has
//!   not fully seen: a client transaction without final response, a server
//!   transaction that has not answered, or a server INVITE transaction in
//!   Completed (awaiting ACK) or Accepted. Transactions that only linger to
//!   absorb retransmissions end silently.
//! - **Cap**: beyond [`Config::max_transactions`] (or [`MAX_PER_KEY`]
//!   transactions under one branch or RFC 2543 Call-ID) a new request comes
//!   out as [`Output::Overloaded`], for the user layer to answer 503 with
//!   Retry-After statelessly; `send_request` fails with
//!   [`TransactionError::Overloaded`]. Retransmissions, ACKs and CANCELs
//!   are still matched over the cap; a CANCEL is then answered statelessly.
//!   CANCELs the layer sends are not capped (one per INVITE at most).
//! - **CANCEL received** (§9.2): matching a server INVITE transaction in
//!   Proceeding, the layer answers the CANCEL 200, sends 487 Request
//!   Terminated on the INVITE and emits [`Output::Cancelled`]; matching a
//!   transaction that already answered finally, or a non-INVITE one, it
//!   answers 200 and does nothing else; matching nothing, 481. The CANCEL
//!   never reaches the user layer as a request.
//! - **CANCEL sent** ([`TransactionLayer::cancel`], §9.1): before any
//!   provisional response it is held and sent on the first one; the
//!   CANCEL's own transaction is internal (its responses are consumed).
//!   If no final response arrives 64·T1 after the CANCEL went out, the
//!   INVITE transaction ends with [`Output::Timeout`].
//! - **Timer C**: a client INVITE transaction in Proceeding longer than
//!   [`Timers::c`] (re-armed by each provisional) is CANCELled by the
//!   layer, so a peer that rings forever cannot hold it forever.
//! - A 2xx arriving in Completed (after a non-2xx final: a forking proxy
//!   forwards every 2xx, §16.7) is passed up; the dialog layer must ACK
//!   and BYE it.

mod build;
mod client;
mod config;
mod error;
mod matching;
mod server;
mod timer;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use crate::proto::sip::{SipMessage, SipRequest, SipResponse};

pub use config::{Config, Timers};
pub use error::TransactionError;
pub use matching::MAX_PER_KEY;

use client::ClientTx;
use matching::Index;
use server::ServerTx;
use timer::{TimerQueue, TxRef};

/// A client transaction (a request msrpgw sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientTxId(u64);

/// A server transaction (a request msrpgw received).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServerTxId(u64);

/// Either kind of transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TxId {
    Client(ClientTxId),
    Server(ServerTxId),
}

impl fmt::Display for ClientTxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "c{}", self.0)
    }
}

impl fmt::Display for ServerTxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s{}", self.0)
    }
}

impl fmt::Display for TxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TxId::Client(c) => c.fmt(f),
            TxId::Server(s) => s.fmt(f),
        }
    }
}

/// States of a client transaction (Terminated = gone: the id is unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientState {
    /// INVITE sent, nothing received (Timers A, B).
    Calling,
    /// Non-INVITE sent, nothing received (Timers E, F).
    Trying,
    /// A provisional response received (INVITE: Timer C; non-INVITE: E, F).
    Proceeding,
    /// A 300–699 final (INVITE: Timer D) or any final (non-INVITE: K)
    /// received; absorbing retransmissions.
    Completed,
    /// INVITE: a 2xx received (RFC 6026, Timer M); further 2xx pass up.
    Accepted,
}

/// States of a server transaction (Terminated = gone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServerState {
    /// Non-INVITE received, not answered yet.
    Trying,
    /// INVITE received, or non-INVITE answered provisionally.
    Proceeding,
    /// Final response sent (INVITE: 300–699, Timers G, H; non-INVITE: J).
    Completed,
    /// INVITE: ACK received for a 300–699 (Timer I).
    Confirmed,
    /// INVITE: 2xx sent (RFC 6026, Timer L).
    Accepted,
}

/// What the layer asks of its user, in the order it must be done.
#[derive(Debug, Clone)]
pub enum Output<D> {
    /// Send `message` to `to` (encode it with `SipMessage::encode`).
    /// Shared, because the layer keeps it for retransmission.
    Transmit {
        to: D,
        message: Arc<SipMessage<'static>>,
    },
    /// A new request for the user layer; answer it with `send_response(tx,
    /// ..)`.
    Request {
        tx: ServerTxId,
        request: SipRequest<'static>,
        from: D,
    },
    /// A response to a request sent with `send_request`: provisional,
    /// final, and (INVITE) every 2xx.
    Response {
        tx: ClientTxId,
        response: SipResponse<'static>,
    },
    /// The transaction failed without a response: Timer B or F (client,
    /// treat as 408), 64·T1 after a CANCEL without final response
    /// (client), or Timer H: no ACK for a final response (server). The
    /// transaction is gone.
    Timeout { tx: TxId },
    /// The transport failed for this transaction (treat as 503 on the
    /// client side). The transaction is gone.
    TransportError { tx: TxId },
    /// A CANCEL ended this INVITE server transaction: the layer has
    /// already answered the CANCEL 200 and the INVITE 487.
    Cancelled { tx: ServerTxId },
    /// An ACK that belongs to a dialog, not to a transaction: the ACK for a
    /// 2xx (§13.3.1.4, RFC 6026), whether or not it matched an Accepted
    /// INVITE transaction.
    Ack {
        request: SipRequest<'static>,
        from: D,
    },
    /// A message matching no transaction and starting none: a response
    /// to nothing (retransmitted 2xx after Timer M, misrouted), or, with
    /// `error`, a message the layer could not key (no top Via, CSeq, ...).
    /// Log or drop; `validate_request` before `receive` avoids the latter.
    Stray {
        message: SipMessage<'static>,
        from: D,
        error: Option<TransactionError>,
    },
    /// A new request refused because the layer is full (see
    /// [`Config::max_transactions`]): answer 503 with Retry-After, through
    /// [`TransactionLayer::send_stateless`]. No transaction exists for it.
    Overloaded {
        request: SipRequest<'static>,
        from: D,
    },
}

/// All transactions of one SIP endpoint. `D` says where a message goes or
/// came from (a socket address plus transport, a connection id): the
/// layer only clones it and hands it back in outputs.
pub struct TransactionLayer<D> {
    config: Config,
    clients: BTreeMap<u64, ClientTx<D>>,
    servers: BTreeMap<u64, ServerTx<D>>,
    /// Lowercased branch → client transactions (an INVITE and its CANCEL).
    client_index: Index,
    /// Lowercased branch → server transactions from RFC 3261 peers.
    server_branches: Index,
    /// Call-ID → server transactions from RFC 2543 peers.
    server_calls: Index,
    timers: TimerQueue,
    out: VecDeque<Output<D>>,
    next_id: u64,
}

/// A request msrpgw sends must name its transaction: a top Via whose
/// branch carries the RFC 3261 magic cookie `z9hG4bK` (§8.1.1.7), and a
/// CSeq with the request's method. `send_request` checks this; callers
/// may check earlier.
pub fn check_branch(req: &SipRequest<'_>) -> Result<(), TransactionError> {
    matching::own_branch(req).map(|_| ())
}

impl<D: Clone> TransactionLayer<D> {
    /// A layer with these timers and the default cap and tag seed.
    pub fn new(timers: Timers) -> Self {
        Self::with_config(Config {
            timers,
            ..Config::default()
        })
    }

    pub fn with_config(config: Config) -> Self {
        TransactionLayer {
            config,
            clients: BTreeMap::new(),
            servers: BTreeMap::new(),
            client_index: Index::default(),
            server_branches: Index::default(),
            server_calls: Index::default(),
            timers: TimerQueue::default(),
            out: VecDeque::new(),
            next_id: 1,
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Changes the cap on live transactions (new requests over it get
    /// [`Output::Overloaded`]); live ones are not touched.
    pub fn set_max_transactions(&mut self, max: usize) {
        self.config.max_transactions = max;
    }

    /// Live transactions, client and server (terminated ones are removed
    /// at once).
    pub fn len(&self) -> usize {
        self.clients.len() + self.servers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The state of a live client transaction; `None` once terminated.
    pub fn client_state(&self, tx: ClientTxId) -> Option<ClientState> {
        self.clients
            .get(&tx.0)
            .filter(|t| !t.internal)
            .map(|t| t.state)
    }

    /// The state of a live server transaction; `None` once terminated.
    pub fn server_state(&self, tx: ServerTxId) -> Option<ServerState> {
        self.servers
            .get(&tx.0)
            .filter(|t| !t.internal)
            .map(|t| t.state)
    }

    /// Server transactions still waiting for the user layer's final
    /// response, oldest first (at shutdown, every one must be answered).
    pub fn awaiting_final(&self) -> impl Iterator<Item = ServerTxId> + '_ {
        self.servers
            .iter()
            .filter(|(_, t)| {
                !t.internal && matches!(t.state, ServerState::Trying | ServerState::Proceeding)
            })
            .map(|(&id, _)| ServerTxId(id))
    }

    /// A message received from `from` over a `reliable` transport (TCP,
    /// TLS) or not (UDP). Requests start or match server transactions,
    /// responses match client transactions.
    pub fn receive(&mut self, msg: SipMessage<'static>, from: D, reliable: bool, now: Instant) {
        match msg {
            SipMessage::Request(req) => self.receive_request(req, from, reliable, now),
            SipMessage::Response(resp) => self.receive_response(resp, from, now),
        }
    }

    /// Sends `message` once, outside any transaction: an ACK for a 2xx,
    /// a 2xx retransmitted after the server transaction ended, a stateless
    /// 503 for [`Output::Overloaded`].
    pub fn send_stateless(&mut self, message: SipMessage<'static>, to: D) {
        self.out.push_back(Output::Transmit {
            to,
            message: Arc::new(message),
        });
    }

    /// Runs every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some((key, tx, kind)) = self.timers.pop_due(now) {
            match tx {
                TxRef::Client(id) => {
                    let live = self
                        .clients
                        .get_mut(&id)
                        .is_some_and(|t| t.timers.fired(kind.slot(), key));
                    if live {
                        self.client_timer(id, kind, now);
                    }
                }
                TxRef::Server(id) => {
                    let live = self
                        .servers
                        .get_mut(&id)
                        .is_some_and(|t| t.timers.fired(kind.slot(), key));
                    if live {
                        self.server_timer(id, kind, now);
                    }
                }
            }
        }
    }

    /// The earliest instant at which `handle_timeout` has work; `None`
    /// when no timer is armed.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next_deadline()
    }

    /// The next thing to do, in order.
    pub fn poll_output(&mut self) -> Option<Output<D>> {
        self.out.pop_front()
    }

    /// The transport could not deliver for `tx` (ICMP error, connection
    /// refused or lost, §17.1.4, §17.2.4): the transaction terminates. See
    /// the module docs for when [`Output::TransportError`] is emitted.
    pub fn transport_error(&mut self, tx: TxId) {
        match tx {
            TxId::Client(ClientTxId(id)) => self.client_transport_error(id),
            TxId::Server(ServerTxId(id)) => self.server_transport_error(id),
        }
    }

    /// The transport to `dest` failed (a connection closed): every
    /// transaction sending to it ends as by [`Self::transport_error`].
    pub fn transport_error_to(&mut self, dest: &D)
    where
        D: PartialEq,
    {
        let clients: Vec<u64> = self
            .clients
            .iter()
            .filter(|(_, t)| t.to == *dest)
            .map(|(&id, _)| id)
            .collect();
        let servers: Vec<u64> = self
            .servers
            .iter()
            .filter(|(_, t)| t.from == *dest)
            .map(|(&id, _)| id)
            .collect();
        for id in clients {
            self.client_transport_error(id);
        }
        for id in servers {
            self.server_transport_error(id);
        }
    }

    fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        id
    }

    fn transmit(&mut self, to: D, message: Arc<SipMessage<'static>>) {
        self.out.push_back(Output::Transmit { to, message });
    }
}
