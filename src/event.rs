//! Every message that crosses threads toward the session-table thread: the
//! data flow of the daemon in one file.
//!
//! Owns: the `Event` enum (the table's one inbox) and the small value types
//! that name where SIP traffic came from or goes to.
//!
//! Must not: carry behaviour. Threads produce these values; only the
//! session-table thread consumes them.

use std::fmt;
use std::net::SocketAddr;

pub use crate::config::Transport;
use crate::proto::msrp::{ByteRange, MsrpUri};
use crate::proto::sip::SipMessage;

/// One TCP or TLS connection, numbered by the transport for its lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "conn#{}", self.0)
    }
}

/// Where a SIP message came from, or where one goes.
///
/// For a received message: the transport, the sender's address, the
/// connection it arrived on (stream transports) and the local address it
/// arrived at. Responses reuse all of it (RFC 3261 §18.2.2: over the same
/// connection; over UDP from the socket the request arrived on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SipPeer {
    pub kind: Transport,
    pub addr: SocketAddr,
    /// The connection to use first (stream transports); `None` makes the
    /// transport reuse any open connection to `addr` or open a new one.
    pub conn: Option<ConnId>,
    /// The local address the message arrived at (UDP: the socket to send
    /// from); `None` lets the transport choose.
    pub local: Option<SocketAddr>,
}

impl SipPeer {
    /// A destination reached by a fresh choice of socket or connection.
    pub const fn to(kind: Transport, addr: SocketAddr) -> SipPeer {
        SipPeer {
            kind,
            addr,
            conn: None,
            local: None,
        }
    }
}

impl fmt::Display for SipPeer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.addr)?;
        if let Some(c) = self.conn {
            write!(f, " ({c})")?;
        }
        Ok(())
    }
}

/// What the SIP transport threads report.
#[derive(Debug)]
pub enum SipEvent {
    /// A message that parsed.
    Received {
        message: SipMessage<'static>,
        from: SipPeer,
    },
    /// Bytes that did not make a valid message. `status` and `reason` are
    /// the answer the problem calls for (400 with the problem named, 505,
    /// 513, ...), `offset` where it was found; `head` is what could be read
    /// of the headers (enough to address that answer), `None` when nothing
    /// answerable was found (responses are never answered).
    Malformed {
        status: u16,
        reason: &'static str,
        offset: usize,
        head: Option<SipMessage<'static>>,
        from: SipPeer,
    },
    /// A TCP/TLS connection ended (peer closed, error, framing lost, idle).
    ConnectionClosed {
        conn: ConnId,
        peer: SocketAddr,
        reason: String,
    },
    /// Bytes handed to the transport could not be sent to `to`.
    SendFailed { to: SipPeer, reason: String },
}

/// The session-table thread's inbox.
// SIP events dominate the traffic and are moved once into the channel;
// boxing them to shrink the rare variants would add an allocation each.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Event {
    Sip(SipEvent),
    /// What the MSRP stack reports about one session (see [`crate::msrp`]).
    Msrp(MsrpEvent),
    /// A name lookup asked of the resolver threads finished.
    Resolved {
        token: u64,
        result: Result<Vec<SocketAddr>, String>,
    },
    /// SIGTERM, SIGINT or SIGHUP: stop within the grace period.
    Stop,
    /// The status endpoint asks the session table something.
    Status(StatusQuery),
}

/// A question of the status endpoint to the session-table thread. The
/// reply channel has room for the answer: the table never blocks on it.
#[derive(Debug)]
pub enum StatusQuery {
    /// `/healthz`: any reply means the table is turning.
    Health {
        reply: crossbeam_channel::Sender<()>,
    },
    /// `/sessions`: one row per session.
    Sessions {
        reply: crossbeam_channel::Sender<Vec<SessionRow>>,
    },
}

/// One session as `/sessions` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SessionRow {
    /// The pair, as `pager-URI <-> session-URI`.
    pub key: String,
    pub direction: &'static str,
    pub state: &'static str,
    pub age_secs: u64,
    pub idle_secs: u64,
    pub messages_to_session: u64,
    pub messages_to_pager: u64,
    pub call_id: String,
}

/// One MSRP session of the stack, numbered by it for its lifetime (not the
/// session-id of its URI, which [`crate::msrp::NewSession`] gives).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MsrpSessionKey(pub u64);

impl fmt::Display for MsrpSessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "msrp#{}", self.0)
    }
}

/// A received message whose final response the stack holds until the
/// session table answers it ([`crate::msrp::MsrpStack::answer`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HeldId(pub u64);

/// How a message handed to [`crate::msrp::MsrpStack::send`] ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// The peer answered 200 to the last chunk (RFC 4975 §7.2).
    Delivered,
    /// Every chunk was written, and the caller asked for no confirmation
    /// (`Failure-Report: no` or `partial`): no 200 will come.
    Written,
    /// An error response (413, 415, 481, ...), a local refusal (413 over
    /// the peer's a=max-size), a transaction timeout (408), or the
    /// session ending first (the code the loss maps to, see the reason).
    Failed { status: u16, reason: String },
}

/// Why an MSRP session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    /// [`crate::msrp::MsrpStack::close`] was called.
    Closed,
    /// Connecting, the TLS handshake, or the relay's AUTH failed.
    ConnectFailed(String),
    /// The connection was lost or closed by the peer.
    ConnectionLost(String),
    /// The peer did not read: the session's queue filled or a write did
    /// not progress within the write timeout.
    PeerNotReading(String),
    /// The peer broke the protocol so the connection had to close.
    Protocol(String),
    /// The stack is shutting down.
    Shutdown,
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseReason::Closed => f.write_str("closed"),
            CloseReason::ConnectFailed(e) => write!(f, "connect failed: {e}"),
            CloseReason::ConnectionLost(e) => write!(f, "connection lost: {e}"),
            CloseReason::PeerNotReading(e) => write!(f, "peer not reading: {e}"),
            CloseReason::Protocol(e) => write!(f, "protocol error: {e}"),
            CloseReason::Shutdown => f.write_str("shutting down"),
        }
    }
}

/// What the MSRP stack reports (RFC 4975, RFC 4976). Every event names its
/// session; after [`MsrpEvent::Closed`] no other event of that session
/// follows.
#[derive(Debug)]
pub enum MsrpEvent {
    /// The relay reserved the session (RFC 4976 AUTH): `local_path` (the
    /// relay's Use-Path followed by msrpgw's URI) goes into a=path.
    PathReady {
        session: MsrpSessionKey,
        local_path: Vec<MsrpUri<'static>>,
    },
    /// The session has its connection (connected, accepted and bound by the
    /// peer's first request, or over the relay).
    Connected {
        session: MsrpSessionKey,
        peer: SocketAddr,
    },
    /// A complete message (reassembled from its chunks). With `held`, its
    /// final response waits for [`crate::msrp::MsrpStack::answer`]; without,
    /// the stack already answered 200 (sessions opened without holding).
    Received {
        session: MsrpSessionKey,
        held: Option<HeldId>,
        message_id: String,
        content_type: Option<String>,
        body: Vec<u8>,
        /// The sender asked for a success REPORT (sent when the answer is
        /// 200).
        success_report: bool,
    },
    /// The result of one [`crate::msrp::MsrpStack::send`], by its tag.
    SendOutcome {
        session: MsrpSessionKey,
        tag: u64,
        outcome: SendOutcome,
    },
    /// A REPORT about a message this session sent (RFC 4975 §7.1.2).
    Report {
        session: MsrpSessionKey,
        /// The tag of the message, when it is still known.
        tag: Option<u64>,
        status: u16,
        byte_range: Option<ByteRange>,
    },
    /// The session ended; every message still pending got its
    /// [`MsrpEvent::SendOutcome`] before this.
    Closed {
        session: MsrpSessionKey,
        reason: CloseReason,
    },
}

impl MsrpEvent {
    pub fn session(&self) -> MsrpSessionKey {
        match self {
            MsrpEvent::PathReady { session, .. }
            | MsrpEvent::Connected { session, .. }
            | MsrpEvent::Received { session, .. }
            | MsrpEvent::SendOutcome { session, .. }
            | MsrpEvent::Report { session, .. }
            | MsrpEvent::Closed { session, .. } => *session,
        }
    }
}

impl From<MsrpEvent> for Event {
    fn from(e: MsrpEvent) -> Self {
        Event::Msrp(e)
    }
}

impl From<SipEvent> for Event {
    fn from(e: SipEvent) -> Self {
        Event::Sip(e)
    }
}
