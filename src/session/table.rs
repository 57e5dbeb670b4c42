//! The session-table thread: the one owner of protocol state (DESIGN §3).
//!
//! Owns: the [`UaCore`] (and through it the SIP transactions and dialogs),
//! the [`MsrpStack`] handle, every [`Session`] and the indexes that find a
//! session from a pair key, a dialog, an MSRP session or a request of ours;
//! the MESSAGEs toward pager users in flight; idle timers; the stop
//! sequence. The loop: one inbox (`Event`), one `select!` with the next
//! deadline, one `handle_event`, then everything the UA core has for the
//! session layer.
//!
//! The two flows live beside it: `to_session.rs` (a pager MESSAGE
//! becomes a SEND, creating the session with an INVITE when needed) and
//! `to_pager.rs` (an INVITE with an MSRP offer is answered; each
//! message received becomes a MESSAGE). This file holds what both share:
//! lookup, teardown, timers, stop, status.
//!
//! Must not: block on a socket or a full queue (the transports queue, the
//! MSRP session threads own their connections), or sleep past the next
//! deadline.
//!
//! # Stopping (DESIGN I5)
//!
//! On [`Event::Stop`]: OPTIONS answer 503 (load balancers move traffic
//! away), new requests get 503 with Retry-After, MESSAGEs still waiting
//! for a session get 503, every session gets BYE and its MSRP session is
//! closed (SENDs in flight get their outcome or fail). The loop ends when
//! nothing waits for an answer any more, or when `[gateway]
//! shutdown_grace_secs` has passed; whatever is still unanswered then gets
//! 503.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, select};
use log::{debug, info, warn};

use crate::config::Config;
use crate::event::{CloseReason, Event, HeldId, MsrpEvent, MsrpSessionKey, StatusQuery};
use crate::ids::IdSource;
use crate::metrics::{EndReason as EndMetric, Metrics};
use crate::msrp::MsrpStack;
use crate::proto::sip::{SipRequest, SipResponse};
use crate::session::content::ImdnAsked;
use crate::session::record::{PagerMessage, PairKey, Session, SessionId, State};
use crate::sip::dialog::DialogId;
use crate::sip::stack::RequestId;
use crate::sip::transaction::ServerTxId;
use crate::sip::ua_core::{EndReason, UaCore, UaUp};

/// Longest sleep without a deadline: a bounded sleep keeps a lost wake-up
/// harmless.
const IDLE_WAKE: Duration = Duration::from_secs(1);

/// A MESSAGE of ours toward a pager user, until its final response.
#[derive(Debug)]
pub(super) struct Delivery {
    pub session: SessionId,
    pub msrp: MsrpSessionKey,
    pub held: Option<HeldId>,
    pub arrived: Instant,
    pub imdn: Option<ImdnAsked>,
}

pub struct SessionTable {
    pub(super) ua: UaCore,
    pub(super) msrp: MsrpStack,
    pub(super) config: Arc<Config>,
    pub(super) ids: Arc<IdSource>,
    pub(super) metrics: Metrics,
    pub(super) sessions: HashMap<SessionId, Session>,
    pub(super) by_key: HashMap<PairKey, SessionId>,
    pub(super) by_msrp: HashMap<MsrpSessionKey, SessionId>,
    pub(super) by_dialog: HashMap<DialogId, SessionId>,
    pub(super) by_invite: HashMap<RequestId, SessionId>,
    pub(super) deliveries: HashMap<RequestId, Delivery>,
    /// Idle checks due, (when, session); a session's real deadline may
    /// have moved later since (checked when the entry comes up).
    idle: BTreeSet<(Instant, SessionId)>,
    /// Deadlines of messages waiting for a success REPORT, (when,
    /// session, tag); entries already answered are skipped.
    pub(super) report_timers: BTreeSet<(Instant, SessionId, u64)>,
    /// When each session being set up gives up, (when, session).
    setup_timers: BTreeSet<(Instant, SessionId)>,
    next_session: SessionId,
    pub(super) next_tag: u64,
    /// Set once stopping: when the grace period ends.
    stop_deadline: Option<Instant>,
    /// When the connection gauges were last refreshed.
    gauges_at: Option<Instant>,
}

impl SessionTable {
    pub fn new(
        ua: UaCore,
        msrp: MsrpStack,
        config: Arc<Config>,
        ids: Arc<IdSource>,
        metrics: Metrics,
    ) -> SessionTable {
        SessionTable {
            ua,
            msrp,
            config,
            ids,
            metrics,
            sessions: HashMap::new(),
            by_key: HashMap::new(),
            by_msrp: HashMap::new(),
            by_dialog: HashMap::new(),
            by_invite: HashMap::new(),
            deliveries: HashMap::new(),
            idle: BTreeSet::new(),
            report_timers: BTreeSet::new(),
            setup_timers: BTreeSet::new(),
            next_session: 1,
            next_tag: 1,
            stop_deadline: None,
            gauges_at: None,
        }
    }

    /// Runs until stopped (or every event sender is gone), then shuts the
    /// MSRP and SIP stacks down.
    pub fn run(mut self, events: &Receiver<Event>) {
        loop {
            let now = Instant::now();
            let deadline = self.next_deadline().unwrap_or(now + IDLE_WAKE);
            select! {
                recv(events) -> ev => match ev {
                    Ok(ev) => self.handle_event(ev, Instant::now()),
                    Err(_) => break,
                },
                default(deadline.saturating_duration_since(now)) => {}
            }
            // Due timers run whether or not an event came first: under
            // sustained traffic the inbox is never empty at the deadline,
            // and retransmissions, timeouts and idle checks must not wait
            // for a lull.
            let now = Instant::now();
            if self.next_deadline().is_some_and(|d| d <= now) {
                self.handle_timeout(now);
            }
            self.handle_ua(now);
            self.refresh_gauges(now);
            if self.stopped(now) {
                break;
            }
        }
        self.msrp.shutdown();
        self.ua.shutdown();
    }

    /// The earliest time something is due: a SIP timer, the end of the
    /// stop grace period, an idle check.
    fn next_deadline(&self) -> Option<Instant> {
        [
            self.ua.poll_timeout(),
            self.stop_deadline,
            self.idle.first().map(|(t, _)| *t),
            self.report_timers.first().map(|(t, _, _)| *t),
            self.setup_timers.first().map(|(t, _)| *t),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn handle_event(&mut self, ev: Event, now: Instant) {
        match ev {
            Event::Stop => self.begin_stop(now),
            Event::Status(q) => self.status(q, now),
            Event::Msrp(ev) => self.msrp_event(ev, now),
            ev => self.ua.handle_event(ev, now),
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.ua.handle_timeout(now);
        while let Some(&(due, id)) = self.idle.first() {
            if due > now {
                break;
            }
            self.idle.remove(&(due, id));
            self.idle_check(id, now);
        }
        while let Some(&(due, sid)) = self.setup_timers.first() {
            if due > now {
                break;
            }
            self.setup_timers.remove(&(due, sid));
            self.setup_timeout(sid, now);
        }
        while let Some(&(due, sid, tag)) = self.report_timers.first() {
            if due > now {
                break;
            }
            self.report_timers.remove(&(due, sid, tag));
            self.report_timeout(sid, tag, now);
        }
    }

    fn handle_ua(&mut self, now: Instant) {
        while let Some(up) = self.ua.poll() {
            match up {
                UaUp::Request {
                    tx, request, from, ..
                } => {
                    if self.stop_deadline.is_some() {
                        refuse(&mut self.ua, tx, &request, 503, "Shutting Down", now);
                        continue;
                    }
                    match request.method {
                        crate::proto::sip::Method::Message => {
                            self.pager_message(tx, request, from, now);
                        }
                        crate::proto::sip::Method::Invite => {
                            self.session_invite(tx, request, from, now);
                        }
                        _ => refuse(&mut self.ua, tx, &request, 405, "Method Not Allowed", now),
                    }
                }
                UaUp::Established {
                    id,
                    dialog,
                    response,
                } => self.invite_accepted(id, dialog, &response, now),
                UaUp::Response { id, response } => {
                    if response.status >= 200 {
                        let reason = response.reason.to_string();
                        self.request_failed_or_done(id, response.status, &reason, now);
                    }
                }
                UaUp::Failed { id, status, reason } => {
                    self.request_failed_or_done(id, status, &reason, now);
                }
                UaUp::Ended { dialog, reason } => self.dialog_ended(&dialog, reason, now),
                UaUp::Cancelled { tx } => {
                    debug!("sip: INVITE {tx:?} cancelled by the caller");
                    self.invite_cancelled(tx, now);
                }
            }
        }
    }

    /// A final answer to a request of ours: our INVITE (failed: a 2xx
    /// comes as Established) or a MESSAGE toward a pager user.
    fn request_failed_or_done(&mut self, id: RequestId, status: u16, reason: &str, now: Instant) {
        if let Some(sid) = self.by_invite.remove(&id) {
            self.invite_failed(sid, status, reason, now);
        } else if let Some(d) = self.deliveries.remove(&id) {
            self.delivery_done(d, status, reason, now);
        }
    }

    fn msrp_event(&mut self, ev: MsrpEvent, now: Instant) {
        let Some(&sid) = self.by_msrp.get(&ev.session()) else {
            debug!("msrp {}: event for a session already gone", ev.session());
            return;
        };
        match ev {
            MsrpEvent::PathReady { local_path, .. } => self.path_ready(sid, local_path, now),
            MsrpEvent::Connected { peer, .. } => self.msrp_connected(sid, peer, now),
            MsrpEvent::Received {
                held,
                content_type,
                body,
                ..
            } => self.session_message(sid, held, content_type.as_deref(), &body, now),
            MsrpEvent::SendOutcome { tag, outcome, .. } => {
                self.send_outcome(sid, tag, outcome, now);
            }
            MsrpEvent::Report { tag, status, .. } => self.report(sid, tag, status, now),
            MsrpEvent::Closed { reason, .. } => self.msrp_closed(sid, reason, now),
        }
    }

    /// A fresh session record, indexed by its MSRP key (and by pair key,
    /// replacing an older session of the same pair that is ending).
    pub(super) fn insert_session(&mut self, mut s: Session) -> SessionId {
        let id = self.next_session;
        self.next_session += 1;
        s.id = id;
        self.by_msrp.insert(s.msrp, id);
        self.by_key.insert(s.key.clone(), id);
        self.metrics.session_created(s.origin);
        // Setup is bounded like an MSRP transaction: a pager sender waits
        // no longer for its answer than for a SEND's.
        self.setup_timers
            .insert((s.created + self.config.msrp.transaction_timeout, id));
        info!(
            "session {id} {}: created ({}, Call-ID {}, from {})",
            s.key,
            s.origin.as_str(),
            s.call_id,
            s.sip_peer
        );
        self.sessions.insert(id, s);
        id
    }

    /// Session `id` is still not active when its setup time is over: its
    /// MESSAGEs get 408, its INVITE is cancelled, it ends.
    fn setup_timeout(&mut self, id: SessionId, now: Instant) {
        let Some(s) = self.sessions.get_mut(&id) else {
            return;
        };
        if !matches!(
            s.state,
            State::AwaitingPath | State::Inviting | State::Connecting
        ) {
            return;
        }
        warn!(
            "session {id} {} (Call-ID {}): not set up within {} s ({}); ending it",
            s.key,
            s.call_id,
            self.config.msrp.transaction_timeout.as_secs(),
            s.state.as_str()
        );
        if let Some(rid) = s.invite.take() {
            self.by_invite.remove(&rid);
            self.ua.cancel(rid, now);
        }
        self.fail_waiting(id, 408, "Request Timeout (session setup)", now);
        self.close_session(id, EndMetric::SetupFailed, now);
    }

    /// Whether a new session may be created (`[gateway] max_sessions`).
    pub(super) fn has_session_room(&self) -> bool {
        self.sessions.len() < self.config.gateway.max_sessions as usize
    }

    /// Something happened in session `id` (resets its idle timer; ends a
    /// session whose relay path was renewed once nothing is in flight).
    pub(super) fn touch(&mut self, id: SessionId, now: Instant) {
        let idle = self.config.gateway.idle_timeout;
        if self
            .sessions
            .get(&id)
            .is_some_and(|s| s.renewed && s.is_quiet() && s.state != State::Closing)
        {
            self.close_session(id, EndMetric::RelayRenewal, now);
            return;
        }
        if let Some(s) = self.sessions.get_mut(&id) {
            s.last_activity = now;
            if let Some(due) = s.idle_deadline(idle) {
                // One pending check per session is enough: the check moves
                // itself to the real deadline.
                if !s.idle_armed {
                    s.idle_armed = true;
                    self.idle.insert((due, id));
                }
            }
        }
    }

    fn idle_check(&mut self, id: SessionId, now: Instant) {
        let idle = self.config.gateway.idle_timeout;
        let Some(s) = self.sessions.get_mut(&id) else {
            return;
        };
        s.idle_armed = false;
        let Some(due) = s.idle_deadline(idle) else {
            return;
        };
        if due > now || !s.is_quiet() {
            let next = if due > now { due } else { now + idle };
            s.idle_armed = true;
            self.idle.insert((next, id));
            return;
        }
        info!(
            "session {id} {}: idle for {} s, ending it",
            s.key,
            idle.as_secs()
        );
        self.close_session(id, EndMetric::Idle, now);
    }

    /// Ends session `id` from our side: BYE, MSRP close, MESSAGEs still
    /// waiting answered. The record stays until the MSRP session reports
    /// Closed (SENDs in flight get their outcome first).
    pub(super) fn close_session(&mut self, id: SessionId, why: EndMetric, now: Instant) {
        let Some(s) = self.sessions.get_mut(&id) else {
            return;
        };
        if s.state == State::Closing {
            return;
        }
        s.state = State::Closing;
        s.end_reason = Some(why);
        let waiting: Vec<PagerMessage> = s.waiting.drain(..).collect();
        let dialog = s.dialog.take();
        let msrp = s.msrp;
        let key = s.key.clone();
        if let Some(pa) = s.pending_answer.take() {
            refuse(&mut self.ua, pa.tx, &pa.invite, 503, "Session Ended", now);
        }
        if self.by_key.get(&key) == Some(&id) {
            self.by_key.remove(&key);
        }
        let (status, reason) = if self.stop_deadline.is_some() {
            (503, "Shutting Down")
        } else {
            (480, "Temporarily Unavailable (session ended)")
        };
        for m in waiting {
            self.answer_pager(m, status, reason, now);
        }
        if let Some(d) = dialog {
            self.by_dialog.remove(&d);
            if let Err(e) = self.ua.bye(&d, now) {
                debug!("session {id}: BYE not sent: {e}");
            }
        }
        if self.msrp.close(msrp).is_err() {
            // The MSRP session is already gone: nothing will report Closed.
            self.forget(id, now);
        }
    }

    fn dialog_ended(&mut self, dialog: &DialogId, reason: EndReason, now: Instant) {
        let Some(id) = self.by_dialog.remove(dialog) else {
            return;
        };
        if let Some(s) = self.sessions.get_mut(&id) {
            info!("session {id} {}: dialog ended ({reason})", s.key);
            // Already gone: no BYE back.
            s.dialog = None;
        }
        let why = match reason {
            EndReason::Bye => EndMetric::ByeFromPeer,
            EndReason::NoAck => EndMetric::Error,
        };
        self.close_session(id, why, now);
    }

    fn msrp_closed(&mut self, id: SessionId, reason: CloseReason, now: Instant) {
        let Some(s) = self.sessions.get(&id) else {
            return;
        };
        if s.state != State::Closing {
            warn!(
                "session {id} {} (Call-ID {}): MSRP session ended: {reason}; ending the session",
                s.key, s.call_id
            );
            let why = match reason {
                CloseReason::Shutdown => EndMetric::Shutdown,
                CloseReason::ConnectFailed(_) => EndMetric::SetupFailed,
                _ => EndMetric::ConnectionLost,
            };
            self.close_session(id, why, now);
        }
        self.forget(id, now);
    }

    /// Drops every trace of session `id`; SENDs still unanswered (none
    /// when the MSRP stack reported Closed) get 480.
    fn forget(&mut self, id: SessionId, now: Instant) {
        let Some(mut s) = self.sessions.remove(&id) else {
            return;
        };
        self.by_msrp.remove(&s.msrp);
        if self.by_key.get(&s.key) == Some(&id) {
            self.by_key.remove(&s.key);
        }
        if let Some(d) = s.dialog.take() {
            self.by_dialog.remove(&d);
        }
        if let Some(inv) = s.invite.take() {
            self.by_invite.remove(&inv);
        }
        let unanswered: Vec<PagerMessage> = s
            .sending
            .drain()
            .chain(s.confirming.drain())
            .map(|(_, m)| m)
            .collect();
        for m in unanswered {
            self.answer_pager(m, 480, "Temporarily Unavailable (session ended)", now);
        }
        for m in s.to_pager_queue.drain(..) {
            if let Some(h) = m.held {
                let _ = self
                    .msrp
                    .answer(s.msrp, h, 481, Some("session ended".to_owned()));
            }
        }
        let why = s.end_reason.unwrap_or(EndMetric::Error);
        self.metrics.session_ended(why);
        info!(
            "session {id} {} (Call-ID {}, {}): ended ({}; {} to session, {} to pager)",
            s.key,
            s.call_id,
            s.sip_peer,
            why.as_str(),
            s.to_session,
            s.to_pager
        );
    }

    /// Answers a pager user's MESSAGE and counts it.
    pub(super) fn answer_pager(
        &mut self,
        m: PagerMessage,
        status: u16,
        reason: &str,
        now: Instant,
    ) {
        let mut resp = m.answer;
        resp.status = status;
        resp.reason = reason.to_owned().into();
        debug!("sip: MESSAGE {} answered {status} {reason}", m.call_id);
        self.metrics.message_done(
            crate::metrics::Direction::PagerToSession,
            status,
            now.saturating_duration_since(m.arrived),
        );
        self.ua.respond(m.tx, resp, now);
    }

    fn status(&mut self, q: StatusQuery, now: Instant) {
        // The reply channels have room for one answer; a client that gave
        // up is no concern of ours.
        match q {
            StatusQuery::Health { reply } => {
                let _ = reply.try_send(());
            }
            StatusQuery::Sessions { reply } => {
                let mut rows: Vec<_> = self.sessions.values().map(|s| s.row(now)).collect();
                rows.sort_by(|a, b| a.key.cmp(&b.key));
                let _ = reply.try_send(rows);
            }
        }
    }

    /// Refreshes the gauges that are cheaper to read than to track, at
    /// most once a second.
    fn refresh_gauges(&mut self, now: Instant) {
        if self
            .gauges_at
            .is_some_and(|t| now.duration_since(t) < Duration::from_secs(1))
        {
            return;
        }
        self.gauges_at = Some(now);
        let sip = self.ua.stack().transport().connection_count();
        self.metrics
            .set_connections(sip, self.msrp.connection_count());
    }

    fn begin_stop(&mut self, now: Instant) {
        if self.stop_deadline.is_some() {
            return;
        }
        let grace = self.config.gateway.shutdown_grace;
        info!(
            "stopping: ending {} sessions, answering what is in flight (at most {} s)",
            self.sessions.len(),
            grace.as_secs()
        );
        self.stop_deadline = Some(now + grace);
        self.ua.stack_mut().set_draining(true);
        let ids: Vec<SessionId> = self.sessions.keys().copied().collect();
        for id in ids {
            self.close_session(id, EndMetric::Shutdown, now);
        }
        // Dialogs without a session (a late 2xx, for instance).
        self.ua.bye_all(now);
    }

    /// Whether the stop sequence is complete (or out of time).
    fn stopped(&mut self, now: Instant) -> bool {
        let Some(deadline) = self.stop_deadline else {
            return false;
        };
        let idle = self.sessions.is_empty()
            && self.deliveries.is_empty()
            && self.ua.stack().unanswered().is_empty()
            && self.ua.stack().pending_requests() == 0;
        if idle {
            return true;
        }
        if now < deadline {
            return false;
        }
        let ids: Vec<SessionId> = self.sessions.keys().copied().collect();
        let left = ids.len();
        for id in ids {
            self.forget(id, now);
        }
        let held: Vec<Delivery> = self.deliveries.drain().map(|(_, d)| d).collect();
        for d in held {
            if let Some(h) = d.held {
                let _ = self
                    .msrp
                    .answer(d.msrp, h, 408, Some("gateway stopping".into()));
            }
        }
        let unanswered = self.ua.stack().unanswered().len();
        if left > 0 || unanswered > 0 {
            warn!(
                "stopping: grace period over with {left} sessions still closing and \
                 {unanswered} requests unanswered"
            );
        }
        true
    }
}

/// Answers `request` with a failure of our own.
pub(super) fn refuse(
    ua: &mut UaCore,
    tx: ServerTxId,
    request: &SipRequest<'_>,
    status: u16,
    reason: &'static str,
    now: Instant,
) {
    let resp = SipResponse::for_request(request, status, reason).into_owned();
    ua.respond(tx, resp, now);
}
