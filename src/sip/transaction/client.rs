//! Client transactions: RFC 3261 §17.1.1 (INVITE, Figure 5 as amended by
//! RFC 6026 Figure 3) and §17.1.2 (non-INVITE, Figure 6), plus sending
//! CANCEL (§9.1).
//!
//! Owns: what a client transaction does on each response class, timer and
//! transport error, in each state; retransmitting the request; the ACK for
//! a 300–699 final; the layer's own CANCEL transactions.
//!
//! Must not: ACK a 2xx (the dialog's job, §13.2.2.4), or pass anything up
//! for a CANCEL it sent itself.
//!
//! ```text
//! INVITE:   Calling ─1xx─▶ Proceeding ─300-699─▶ Completed ─D─▶ gone
//!              │  A: resend     │ C: CANCEL         (ACK each final)
//!              │  B: Timeout    └─2xx─▶ Accepted ─M─▶ gone (2xx pass up)
//!              └─2xx / 300-699 as from Proceeding
//! non-INVITE: Trying ─1xx─▶ Proceeding ─final─▶ Completed ─K─▶ gone
//!              E: resend (doubling to T2; T2 in Proceeding), F: Timeout
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::proto::sip::{Method, SipMessage, SipRequest, SipResponse};

use super::build;
use super::matching::{MAX_PER_KEY, with_lower};
use super::timer::{Slot, Slots, TimerKind, TxRef};
use super::{ClientState, ClientTxId, Output, TransactionError, TransactionLayer, TxId};

/// Where a CANCEL of this INVITE stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CancelState {
    None,
    /// Asked for before any provisional response: sent on the first one.
    Pending,
    Sent,
}

pub(crate) struct ClientTx<D> {
    pub(crate) invite: bool,
    pub(crate) state: ClientState,
    pub(crate) method: Method<'static>,
    /// The request as sent, for retransmission and to build ACK/CANCEL.
    request: Arc<SipMessage<'static>>,
    branch: Box<str>,
    pub(crate) to: D,
    reliable: bool,
    /// Current retransmission interval (A or E).
    interval: Duration,
    pub(crate) timers: Slots,
    /// A CANCEL the layer sent: nothing passes up.
    pub(crate) internal: bool,
    /// The ACK for a 300–699, kept to answer retransmitted finals.
    ack: Option<Arc<SipMessage<'static>>>,
    cancel: CancelState,
}

/// What a response does to a client transaction.
enum Step {
    /// Pass it up.
    Deliver,
    /// Retransmission or late provisional: drop.
    Absorb,
}

impl<D: Clone> TransactionLayer<D> {
    /// Starts a client transaction for `req` toward `to`: transmits it now,
    /// retransmits it on unreliable transports (Timer A or E) and times it
    /// out (Timer B or F). Its responses come out as [`Output::Response`].
    ///
    /// The request must carry its own transaction id: a top Via with a
    /// `z9hG4bK` branch unique to this request (see [`super::check_branch`]).
    /// ACK for a 2xx goes through `send_stateless`; CANCEL through
    /// [`Self::cancel`].
    pub fn send_request(
        &mut self,
        req: SipRequest<'static>,
        to: D,
        reliable: bool,
        now: Instant,
    ) -> Result<ClientTxId, TransactionError> {
        match req.method {
            Method::Ack => return Err(TransactionError::AckIsNotATransaction),
            Method::Cancel => return Err(TransactionError::CancelIsBuiltByLayer),
            _ => {}
        }
        let branch = super::matching::own_branch(&req)?;
        if self.len() >= self.config.max_transactions {
            return Err(TransactionError::Overloaded);
        }
        if let Some(ids) = self.client_index.get(&branch) {
            if ids.iter().any(|id| {
                self.clients
                    .get(&id)
                    .is_some_and(|t| t.method == req.method)
            }) {
                return Err(TransactionError::DuplicateBranch);
            }
        }
        if self.client_index.count(&branch) >= MAX_PER_KEY {
            return Err(TransactionError::DuplicateBranch);
        }
        Ok(ClientTxId(
            self.start_client(req, branch, to, reliable, now, false),
        ))
    }

    /// CANCELs a pending INVITE (§9.1). Before any provisional response
    /// the CANCEL is held and sent when the first one arrives (a CANCEL
    /// must not overtake the INVITE's first response); the INVITE's final
    /// response (typically 487) still comes out as [`Output::Response`].
    /// Cancelling twice is harmless.
    pub fn cancel(&mut self, tx: ClientTxId, now: Instant) -> Result<(), TransactionError> {
        let t = self
            .clients
            .get_mut(&tx.0)
            .filter(|t| !t.internal)
            .ok_or(TransactionError::UnknownTransaction)?;
        if !t.invite {
            return Err(TransactionError::NotInvite);
        }
        match t.state {
            ClientState::Completed | ClientState::Accepted => {
                Err(TransactionError::FinalAlreadyReceived)
            }
            ClientState::Calling | ClientState::Trying => {
                if t.cancel == CancelState::None {
                    t.cancel = CancelState::Pending;
                }
                Ok(())
            }
            ClientState::Proceeding => {
                if t.cancel != CancelState::Sent {
                    self.send_cancel(tx.0, now);
                }
                Ok(())
            }
        }
    }

    fn start_client(
        &mut self,
        req: SipRequest<'static>,
        branch: Box<str>,
        to: D,
        reliable: bool,
        now: Instant,
        internal: bool,
    ) -> u64 {
        let id = self.next_id();
        let invite = req.method == Method::Invite;
        let method = req.method.clone();
        let request = Arc::new(SipMessage::Request(req));
        self.transmit(to.clone(), Arc::clone(&request));
        let timers = self.config.timers;
        let mut tx = ClientTx {
            invite,
            state: if invite {
                ClientState::Calling
            } else {
                ClientState::Trying
            },
            method,
            request,
            branch,
            to,
            reliable,
            interval: timers.first_interval(),
            timers: Default::default(),
            internal,
            ack: None,
            cancel: CancelState::None,
        };
        let r = TxRef::Client(id);
        let (retransmit, timeout) = if invite {
            (TimerKind::A, TimerKind::B)
        } else {
            (TimerKind::E, TimerKind::F)
        };
        if !reliable {
            self.timers
                .arm(&mut tx.timers, r, retransmit, now, tx.interval);
        }
        self.timers
            .arm(&mut tx.timers, r, timeout, now, timers.t1x64());
        self.client_index.insert(&tx.branch, id);
        self.clients.insert(id, tx);
        id
    }

    /// Builds and sends the CANCEL of INVITE transaction `id` as an
    /// internal client transaction, and starts the 64·T1 wait for the
    /// INVITE's final response.
    fn send_cancel(&mut self, id: u64, now: Instant) {
        let t1x64 = self.config.timers.t1x64();
        let Some(t) = self.clients.get_mut(&id) else {
            return;
        };
        let Some(invite) = t.request.as_request() else {
            return;
        };
        let cancel = build::cancel_for(invite);
        t.cancel = CancelState::Sent;
        // Timer C's job is done; the guard below bounds the wait now.
        self.timers.disarm(&mut t.timers, Slot::Timeout);
        self.timers.arm(
            &mut t.timers,
            TxRef::Client(id),
            TimerKind::CancelGuard,
            now,
            t1x64,
        );
        let (branch, to, reliable) = (t.branch.clone(), t.to.clone(), t.reliable);
        self.start_client(cancel, branch, to, reliable, now, true);
    }

    pub(crate) fn receive_response(&mut self, resp: SipResponse<'static>, from: D, now: Instant) {
        // The parser never yields another status; a hand-built one could.
        let found = match resp.headers.top_via() {
            _ if !(100..=699).contains(&resp.status) => Err(TransactionError::BadStatus),
            Err(_) => Err(TransactionError::BadVia),
            Ok(via) => match (via.branch(), resp.headers.cseq()) {
                (None, _) => Err(TransactionError::MissingBranch),
                (_, Err(_)) => Err(TransactionError::BadCSeq),
                (Some(branch), Ok(cseq)) => Ok(with_lower(branch, |b| {
                    self.client_index.get(b).and_then(|ids| {
                        ids.iter().find(|id| {
                            self.clients
                                .get(id)
                                .is_some_and(|t| t.method == cseq.method)
                        })
                    })
                })),
            },
        };
        match found {
            Ok(Some(id)) => self.client_response(id, resp, now),
            Ok(None) => self.out.push_back(Output::Stray {
                message: SipMessage::Response(resp),
                from,
                error: None,
            }),
            Err(e) => self.out.push_back(Output::Stray {
                message: SipMessage::Response(resp),
                from,
                error: Some(e),
            }),
        }
    }

    fn client_response(&mut self, id: u64, resp: SipResponse<'static>, now: Instant) {
        let timers = self.config.timers;
        let Some(t) = self.clients.get_mut(&id) else {
            return;
        };
        let r = TxRef::Client(id);
        let class = resp.status / 100;
        let mut send_cancel = false;
        let mut linger = None;
        let mut ack_to_send = None;
        let step = match (t.invite, t.state, class) {
            (true, ClientState::Calling | ClientState::Proceeding, 1) => {
                if t.state == ClientState::Calling {
                    self.timers.disarm(&mut t.timers, Slot::Retransmit);
                    t.state = ClientState::Proceeding;
                    send_cancel = t.cancel == CancelState::Pending;
                }
                // Timer C restarts with every provisional (§16.6 step 11);
                // once a CANCEL is out, the 64·T1 guard bounds the wait.
                if t.cancel == CancelState::Sent || send_cancel {
                    self.timers.disarm(&mut t.timers, Slot::Timeout);
                } else {
                    self.timers
                        .arm(&mut t.timers, r, TimerKind::C, now, timers.c);
                }
                Step::Deliver
            }
            (true, ClientState::Calling | ClientState::Proceeding, 2) => {
                self.timers.disarm_all(&mut t.timers);
                t.state = ClientState::Accepted;
                linger = Some((TimerKind::M, timers.t1x64()));
                Step::Deliver
            }
            (true, ClientState::Calling | ClientState::Proceeding, _) => {
                self.timers.disarm_all(&mut t.timers);
                t.state = ClientState::Completed;
                if let Some(invite) = t.request.as_request() {
                    let ack = Arc::new(SipMessage::Request(build::ack_for(invite, &resp)));
                    t.ack = Some(Arc::clone(&ack));
                    ack_to_send = Some(ack);
                }
                let d = if t.reliable { Duration::ZERO } else { timers.d };
                linger = Some((TimerKind::D, d));
                Step::Deliver
            }
            // A forking proxy forwards every 2xx (§16.7 step 5), even after
            // another branch's non-2xx: the dialog layer must see it.
            (true, ClientState::Completed, 2) => Step::Deliver,
            (true, ClientState::Completed, 3..) => {
                ack_to_send = t.ack.clone();
                Step::Absorb
            }
            (true, ClientState::Accepted, 2) => Step::Deliver,
            (true, _, _) => Step::Absorb,
            (false, ClientState::Trying | ClientState::Proceeding, 1) => {
                t.state = ClientState::Proceeding;
                Step::Deliver
            }
            (false, ClientState::Trying | ClientState::Proceeding, _) => {
                self.timers.disarm_all(&mut t.timers);
                t.state = ClientState::Completed;
                let k = if t.reliable {
                    Duration::ZERO
                } else {
                    timers.t4
                };
                linger = Some((TimerKind::K, k));
                Step::Deliver
            }
            (false, _, _) => Step::Absorb,
        };
        let internal = t.internal;
        let to = t.to.clone();
        let mut terminate = false;
        if let Some((kind, after)) = linger {
            if after.is_zero() {
                terminate = true;
            } else {
                self.timers.arm(&mut t.timers, r, kind, now, after);
            }
        }
        if let Some(ack) = ack_to_send {
            self.transmit(to, ack);
        }
        if matches!(step, Step::Deliver) && !internal {
            self.out.push_back(Output::Response {
                tx: ClientTxId(id),
                response: resp,
            });
        }
        if send_cancel {
            self.send_cancel(id, now);
        }
        if terminate {
            self.remove_client(id);
        }
    }

    pub(crate) fn client_timer(&mut self, id: u64, kind: TimerKind, now: Instant) {
        let timers = self.config.timers;
        let Some(t) = self.clients.get_mut(&id) else {
            return;
        };
        let r = TxRef::Client(id);
        match kind {
            TimerKind::A | TimerKind::E => {
                t.interval = match (kind, t.state) {
                    (TimerKind::E, ClientState::Proceeding) => timers.t2_interval(),
                    (TimerKind::E, _) => timers.next_interval(t.interval, true),
                    _ => timers.next_interval(t.interval, false),
                };
                self.timers.arm(&mut t.timers, r, kind, now, t.interval);
                let (to, request) = (t.to.clone(), Arc::clone(&t.request));
                self.transmit(to, request);
            }
            TimerKind::C => {
                if t.cancel != CancelState::Sent {
                    self.send_cancel(id, now);
                }
            }
            TimerKind::B | TimerKind::F | TimerKind::CancelGuard => {
                if !t.internal {
                    self.out.push_back(Output::Timeout {
                        tx: TxId::Client(ClientTxId(id)),
                    });
                }
                self.remove_client(id);
            }
            _ => self.remove_client(id),
        }
    }

    pub(crate) fn client_transport_error(&mut self, id: u64) {
        let Some(t) = self.clients.get(&id) else {
            return;
        };
        let pending = matches!(
            t.state,
            ClientState::Calling | ClientState::Trying | ClientState::Proceeding
        );
        if pending && !t.internal {
            self.out.push_back(Output::TransportError {
                tx: TxId::Client(ClientTxId(id)),
            });
        }
        self.remove_client(id);
    }

    fn remove_client(&mut self, id: u64) {
        if let Some(mut t) = self.clients.remove(&id) {
            self.timers.disarm_all(&mut t.timers);
            self.client_index.remove(&t.branch, id);
        }
    }
}
