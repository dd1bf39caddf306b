//! A Franka Emika Panda: its description, kinematics and limits, the arm on Rapier, and its tasks
//! (reaching among obstacles, pick and place) with their scripted expert.
//!
//! The description is `assets/panda/panda.urdf`: example-robot-data 6.0.0's
//! `panda_collision.urdf` (franka_ros's `franka_description`, Apache-2.0), with its meshes and
//! fingers removed. Its collision model is spheres and cylinders (capsules), its inertias the
//! identified ones. The tool point is `panda_hand_tcp`, 0.1034 m past the hand's flange.

mod arm;
mod clearance;
mod collection;
mod description;
mod driven;
mod expert;
mod frame;
mod interpolation;
mod inverse_kinematics;
mod kinematics;
mod limits;
mod obstacles;
mod path_planning;
mod pick_place;
mod reach;
mod timing;
mod tracker;

pub use crate::tool_goal::ToolGoal;
pub use arm::{Arm, PHYSICS_DT_SECS};
pub use clearance::{Clearance, FIRST_LINK_NEAR_TABLE};
pub use collection::{ArmCollected, collect_arm};
pub use description::{ArmDescription, ArmJoint, ArmLink, Capsule, DescriptionError, Inertial};
pub use driven::{DrivenArm, Violations};
pub use expert::{ArmExpert, Leg};
pub use frame::Frame;
pub use interpolation::{CubicSegment, Interpolation};
pub use limits::{JointLimits, franka_limits};
pub use obstacles::Obstacle;
pub use path_planning::PathSearch;
pub use pick_place::{
    CUBE_BALL_M, CUBE_HALF_M, CUBE_SINK_M, GRASP_SPEED_RAD_PER_S, GRASP_TOLERANCE_M, PandaPickPlace, PickPlaceEpisode,
    cube_shape,
};
pub use reach::{PandaReach, READY, ReachConfig, ReachEpisode, TABLE_TOP_Z};
pub use timing::TimedPath;
pub use tracker::JointTracker;

/// An arm task's environment, as its expert and collection see it.
pub trait ArmEnv: crate::env::Env {
    /// The arm's description (its kinematics, limits and capsules).
    fn description(&self) -> &ArmDescription;
    /// What the executed motion broke since the reset.
    fn violations(&self) -> Violations;
    /// The scripted expert of the current episode, its searches seeded with `seed`.
    fn expert(&self, seed: u64) -> ArmExpert;
    /// Where the task must bring the tool point or the object, metres.
    fn goal_position(&self) -> [f64; 3];
}

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
