//! The SIP side of msrpgw above the codec: the threads that own SIP
//! sockets and the protocol state msrpgw keeps per exchange.
//!
//! Owns:
//! - [`transport`]: threads; UDP/TCP/TLS sockets, the connection registry;
//! - [`transaction`]: the RFC 3261 §17 transaction layer, a pure state
//!   machine the session-table thread drives with parsed messages and the
//!   current time;
//! - [`dialog`]: pure RFC 3261 §12 dialog state;
//! - [`screen`]: pure; what the SIP layer answers by itself;
//! - [`target`]: pure; next hops from URIs and the §18.1.1 size rule;
//! - [`stack`]: transport + transactions + screening glued for one owner;
//! - [`ua_core`]: INVITE dialogs on both sides over the stack (ACK, 2xx
//!   retransmission, BYE, re-INVITE, 481).
//!
//! Must not: parse or encode bytes by hand (that is [`crate::proto::sip`]),
//! or own session state (that is the session-table thread's).

pub mod dialog;
pub mod screen;
pub mod stack;
pub mod target;
pub mod transaction;
pub mod transport;
pub mod ua_core;
