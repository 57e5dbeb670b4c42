//! Sessions: what msrpgw keeps per pager/session pair, and the thread that
//! owns all of it.
//!
//! Owns:
//! - [`table`]: the session-table thread's loop: every event in, every
//!   protocol decision out; with it `to_session` (pager MESSAGE → SEND)
//!   and `to_pager` (INVITE and SENDs → MESSAGEs), the two flows;
//! - [`record`]: one session's record;
//! - [`mapping`]: pure; status codes from one side to the other;
//! - [`media`]: pure; the MSRP media of offers and answers;
//! - [`content`]: pure; CPIM wrapping and unwrapping, IMDN.
//!
//! Must not: touch sockets directly (the SIP stack's transport threads and
//! the MSRP writer threads do).

pub mod content;
pub mod mapping;
pub mod media;
pub mod record;
pub mod table;
mod to_pager;
mod to_session;
