//! The MSRP stack (RFC 4975 sessions, RFC 4976 relays, RFC 6135 connection
//! setup, RFC 6714 CEMA) that the session-table thread drives.
//!
//! Owns: MSRP connections and sessions, from the listening socket to the
//! complete message handed to the session table and the response that goes
//! back. Must not: know about SIP, SDP bodies or the gateway's mapping; the
//! session table decides what a session is for and what an answer says.
//!
//! ## Parts
//!
//! - [`connection`] (threads): listeners, acceptors, one reader per
//!   connection (TCP reader + writer pair, or one owner thread per TLS
//!   connection), binding connections to sessions by To-Path session-id
//!   (unknown → 481, wrong connection → 506, several sessions per incoming
//!   connection, CEMA), and the [`MsrpStack`] handle.
//! - [`writer`] (thread per session): sending, chunking, transaction ids,
//!   the relay reservation, a bounded command queue.
//! - [`transfer`] (pure): one session's send and receive rules.
//! - [`setup`] (pure): a=setup roles (RFC 6135, RFC 4975 §5.4).
//! - [`relay`] (pure): AUTH with HTTP Digest, Use-Path, refresh time.
//!
//! ## The API of the session table (commands in, events out)
//!
//! ```text
//!  session table ──create_session / start_session / send / answer / close──▶ [msrp-session-N]
//!        ▲                                                                       │  ▲
//!        └──────────── Event::Msrp(MsrpEvent) ◀──────────────────────────────────┘  │ frames
//!                                                                  [msrp-rd / msrp-tls] ◀── socket
//! ```
//!
//! Commands are methods of [`MsrpStack`]; each returns at once (a
//! `try_send` to the session's bounded queue; a full queue fails the call
//! with [`StackError::QueueFull`] and the session with
//! [`CloseReason::PeerNotReading`]).
//!
//! 1. [`MsrpStack::create_session`] → [`NewSession`]: the key, the
//!    session-id (120 random bits) and `local_path` for a=path. With
//!    `use_relay` the path comes later in [`MsrpEvent::PathReady`], after
//!    the relay accepted AUTH (its Use-Path first, our URI last).
//! 2. After the offer/answer: [`MsrpStack::start_session`] with the peer's
//!    a=path, our [`Role`] (from [`setup::role_as_offerer`] /
//!    [`setup::role_as_answerer`]), CEMA and the peer's a=max-size. Active:
//!    the session connects to the first URI of the peer's path and sends a
//!    SEND at once (an empty one if nothing is queued). Passive: it waits
//!    for the peer's first request. Either way [`MsrpEvent::Connected`]
//!    follows (or [`MsrpEvent::Closed`] with `ConnectFailed`).
//! 3. [`MsrpStack::send`] with an [`OutgoingMessage`] (tag, Content-Type,
//!    body, Success-Report, Failure-Report) → exactly one
//!    [`MsrpEvent::SendOutcome`] per tag: `Delivered` (200 to the last
//!    chunk), `Written` (no confirmation was asked), or `Failed` with the
//!    status (the peer's error response; 413 refused locally over the
//!    peer's a=max-size; 408 transaction timeout; 408/481 when the session
//!    ends first). Messages go out in the order given. Success REPORTs
//!    arrive as [`MsrpEvent::Report`].
//! 4. Each complete received message arrives as [`MsrpEvent::Received`]
//!    with a [`HeldId`]: its final response is held until
//!    [`MsrpStack::answer`] gives the status (200 → 200 and, when asked, a
//!    success REPORT; anything else → that error response). This is how
//!    the gateway keeps "no 200 before delivery". Intermediate chunks are
//!    answered by the stack (RFC 4975 §7.2/§7.3: none with Failure-Report
//!    no, only failures with partial), as are 400, 413, 415 and 501.
//! 5. [`MsrpStack::close`] ends a session after writing what it queued;
//!    [`MsrpEvent::Closed`] is always the session's last event, preceded by
//!    a `Failed` outcome for every message still pending.
//!
//! [`MsrpStack::shutdown`] stops and joins every thread.

pub mod connection;
pub mod relay;
pub mod setup;
pub mod transfer;
pub mod writer;

pub use crate::event::{CloseReason, HeldId, MsrpEvent, MsrpSessionKey, SendOutcome};
pub use connection::{
    MsrpStack, MsrpStackConfig, NewSession, RemoteEnd, SessionOptions, StackError,
};
pub use setup::Role;
pub use transfer::{OutgoingMessage, TransferConfig};
