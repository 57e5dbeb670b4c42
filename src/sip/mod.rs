//! The SIP side of msrpgw: transports (threads that own sockets) and the
//! protocol layers above the codec.
//!
//! Owns: `transport` (threads; UDP/TCP/TLS sockets, connection registry),
//! `dialog` (pure RFC 3261 §12 dialog state), `screen` (pure: what the SIP
//! layer answers by itself).
//!
//! Must not: parse or encode by hand (that is `crate::proto::sip`), or own
//! session state (that is the session-table thread's).

pub mod dialog;
pub mod screen;
pub mod target;
pub mod transport;
