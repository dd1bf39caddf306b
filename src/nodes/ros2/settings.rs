//! The ROS 2 side's settings: the flags of `diffplan serve` and `diffplan robot` and a launch
//! file's `[ros2]` table, one type with each default written once.

use serde::Deserialize;

use crate::task::Task;

/// Default topic of the robot's joint states (ros2_control's joint_state_broadcaster).
const DEFAULT_JOINT_STATES: &str = "/joint_states";
/// Default topic of the trajectories (a joint_trajectory_controller named
/// `joint_trajectory_controller`).
const DEFAULT_TRAJECTORY: &str = "/joint_trajectory_controller/joint_trajectory";
/// Default id under which the planner serves the ROS 2 robot.
const DEFAULT_ROBOT_ID: &str = "ros2-robot";
/// Default silence in the robot's clock that starts a new episode, milliseconds.
const DEFAULT_EPISODE_GAP_MS: u64 = 250;

/// How diffplan speaks to a ROS 2 robot.
#[derive(Debug, Clone, clap::Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ros2Settings {
    /// Speak ROS 2 over rmw_zenoh: `serve` takes the robot's JointState and sends it
    /// JointTrajectory; `robot` is the simulator as such a ROS 2 robot (docs/ROS2.md).
    #[arg(id = "ros2", long = "ros2")]
    #[serde(skip_deserializing, default = "enabled")]
    pub enabled: bool,
    /// ROS domain id (`ROS_DOMAIN_ID`).
    #[arg(id = "ros2_domain", long = "ros2-domain", default_value_t = 0)]
    #[serde(default)]
    pub domain: u32,
    /// ROS namespace of diffplan's node, e.g. `/robot1` (relative topics resolve under it).
    #[arg(id = "ros2_namespace", long = "ros2-namespace", default_value = "")]
    #[serde(default)]
    pub namespace: String,
    /// The robot's JointState topic.
    #[arg(id = "ros2_joint_states", long = "ros2-joint-states", default_value = DEFAULT_JOINT_STATES)]
    #[serde(default = "default_joint_states")]
    pub joint_states: String,
    /// The JointTrajectory topic of the robot's controller.
    #[arg(id = "ros2_trajectory", long = "ros2-trajectory", default_value = DEFAULT_TRAJECTORY)]
    #[serde(default = "default_trajectory")]
    pub trajectory: String,
    /// The joints, in the order of the task's observation (comma-separated); default: the
    /// task's position components (Maze2D: x,y).
    #[arg(id = "ros2_joints", long = "ros2-joints", value_delimiter = ',')]
    #[serde(default)]
    pub joints: Vec<String>,
    /// The id the robot has on diffplan's own wire (its states, plans and logs).
    #[arg(id = "ros2_robot_id", long = "ros2-robot-id", default_value = DEFAULT_ROBOT_ID)]
    #[serde(default = "default_robot_id")]
    pub robot_id: String,
    /// The goal, joint positions (comma-separated), reached at rest; default: the task's fixed
    /// goal.
    #[arg(id = "ros2_goal", long = "ros2-goal", value_delimiter = ',', allow_hyphen_values = true)]
    #[serde(default)]
    pub goal: Vec<f32>,
    /// A gap this long in the robot's state stamps (or stamps going back) starts a new episode,
    /// milliseconds: ROS 2 has no episodes, a robot that resets or pauses does.
    #[arg(id = "ros2_episode_gap_ms", long = "ros2-episode-gap-ms", default_value_t = DEFAULT_EPISODE_GAP_MS)]
    #[serde(default = "default_episode_gap_ms")]
    pub episode_gap_ms: u64,
}

fn enabled() -> bool {
    true
}

fn default_joint_states() -> String {
    DEFAULT_JOINT_STATES.into()
}

fn default_trajectory() -> String {
    DEFAULT_TRAJECTORY.into()
}

fn default_robot_id() -> String {
    DEFAULT_ROBOT_ID.into()
}

fn default_episode_gap_ms() -> u64 {
    DEFAULT_EPISODE_GAP_MS
}

impl Ros2Settings {
    /// The joints and the goal (an observation) of the robot these settings describe, checked
    /// against `task` ([`Self::joints`], [`Self::goal`]).
    pub fn robot(&self, task: &dyn Task) -> anyhow::Result<(Vec<String>, Vec<f32>)> {
        let joints = self.joints(task)?;
        let goal = self.goal(task, joints.len())?;
        Ok((joints, goal))
    }

    /// The joints, checked against `task`: its observation must be one position per joint,
    /// then one velocity per joint. An arm is refused: its plans keep clear of each episode's
    /// obstacles, which no ROS 2 message here carries.
    pub fn joints(&self, task: &dyn Task) -> anyhow::Result<Vec<String>> {
        anyhow::ensure!(
            task.arm_body().is_none(),
            "task {} is an arm whose plans keep clear of each episode's obstacles, and a ROS 2 JointState \
             carries none: ROS 2 does not serve arms yet; use diffplan's protocol \
             (launch/panda-reach-obstacles.toml)",
            task.id()
        );
        let (observation, _) = task.components();
        let half = observation.len() / 2;
        let joints = if self.joints.is_empty() {
            observation[..half].iter().map(|c| c.name.clone()).collect()
        } else {
            self.joints.clone()
        };
        anyhow::ensure!(
            observation.len() == 2 * joints.len(),
            "task {} observes {} components, not a position and a velocity for each of the {} joints {:?}: \
             name one joint per position with --ros2-joints (or [ros2] joints)",
            task.id(),
            observation.len(),
            joints.len(),
            joints
        );
        Ok(joints)
    }

    /// The goal as an observation: the joint positions asked for (or the task's fixed goal)
    /// and zero velocities.
    pub fn goal(&self, task: &dyn Task, joints: usize) -> anyhow::Result<Vec<f32>> {
        let goal = if self.goal.is_empty() {
            task.fixed_goal().ok_or_else(|| {
                anyhow::anyhow!(
                    "task {} draws a new goal every episode, which a ROS 2 JointState does not carry: \
                     give the goal's {joints} joint positions with --ros2-goal (or [ros2] goal)",
                    task.id()
                )
            })?[..joints]
                .to_vec()
        } else {
            self.goal.clone()
        };
        anyhow::ensure!(
            goal.len() == joints && goal.iter().all(|g| g.is_finite()),
            "the ROS 2 goal {goal:?} must be {joints} finite joint positions"
        );
        crate::nodes::wire::completed_goal(&goal, 2 * joints).map_err(anyhow::Error::msg)
    }
}

impl Default for Ros2Settings {
    /// Not speaking ROS 2; every other field at its default.
    fn default() -> Self {
        Self {
            enabled: false,
            domain: 0,
            namespace: String::new(),
            joint_states: default_joint_states(),
            trajectory: default_trajectory(),
            joints: Vec::new(),
            robot_id: default_robot_id(),
            goal: Vec::new(),
            episode_gap_ms: default_episode_gap_ms(),
        }
    }
}
