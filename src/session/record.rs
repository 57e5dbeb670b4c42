//! One gateway session: a pager user and a session-mode user joined by an
//! INVITE dialog and an MSRP session. Pure data with the small decisions
//! that need nothing else (queue bounds, idle deadline, status row).
//!
//! Owns: the [`Session`] record: its key, its state, the ids that tie it
//! to the SIP dialog and the MSRP session, the pager MESSAGEs waiting for
//! the session or for their SEND's outcome (each with the response
//! template that answers it), and its counters.
//!
//! Must not: send anything (the table does), or read the clock.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::event::{MsrpSessionKey, SessionRow};
use crate::metrics::Direction;
use crate::proto::sip::uri::Uri;
use crate::proto::sip::{SipRequest, SipResponse};
use crate::session::media::RemoteMedia;
use crate::sip::dialog::DialogId;
use crate::sip::stack::RequestId;
use crate::sip::transaction::ServerTxId;

/// The table's own number for a session.
pub type SessionId = u64;

/// (pager-side AOR, session-side AOR), each as
/// [`Uri::aor_key`] normalizes it (DESIGN §2 "Session key").
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PairKey {
    pub pager: String,
    pub session: String,
}

impl PairKey {
    pub fn new(pager: &Uri<'_>, session: &Uri<'_>) -> PairKey {
        PairKey {
            pager: pager.aor_key(),
            session: session.aor_key(),
        }
    }
}

impl std::fmt::Display for PairKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} <-> {}", self.pager, self.session)
    }
}

/// Where a session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Waiting for the relay to reserve our path (RFC 4976) before the
    /// offer or answer can be written.
    AwaitingPath,
    /// Our INVITE is out (pager → session).
    Inviting,
    /// The dialog exists; the MSRP connection is being set up.
    Connecting,
    /// MSRP connected: messages flow.
    Active,
    /// BYE sent or received, MSRP closing: no new messages.
    Closing,
}

impl State {
    pub const fn as_str(self) -> &'static str {
        match self {
            State::AwaitingPath => "awaiting-path",
            State::Inviting => "inviting",
            State::Connecting => "connecting",
            State::Active => "active",
            State::Closing => "closing",
        }
    }
}

/// A pager user's MESSAGE on its way into the session.
#[derive(Debug)]
pub struct PagerMessage {
    pub tx: ServerTxId,
    /// The response that answers it, status still to be set (built from
    /// the request when it arrived: Via, From, To with our tag, Call-ID,
    /// CSeq).
    pub answer: SipResponse<'static>,
    pub arrived: Instant,
    pub content_type: String,
    pub body: Vec<u8>,
    /// The SIP identity of the sender (P-Asserted-Identity, else From) and
    /// of the recipient, as URIs (CPIM From/To).
    pub from: String,
    pub to: String,
    pub call_id: String,
}

/// A complete message from the session user waiting for the previous
/// one's MESSAGE to be answered (I4: one MESSAGE toward the pager user at
/// a time keeps the order whatever the SIP path does).
#[derive(Debug)]
pub struct ToPager {
    pub held: Option<crate::event::HeldId>,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    pub arrived: Instant,
}

/// An INVITE answered once the relay gave our path (session → pager with
/// a relay).
#[derive(Debug)]
pub struct PendingAnswer {
    pub tx: ServerTxId,
    pub invite: SipRequest<'static>,
    pub from: crate::event::SipPeer,
}

#[derive(Debug)]
pub struct Session {
    pub id: SessionId,
    pub key: PairKey,
    /// Which side opened it.
    pub origin: Direction,
    pub state: State,
    pub msrp: MsrpSessionKey,
    pub dialog: Option<DialogId>,
    /// Our INVITE, while [`State::Inviting`].
    pub invite: Option<RequestId>,
    /// The INVITE's Call-ID (logs, /sessions).
    pub call_id: String,
    /// The SIP peer whose request made the session (logs).
    pub sip_peer: String,
    /// Where MESSAGEs toward the pager user go (its URI).
    pub pager_target: Uri<'static>,
    /// To of MESSAGEs toward the pager user (name-addr, no tag).
    pub pager_addr: String,
    /// From of MESSAGEs toward the pager user: the session user's SIP
    /// identity (name-addr, no tag).
    pub session_addr: String,
    /// The peer's MSRP media, once known.
    pub remote: Option<RemoteMedia>,
    /// A relay-reserved answer still to send.
    pub pending_answer: Option<PendingAnswer>,
    /// Our INVITE without its SDP, until our path is known.
    pub pending_invite: Option<SipRequest<'static>>,
    /// MESSAGEs waiting for the session to become active, in order.
    pub waiting: VecDeque<PagerMessage>,
    /// MESSAGEs whose SEND is out, by tag.
    pub sending: HashMap<u64, PagerMessage>,
    /// Session messages waiting for their turn toward the pager user.
    pub to_pager_queue: VecDeque<ToPager>,
    /// A MESSAGE toward the pager user is out.
    pub to_pager_busy: bool,
    /// MESSAGEs whose SEND a relay accepted (its 200 is hop by hop, RFC
    /// 4976 §6), waiting for the far end's success REPORT, by tag.
    pub confirming: HashMap<u64, PagerMessage>,
    pub created: Instant,
    pub last_activity: Instant,
    /// An idle check for this session is in the table's timer set.
    pub idle_armed: bool,
    /// The relay renewed our path: end the session once quiet.
    pub renewed: bool,
    /// Why it is ending, once it is.
    pub end_reason: Option<crate::metrics::EndReason>,
    pub to_session: u64,
    pub to_pager: u64,
}

impl Session {
    /// A session in its first state; the table gives it its id.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        key: PairKey,
        origin: Direction,
        state: State,
        msrp: MsrpSessionKey,
        call_id: String,
        pager_target: Uri<'static>,
        pager_addr: String,
        session_addr: String,
        now: Instant,
    ) -> Session {
        Session {
            id: 0,
            key,
            origin,
            state,
            msrp,
            dialog: None,
            invite: None,
            call_id,
            sip_peer: String::new(),
            pager_target,
            pager_addr,
            session_addr,
            remote: None,
            pending_answer: None,
            pending_invite: None,
            waiting: VecDeque::new(),
            sending: HashMap::new(),
            confirming: HashMap::new(),
            to_pager_queue: VecDeque::new(),
            to_pager_busy: false,
            created: now,
            last_activity: now,
            idle_armed: false,
            renewed: false,
            end_reason: None,
            to_session: 0,
            to_pager: 0,
        }
    }

    /// Whether a new pager MESSAGE may join the session's queue of depth
    /// `depth` (waiting plus in flight).
    pub fn has_room(&self, depth: usize) -> bool {
        self.in_flight() < depth
    }

    /// MESSAGEs not yet answered.
    pub fn in_flight(&self) -> usize {
        self.waiting.len() + self.sending.len() + self.confirming.len()
    }

    /// When the session idles out (`None`: never, or not idle-able now).
    pub fn idle_deadline(&self, idle: Duration) -> Option<Instant> {
        if idle.is_zero() || self.state != State::Active {
            return None;
        }
        Some(self.last_activity + idle)
    }

    /// Whether nothing is in flight (a session is only idled out then).
    pub fn is_quiet(&self) -> bool {
        self.in_flight() == 0 && !self.to_pager_busy && self.to_pager_queue.is_empty()
    }

    pub fn row(&self, now: Instant) -> SessionRow {
        SessionRow {
            key: self.key.to_string(),
            direction: match self.origin {
                Direction::PagerToSession => "pager_to_session",
                Direction::SessionToPager => "session_to_pager",
            },
            state: self.state.as_str(),
            age_secs: now.saturating_duration_since(self.created).as_secs(),
            idle_secs: now.saturating_duration_since(self.last_activity).as_secs(),
            messages_to_session: self.to_session,
            messages_to_pager: self.to_pager,
            call_id: self.call_id.clone(),
        }
    }
}
