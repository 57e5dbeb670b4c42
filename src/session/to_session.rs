//! Pager → session (DESIGN §2): a MESSAGE A→B becomes a SEND in the (A, B)
//! session, which is created with an INVITE toward B when there is none.
//! Part of the session-table thread ([`SessionTable`]).
//!
//! Owns: the MESSAGE's path from arrival to its final response: the pair
//! key, the bounded wait while the session is set up, the INVITE with
//! msrpgw's offer (From: A, To: B, our Contact), the answer's media, the
//! SEND, and the mapping of its outcome (I1: 200 only after B's 200).
//! Messages of one pair go out in arrival order (I4).
//!
//! Must not: answer a MESSAGE before the session side has decided (a
//! failure to even try is answered at once, with the reason).

use std::time::{Instant, SystemTime};

use log::{debug, info, warn};

use crate::event::{SendOutcome, SipPeer};
use crate::ids::IdSource;
use crate::metrics::{Direction, EndReason as EndMetric};
use crate::msrp::setup::{OFFER, role_as_offerer};
use crate::msrp::{OutgoingMessage, RemoteEnd, SessionOptions};
use crate::proto::msrp::MsrpUri;
use crate::proto::sip::addr::NameAddr;
use crate::proto::sip::uri::Uri;
use crate::proto::sip::{HeaderName, Method, SipRequest, SipResponse};
use crate::session::content;
use crate::session::mapping::{MsrpResult, message_status_for_invite, message_status_for_msrp};
use crate::session::media::{LocalMedia, RemoteMedia, local_sdp};
use crate::session::record::{PagerMessage, PairKey, Session, SessionId, State};
use crate::session::table::{SessionTable, refuse};
use crate::sip::dialog::DialogId;
use crate::sip::stack::RequestId;
use crate::sip::target::Target;
use crate::sip::transaction::ServerTxId;

/// A name-addr as msrpgw writes it in From/To of new requests: the
/// original's display name and URI, without its tag.
pub(super) fn without_tag(a: &NameAddr<'_>) -> String {
    let mut a = a.clone();
    a.params.retain(|p| !p.name.eq_ignore_ascii_case("tag"));
    a.to_string()
}

/// A request msrpgw starts outside any dialog (RFC 3261 §8.1.1): `from`
/// and `to` are name-addrs without tags (ours is added), a fresh Call-ID,
/// CSeq 1. The stack adds Via; the caller adds Contact and the body.
pub(super) fn new_request(
    ids: &IdSource,
    method: Method<'static>,
    uri: Uri<'static>,
    from: &str,
    to: &str,
    call_id: &str,
) -> SipRequest<'static> {
    let cseq = format!("1 {}", method.as_str());
    let mut r = SipRequest::new(method, uri);
    r.push_header(HeaderName::MaxForwards, "70");
    r.push_header(HeaderName::From, format!("{from};tag={}", ids.tag()));
    r.push_header(HeaderName::To, to.to_owned());
    r.push_header(HeaderName::CallId, call_id.to_owned());
    r.push_header(HeaderName::CSeq, cseq);
    r
}

/// The sender's SIP identity: the first P-Asserted-Identity, else From.
pub(super) fn identity<'r>(req: &'r SipRequest<'_>) -> Option<NameAddr<'r>> {
    if let Ok(list) = req.headers.p_asserted_identity() {
        if let Some(first) = list.into_iter().next() {
            return Some(first);
        }
    }
    req.headers.from_addr().ok()
}

impl SessionTable {
    /// The types msrpgw offers and answers: the configured ones and
    /// `message/cpim` (which carries identities and IMDN).
    pub(super) fn accept_types(&self) -> Vec<String> {
        let mut t = self.config.msrp.accept_types.clone();
        if !t.iter().any(|x| x.eq_ignore_ascii_case(content::CPIM)) {
            t.insert(0, content::CPIM.to_owned());
        }
        t
    }

    /// A MESSAGE from a pager user (outside any dialog).
    pub(super) fn pager_message(
        &mut self,
        tx: ServerTxId,
        request: SipRequest<'static>,
        from: SipPeer,
        now: Instant,
    ) {
        let (Some(sender), Ok(to)) = (identity(&request), request.headers.to_addr()) else {
            refuse(&mut self.ua, tx, &request, 400, "Missing From or To", now);
            return;
        };
        let key = PairKey::new(&sender.uri, &to.uri);
        let call_id = request.headers.call_id().unwrap_or("-").to_owned();
        let content_type = match request.headers.content_type() {
            Ok(Some(t)) => t.to_string(),
            _ => "text/plain".to_owned(),
        };
        let mut answer = SipResponse::for_request(&request, 200, "OK").into_owned();
        answer.set_to_tag(&self.ids.tag());
        let msg = PagerMessage {
            tx,
            answer,
            arrived: now,
            content_type,
            body: request.body.to_vec(),
            from: sender.uri.to_string(),
            to: to.uri.to_string(),
            call_id: call_id.clone(),
        };
        debug!("sip {from}: MESSAGE {call_id} for {key}");
        if let Some(&sid) = self.by_key.get(&key) {
            self.enqueue(sid, msg, now);
            return;
        }
        if !self.has_session_room() {
            warn!(
                "MESSAGE {call_id} for {key}: {} sessions open (gateway.max_sessions); answering 503",
                self.sessions.len()
            );
            self.answer_pager(msg, 503, "Service Unavailable (session limit)", now);
            return;
        }
        let use_relay = self.config.msrp.relay.is_some();
        let ns = match self.msrp.create_session(SessionOptions {
            tls: false,
            use_relay,
            hold_responses: true,
        }) {
            Ok(ns) => ns,
            Err(e) => {
                warn!("MESSAGE {call_id} for {key}: cannot create an MSRP session: {e}");
                self.answer_pager(msg, 503, "Service Unavailable", now);
                return;
            }
        };
        // The INVITE: From A, To B (B sees who is writing), to B's
        // Request-URI; the SDP is added once our path is known.
        let invite_call_id = self.ids.call_id();
        let invite = new_request(
            &self.ids,
            Method::Invite,
            request.uri.clone().into_owned(),
            &without_tag(&sender),
            &without_tag(&to),
            &invite_call_id,
        );
        let state = if ns.local_path.is_some() {
            State::Inviting
        } else {
            State::AwaitingPath
        };
        let mut s = Session::new(
            key,
            Direction::PagerToSession,
            state,
            ns.key,
            invite_call_id,
            sender.uri.clone().into_owned(),
            without_tag(&sender),
            without_tag(&to),
            now,
        );
        s.pending_invite = Some(invite);
        s.sip_peer = from.to_string();
        s.waiting.push_back(msg);
        let sid = self.insert_session(s);
        if let Some(path) = ns.local_path {
            self.send_invite(sid, &path, now);
        }
    }

    /// Sends the session's INVITE with our offer (path `local_path`).
    pub(super) fn send_invite(
        &mut self,
        sid: SessionId,
        local_path: &[MsrpUri<'static>],
        now: Instant,
    ) {
        let types = self.accept_types();
        let Some(s) = self.sessions.get_mut(&sid) else {
            return;
        };
        let Some(mut invite) = s.pending_invite.take() else {
            return;
        };
        let sdp = local_sdp(&LocalMedia {
            path: local_path,
            setup: Some(OFFER),
            accept_types: &types,
            accept_wrapped_types: &["*".to_owned()],
            max_size: Some(self.config.msrp.max_message_bytes),
            cema: false,
            sdp_session_id: sid,
        });
        invite.set_body("application/sdp", sdp);
        let hop = self
            .config
            .routing
            .session_next_hop
            .clone()
            .unwrap_or_else(|| invite.uri.clone());
        let kind = Target::of_uri(&hop).map_or(crate::config::Transport::Udp, |t| t.kind);
        let contact = self.ua.stack().contact(None, kind);
        invite.push_header(HeaderName::Contact, format!("<{contact}>"));
        match self.ua.send_invite(invite, &hop, now) {
            Ok(rid) => {
                s.invite = Some(rid);
                s.state = State::Inviting;
                self.by_invite.insert(rid, sid);
            }
            Err(e) => {
                warn!("session {sid} {}: INVITE not sent: {e}", s.key);
                self.fail_waiting(sid, 480, "Temporarily Unavailable (no route)", now);
                self.close_session(sid, EndMetric::SetupFailed, now);
            }
        }
    }

    /// Answers every MESSAGE still waiting in session `sid`.
    pub(super) fn fail_waiting(&mut self, sid: SessionId, status: u16, reason: &str, now: Instant) {
        let waiting: Vec<PagerMessage> = match self.sessions.get_mut(&sid) {
            Some(s) => s.waiting.drain(..).collect(),
            None => return,
        };
        for m in waiting {
            self.answer_pager(m, status, reason, now);
        }
    }

    /// A MESSAGE for an existing session: sent at once when the session
    /// is active, else queued (bounded by `[gateway] session_queue_depth`).
    fn enqueue(&mut self, sid: SessionId, msg: PagerMessage, now: Instant) {
        let depth = self.config.gateway.session_queue_depth as usize;
        let Some(s) = self.sessions.get_mut(&sid) else {
            self.answer_pager(msg, 480, "Temporarily Unavailable", now);
            return;
        };
        if !s.has_room(depth) {
            warn!(
                "session {sid} {}: {} messages queued (gateway.session_queue_depth); answering 503",
                s.key,
                s.in_flight()
            );
            self.answer_pager(msg, 503, "Service Unavailable (session queue full)", now);
            return;
        }
        if s.state == State::Active && s.waiting.is_empty() {
            self.send_to_session(sid, msg, now);
        } else {
            s.waiting.push_back(msg);
        }
    }

    /// SEND of one pager MESSAGE into active session `sid`.
    fn send_to_session(&mut self, sid: SessionId, msg: PagerMessage, now: Instant) {
        let Some(s) = self.sessions.get_mut(&sid) else {
            self.answer_pager(msg, 480, "Temporarily Unavailable", now);
            return;
        };
        let Some(remote) = s.remote.as_ref() else {
            self.answer_pager(msg, 480, "Temporarily Unavailable", now);
            return;
        };
        let body = match content::to_session(
            remote,
            &msg.content_type,
            &msg.body,
            &msg.from,
            &msg.to,
            SystemTime::now(),
        ) {
            Ok(b) => b,
            Err(content::Unsupported(t)) => {
                info!(
                    "session {sid} {}: the session peer does not accept {t}; answering 415",
                    s.key
                );
                self.answer_pager(msg, 415, "Unsupported Media Type", now);
                return;
            }
        };
        let tag = self.next_tag;
        self.next_tag += 1;
        let mut out = OutgoingMessage::new(tag, body.content_type, body.body);
        // Through a relay the 200 is hop by hop (RFC 4976 §6): ask the far
        // end for a success REPORT as well.
        out.success_report = self.config.msrp.relay.is_some();
        match self.msrp.send(s.msrp, out) {
            Ok(()) => {
                s.sending.insert(tag, msg);
                s.to_session += 1;
                self.touch(sid, now);
            }
            Err(e) => {
                warn!("session {sid} {}: SEND not queued: {e}", s.key);
                self.answer_pager(msg, 480, "Temporarily Unavailable (session failing)", now);
            }
        }
    }

    /// Our INVITE got its 2xx: read the answer, start MSRP.
    pub(super) fn invite_accepted(
        &mut self,
        rid: RequestId,
        dialog: DialogId,
        response: &SipResponse<'_>,
        now: Instant,
    ) {
        let Some(sid) = self.by_invite.remove(&rid) else {
            // The session ended while the INVITE was out.
            if let Err(e) = self.ua.bye(&dialog, now) {
                debug!("sip dialog {dialog}: BYE not sent: {e}");
            }
            return;
        };
        let Some(s) = self.sessions.get_mut(&sid) else {
            return;
        };
        s.invite = None;
        s.dialog = Some(dialog.clone());
        self.by_dialog.insert(dialog, sid);
        let media = RemoteMedia::from_sdp(&response.body).map_err(|e| e.to_string());
        let role = media
            .as_ref()
            .map_err(Clone::clone)
            .and_then(|m| role_as_offerer(m.setup).map_err(|e| e.to_string()));
        let (remote, role) = match (media, role) {
            (Ok(m), Ok(r)) => (m, r),
            (Err(e), _) | (_, Err(e)) => {
                warn!(
                    "session {sid} {} (Call-ID {}): unusable answer: {e}; ending it",
                    s.key, s.call_id
                );
                self.fail_waiting(
                    sid,
                    415,
                    "Unsupported Media Type (no usable MSRP answer)",
                    now,
                );
                self.close_session(sid, EndMetric::SetupFailed, now);
                return;
            }
        };
        let end = RemoteEnd {
            path: remote.path.clone(),
            role,
            cema: false,
            max_size: remote.max_size,
        };
        s.remote = Some(remote);
        s.state = State::Connecting;
        if let Err(e) = self.msrp.start_session(s.msrp, end) {
            warn!("session {sid} {}: MSRP session not started: {e}", s.key);
            self.close_session(sid, EndMetric::SetupFailed, now);
        }
    }

    /// Our INVITE failed: every waiting MESSAGE gets the mapped status.
    pub(super) fn invite_failed(
        &mut self,
        sid: SessionId,
        status: u16,
        reason: &str,
        now: Instant,
    ) {
        let mapped = message_status_for_invite(status, reason);
        if let Some(s) = self.sessions.get_mut(&sid) {
            s.invite = None;
            info!(
                "session {sid} {} (Call-ID {}): INVITE failed with {status} {reason}; \
                 answering {} {}",
                s.key, s.call_id, mapped.status, mapped.reason
            );
        }
        self.fail_waiting(sid, mapped.status, &mapped.reason, now);
        self.close_session(sid, EndMetric::SetupFailed, now);
    }

    /// MSRP is connected: the session is active, waiting MESSAGEs go out.
    pub(super) fn msrp_connected(
        &mut self,
        sid: SessionId,
        peer: std::net::SocketAddr,
        now: Instant,
    ) {
        let Some(s) = self.sessions.get_mut(&sid) else {
            return;
        };
        if s.state == State::Closing {
            return;
        }
        s.state = State::Active;
        info!(
            "session {sid} {}: MSRP connected with {peer} (Call-ID {})",
            s.key, s.call_id
        );
        let waiting: Vec<PagerMessage> = s.waiting.drain(..).collect();
        for m in waiting {
            self.send_to_session(sid, m, now);
        }
        self.touch(sid, now);
    }

    /// The relay reserved our path: the offer or answer can go out.
    pub(super) fn path_ready(&mut self, sid: SessionId, path: Vec<MsrpUri<'static>>, now: Instant) {
        let Some(s) = self.sessions.get_mut(&sid) else {
            return;
        };
        if s.dialog.is_some() {
            // The relay renewed the reservation under a new path (Kamailio
            // does on every refresh) and the old one will expire. The peer
            // knows only the old one: new messages of the pair go to a
            // fresh session, and this one ends once nothing is in flight.
            info!(
                "session {sid} {}: the relay renewed our path; ending this session \
                 once quiet, new messages get a fresh one",
                s.key
            );
            s.renewed = true;
            if self.by_key.get(&s.key) == Some(&sid) {
                let key = s.key.clone();
                self.by_key.remove(&key);
            }
            self.touch(sid, now);
            return;
        }
        match s.origin {
            Direction::PagerToSession => self.send_invite(sid, &path, now),
            Direction::SessionToPager => {
                if let Some(pa) = s.pending_answer.take() {
                    self.answer_invite(sid, pa.tx, pa.invite, pa.from, &path, now);
                }
            }
        }
    }

    /// The outcome of a SEND: the pager sender's final response.
    pub(super) fn send_outcome(
        &mut self,
        sid: SessionId,
        tag: u64,
        outcome: SendOutcome,
        now: Instant,
    ) {
        let Some(s) = self.sessions.get_mut(&sid) else {
            return;
        };
        // Tags not found are msrpgw's own messages (IMDNs).
        let Some(msg) = s.sending.remove(&tag) else {
            return;
        };
        let mapped = match outcome {
            SendOutcome::Delivered if self.config.msrp.relay.is_some() => {
                // The relay's 200: wait for the far end's REPORT (I1).
                s.confirming.insert(tag, msg);
                let due = now + self.config.msrp.transaction_timeout;
                self.report_timers.insert((due, sid, tag));
                self.touch(sid, now);
                return;
            }
            SendOutcome::Delivered => message_status_for_msrp(MsrpResult::Status(200)),
            SendOutcome::Failed { status, reason } => {
                info!(
                    "session {sid} {}: SEND for MESSAGE {} failed: {status} {reason}",
                    s.key, msg.call_id
                );
                message_status_for_msrp(MsrpResult::Status(status))
            }
            // msrpgw always asks for responses; a message written without
            // one was not confirmed (I1).
            SendOutcome::Written => crate::session::mapping::Mapped {
                status: 502,
                reason: "Bad Gateway (delivery not confirmed)".to_owned(),
            },
        };
        self.answer_pager(msg, mapped.status, &mapped.reason, now);
        self.touch(sid, now);
    }
}

impl SessionTable {
    /// A REPORT for one of our SENDs: the far end's word on a message the
    /// relay accepted.
    pub(super) fn report(&mut self, sid: SessionId, tag: Option<u64>, status: u16, now: Instant) {
        let Some(s) = self.sessions.get_mut(&sid) else {
            return;
        };
        let Some(msg) = tag.and_then(|t| s.confirming.remove(&t)) else {
            debug!("session {sid}: REPORT {status} for message {tag:?} (nothing waits for it)");
            return;
        };
        let mapped = message_status_for_msrp(MsrpResult::Status(status));
        self.answer_pager(msg, mapped.status, &mapped.reason, now);
        self.touch(sid, now);
    }

    /// No REPORT came in time for message `tag` of session `sid`.
    pub(super) fn report_timeout(&mut self, sid: SessionId, tag: u64, now: Instant) {
        let Some(s) = self.sessions.get_mut(&sid) else {
            return;
        };
        if let Some(msg) = s.confirming.remove(&tag) {
            info!(
                "session {sid} {}: no success REPORT for MESSAGE {}; answering 408",
                s.key, msg.call_id
            );
            let mapped = message_status_for_msrp(MsrpResult::Timeout);
            self.answer_pager(msg, mapped.status, &mapped.reason, now);
        }
    }
}
