//! The session-table thread: the one owner of protocol state (DESIGN §3).
//!
//! Owns: the [`UaCore`] (and through it the SIP transactions and dialogs),
//! the stop sequence, and the loop that feeds them events and time: one
//! inbox (`Event`), one `select!` with the next deadline, one
//! `handle_event`, then everything the UA core has for the session layer.
//!
//! Must not: block on a socket or a full queue (the transports queue and
//! the MSRP writers own their connections), or sleep past the next
//! deadline.
//!
//! # Stopping (DESIGN I5)
//!
//! On [`Event::Stop`]: OPTIONS answer 503 (load balancers move traffic
//! away), new requests get 503 with Retry-After, every dialog gets BYE.
//! The loop ends when no server transaction waits for an answer and no
//! request of ours waits for one, or when `[gateway] shutdown_grace_secs`
//! has passed; what is still unanswered then gets 503.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, select};
use log::{debug, info, warn};

use crate::config::Config;
use crate::event::{Event, StatusQuery};
use crate::ids::IdSource;
use crate::metrics::Metrics;
use crate::proto::sip::{HeaderName, Method, SipRequest, SipResponse};
use crate::sip::screen::RETRY_AFTER_SECS;
use crate::sip::transaction::ServerTxId;
use crate::sip::ua_core::{UaCore, UaUp};

/// Longest sleep without a deadline: the loop also checks the stop
/// deadline, and a bounded sleep keeps a lost wake-up harmless.
const IDLE_WAKE: Duration = Duration::from_secs(1);

pub struct SessionTable {
    ua: UaCore,
    config: Arc<Config>,
    metrics: Metrics,
    /// When the connection gauges were last refreshed.
    gauges_at: Option<Instant>,
    #[allow(dead_code)]
    ids: Arc<IdSource>,
    /// Set once stopping: when the grace period ends.
    stop_deadline: Option<Instant>,
}

impl SessionTable {
    pub fn new(
        ua: UaCore,
        config: Arc<Config>,
        ids: Arc<IdSource>,
        metrics: Metrics,
    ) -> SessionTable {
        SessionTable {
            ua,
            config,
            metrics,
            gauges_at: None,
            ids,
            stop_deadline: None,
        }
    }

    /// Runs until stopped (or every event sender is gone), then shuts the
    /// SIP stack down.
    pub fn run(mut self, events: &Receiver<Event>) {
        loop {
            let now = Instant::now();
            let deadline = [self.ua.poll_timeout(), self.stop_deadline]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(now + IDLE_WAKE);
            select! {
                recv(events) -> ev => match ev {
                    Ok(ev) => self.handle_event(ev, Instant::now()),
                    Err(_) => break,
                },
                default(deadline.saturating_duration_since(now)) => {
                    self.ua.handle_timeout(Instant::now());
                }
            }
            let now = Instant::now();
            self.handle_ua(now);
            self.refresh_gauges(now);
            if self.stopped(now) {
                break;
            }
        }
        self.ua.shutdown();
    }

    fn handle_event(&mut self, ev: Event, now: Instant) {
        match ev {
            Event::Stop => self.begin_stop(now),
            Event::Status(q) => self.status(q),
            ev => self.ua.handle_event(ev, now),
        }
    }

    fn status(&mut self, q: StatusQuery) {
        // The reply channels have room for one answer; a client that gave
        // up is no concern of ours.
        match q {
            StatusQuery::Health { reply } => {
                let _ = reply.try_send(());
            }
            StatusQuery::Sessions { reply } => {
                let _ = reply.try_send(Vec::new());
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
        self.metrics.set_connections(sip, 0);
    }

    fn begin_stop(&mut self, now: Instant) {
        if self.stop_deadline.is_some() {
            return;
        }
        let grace = self.config.gateway.shutdown_grace;
        info!(
            "stopping: BYE to {} dialogs, answering what is in flight (at most {} s)",
            self.ua.dialog_count(),
            grace.as_secs()
        );
        self.stop_deadline = Some(now + grace);
        self.ua.stack_mut().set_draining(true);
        self.ua.bye_all(now);
    }

    /// Whether the stop sequence is complete (or out of time).
    fn stopped(&self, now: Instant) -> bool {
        let Some(deadline) = self.stop_deadline else {
            return false;
        };
        let idle =
            self.ua.stack().unanswered().is_empty() && self.ua.stack().pending_requests() == 0;
        if idle {
            return true;
        }
        if now < deadline {
            return false;
        }
        let left = self.ua.stack().unanswered().len();
        if left > 0 {
            warn!("stopping: grace period over with {left} requests unanswered");
        }
        true
    }

    fn handle_ua(&mut self, now: Instant) {
        while let Some(up) = self.ua.poll() {
            match up {
                UaUp::Request {
                    tx, request, from, ..
                } => {
                    if self.stop_deadline.is_some() {
                        self.refuse(tx, &request, 503, "Shutting Down", now);
                        continue;
                    }
                    debug!(
                        "sip {from}: {} {} for the session layer",
                        request.method.as_str(),
                        request.headers.call_id().unwrap_or("-")
                    );
                    match request.method {
                        Method::Message | Method::Invite => {
                            self.refuse(tx, &request, 503, "Gateway Flows Unavailable", now)
                        }
                        _ => self.refuse(tx, &request, 405, "Method Not Allowed", now),
                    }
                }
                UaUp::Cancelled { .. }
                | UaUp::Response { .. }
                | UaUp::Failed { .. }
                | UaUp::Established { .. }
                | UaUp::Ended { .. } => {}
            }
        }
    }

    /// Answers `request` with a failure of our own.
    fn refuse(
        &mut self,
        tx: ServerTxId,
        request: &SipRequest<'_>,
        status: u16,
        reason: &'static str,
        now: Instant,
    ) {
        let mut resp = SipResponse::for_request(request, status, reason).into_owned();
        if status == 503 {
            resp.push_header(HeaderName::RetryAfter, RETRY_AFTER_SECS.to_string());
        }
        self.ua.respond(tx, resp, now);
    }
}
