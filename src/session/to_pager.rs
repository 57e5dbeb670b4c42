//! Session → pager (DESIGN §2): an INVITE from C with an MSRP offer for D
//! is answered by msrpgw; each complete message C sends becomes a MESSAGE
//! C→D, and D's final response decides the MSRP response (and REPORT, and
//! IMDN) C gets. Part of the session-table thread ([`SessionTable`]).
//!
//! Owns: checking the offer (488 with the reason when no MSRP session can
//! come of it), the answer (msrpgw's path, a=setup per RFC 6135), the
//! MESSAGE built from a received message (From: C's SIP identity, which a
//! CPIM From inside the body never overrides), and the mapping back.
//!
//! Must not: answer an MSRP message before D's final response (I1).

use std::time::{Instant, SystemTime};

use log::{debug, info, warn};

use crate::event::{HeldId, SipPeer};
use crate::metrics::{Direction, EndReason as EndMetric};
use crate::msrp::setup::{Role, role_as_answerer};
use crate::msrp::{OutgoingMessage, RemoteEnd, SessionOptions};
use crate::proto::msrp::MsrpUri;
use crate::proto::sip::{HeaderName, Method, SipRequest, SipResponse};
use crate::session::content;
use crate::session::mapping::{SipResult, msrp_status_for_message};
use crate::session::media::{LocalMedia, RemoteMedia, local_sdp};
use crate::session::record::{PairKey, PendingAnswer, Session, SessionId, State, ToPager};
use crate::session::table::{Delivery, SessionTable, refuse};
use crate::session::to_session::{identity, new_request, without_tag};
use crate::sip::transaction::ServerTxId;

impl SessionTable {
    /// An INVITE (outside any dialog) from a session-mode user.
    pub(super) fn session_invite(
        &mut self,
        tx: ServerTxId,
        request: SipRequest<'static>,
        from: SipPeer,
        now: Instant,
    ) {
        let call_id = request.headers.call_id().unwrap_or("-").to_owned();
        let remote = match RemoteMedia::from_sdp(&request.body) {
            Ok(r) => r,
            Err(e) => {
                info!("sip {from}: INVITE {call_id}: {e}; answering 488");
                let mut resp =
                    SipResponse::for_request(&request, 488, "Not Acceptable Here").into_owned();
                resp.push_header(HeaderName::Warning, format!("399 msrpgw \"{e}\""));
                self.ua.respond(tx, resp, now);
                return;
            }
        };
        if let Err(e) = role_as_answerer(remote.setup, Role::Passive) {
            info!("sip {from}: INVITE {call_id}: {e}; answering 488");
            refuse(&mut self.ua, tx, &request, 488, "Not Acceptable Here", now);
            return;
        }
        let (Some(caller), Ok(callee)) = (identity(&request), request.headers.to_addr()) else {
            refuse(&mut self.ua, tx, &request, 400, "Missing From or To", now);
            return;
        };
        if !self.has_session_room() {
            warn!(
                "INVITE {call_id}: {} sessions open (gateway.max_sessions); answering 503",
                self.sessions.len()
            );
            refuse(&mut self.ua, tx, &request, 503, "Service Unavailable", now);
            return;
        }
        let key = PairKey::new(&callee.uri, &caller.uri);
        let ns = match self.msrp.create_session(SessionOptions {
            tls: remote.tls,
            use_relay: self.config.msrp.relay.is_some(),
            hold_responses: true,
        }) {
            Ok(ns) => ns,
            Err(e) => {
                warn!("INVITE {call_id} for {key}: cannot create an MSRP session: {e}");
                let status = if remote.tls { 488 } else { 503 };
                refuse(
                    &mut self.ua,
                    tx,
                    &request,
                    status,
                    "No MSRP Session Available",
                    now,
                );
                return;
            }
        };
        let state = if ns.local_path.is_some() {
            State::Connecting
        } else {
            State::AwaitingPath
        };
        let mut s = Session::new(
            key,
            Direction::SessionToPager,
            state,
            ns.key,
            call_id,
            request.uri.clone().into_owned(),
            without_tag(&callee),
            without_tag(&caller),
            now,
        );
        s.remote = Some(remote);
        s.sip_peer = from.to_string();
        let sid = self.insert_session(s);
        match ns.local_path {
            Some(path) => self.answer_invite(sid, tx, request, from, &path, now),
            None => {
                if let Some(s) = self.sessions.get_mut(&sid) {
                    s.pending_answer = Some(PendingAnswer {
                        tx,
                        invite: request,
                        from,
                    });
                }
            }
        }
    }

    /// Answers session `sid`'s INVITE with our path and starts MSRP.
    pub(super) fn answer_invite(
        &mut self,
        sid: SessionId,
        tx: ServerTxId,
        invite: SipRequest<'static>,
        from: SipPeer,
        local_path: &[MsrpUri<'static>],
        now: Instant,
    ) {
        let types = self.accept_types();
        let max_size = self.config.msrp.max_message_bytes;
        let Some(s) = self.sessions.get_mut(&sid) else {
            return;
        };
        let Some(remote) = s.remote.as_ref() else {
            return;
        };
        // Checked when the INVITE arrived.
        let Ok((role, setup)) = role_as_answerer(remote.setup, Role::Passive) else {
            return;
        };
        let sdp = local_sdp(&LocalMedia {
            path: local_path,
            setup,
            accept_types: &types,
            accept_wrapped_types: &["*".to_owned()],
            max_size: Some(max_size),
            cema: remote.cema,
            sdp_session_id: sid,
        });
        let end = RemoteEnd {
            path: remote.path.clone(),
            role,
            cema: remote.cema,
            max_size: remote.max_size,
        };
        // The session must know how to match the peer's connection before
        // the peer can learn our path from the answer.
        if let Err(e) = self.msrp.start_session(s.msrp, end) {
            warn!("session {sid} {}: MSRP session not started: {e}", s.key);
            refuse(&mut self.ua, tx, &invite, 503, "Service Unavailable", now);
            self.close_session(sid, EndMetric::SetupFailed, now);
            return;
        }
        let mut ok = SipResponse::for_request(&invite, 200, "OK").into_owned();
        ok.set_body("application/sdp", sdp);
        match self.ua.accept_invite(tx, &invite, &from, ok, now) {
            Ok(dialog) => {
                s.dialog = Some(dialog.clone());
                s.state = State::Connecting;
                self.by_dialog.insert(dialog, sid);
                debug!("session {sid} {}: INVITE accepted", s.key);
            }
            Err(e) => {
                info!("session {sid} {}: INVITE not acceptable: {e}", s.key);
                refuse(
                    &mut self.ua,
                    tx,
                    &invite,
                    400,
                    "Bad Request (no usable Contact)",
                    now,
                );
                self.close_session(sid, EndMetric::SetupFailed, now);
            }
        }
    }

    /// A CANCEL for an INVITE still waiting for the relay's path.
    pub(super) fn invite_cancelled(&mut self, tx: ServerTxId, now: Instant) {
        let found = self
            .sessions
            .values()
            .find(|s| s.pending_answer.as_ref().is_some_and(|p| p.tx == tx))
            .map(|s| s.id);
        if let Some(sid) = found {
            if let Some(s) = self.sessions.get_mut(&sid) {
                // The stack answered 487 already.
                s.pending_answer = None;
            }
            self.close_session(sid, EndMetric::SetupFailed, now);
        }
    }

    /// A complete message from the session user: a MESSAGE to the pager
    /// user; its MSRP response waits for the MESSAGE's final response.
    pub(super) fn session_message(
        &mut self,
        sid: SessionId,
        held: Option<HeldId>,
        content_type: Option<&str>,
        body: &[u8],
        now: Instant,
    ) {
        let Some(s) = self.sessions.get_mut(&sid) else {
            return;
        };
        if s.state == State::Closing {
            if let Some(h) = held {
                let _ = self
                    .msrp
                    .answer(s.msrp, h, 481, Some("session ending".to_owned()));
            }
            return;
        }
        // An empty SEND only binds the connection (RFC 4975 §5.4).
        if body.is_empty() {
            if let Some(h) = held {
                let _ = self.msrp.answer(s.msrp, h, 200, None);
            }
            return;
        }
        let m = ToPager {
            held,
            content_type: content_type.map(str::to_owned),
            body: body.to_vec(),
            arrived: now,
        };
        if s.to_pager_busy {
            s.to_pager_queue.push_back(m);
            return;
        }
        self.send_to_pager(sid, m, now);
    }

    /// Sends one session message as a MESSAGE toward the pager user; the
    /// next waits for its final response. A MESSAGE that cannot even be
    /// sent is answered at once and the next one tried.
    fn send_to_pager(&mut self, sid: SessionId, first: ToPager, now: Instant) {
        let mut next = Some(first);
        while let Some(m) = next.take() {
            let Some(s) = self.sessions.get_mut(&sid) else {
                return;
            };
            if s.state == State::Closing {
                if let Some(h) = m.held {
                    let _ = self
                        .msrp
                        .answer(s.msrp, h, 481, Some("session ending".to_owned()));
                }
                next = s.to_pager_queue.pop_front();
                continue;
            }
            let pb = content::to_pager(m.content_type.as_deref(), &m.body);
            let mut msg = new_request(
                &self.ids,
                Method::Message,
                s.pager_target.clone(),
                &s.session_addr,
                &s.pager_addr,
                &self.ids.call_id(),
            );
            msg.set_body(pb.content_type, pb.body);
            let hop = self
                .config
                .routing
                .pager_next_hop
                .clone()
                .unwrap_or_else(|| s.pager_target.clone());
            let msrp = s.msrp;
            match self.ua.send_request(msg, &hop, now) {
                Ok(rid) => {
                    s.to_pager += 1;
                    s.to_pager_busy = true;
                    self.deliveries.insert(
                        rid,
                        Delivery {
                            session: sid,
                            msrp,
                            held: m.held,
                            arrived: m.arrived,
                            imdn: pb.imdn,
                        },
                    );
                    self.touch(sid, now);
                }
                Err(e) => {
                    warn!("session {sid} {}: MESSAGE not sent: {e}", s.key);
                    let mapped =
                        msrp_status_for_message(SipResult::Status(503, "Service Unavailable"));
                    if let Some(h) = m.held {
                        let _ = self
                            .msrp
                            .answer(msrp, h, mapped.status, Some(mapped.reason));
                    }
                    next = s.to_pager_queue.pop_front();
                }
            }
        }
    }

    /// The pager user's final answer to our MESSAGE (or its timeout).
    pub(super) fn delivery_done(&mut self, d: Delivery, status: u16, reason: &str, now: Instant) {
        let result = if status == 408 {
            SipResult::Timeout
        } else {
            SipResult::Status(status, reason)
        };
        let mapped = msrp_status_for_message(result);
        if let Some(h) = d.held {
            let comment = (mapped.status != 200).then(|| mapped.reason.clone());
            if let Err(e) = self.msrp.answer(d.msrp, h, mapped.status, comment) {
                debug!("session {}: answer not delivered: {e}", d.session);
            }
        }
        self.metrics.message_done(
            Direction::SessionToPager,
            status,
            now.saturating_duration_since(d.arrived),
        );
        if let Some(asked) = &d.imdn {
            let delivered = (200..300).contains(&status);
            let id = self.ids.msrp_message_id();
            if let Some(n) =
                content::delivery_notification(asked, delivered, &id, SystemTime::now())
            {
                let tag = self.next_tag;
                self.next_tag += 1;
                let _ = self
                    .msrp
                    .send(d.msrp, OutgoingMessage::new(tag, n.content_type, n.body));
            }
        }
        // The pager user answered: the next session message may go.
        let next = self.sessions.get_mut(&d.session).and_then(|s| {
            s.to_pager_busy = false;
            s.to_pager_queue.pop_front()
        });
        if let Some(m) = next {
            self.send_to_pager(d.session, m, now);
        }
        self.touch(d.session, now);
    }
}
