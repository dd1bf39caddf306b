//! What the adapter needs of a ROS 2 message type: its name, its type hash and its CDR codec.

use crate::WireError;

/// A ROS 2 message type carried over rmw_zenoh.
pub trait Ros2Message: Sized {
    /// The ROS 2 type name, `<package>/msg/<Type>`.
    const TYPE_NAME: &'static str;
    /// The type's REP-2016 hash, `RIHS01_<sha256 hex>`, as ROS 2 Jazzy and later compute it.
    /// rmw_zenoh puts it in every key: a different hash means no data flows.
    const TYPE_HASH: &'static str;
    /// The CDR payload, encapsulation header included.
    fn encode(&self) -> Vec<u8>;
    /// Decodes a CDR payload, refusing anything malformed.
    fn decode(bytes: &[u8]) -> Result<Self, WireError>;

    /// The type name as DDS and rmw_zenoh's keys write it: `<package>::msg::dds_::<Type>_`.
    #[must_use]
    fn dds_type_name() -> String {
        let mut parts = Self::TYPE_NAME.split('/');
        let (package, kind, name) = (parts.next(), parts.next(), parts.next());
        match (package, kind, name) {
            (Some(package), Some(kind), Some(name)) => format!("{package}::{kind}::dds_::{name}_"),
            _ => Self::TYPE_NAME.to_owned(),
        }
    }
}
