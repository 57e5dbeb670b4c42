//! msrpgw: an interworking function between SIP pager-mode instant messaging
//! (`MESSAGE`, RFC 3428) and session-mode instant messaging (MSRP, RFC 4975).
//!
//! ```text
//!  pager UA ──MESSAGE──▶ SIP core ──▶ msrpgw ──INVITE(m=message)──▶ session UA
//!                                       │◀────── MSRP over TCP/TLS ──────▶
//!  pager UA ◀─MESSAGE─── SIP core ◀── msrpgw ◀─INVITE(m=message)─── session UA
//! ```
//!
//! Layers, in dependency order (a layer only uses the ones above it):
//!
//! - [`proto`]: pure codecs for SIP, SDP, MSRP and CPIM. No I/O, no clocks,
//!   no threads; every parser is fuzzed.
//! - [`config`]: the configuration file model and its checks.
//! - [`event`]: every message that crosses threads, one inbox enum.
//! - [`ids`]: branches, tags, Call-IDs and MSRP ids (OS random source).
//! - [`sip`]: SIP transports (threads), transactions (RFC 3261 §17, a
//!   sans-I/O state machine), dialogs, request screening, next hops.
//! - [`msrp`]: the MSRP stack (RFC 4975, 4976, 6135, 6714): listeners,
//!   one reader per connection, one thread per session that owns its
//!   sending, pure per-session send/receive rules, relay reservations.
//! - [`resolver`]: name lookups off the session-table thread.
//! - [`threads`]: the thread sets the socket-owning modules join at stop.
//! - [`session`]: the session-table thread that owns every piece of
//!   protocol state (UA core, sessions, timers) and runs both flows, with
//!   its pure helpers (status mapping, SDP media, CPIM/IMDN content).
//! - [`metrics`], [`status`]: counters and the HTTP status endpoint.
//! - [`gateway`], [`logging`], [`notify`]: the daemon's wiring, log setup,
//!   and systemd notifications (READY, STOPPING, the watchdog).
//!
//! Threads: one SIP UDP reader per socket, a SIP acceptor per TCP/TLS
//! listener and a reader (TCP: plus a writer; TLS: one owner) per
//! connection; the same for MSRP plus one thread per MSRP session that
//! owns its sending; two resolver threads; the status acceptor; the
//! systemd watchdog (when asked for); and the
//! session-table thread, fed by one bounded crossbeam channel of
//! [`event::Event`]s, which never blocks on a socket.
//!
//! Invariants the whole crate keeps (see DESIGN.md of the project):
//! no acknowledgement before delivery; bad input is contained (no panic, no
//! hang, no unbounded memory); everything is bounded by configuration;
//! messages between one pair keep their order; shutdown answers everything
//! in flight.

#![forbid(unsafe_code)]

pub mod config;
pub mod event;
pub mod gateway;
pub mod ids;
pub mod logging;
pub mod metrics;
pub mod msrp;
pub mod notify;
pub mod proto;
pub mod resolver;
pub mod session;
pub mod sip;
pub mod status;
pub mod threads;
