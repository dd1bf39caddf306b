//! The bridge's integration tests, one binary: the wire codec's properties ([`codec`]) and the
//! bridge over real Zenoh sessions on loopback ([`link`]).

mod codec;
mod link;
