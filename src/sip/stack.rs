//! The SIP stack as the session-table thread uses it: transport threads,
//! the transaction layer, request screening, next-hop resolution, glued so
//! the user layer sees only requests worth its time and the final word on
//! each request it sent.
//!
//! Owns: the [`TransactionLayer`] (driven with `now` from the caller), the
//! [`SipTransport`] and [`Resolver`] handles, the requests waiting for a
//! name lookup, and the mapping from its own [`RequestId`]s to client
//! transactions. Fills in what RFC 3261 asks of every request it sends
//! (top Via with a fresh branch and `rport`, §18.1.1 transport choice) and
//! of every request it receives (RFC 3581 `received`/`rport`, §8.2
//! screening, stateless answers to malformed requests).
//!
//! Must not: block (sends are queued by the transport; lookups run on the
//! resolver threads), read the clock (the caller passes `now`), or hold
//! dialog or session state (the user layer's).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::Sender;
use log::{debug, info, warn};

use crate::config::Transport;
use crate::event::{Event, SipEvent, SipPeer};
use crate::ids::IdSource;
use crate::proto::sip::uri::Uri;
use crate::proto::sip::{HeaderName, SipMessage, SipRequest, SipResponse};
use crate::resolver::Resolver;
use crate::sip::screen::{RETRY_AFTER_SECS, ScreenPolicy, Screened, screen, stateless_answer};
use crate::sip::target::Target;
use crate::sip::transaction::{ClientTxId, Output, ServerTxId, Timers, TransactionLayer, TxId};
use crate::sip::transport::{SipTransport, SipTransportConfig};

/// A request the user layer sent, from [`SipStack::send_request`] to its
/// final outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u64);

/// What the stack hands the user layer.
#[derive(Debug)]
pub enum SipUp {
    /// A new request that passed screening: answer it with
    /// [`SipStack::respond`] (every request but ACK needs a final answer).
    Request {
        tx: ServerTxId,
        request: SipRequest<'static>,
        from: SipPeer,
    },
    /// An ACK for a 2xx (dialog business).
    Ack {
        request: SipRequest<'static>,
        from: SipPeer,
    },
    /// A CANCEL ended an INVITE server transaction; the stack already
    /// answered 487.
    Cancelled { tx: ServerTxId },
    /// A response to a request of ours (provisional or final).
    Response {
        id: RequestId,
        response: SipResponse<'static>,
    },
    /// A request of ours ended without a response: `status` is what it
    /// counts as (408 timeout, 503 transport or lookup failure).
    Failed {
        id: RequestId,
        status: u16,
        reason: String,
    },
}

/// Where msrpgw says it can be reached (Via sent-by, Contact).
#[derive(Debug, Clone)]
pub struct LocalAddress {
    /// `advertised_host`, else the listen IP.
    pub host: String,
}

/// Why a request could not be sent at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendRequestError {
    /// The next hop is not a usable SIP URI.
    Target(String),
    /// The transaction layer refused it (full, malformed).
    Transaction(String),
}

impl std::fmt::Display for SendRequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendRequestError::Target(e) => write!(f, "bad next hop: {e}"),
            SendRequestError::Transaction(e) => write!(f, "cannot send: {e}"),
        }
    }
}

/// A request waiting for its next hop's address.
struct PendingLookup {
    id: RequestId,
    request: SipRequest<'static>,
    target: Target,
}

pub struct SipStack {
    transport: SipTransport,
    resolver: Resolver,
    txn: TransactionLayer<SipPeer>,
    ids: Arc<IdSource>,
    policy: ScreenPolicy,
    local: LocalAddress,
    next_id: u64,
    lookups: HashMap<u64, PendingLookup>,
    by_tx: HashMap<ClientTxId, RequestId>,
    /// INVITE transactions that got a 2xx: their mapping stays while 2xx
    /// retransmissions may still arrive (each needs its ACK again), then
    /// goes (oldest first).
    accepted: VecDeque<(Instant, ClientTxId)>,
    up: VecDeque<SipUp>,
}

impl SipStack {
    /// Starts the transport and resolver threads; their events go to
    /// `events`, which the caller feeds back through
    /// [`Self::handle_event`].
    pub fn start(
        transport: SipTransportConfig,
        timers: Timers,
        local: LocalAddress,
        ids: Arc<IdSource>,
        events: Sender<Event>,
    ) -> std::io::Result<SipStack> {
        let resolver = Resolver::start(events.clone())?;
        let transport = SipTransport::start(transport, events)?;
        let mut seed = [0u8; 8];
        // Tags of the layer's own responses only need to differ across
        // instances; a failed read leaves the counter-based part unique.
        let _ = getrandom::fill(&mut seed);
        let txn = TransactionLayer::with_config(crate::sip::transaction::Config {
            timers,
            tag_seed: u64::from_le_bytes(seed),
            ..Default::default()
        });
        let policy = ScreenPolicy {
            branch_prefix: ids.branch_prefix(),
            draining: false,
            retry_after_secs: RETRY_AFTER_SECS,
        };
        Ok(SipStack {
            transport,
            resolver,
            txn,
            ids,
            policy,
            local,
            next_id: 1,
            lookups: HashMap::new(),
            by_tx: HashMap::new(),
            accepted: VecDeque::new(),
            up: VecDeque::new(),
        })
    }

    pub fn transport(&self) -> &SipTransport {
        &self.transport
    }

    /// OPTIONS get 503 from now on (DESIGN §8: draining before shutdown).
    pub fn set_draining(&mut self, draining: bool) {
        self.policy.draining = draining;
    }

    /// Caps live transactions (`[sip] max_transactions`); requests over
    /// the cap get a stateless 503.
    pub fn set_max_transactions(&mut self, max: usize) {
        self.txn.set_max_transactions(max);
    }

    /// Live transactions.
    pub fn transaction_count(&self) -> usize {
        self.txn.len()
    }

    /// Requests of ours still waiting for a final outcome (name lookup or
    /// client transaction; INVITEs already accepted do not count).
    pub fn pending_requests(&self) -> usize {
        let accepted: std::collections::HashSet<&ClientTxId> =
            self.accepted.iter().map(|(_, tx)| tx).collect();
        let waiting = self
            .by_tx
            .keys()
            .filter(|tx| !accepted.contains(tx))
            .count();
        self.lookups.len() + waiting
    }

    /// Server transactions still waiting for the user layer's final answer.
    pub fn unanswered(&self) -> Vec<ServerTxId> {
        self.txn.awaiting_final().collect()
    }

    /// msrpgw's own URI for `kind` (Contact of requests and 2xx), with
    /// `user` as the user part.
    pub fn contact(&self, user: Option<&str>, kind: Transport) -> Uri<'static> {
        let uri = Uri::sip(user, &self.local.host, self.local_port(kind));
        match kind {
            Transport::Udp => uri,
            Transport::Tcp => uri.with_param("transport", Some("tcp")),
            Transport::Tls => uri.with_secure(true),
        }
    }

    /// The port of our listener for `kind`, else of any listener (replies
    /// on streams come back over the connection anyway).
    fn local_port(&self, kind: Transport) -> Option<u16> {
        self.transport
            .local_addr(kind)
            .or_else(|| self.transport.local_addrs().first().map(|l| l.addr))
            .map(|a| a.port())
    }

    /// The next thing for the user layer.
    pub fn poll(&mut self) -> Option<SipUp> {
        self.up.pop_front()
    }

    /// When [`Self::handle_timeout`] next has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.txn.poll_timeout()
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        self.txn.handle_timeout(now);
        while self.accepted.front().is_some_and(|(t, _)| *t <= now) {
            if let Some((_, tx)) = self.accepted.pop_front() {
                self.by_tx.remove(&tx);
            }
        }
        self.pump(now);
    }

    /// Feeds an event from the transport or resolver threads.
    pub fn handle_event(&mut self, ev: Event, now: Instant) {
        match ev {
            Event::Sip(SipEvent::Received { message, from }) => {
                let message = match message {
                    SipMessage::Request(mut req) => {
                        let ip = from.addr.ip().to_string();
                        req.headers.stamp_top_via(&ip, from.addr.port());
                        SipMessage::Request(req)
                    }
                    resp => resp,
                };
                self.txn
                    .receive(message, from, from.kind.is_reliable(), now);
            }
            Event::Sip(SipEvent::Malformed {
                status,
                reason,
                offset,
                head,
                from,
            }) => {
                info!(
                    "sip {from}: malformed message ({reason} at byte {offset}): answering {status}"
                );
                if let Some(SipMessage::Request(req)) = head {
                    self.stateless_answer(&req, status, reason, from);
                }
            }
            Event::Sip(SipEvent::SendFailed { to, reason }) => {
                warn!("sip {to}: {reason}");
                self.txn.transport_error_to(&to);
            }
            Event::Sip(SipEvent::ConnectionClosed { conn, peer, reason }) => {
                debug!("sip {peer} {conn}: closed: {reason}");
            }
            Event::Resolved { token, result } => self.resolved(token, result, now),
            // The session table's business; nothing for the stack.
            Event::Stop | Event::Status(_) | Event::Msrp(_) => {}
        }
        self.pump(now);
    }

    /// A response sent without a transaction (malformed or overloaded
    /// requests): addressed from what could be read of the request.
    fn stateless_answer(&mut self, req: &SipRequest<'_>, status: u16, reason: &str, to: SipPeer) {
        let tag = self.ids.tag();
        let retry = self.policy.retry_after_secs;
        if let Some(resp) = stateless_answer(req, status, reason, &tag, retry) {
            self.txn.send_stateless(SipMessage::Response(resp), to);
        }
    }

    /// Answers a request the user layer got as [`SipUp::Request`]. A
    /// final response without a To tag gets one (RFC 3261 §8.2.6.2); a
    /// 503 without Retry-After gets the stack's (as its own 503s carry).
    pub fn respond(&mut self, tx: ServerTxId, mut resp: SipResponse<'static>, now: Instant) {
        if resp.status > 100 {
            let has_tag = resp.headers.to_addr().is_ok_and(|t| t.tag().is_some());
            if !has_tag {
                resp.set_to_tag(&self.ids.tag());
            }
        }
        if resp.status == 503 && resp.headers.get(&HeaderName::RetryAfter).is_none() {
            resp.push_header(
                HeaderName::RetryAfter,
                self.policy.retry_after_secs.to_string(),
            );
        }
        if let Err(e) = self.txn.send_response(tx, resp, now) {
            warn!("sip: cannot answer {tx:?}: {e}");
        }
        self.pump(now);
    }

    /// Sends an ACK for a 2xx (or a 2xx retransmission) outside any
    /// transaction, toward `next_hop`, which must be an IP literal here:
    /// in-dialog targets are the peer's Contact or the first Route, and
    /// msrpgw's peers give addresses there.
    pub fn send_stateless(
        &mut self,
        mut req: SipRequest<'static>,
        next_hop: &Uri<'_>,
        now: Instant,
    ) {
        let target = match self.route(&mut req, next_hop) {
            Ok(t) => t,
            Err(e) => {
                warn!(
                    "sip: cannot send {} to {next_hop}: {e}",
                    req.method.as_str()
                );
                return;
            }
        };
        match target.literal() {
            Some(peer) => self.txn.send_stateless(SipMessage::Request(req), peer),
            None => warn!(
                "sip: {} to {next_hop} dropped: in-dialog targets must be addresses",
                req.method.as_str()
            ),
        }
        self.pump(now);
    }

    /// Sends a request toward `next_hop` (the Request-URI or a configured
    /// proxy). The stack adds the top Via (fresh branch, `rport`) and picks
    /// the transport (URI, then RFC 3261 §18.1.1 size rule); a host name
    /// is looked up off-thread. The outcome arrives as [`SipUp::Response`]
    /// or [`SipUp::Failed`] with the returned id.
    pub fn send_request(
        &mut self,
        mut req: SipRequest<'static>,
        next_hop: &Uri<'_>,
        now: Instant,
    ) -> Result<RequestId, SendRequestError> {
        let target = self
            .route(&mut req, next_hop)
            .map_err(|e| SendRequestError::Target(format!("{next_hop}: {e}")))?;
        let id = RequestId(self.next_id);
        self.next_id += 1;
        match target.literal() {
            Some(peer) => self.start_client(id, req, peer, now)?,
            None => {
                if let Err(e) = self.resolver.lookup(id.0, &target.host, target.port) {
                    return Err(SendRequestError::Target(e));
                }
                self.lookups.insert(
                    id.0,
                    PendingLookup {
                        id,
                        request: req,
                        target,
                    },
                );
            }
        }
        self.pump(now);
        Ok(id)
    }

    /// CANCELs an INVITE of ours still without a final response (RFC 3261
    /// §9.1); its 487 (or the 2xx that crossed the CANCEL) arrives as
    /// usual. A request still waiting for its name lookup is dropped and
    /// reported as [`SipUp::Failed`] with 487.
    pub fn cancel(&mut self, id: RequestId, now: Instant) {
        if let Some(token) = self
            .lookups
            .iter()
            .find(|(_, p)| p.id == id)
            .map(|(t, _)| *t)
        {
            self.lookups.remove(&token);
            self.up.push_back(SipUp::Failed {
                id,
                status: 487,
                reason: "Request Terminated".to_owned(),
            });
            return;
        }
        let tx = self
            .by_tx
            .iter()
            .find(|(_, r)| **r == id)
            .map(|(tx, _)| *tx);
        if let Some(tx) = tx {
            if let Err(e) = self.txn.cancel(tx, now) {
                debug!("sip: cannot cancel {id:?}: {e}");
            }
        }
        self.pump(now);
    }

    /// The next hop of `req` (URI rules, then the §18.1.1 size rule) and
    /// its top Via for that transport.
    fn route(
        &self,
        req: &mut SipRequest<'static>,
        next_hop: &Uri<'_>,
    ) -> Result<Target, crate::sip::target::TargetError> {
        // The Via and a little slack are still to come.
        let target = Target::of_uri(next_hop)?.for_size(req.to_bytes().len() + 80);
        self.push_via(req, target.kind);
        Ok(target)
    }

    fn push_via(&self, req: &mut SipRequest<'static>, kind: Transport) {
        let port = self.local_port(kind).unwrap_or(5060);
        let host = if self.local.host.contains(':') && !self.local.host.starts_with('[') {
            format!("[{}]", self.local.host)
        } else {
            self.local.host.clone()
        };
        let via = format!(
            "SIP/2.0/{} {host}:{port};branch={};rport",
            kind.via_token(),
            self.ids.branch()
        );
        // The new Via goes on top of any the request already carries.
        let existing: Vec<String> = req
            .headers
            .iter()
            .filter(|h| h.name == HeaderName::Via)
            .map(|h| h.value.to_string())
            .collect();
        req.headers.remove(&HeaderName::Via);
        let mut all = vec![via];
        all.extend(existing);
        req.headers.set(HeaderName::Via, all.join(", "));
    }

    fn start_client(
        &mut self,
        id: RequestId,
        req: SipRequest<'static>,
        peer: SipPeer,
        now: Instant,
    ) -> Result<(), SendRequestError> {
        let tx = self
            .txn
            .send_request(req, peer, peer.kind.is_reliable(), now)
            .map_err(|e| SendRequestError::Transaction(e.to_string()))?;
        self.by_tx.insert(tx, id);
        Ok(())
    }

    fn resolved(
        &mut self,
        token: u64,
        result: Result<Vec<std::net::SocketAddr>, String>,
        now: Instant,
    ) {
        let Some(p) = self.lookups.remove(&token) else {
            return;
        };
        let addr = result.and_then(|addrs| {
            addrs
                .first()
                .copied()
                .ok_or_else(|| format!("{} has no address", p.target.host))
        });
        match addr {
            Ok(a) => {
                let peer = SipPeer::to(p.target.kind, a);
                if p.target.kind == Transport::Tls {
                    // The certificate names the host, not the address.
                    if let Err(e) = self.transport.open_tls(&peer, &p.target.host) {
                        warn!("sip {peer}: cannot open TLS to {}: {e}", p.target.host);
                    }
                }
                if let Err(e) = self.start_client(p.id, p.request, peer, now) {
                    self.up.push_back(SipUp::Failed {
                        id: p.id,
                        status: 503,
                        reason: e.to_string(),
                    });
                }
            }
            Err(reason) => {
                warn!("sip: {reason}");
                self.up.push_back(SipUp::Failed {
                    id: p.id,
                    status: 503,
                    reason,
                });
            }
        }
    }

    /// Runs the transaction layer's outputs until none are left.
    fn pump(&mut self, now: Instant) {
        while let Some(out) = self.txn.poll_output() {
            match out {
                Output::Transmit { to, message } => {
                    let bytes = message.to_bytes();
                    if let Err(e) = self.transport.send(&to, bytes) {
                        warn!("sip {to}: send failed: {e}");
                        self.txn.transport_error_to(&to);
                    }
                }
                Output::Request { tx, request, from } => match screen(&request, &self.policy) {
                    Screened::Answer(mut resp) => {
                        resp.set_to_tag(&self.ids.tag());
                        debug!(
                            "sip {from}: {} {} answered {} by the SIP layer",
                            request.method.as_str(),
                            request.headers.call_id().unwrap_or("-"),
                            resp.status
                        );
                        if let Err(e) = self.txn.send_response(tx, resp, now) {
                            warn!("sip: cannot answer {tx:?}: {e}");
                        }
                    }
                    Screened::Pass => self.up.push_back(SipUp::Request { tx, request, from }),
                },
                Output::Response { tx, response } => {
                    let invite = response
                        .headers
                        .cseq()
                        .is_ok_and(|c| c.method == crate::proto::sip::Method::Invite);
                    let id = match response.status {
                        100..=199 => self.by_tx.get(&tx).copied(),
                        200..=299 if invite => {
                            // A 2xx to an INVITE may repeat (lost ACK,
                            // forking): keep the mapping for 64·T1.
                            let until = now + self.txn.config().timers.t1x64();
                            self.accepted.push_back((until, tx));
                            self.by_tx.get(&tx).copied()
                        }
                        _ => self.by_tx.remove(&tx),
                    };
                    if let Some(id) = id {
                        self.up.push_back(SipUp::Response { id, response });
                    }
                }
                Output::Timeout {
                    tx: TxId::Client(tx),
                } => {
                    if let Some(id) = self.by_tx.remove(&tx) {
                        self.up.push_back(SipUp::Failed {
                            id,
                            status: 408,
                            reason: "no response (transaction timeout)".to_owned(),
                        });
                    }
                }
                Output::TransportError {
                    tx: TxId::Client(tx),
                } => {
                    if let Some(id) = self.by_tx.remove(&tx) {
                        self.up.push_back(SipUp::Failed {
                            id,
                            status: 503,
                            reason: "transport failure".to_owned(),
                        });
                    }
                }
                Output::Timeout {
                    tx: TxId::Server(tx),
                } => {
                    debug!("sip: server transaction {tx:?} ended without ACK");
                }
                Output::TransportError {
                    tx: TxId::Server(tx),
                } => {
                    debug!("sip: response for {tx:?} could not be sent");
                }
                Output::Cancelled { tx } => self.up.push_back(SipUp::Cancelled { tx }),
                Output::Ack { request, from } => self.up.push_back(SipUp::Ack { request, from }),
                Output::Stray {
                    message,
                    from,
                    error,
                } => match (message, error) {
                    (SipMessage::Request(req), Some(e)) => {
                        // The screen names the problem best (501 for an
                        // unknown method with a mismatched CSeq, RFC 4475
                        // mismatch02); else 400 with the layer's reason.
                        let (status, reason) = match screen(&req, &self.policy) {
                            Screened::Answer(r) => (r.status, r.reason.into_owned()),
                            Screened::Pass => (400, e.to_string()),
                        };
                        info!("sip {from}: unusable request ({e}): answering {status}");
                        self.stateless_answer(&req, status, &reason, from);
                    }
                    (_, _) => debug!("sip {from}: stray message dropped"),
                },
                Output::Overloaded { request, from } => {
                    warn!("sip {from}: transaction limit reached: answering 503");
                    self.stateless_answer(&request, 503, "Service Unavailable", from);
                }
            }
        }
    }

    /// Stops the transport and resolver threads.
    pub fn shutdown(self) {
        self.transport.shutdown();
        self.resolver.shutdown();
    }
}
