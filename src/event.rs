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

impl From<SipEvent> for Event {
    fn from(e: SipEvent) -> Self {
        Event::Sip(e)
    }
}
