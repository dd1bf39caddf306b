//! A Franka Emika Panda: its description, kinematics and limits, the arm on Rapier, and the
//! reach-among-obstacles task with its scripted expert.
//!
//! The description is `assets/panda/panda.urdf`: example-robot-data 6.0.0's
//! `panda_collision.urdf` (franka_ros's `franka_description`, Apache-2.0), with its meshes and
//! fingers removed. Its collision model is spheres and cylinders (capsules), its inertias the
//! identified ones. The tool point is `panda_hand_tcp`, 0.1034 m past the hand's flange.

mod arm;
mod clearance;
mod collection;
mod description;
mod expert;
mod frame;
mod inverse_kinematics;
mod kinematics;
mod limits;
mod obstacles;
mod path_planning;
mod reach;
mod timing;
mod tracker;

pub use arm::{Arm, PHYSICS_DT_SECS};
pub use clearance::{Clearance, FIRST_LINK_NEAR_TABLE};
pub use collection::{ReachCollected, collect_reach};
pub use description::{ArmDescription, ArmJoint, ArmLink, Capsule, DescriptionError, Inertial};
pub use expert::ReachExpert;
pub use frame::Frame;
pub use inverse_kinematics::ToolGoal;
pub use limits::{JointLimits, franka_limits};
pub use obstacles::Obstacle;
pub use path_planning::PathSearch;
pub use reach::{PandaReach, READY, ReachConfig, ReachEpisode, TABLE_TOP_Z, Violations};
pub use timing::TimedPath;
pub use tracker::JointTracker;

/// The committed Panda description (URDF text).
pub const PANDA_URDF: &str = include_str!("../../../assets/panda/panda.urdf");
/// The link whose frame is the tool point: between the closed fingertips.
pub const PANDA_TOOL_LINK: &str = "panda_hand_tcp";

/// The Panda of [`PANDA_URDF`], from its base to [`PANDA_TOOL_LINK`].
///
/// # Panics
/// Never: the committed file is read in a test.
#[must_use]
pub fn franka_panda() -> ArmDescription {
    ArmDescription::from_urdf(PANDA_URDF, PANDA_TOOL_LINK).expect("the committed Panda URDF is valid (tested)")
}
