//! The Zenoh wire between a planner and a robot (simulated or real): a versioned message schema,
//! its JSON codec, one key-expression namespace, the plan service, the robot's link and its
//! watchdog. docs/PROTOCOL.md is the contract; this crate implements it.
//!
//! The crate knows nothing of models or physics: the application implements [`PlanHandler`] with a
//! planner and drives a [`RobotLink`] with a simulator or a real robot.

mod admission;
pub mod codec;
mod error;
pub mod keys;
mod log_budget;
pub mod message;
mod plan_client;
mod planner_service;
mod robot_link;
pub mod ros2;
pub mod schema;
pub mod security;
mod transport;
mod unique_id;
mod watchdog;

pub use error::{BridgeError, WireError};
pub use keys::Namespace;
pub use plan_client::PlanClient;
pub use planner_service::{PlanHandler, PlannerService, ServiceReport};
pub use robot_link::RobotLink;
pub use transport::{Transport, TransportMode};
pub use watchdog::{Health, Watchdog};
pub use zenoh;
