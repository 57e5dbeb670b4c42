//! Server transactions: RFC 3261 §17.2.1 (INVITE, Figure 7 as amended by
//! RFC 6026 Figure 5) and §17.2.2 (non-INVITE, Figure 8), plus receiving
//! CANCEL (§9.2).
//!
//! Owns: creating a server transaction for a new request (or refusing it
//! over the cap), absorbing retransmitted requests (re-sending the last
//! response), ACK handling, sending the user layer's responses, 100
//! Trying, and answering CANCEL.
//!
//! Must not: answer a request on its own except 100 Trying, the 487 of a
//! CANCELled INVITE and the answer to CANCEL itself; retransmit a 2xx
//! (RFC 6026: the user layer does, until the ACK).
//!
//! ```text
//! INVITE:  Proceeding ─300-699─▶ Completed ─ACK─▶ Confirmed ─I─▶ gone
//!            │ (100 after 200 ms)  G: resend final, H: Timeout
//!            └─2xx─▶ Accepted ─L─▶ gone (INVITEs absorbed, ACK passes up)
//! non-INVITE: Trying ─1xx─▶ Proceeding ─final─▶ Completed ─J─▶ gone
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::proto::sip::{Method, SipMessage, SipRequest, SipResponse};

use super::build;
use super::matching::{MAX_PER_KEY, ReqKey, ServerMatch, Want};
use super::timer::{Slot, Slots, TimerKind, TxRef};
use super::{Output, ServerState, ServerTxId, TransactionError, TransactionLayer, TxId};

pub(crate) struct ServerTx<D> {
    pub(crate) invite: bool,
    pub(crate) method: Method<'static>,
    pub(crate) state: ServerState,
    /// Where responses go (the caller applied §18.2.2 when it chose `D`).
    pub(crate) from: D,
    reliable: bool,
    key: ServerMatch,
    /// The last response sent, for absorbed retransmissions and Timer G.
    last: Option<Arc<SipMessage<'static>>>,
    /// Current Timer G interval.
    interval: Duration,
    pub(crate) timers: Slots,
    /// A CANCEL the layer answered itself: unknown to the user layer.
    pub(crate) internal: bool,
    /// INVITE: the 100 Trying the layer may send, also the base of its 487.
    template: Option<Box<SipResponse<'static>>>,
    /// INVITE and RFC 2543 transactions: the To tag of the last response
    /// sent (the 200 to a CANCEL reuses it, §9.2; RFC 2543 ACKs match it).
    response_tag: Option<Box<str>>,
}

impl<D: Clone> TransactionLayer<D> {
    /// Answers the request of server transaction `tx` with `resp` (built
    /// with `SipResponse::for_request`), and keeps it for retransmission:
    /// re-sent on retransmitted requests, and (INVITE 300–699, unreliable
    /// transport) on Timer G until the ACK. A 2xx to INVITE may be sent
    /// again while the transaction is Accepted (the user layer's 2xx
    /// retransmissions, RFC 6026); any other response after the final one
    /// is refused with [`TransactionError::FinalAlreadySent`] and not sent.
    pub fn send_response(
        &mut self,
        tx: ServerTxId,
        resp: SipResponse<'static>,
        now: Instant,
    ) -> Result<(), TransactionError> {
        if !(100..=699).contains(&resp.status) {
            return Err(TransactionError::BadStatus);
        }
        match self.servers.get(&tx.0) {
            Some(t) if !t.internal => self.respond(tx.0, resp, now),
            _ => Err(TransactionError::UnknownTransaction),
        }
    }

    pub(crate) fn receive_request(
        &mut self,
        req: SipRequest<'static>,
        from: D,
        reliable: bool,
        now: Instant,
    ) {
        let key = match ReqKey::of(&req) {
            Ok(k) => k,
            Err(e) => {
                self.out.push_back(Output::Stray {
                    message: SipMessage::Request(req),
                    from,
                    error: Some(e),
                });
                return;
            }
        };
        let own = self.find_server(&key, &req.method, Want::Same);
        match req.method {
            Method::Ack => {
                drop(key);
                match own {
                    Some(id) => self.server_ack(id, req, from, now),
                    None => self.out.push_back(Output::Ack { request: req, from }),
                }
            }
            _ if own.is_some() => {
                drop(key);
                if let Some(id) = own {
                    self.server_retransmission(id);
                }
            }
            Method::Cancel => {
                let target = self.find_server(&key, &req.method, Want::CancelTarget);
                let m = key.to_match();
                drop(key);
                self.receive_cancel(req, from, reliable, now, target, m);
            }
            _ => {
                let m = key.to_match();
                drop(key);
                if self.len() >= self.config.max_transactions || self.key_full(&m) {
                    self.out
                        .push_back(Output::Overloaded { request: req, from });
                    return;
                }
                self.start_server(req, from, reliable, now, m);
            }
        }
    }

    fn find_server(&self, key: &ReqKey<'_>, method: &Method<'_>, want: Want) -> Option<u64> {
        key.index_key(|by_branch, k| {
            let index = if by_branch {
                &self.server_branches
            } else {
                &self.server_calls
            };
            index.get(k)?.iter().find(|id| {
                self.servers.get(id).is_some_and(|t| {
                    key.matches(method, want, &t.key, &t.method, t.response_tag.as_deref())
                })
            })
        })
    }

    fn key_full(&self, m: &ServerMatch) -> bool {
        match m.index_key() {
            (true, k) => self.server_branches.count(k) >= MAX_PER_KEY,
            (false, k) => self.server_calls.count(k) >= MAX_PER_KEY,
        }
    }

    fn insert_server(&mut self, id: u64, tx: ServerTx<D>) {
        match tx.key.index_key() {
            (true, k) => self.server_branches.insert(k, id),
            (false, k) => self.server_calls.insert(k, id),
        }
        self.servers.insert(id, tx);
    }

    fn remove_server(&mut self, id: u64) {
        if let Some(mut t) = self.servers.remove(&id) {
            self.timers.disarm_all(&mut t.timers);
            match t.key.index_key() {
                (true, k) => self.server_branches.remove(k, id),
                (false, k) => self.server_calls.remove(k, id),
            }
        }
    }

    fn start_server(
        &mut self,
        req: SipRequest<'static>,
        from: D,
        reliable: bool,
        now: Instant,
        key: ServerMatch,
    ) {
        let id = self.next_id();
        let invite = req.method == Method::Invite;
        let timers = self.config.timers;
        let mut tx = ServerTx {
            invite,
            method: req.method.clone(),
            state: if invite {
                ServerState::Proceeding
            } else {
                ServerState::Trying
            },
            from: from.clone(),
            reliable,
            key,
            last: None,
            interval: timers.first_interval(),
            timers: Slots::default(),
            internal: false,
            template: invite.then(|| Box::new(build::trying_for(&req))),
            response_tag: None,
        };
        let send_trying_now = invite && timers.trying.is_zero();
        if invite && !send_trying_now {
            self.timers.arm(
                &mut tx.timers,
                TxRef::Server(id),
                TimerKind::Trying,
                now,
                timers.trying,
            );
        }
        self.insert_server(id, tx);
        if send_trying_now {
            self.send_trying(id);
        }
        self.out.push_back(Output::Request {
            tx: ServerTxId(id),
            request: req,
            from,
        });
    }

    /// 100 Trying from the template, unless a response went out already.
    fn send_trying(&mut self, id: u64) {
        let Some(t) = self.servers.get_mut(&id) else {
            return;
        };
        self.timers.disarm(&mut t.timers, Slot::Aux);
        if t.last.is_some() || t.state != ServerState::Proceeding {
            return;
        }
        let Some(template) = t.template.as_deref() else {
            return;
        };
        let msg = Arc::new(SipMessage::Response(template.clone()));
        t.last = Some(Arc::clone(&msg));
        let to = t.from.clone();
        self.transmit(to, msg);
    }

    /// Sends `resp` on server transaction `id` and moves it on.
    fn respond(
        &mut self,
        id: u64,
        resp: SipResponse<'static>,
        now: Instant,
    ) -> Result<(), TransactionError> {
        let timers = self.config.timers;
        let t = self
            .servers
            .get_mut(&id)
            .ok_or(TransactionError::UnknownTransaction)?;
        let r = TxRef::Server(id);
        let class = resp.status / 100;
        let mut linger = None;
        match (t.invite, t.state, class) {
            (true, ServerState::Proceeding, 1) => {
                self.timers.disarm(&mut t.timers, Slot::Aux);
            }
            (true, ServerState::Proceeding, 2) => {
                self.timers.disarm_all(&mut t.timers);
                t.state = ServerState::Accepted;
                t.template = None;
                linger = Some((TimerKind::L, timers.t1x64()));
            }
            (true, ServerState::Proceeding, _) => {
                self.timers.disarm_all(&mut t.timers);
                t.state = ServerState::Completed;
                t.template = None;
                if !t.reliable {
                    self.timers
                        .arm(&mut t.timers, r, TimerKind::G, now, t.interval);
                }
                self.timers
                    .arm(&mut t.timers, r, TimerKind::H, now, timers.t1x64());
            }
            (true, ServerState::Accepted, 2) => {}
            (true, _, _) => return Err(TransactionError::FinalAlreadySent),
            (false, ServerState::Trying | ServerState::Proceeding, 1) => {
                t.state = ServerState::Proceeding;
            }
            (false, ServerState::Trying | ServerState::Proceeding, _) => {
                t.state = ServerState::Completed;
                let j = if t.reliable {
                    Duration::ZERO
                } else {
                    timers.t1x64()
                };
                linger = Some((TimerKind::J, j));
            }
            (false, _, _) => return Err(TransactionError::FinalAlreadySent),
        }
        if t.invite || matches!(t.key, ServerMatch::Rfc2543(_)) {
            if let Some(tag) = build::to_tag(&resp) {
                t.response_tag = Some(tag);
            }
        }
        let msg = Arc::new(SipMessage::Response(resp));
        t.last = Some(Arc::clone(&msg));
        let to = t.from.clone();
        let mut terminate = false;
        if let Some((kind, after)) = linger {
            if after.is_zero() {
                terminate = true;
            } else {
                self.timers.arm(&mut t.timers, r, kind, now, after);
            }
        }
        self.transmit(to, msg);
        if terminate {
            self.remove_server(id);
        }
        Ok(())
    }

    /// A retransmitted request (§17.2.1, §17.2.2): re-send the last
    /// response where the state calls for it.
    fn server_retransmission(&mut self, id: u64) {
        let Some(t) = self.servers.get(&id) else {
            return;
        };
        let resend = match (t.invite, t.state) {
            (true, ServerState::Proceeding) if t.last.is_none() => {
                // The client is waiting: do not leave it to the 200 ms timer.
                self.send_trying(id);
                None
            }
            (true, ServerState::Proceeding | ServerState::Completed) => t.last.clone(),
            // RFC 6026 §7.1: retransmitted INVITEs in Accepted are absorbed.
            (true, _) => None,
            (false, ServerState::Trying) => None,
            (false, _) => t.last.clone(),
        };
        if let (Some(msg), Some(t)) = (resend, self.servers.get(&id)) {
            let to = t.from.clone();
            self.transmit(to, msg);
        }
    }

    fn server_ack(&mut self, id: u64, req: SipRequest<'static>, from: D, now: Instant) {
        let t4 = self.config.timers.t4;
        let Some(t) = self.servers.get_mut(&id) else {
            return;
        };
        match t.state {
            ServerState::Completed => {
                self.timers.disarm_all(&mut t.timers);
                t.state = ServerState::Confirmed;
                if t.reliable || t4.is_zero() {
                    self.remove_server(id);
                } else {
                    self.timers
                        .arm(&mut t.timers, TxRef::Server(id), TimerKind::I, now, t4);
                }
            }
            // RFC 6026 §8.7: an ACK matching an Accepted transaction is the
            // dialog's (an RFC 2543 peer's ACK for the 2xx).
            ServerState::Accepted => self.out.push_back(Output::Ack { request: req, from }),
            // Confirmed: retransmitted ACK. Proceeding: an ACK before any
            // final response means nothing.
            _ => {}
        }
    }

    /// A CANCEL that is not a retransmission (§9.2). `target` is the
    /// transaction it matches, if any.
    fn receive_cancel(
        &mut self,
        req: SipRequest<'static>,
        from: D,
        reliable: bool,
        now: Instant,
        target: Option<u64>,
        key: ServerMatch,
    ) {
        let id = self.next_id();
        let seed = self.config.tag_seed;
        let pending_invite = target.and_then(|tid| {
            let t = self.servers.get(&tid)?;
            let tag = t
                .response_tag
                .as_deref()
                .map_or_else(|| build::derived_tag(seed, tid), str::to_owned);
            Some((tid, tag, t.invite && t.state == ServerState::Proceeding))
        });
        let resp = match &pending_invite {
            Some((_, tag, _)) => build::answer(&req, 200, "OK", tag),
            None => build::answer(
                &req,
                481,
                "Call/Transaction Does Not Exist",
                &build::derived_tag(seed, id),
            ),
        };
        let msg = Arc::new(SipMessage::Response(resp));
        self.transmit(from.clone(), Arc::clone(&msg));
        // The CANCEL's own transaction absorbs its retransmissions for
        // Timer J; reliable transports need none, and over the cap the
        // answer above was stateless.
        let t1x64 = self.config.timers.t1x64();
        let room = self.len() < self.config.max_transactions && !self.key_full(&key);
        if !reliable && !t1x64.is_zero() && room {
            let mut tx = ServerTx {
                invite: false,
                method: Method::Cancel,
                state: ServerState::Completed,
                from,
                reliable,
                key,
                last: Some(msg),
                interval: Duration::ZERO,
                timers: Slots::default(),
                internal: true,
                template: None,
                response_tag: None,
            };
            self.timers
                .arm(&mut tx.timers, TxRef::Server(id), TimerKind::J, now, t1x64);
            self.insert_server(id, tx);
        }
        if let Some((tid, tag, true)) = pending_invite {
            let terminated = self.servers.get(&tid).and_then(|t| {
                let template = t.template.as_deref()?;
                Some(build::final_from_template(
                    template,
                    487,
                    "Request Terminated",
                    &tag,
                ))
            });
            if let Some(resp) = terminated {
                // Cannot fail: the transaction is in Proceeding.
                let _ = self.respond(tid, resp, now);
            }
            self.out.push_back(Output::Cancelled {
                tx: ServerTxId(tid),
            });
        }
    }

    pub(crate) fn server_timer(&mut self, id: u64, kind: TimerKind, now: Instant) {
        let timers = self.config.timers;
        match kind {
            TimerKind::Trying => self.send_trying(id),
            TimerKind::G => {
                let Some(t) = self.servers.get_mut(&id) else {
                    return;
                };
                t.interval = timers.next_interval(t.interval, true);
                self.timers.arm(
                    &mut t.timers,
                    TxRef::Server(id),
                    TimerKind::G,
                    now,
                    t.interval,
                );
                if let Some(msg) = t.last.clone() {
                    let to = t.from.clone();
                    self.transmit(to, msg);
                }
            }
            TimerKind::H => {
                if self.servers.get(&id).is_some_and(|t| !t.internal) {
                    self.out.push_back(Output::Timeout {
                        tx: TxId::Server(ServerTxId(id)),
                    });
                }
                self.remove_server(id);
            }
            _ => self.remove_server(id),
        }
    }

    pub(crate) fn server_transport_error(&mut self, id: u64) {
        let Some(t) = self.servers.get(&id) else {
            return;
        };
        let tell = !t.internal
            && match t.state {
                ServerState::Trying | ServerState::Proceeding | ServerState::Accepted => true,
                ServerState::Completed => t.invite,
                ServerState::Confirmed => false,
            };
        if tell {
            self.out.push_back(Output::TransportError {
                tx: TxId::Server(ServerTxId(id)),
            });
        }
        self.remove_server(id);
    }
}
