//! The bridge's integration tests, one binary: the wire codec's properties ([`codec`]), the
//! bridge over real Zenoh sessions on loopback ([`link`]), planners tied to tasks ([`tasks`]),
//! readiness in every start order ([`readiness`]) and the wire's JSON Schemas against the codec
//! ([`schema`]).

mod codec;
mod link;
mod readiness;
mod ros2;
mod schema;
mod security;
mod tasks;
