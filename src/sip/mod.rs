//! SIP above the codec: the protocol state msrpgw keeps per message
//! exchange.
//!
//! Owns: the RFC 3261 §17 transaction layer ([`transaction`]), a pure
//! state machine the session-table thread drives with parsed messages and
//! the current time.
//!
//! Must not: parse or encode bytes (that is [`crate::proto::sip`]), or own
//! sockets, threads or clocks (transport threads feed this layer through
//! the session table; see DESIGN.md §3).

pub mod transaction;
