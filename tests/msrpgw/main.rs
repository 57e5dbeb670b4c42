//! The integration test binary: corpus tests for every codec, and (later)
//! tests that start the real daemon on loopback.

mod config;
mod corpus;
mod mutation;

mod cpim;
mod msrp;
mod msrp_relay;
mod msrp_stack;
mod peers;
mod sdp;
mod sip;
mod sip_stack;
mod sip_transport;
