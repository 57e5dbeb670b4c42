//! The integration test binary: corpus tests for every codec, the SIP and
//! MSRP stacks through real sockets, and the real daemon on loopback.

mod bench_smoke;
mod config;
mod corpus;
mod mutation;

mod cpim;
mod daemon;
mod gateway;
mod msrp;
mod msrp_relay;
mod msrp_stack;
mod peers;
mod sdp;
mod sip;
mod sip_dialog;
mod sip_stack;
mod sip_transport;
