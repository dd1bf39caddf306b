//! The bridge's integration tests, one binary: the wire codec's properties ([`codec`]), the
//! bridge over real Zenoh sessions on loopback ([`link`]) and the wire's JSON Schemas against the
//! codec ([`schema`]).

mod codec;
mod link;
mod schema;
