//! The UA core (RFC 3261 §8, §12–§15) over the SIP stack: INVITE dialogs
//! on both sides, so that the session layer deals in sessions, not in tags,
//! CSeqs and ACKs.
//!
//! Owns: the [`SipStack`]; every INVITE dialog (as UAC and as UAS) with the
//! SDP each side last gave; the INVITEs msrpgw sent until their final
//! answer has settled; the BYEs it sent. Does, without asking the layer
//! above:
//! - the ACK for every 2xx to our INVITEs, again for each retransmitted
//!   2xx (§13.2.2.4); a second 2xx from another fork gets its ACK and a
//!   BYE (only one dialog per INVITE is wanted);
//! - the retransmission of our 2xx over UDP until the ACK (§13.3.1.4: T1
//!   doubling up to T2) and, when no ACK comes within 64·T1, a BYE;
//! - answers inside a dialog: BYE → 200; a re-INVITE whose offer leaves the
//!   media as they are → 200 with the SDP we already gave (an offerless
//!   one gets it as the offer), any other offer → 488 (msrpgw never
//!   changes a session in mid-flight); a CSeq lower than one seen → 500
//!   (§12.2.2); a To tag naming no dialog → 481 (§12.2.2);
//! - no BYE of ours before the peer's ACK arrived or its wait ended (§15).
//!
//! Must not: hold session state (what a dialog is *for* is the session
//! table's business), read the clock (callers pass `now`), or block.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use log::{debug, info, warn};

use crate::config::Transport;
use crate::event::{Event, SipPeer};
use crate::ids::IdSource;
use crate::proto::sdp::SessionDescription;
use crate::proto::sip::uri::Uri;
use crate::proto::sip::{HeaderName, Method, SipRequest, SipResponse};
use crate::sip::dialog::{Dialog, DialogError, DialogId};
use crate::sip::stack::{LocalAddress, RequestId, SendRequestError, SipStack, SipUp};
use crate::sip::transaction::{ServerTxId, Timers};
use crate::sip::transport::SipTransportConfig;

/// What the UA core hands the session layer.
///
/// Each value is built once and moved once (queue → session layer), and
/// most are requests: boxing the large variant would add an allocation
/// per message to save a few hundred bytes in a short queue.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum UaUp {
    /// A request to answer (with [`UaCore::respond`], or
    /// [`UaCore::accept_invite`] for an INVITE): outside any dialog
    /// (`dialog` is `None`: a new INVITE, a MESSAGE), or a request other
    /// than BYE, INVITE and ACK inside a known dialog.
    Request {
        tx: ServerTxId,
        request: SipRequest<'static>,
        from: SipPeer,
        dialog: Option<DialogId>,
    },
    /// A CANCEL ended an INVITE server transaction; 487 was sent.
    Cancelled { tx: ServerTxId },
    /// A response to a request of ours: provisional, or final other than
    /// a 2xx to an INVITE (that is [`UaUp::Established`]).
    Response {
        id: RequestId,
        response: SipResponse<'static>,
    },
    /// A request of ours ended without a response (408 timeout, 503
    /// transport or lookup failure).
    Failed {
        id: RequestId,
        status: u16,
        reason: String,
    },
    /// Our INVITE `id` was accepted: the dialog exists and its ACK is on
    /// the way. `response` is the 2xx (its body holds the answer).
    Established {
        id: RequestId,
        dialog: DialogId,
        response: SipResponse<'static>,
    },
    /// A dialog ended from the other side or by a protocol failure.
    Ended { dialog: DialogId, reason: EndReason },
}

/// Why a dialog ended without the session layer asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// The peer sent BYE (answered 200).
    Bye,
    /// No ACK came for our 2xx within 64·T1; a BYE was sent.
    NoAck,
}

impl std::fmt::Display for EndReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            EndReason::Bye => "BYE from the peer",
            EndReason::NoAck => "no ACK for our 2xx",
        })
    }
}

/// Our 2xx to an INVITE in a dialog, until its ACK.
struct AckWait {
    tx: ServerTxId,
    response: SipResponse<'static>,
    /// UDP: when to send the 2xx again; stream transports never do.
    next: Instant,
    interval: Duration,
    /// When to give up waiting (64·T1 after the first 2xx).
    deadline: Instant,
    reliable: bool,
}

struct DialogEntry {
    dialog: Dialog,
    /// The SDP we gave (answer as UAS, offer as UAC).
    local_sdp: Vec<u8>,
    /// The SDP the peer gave.
    remote_sdp: Vec<u8>,
    ack_wait: Option<AckWait>,
    /// The session layer asked for BYE while an ACK was awaited.
    bye_pending: bool,
}

/// An INVITE we sent, kept until its answer has settled.
struct InviteSent {
    request: SipRequest<'static>,
    /// The dialog its first 2xx created.
    established: Option<DialogId>,
}

/// Why [`UaCore::accept_invite`] or [`UaCore::bye`] did nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UaError {
    /// The INVITE or our 2xx lacks what a dialog needs.
    Dialog(DialogError),
    /// No such dialog (already ended).
    NoDialog,
    /// The stack could not send the request.
    Send(SendRequestError),
}

impl std::fmt::Display for UaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UaError::Dialog(e) => write!(f, "cannot create the dialog: {e}"),
            UaError::NoDialog => f.write_str("no such dialog"),
            UaError::Send(e) => e.fmt(f),
        }
    }
}

pub struct UaCore {
    stack: SipStack,
    ids: Arc<IdSource>,
    timers: Timers,
    dialogs: HashMap<DialogId, DialogEntry>,
    /// Due times of [`AckWait`]s; an entry whose wait has moved on is
    /// skipped when it comes up.
    ack_timers: BTreeSet<(Instant, DialogId)>,
    invites: HashMap<RequestId, InviteSent>,
    /// When each settled INVITE is forgotten (64·T1 after its final answer,
    /// the longest a 2xx retransmission can follow), oldest first.
    invite_expiry: VecDeque<(Instant, RequestId)>,
    byes: HashSet<RequestId>,
    up: VecDeque<UaUp>,
}

impl UaCore {
    /// Starts the SIP stack (transport and resolver threads); their events
    /// go to `events`, which the caller feeds back through
    /// [`Self::handle_event`].
    pub fn start(
        transport: SipTransportConfig,
        timers: Timers,
        local: LocalAddress,
        ids: Arc<IdSource>,
        events: Sender<Event>,
    ) -> std::io::Result<UaCore> {
        let stack = SipStack::start(transport, timers, local, ids.clone(), events)?;
        Ok(UaCore {
            stack,
            ids,
            timers,
            dialogs: HashMap::new(),
            ack_timers: BTreeSet::new(),
            invites: HashMap::new(),
            invite_expiry: VecDeque::new(),
            byes: HashSet::new(),
            up: VecDeque::new(),
        })
    }

    pub fn stack(&self) -> &SipStack {
        &self.stack
    }

    pub fn stack_mut(&mut self) -> &mut SipStack {
        &mut self.stack
    }

    pub fn dialog(&self, id: &DialogId) -> Option<&Dialog> {
        self.dialogs.get(id).map(|e| &e.dialog)
    }

    pub fn dialog_ids(&self) -> impl Iterator<Item = &DialogId> {
        self.dialogs.keys()
    }

    pub fn dialog_count(&self) -> usize {
        self.dialogs.len()
    }

    /// The next thing for the session layer.
    pub fn poll(&mut self) -> Option<UaUp> {
        self.up.pop_front()
    }

    /// When [`Self::handle_timeout`] next has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let ours = [
            self.ack_timers.first().map(|(t, _)| *t),
            self.invite_expiry.front().map(|(t, _)| *t),
        ];
        ours.into_iter()
            .flatten()
            .chain(self.stack.poll_timeout())
            .min()
    }

    pub fn handle_event(&mut self, ev: Event, now: Instant) {
        self.stack.handle_event(ev, now);
        self.drain(now);
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        self.stack.handle_timeout(now);
        while self.invite_expiry.front().is_some_and(|(t, _)| *t <= now) {
            if let Some((_, id)) = self.invite_expiry.pop_front() {
                self.invites.remove(&id);
            }
        }
        while let Some((due, id)) = self.ack_timers.first().cloned() {
            if due > now {
                break;
            }
            self.ack_timers.remove(&(due, id.clone()));
            self.ack_timer(&id, due, now);
        }
        self.drain(now);
    }

    /// Answers a request from [`UaUp::Request`] (for an INVITE: a
    /// failure; a 2xx goes through [`Self::accept_invite`]).
    pub fn respond(&mut self, tx: ServerTxId, resp: SipResponse<'static>, now: Instant) {
        self.stack.respond(tx, resp, now);
        self.drain(now);
    }

    /// Sends a request outside any dialog (MESSAGE) toward `next_hop`.
    pub fn send_request(
        &mut self,
        req: SipRequest<'static>,
        next_hop: &Uri<'_>,
        now: Instant,
    ) -> Result<RequestId, SendRequestError> {
        let id = self.stack.send_request(req, next_hop, now)?;
        self.drain(now);
        Ok(id)
    }

    /// Sends an INVITE outside any dialog toward `next_hop`. Its 2xx
    /// arrives as [`UaUp::Established`] (ACK already sent), anything else
    /// as [`UaUp::Response`] or [`UaUp::Failed`].
    pub fn send_invite(
        &mut self,
        invite: SipRequest<'static>,
        next_hop: &Uri<'_>,
        now: Instant,
    ) -> Result<RequestId, SendRequestError> {
        let kept = invite.clone();
        let id = self.stack.send_request(invite, next_hop, now)?;
        self.invites.insert(
            id,
            InviteSent {
                request: kept,
                established: None,
            },
        );
        self.drain(now);
        Ok(id)
    }

    /// CANCELs our INVITE `id` if it has no final answer yet.
    pub fn cancel(&mut self, id: RequestId, now: Instant) {
        if self
            .invites
            .get(&id)
            .is_some_and(|i| i.established.is_none())
        {
            self.stack.cancel(id, now);
            self.drain(now);
        }
    }

    /// Accepts an INVITE from [`UaUp::Request`] with `response` (a 2xx
    /// carrying the SDP answer): adds our To tag and, when missing, our
    /// Contact for the transport the INVITE came over; creates the dialog
    /// and sends the 2xx, which is retransmitted until the ACK.
    pub fn accept_invite(
        &mut self,
        tx: ServerTxId,
        invite: &SipRequest<'_>,
        from: &SipPeer,
        mut response: SipResponse<'static>,
        now: Instant,
    ) -> Result<DialogId, UaError> {
        response.set_to_tag(&self.ids.tag());
        if response.headers.get(&HeaderName::Contact).is_none() {
            let contact = self.stack.contact(None, from.kind);
            response.push_header(HeaderName::Contact, format!("<{contact}>"));
        }
        crate::sip::dialog::copy_record_route(invite, &mut response);
        let dialog = Dialog::uas(invite, &response).map_err(UaError::Dialog)?;
        let id = dialog.id.clone();
        let entry = DialogEntry {
            dialog,
            local_sdp: response.body.to_vec(),
            remote_sdp: invite.body.to_vec(),
            ack_wait: None,
            bye_pending: false,
        };
        self.dialogs.insert(id.clone(), entry);
        self.send_2xx(&id, tx, response, from.kind.is_reliable(), now);
        self.drain(now);
        Ok(id)
    }

    /// Ends a dialog with BYE. The dialog is gone for the session layer at
    /// once; the BYE waits for the peer's ACK of our 2xx when that is
    /// still due (§15).
    pub fn bye(&mut self, id: &DialogId, now: Instant) -> Result<(), UaError> {
        let entry = self.dialogs.get_mut(id).ok_or(UaError::NoDialog)?;
        if entry.ack_wait.is_some() {
            entry.bye_pending = true;
            return Ok(());
        }
        let result = self.send_bye(id, now);
        self.drain(now);
        result
    }

    /// BYE for every dialog (shutdown).
    pub fn bye_all(&mut self, now: Instant) {
        let ids: Vec<DialogId> = self.dialogs.keys().cloned().collect();
        for id in ids {
            if let Some(e) = self.dialogs.get_mut(&id) {
                // Shutting down: no waiting for ACKs that may never come.
                e.ack_wait = None;
            }
            if let Err(e) = self.send_bye(&id, now) {
                warn!("sip dialog {id}: BYE not sent: {e}");
            }
        }
        self.drain(now);
    }

    /// Stops the transport and resolver threads.
    pub fn shutdown(self) {
        self.stack.shutdown();
    }

    fn send_bye(&mut self, id: &DialogId, now: Instant) -> Result<(), UaError> {
        let mut entry = self.dialogs.remove(id).ok_or(UaError::NoDialog)?;
        let contact = self.stack.contact(None, Transport::Udp);
        let bye = entry.dialog.request(Method::Bye, &contact);
        let hop = entry.dialog.next_hop().clone();
        let rid = self
            .stack
            .send_request(bye, &hop, now)
            .map_err(UaError::Send)?;
        self.byes.insert(rid);
        Ok(())
    }

    /// Sends our 2xx in dialog `id` and starts waiting for its ACK.
    fn send_2xx(
        &mut self,
        id: &DialogId,
        tx: ServerTxId,
        response: SipResponse<'static>,
        reliable: bool,
        now: Instant,
    ) {
        let interval = self.timers.t1.max(Duration::from_millis(1));
        let wait = AckWait {
            tx,
            response: response.clone(),
            next: now + interval,
            interval,
            deadline: now + self.timers.t1x64(),
            reliable,
        };
        let due = if reliable { wait.deadline } else { wait.next };
        if let Some(e) = self.dialogs.get_mut(id) {
            e.ack_wait = Some(wait);
            self.ack_timers.insert((due, id.clone()));
        }
        self.stack.respond(tx, response, now);
    }

    /// An [`AckWait`] timer came due at `due`.
    fn ack_timer(&mut self, id: &DialogId, due: Instant, now: Instant) {
        let Some(entry) = self.dialogs.get_mut(id) else {
            return;
        };
        let Some(wait) = entry.ack_wait.as_mut() else {
            return;
        };
        let expected = if wait.reliable {
            wait.deadline
        } else {
            wait.next
        };
        if expected != due {
            return;
        }
        if now >= wait.deadline {
            entry.ack_wait = None;
            warn!("sip dialog {id}: no ACK for our 2xx; ending the dialog with BYE");
            if let Err(e) = self.send_bye(id, now) {
                warn!("sip dialog {id}: BYE not sent: {e}");
            }
            self.up.push_back(UaUp::Ended {
                dialog: id.clone(),
                reason: EndReason::NoAck,
            });
            return;
        }
        // §13.3.1.4: again at T1, 2·T1, ... capped at T2.
        let (tx, resp) = (wait.tx, wait.response.clone());
        wait.interval = (wait.interval * 2).min(self.timers.t2.max(wait.interval));
        wait.next = (now + wait.interval).min(wait.deadline);
        self.ack_timers.insert((wait.next, id.clone()));
        self.stack.respond(tx, resp, now);
    }

    /// Turns the stack's output into ours.
    fn drain(&mut self, now: Instant) {
        while let Some(up) = self.stack.poll() {
            match up {
                SipUp::Request { tx, request, from } => self.request(tx, request, from, now),
                SipUp::Ack { request, from } => self.ack(request, from, now),
                SipUp::Cancelled { tx } => self.up.push_back(UaUp::Cancelled { tx }),
                SipUp::Response { id, response } => self.response(id, response, now),
                SipUp::Failed { id, status, reason } => {
                    if self.byes.remove(&id) {
                        debug!("sip: BYE {id:?} got no answer ({status} {reason})");
                        continue;
                    }
                    self.invites.remove(&id);
                    self.up.push_back(UaUp::Failed { id, status, reason });
                }
            }
        }
    }

    fn request(&mut self, tx: ServerTxId, req: SipRequest<'static>, from: SipPeer, now: Instant) {
        let Some(id) = DialogId::of_request(&req) else {
            self.up.push_back(UaUp::Request {
                tx,
                request: req,
                from,
                dialog: None,
            });
            return;
        };
        let Some(entry) = self.dialogs.get_mut(&id) else {
            debug!(
                "sip {from}: {} for unknown dialog {id}: answering 481",
                req.method.as_str()
            );
            let resp = SipResponse::for_request(&req, 481, "Call/Transaction Does Not Exist");
            self.stack.respond(tx, resp.into_owned(), now);
            return;
        };
        if let Err(e) = entry.dialog.check_remote_cseq(&req) {
            let resp = SipResponse::for_request(&req, 500, e.description());
            self.stack.respond(tx, resp.into_owned(), now);
            return;
        }
        match req.method {
            Method::Bye => {
                self.dialogs.remove(&id);
                info!("sip dialog {id}: BYE from {from}");
                let resp = SipResponse::for_request(&req, 200, "OK");
                self.stack.respond(tx, resp.into_owned(), now);
                self.up.push_back(UaUp::Ended {
                    dialog: id,
                    reason: EndReason::Bye,
                });
            }
            Method::Invite => self.reinvite(tx, &id, req, from, now),
            _ => self.up.push_back(UaUp::Request {
                tx,
                request: req,
                from,
                dialog: Some(id),
            }),
        }
    }

    /// A re-INVITE in dialog `id`: the same media again (or no offer) get
    /// the SDP we already gave; a change gets 488.
    fn reinvite(
        &mut self,
        tx: ServerTxId,
        id: &DialogId,
        req: SipRequest<'static>,
        from: SipPeer,
        now: Instant,
    ) {
        let Some(entry) = self.dialogs.get_mut(id) else {
            return;
        };
        let unchanged = req.body.is_empty() || same_media(&entry.remote_sdp, &req.body);
        if !unchanged {
            info!("sip dialog {id}: re-INVITE from {from} changes the session: answering 488");
            let mut resp = SipResponse::for_request(&req, 488, "Not Acceptable Here");
            resp.push_header(
                HeaderName::Warning,
                "399 msrpgw \"session parameters cannot change\"",
            );
            self.stack.respond(tx, resp.into_owned(), now);
            return;
        }
        entry.dialog.refresh_target(&req);
        if !req.body.is_empty() {
            entry.remote_sdp = req.body.to_vec();
        }
        let mut resp = SipResponse::for_request(&req, 200, "OK").into_owned();
        let contact = self.stack.contact(None, from.kind);
        resp.push_header(HeaderName::Contact, format!("<{contact}>"));
        resp.set_body("application/sdp", entry.local_sdp.clone());
        self.send_2xx(id, tx, resp, from.kind.is_reliable(), now);
    }

    fn ack(&mut self, req: SipRequest<'static>, from: SipPeer, now: Instant) {
        let Some(id) = DialogId::of_request(&req) else {
            debug!("sip {from}: ACK without To tag dropped");
            return;
        };
        let Some(entry) = self.dialogs.get_mut(&id) else {
            debug!("sip {from}: ACK for unknown dialog {id} dropped");
            return;
        };
        let acked = entry.ack_wait.as_ref().is_some_and(|w| {
            let ours = w.response.headers.cseq().map(|c| c.seq).ok();
            ours.is_some() && ours == req.headers.cseq().map(|c| c.seq).ok()
        });
        if !acked {
            return;
        }
        entry.ack_wait = None;
        // An offerless re-INVITE: the ACK carries the answer.
        if !req.body.is_empty() {
            entry.remote_sdp = req.body.to_vec();
        }
        if entry.bye_pending {
            if let Err(e) = self.send_bye(&id, now) {
                warn!("sip dialog {id}: BYE not sent: {e}");
            }
        }
    }

    fn response(&mut self, id: RequestId, resp: SipResponse<'static>, now: Instant) {
        if self.byes.contains(&id) {
            if resp.status >= 200 {
                self.byes.remove(&id);
                if !matches!(resp.status, 200..=299 | 481) {
                    info!("sip: BYE {id:?} answered {} {}", resp.status, resp.reason);
                }
            }
            return;
        }
        let Some(invite) = self.invites.get_mut(&id) else {
            self.up.push_back(UaUp::Response { id, response: resp });
            return;
        };
        match resp.status {
            100..=199 => self.up.push_back(UaUp::Response { id, response: resp }),
            200..=299 => {
                let dialog_id = DialogId::of_response(&resp);
                if let Some(d) = dialog_id.as_ref().and_then(|d| self.dialogs.get(d)) {
                    // A retransmitted 2xx: its ACK was lost.
                    let ack = d.dialog.ack();
                    let hop = d.dialog.next_hop().clone();
                    self.stack.send_stateless(ack, &hop, now);
                    return;
                }
                let first = invite.established.is_none();
                let dialog = match Dialog::uac(&invite.request, &resp) {
                    Ok(d) => d,
                    Err(e) => {
                        warn!("sip: 2xx to INVITE {id:?} is unusable ({e}); the call fails");
                        if first {
                            self.invites.remove(&id);
                            self.up.push_back(UaUp::Failed {
                                id,
                                status: 502,
                                reason: format!("unusable 2xx: {e}"),
                            });
                        }
                        return;
                    }
                };
                let did = dialog.id.clone();
                let local_sdp = invite.request.body.to_vec();
                if first {
                    invite.established = Some(did.clone());
                    let until = now + self.timers.t1x64();
                    self.invite_expiry.push_back((until, id));
                }
                self.stack
                    .send_stateless(dialog.ack(), &dialog.next_hop().clone(), now);
                self.dialogs.insert(
                    did.clone(),
                    DialogEntry {
                        dialog,
                        local_sdp,
                        remote_sdp: resp.body.to_vec(),
                        ack_wait: None,
                        bye_pending: false,
                    },
                );
                if first {
                    self.up.push_back(UaUp::Established {
                        id,
                        dialog: did,
                        response: resp,
                    });
                } else {
                    info!("sip dialog {did}: a second 2xx (forked INVITE): ending it");
                    if let Err(e) = self.send_bye(&did, now) {
                        warn!("sip dialog {did}: BYE not sent: {e}");
                    }
                }
            }
            _ => {
                if invite.established.is_none() {
                    self.invites.remove(&id);
                    self.up.push_back(UaUp::Response { id, response: resp });
                }
            }
        }
    }
}

/// Whether two SDP bodies describe the same media (the session-level
/// lines, e.g. the origin's version, may differ). Unparsable bodies are
/// never the same.
fn same_media(old: &[u8], new: &[u8]) -> bool {
    match (
        SessionDescription::parse(old),
        SessionDescription::parse(new),
    ) {
        (Ok(a), Ok(b)) => a.media == b.media,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::same_media;

    const OFFER: &str = "v=0\r\no=alice 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\n\
t=0 0\r\nm=message 7394 TCP/MSRP *\r\na=accept-types:text/plain\r\n\
a=path:msrp://192.0.2.1:7394/2s93i9ek2a;tcp\r\n";

    #[test]
    fn same_media_ignores_the_origin_version_but_not_the_path() {
        let bumped = OFFER.replace("o=alice 1 1", "o=alice 1 2");
        assert!(same_media(OFFER.as_bytes(), bumped.as_bytes()));
        let moved = OFFER.replace("2s93i9ek2a", "other");
        assert!(!same_media(OFFER.as_bytes(), moved.as_bytes()));
        assert!(!same_media(OFFER.as_bytes(), b"garbage"));
    }
}
