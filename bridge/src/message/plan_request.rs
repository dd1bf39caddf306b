//! `PlanRequest`: the payload of a query to the plan service.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::obstacle::{Obstacle, check_obstacles};
use super::tool_point_goal::{ToolPointGoal, check_goals};
use super::{Message, check_finite, check_id};
use crate::WireError;

/// A request for one plan, sent as the payload of a `get` on the plan service's key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanRequest {
    /// Chosen by the client; echoed in the reply.
    pub request_id: String,
    /// The robot the plan is for, if any.
    #[serde(default)]
    pub robot_id: Option<String>,
    /// The task the plan is for (e.g. `maze2d-umaze`); a planner of another task refuses the
    /// request. Absent: whatever task the answering planner serves.
    #[serde(default)]
    pub task: Option<String>,
    /// The robot's episode (echoed in the plan; a new episode starts a new plan stream).
    #[serde(default)]
    pub episode: u64,
    /// The control step of the episode the observation was taken at (echoed as the plan's
    /// `from_step`).
    #[serde(default)]
    pub from_step: u64,
    /// The start state (inpainted at index 0), in observation units.
    pub observation: Vec<f32>,
    /// The goal state or its leading components (inpainted at the last index).
    #[serde(default)]
    pub goal: Option<Vec<f32>>,
    /// An arm's goal as where its tool point must go, in place of `goal`: the planner finds the
    /// goal state (inverse kinematics). Absent: `goal` says it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goal_tool_point: Option<ToolPointGoal>,
    /// The plan's index at which it reaches the goal, which is held from there to the last
    /// index (a shrinking horizon keeps the arrival time of an earlier plan); absent: the last
    /// index. Needs `goal`.
    #[serde(default)]
    pub arrival: Option<usize>,
    /// Intermediate states to pass through.
    #[serde(default)]
    pub waypoints: Vec<Waypoint>,
    /// What the plan keeps clear of (an arm's obstacles, in its base frame); a planner that
    /// cannot keep clear of them refuses the request.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub obstacles: Vec<Obstacle>,
    /// Sampler overrides; absent: the service's configured sampler.
    #[serde(default)]
    pub sampler: Option<SamplerOptions>,
    /// Seed of the sampler's noise (same seed, same plan).
    #[serde(default)]
    pub seed: u64,
    /// Candidates to sample (best first in the reply if the service has a value model); default 1.
    #[serde(default)]
    pub batch_size: Option<usize>,
    /// Milliseconds the client waits; the service refuses work it cannot start in time.
    #[serde(default)]
    pub deadline_ms: Option<u64>,
}

/// A state the plan must pass through at `index`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Waypoint {
    /// Step of the plan, 0-based.
    pub index: usize,
    /// The state (or its leading components).
    pub state: Vec<f32>,
}

/// Sampler overrides a client may ask for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SamplerOptions {
    /// `ddpm`, `ddim` or `dpm_solver_pp`.
    pub kind: String,
    /// Denoising steps (model calls).
    #[serde(default)]
    pub steps: Option<usize>,
    /// DDIM's η.
    #[serde(default)]
    pub eta: Option<f64>,
}

impl Message for PlanRequest {
    const TYPE: &'static str = "PlanRequest";

    fn validate(&self) -> Result<(), WireError> {
        if self.request_id.is_empty() || self.request_id.len() > 256 {
            return Err(WireError::Invalid {
                field: "plan_request.request_id".into(),
                reason: "must be 1 to 256 characters".into(),
            });
        }
        if let Some(robot) = &self.robot_id {
            check_id("plan_request.robot_id", robot)?;
        }
        if let Some(task) = &self.task {
            check_id("plan_request.task", task)?;
        }
        if self.observation.is_empty() {
            return Err(WireError::Invalid { field: "plan_request.observation".into(), reason: "is empty".into() });
        }
        check_finite("plan_request.observation", &self.observation)?;
        if let Some(goal) = &self.goal {
            check_finite("plan_request.goal", goal)?;
        }
        check_goals("plan_request", self.goal.as_deref(), self.goal_tool_point.as_ref())?;
        if self.arrival.is_some() && self.goal.is_none() && self.goal_tool_point.is_none() {
            return Err(WireError::Invalid {
                field: "plan_request.arrival".into(),
                reason: "needs a goal to arrive at".into(),
            });
        }
        for (i, waypoint) in self.waypoints.iter().enumerate() {
            check_finite(&format!("plan_request.waypoints[{i}].state"), &waypoint.state)?;
        }
        check_obstacles("plan_request.obstacles", &self.obstacles)?;
        if let Some(SamplerOptions { eta: Some(eta), .. }) = &self.sampler
            && !eta.is_finite()
        {
            return Err(WireError::Invalid {
                field: "plan_request.sampler.eta".into(),
                reason: "is not finite".into(),
            });
        }
        if self.batch_size == Some(0) {
            return Err(WireError::Invalid {
                field: "plan_request.batch_size".into(),
                reason: "must be at least 1".into(),
            });
        }
        Ok(())
    }
}
