//! ROS 2 on diffplan's Zenoh session, as rmw_zenoh (ROS 2 Jazzy ≥ 0.2.4, Kilted, Rolling) puts
//! it on the wire, without a ROS install: the data keys ([`names`]), the attachment every
//! sample carries ([`attachment`]), the graph's liveliness tokens ([`graph`]), classic CDR
//! ([`cdr`]) for the two message types a joint-space robot needs ([`JointTrajectory`] out,
//! [`JointState`] in), and a node with publishers and subscriptions ([`node`]).
//! docs/ROS2.md says how a robot is set up and what is and is not checked.

pub mod attachment;
pub mod cdr;
pub mod graph;
pub mod header;
pub mod joint_state;
pub mod joint_trajectory;
pub mod message;
pub mod names;
pub mod node;

pub use attachment::Attachment;
pub use header::{Header, Stamp};
pub use joint_state::JointState;
pub use joint_trajectory::{JointTrajectory, JointTrajectoryPoint};
pub use message::Ros2Message;
pub use names::NodeName;
pub use node::{Received, Ros2Node, Ros2Publisher, Ros2Subscription};

/// The bytes a hex string spells (whitespace ignored): golden vectors in tests.
#[cfg(test)]
pub(crate) fn from_hex(text: &str) -> Vec<u8> {
    let digits: String = text.split_whitespace().collect();
    (0..digits.len()).step_by(2).map(|i| u8::from_str_radix(&digits[i..i + 2], 16).unwrap()).collect()
}
