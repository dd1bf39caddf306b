//! `RobotState`: what a robot publishes every control step.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::obstacle::{Obstacle, check_obstacles};
use super::tool_point_goal::{ToolPointGoal, check_goals};
use super::{Message, check_finite, check_id};
use crate::WireError;

/// A robot's state at one control step, published on `<ns>/robot/<id>/state`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RobotState {
    /// The robot's id (as in its key).
    pub robot_id: String,
    /// The task the robot runs (e.g. `maze2d-umaze`); streaming planners of other tasks leave
    /// it alone. Absent: any planner may plan for it.
    #[serde(default)]
    pub task: Option<String>,
    /// Episode id (the simulator uses the episode's reset seed; 0 for a robot that runs one long
    /// episode).
    pub episode: u64,
    /// Control step within the episode; plans name the episode and step they were planned from.
    pub step: u64,
    /// Seconds of robot time since the episode began.
    pub time_s: f64,
    /// The observation, in the units of the model's dataset.
    pub observation: Vec<f32>,
    /// The goal the robot wants planned for, in observation units (may be shorter than an
    /// observation, e.g. a position only).
    pub goal: Option<Vec<f32>>,
    /// An arm's goal as where its tool point must go, in place of `goal` (see `PlanRequest`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goal_tool_point: Option<ToolPointGoal>,
    /// Joint names, for robots with joints.
    pub joint_names: Option<Vec<String>>,
    /// What the robot's plans keep clear of (an arm's obstacles, in its base frame).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub obstacles: Vec<Obstacle>,
    /// What the robot is doing.
    pub mode: RobotMode,
}

/// A robot's mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RobotMode {
    /// Executing a plan.
    Running,
    /// Holding still (no fresh plan, or told to hold).
    Holding,
    /// The episode is over; no plan is wanted.
    Done,
}

impl Message for RobotState {
    const TYPE: &'static str = "RobotState";

    fn validate(&self) -> Result<(), WireError> {
        check_id("robot_state.robot_id", &self.robot_id)?;
        if let Some(task) = &self.task {
            check_id("robot_state.task", task)?;
        }
        if self.observation.is_empty() {
            return Err(WireError::Invalid { field: "robot_state.observation".into(), reason: "is empty".into() });
        }
        check_finite("robot_state.observation", &self.observation)?;
        if let Some(goal) = &self.goal {
            check_finite("robot_state.goal", goal)?;
        }
        check_goals("robot_state", self.goal.as_deref(), self.goal_tool_point.as_ref())?;
        if !self.time_s.is_finite() {
            return Err(WireError::Invalid { field: "robot_state.time_s".into(), reason: "is not finite".into() });
        }
        check_obstacles("robot_state.obstacles", &self.obstacles)
    }
}
