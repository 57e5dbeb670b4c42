//! The integration test binary: corpus tests for every codec, the SIP and
//! MSRP stacks through real sockets, and the real daemon on loopback.

mod bench_smoke;
mod check_config;
mod config;
mod corpus;
mod mutation;
mod package;

mod cpim;
mod daemon;
mod gateway;
mod man;
mod msrp;
mod msrp_relay;
mod msrp_stack;
mod peers;
mod peers_gateway;
mod sdp;
mod sip;
mod sip_dialog;
mod sip_stack;
mod sip_transport;
mod systemd;
