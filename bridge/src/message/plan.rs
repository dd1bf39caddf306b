//! `Plan`: a planned trajectory, streamed to a robot or returned by the plan service.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Message, check_digest, check_id, check_rows};
use crate::WireError;

/// A plan: states and actions per step, with where it came from and how long it is valid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Unique per planner (`<planner_id>-<counter>`).
    pub plan_id: String,
    /// The request it answers, if it answers one.
    #[serde(default)]
    pub request_id: Option<String>,
    /// The planner that made it.
    pub planner_id: String,
    /// The task it was planned for (e.g. `maze2d-umaze`); a robot of another task refuses it.
    pub task: String,
    /// The digest of the checkpoint that made it (`sha256:<64 hex digits>`).
    pub checkpoint_digest: String,
    /// The robot it is for, if any.
    #[serde(default)]
    pub robot_id: Option<String>,
    /// The robot's episode the plan is for.
    pub episode: u64,
    /// The control step of that episode the plan starts at: `states[k]` is the state planned for step
    /// `from_step + k`.
    pub from_step: u64,
    /// Seconds between consecutive states.
    pub dt: f64,
    /// Planned states, one row per step, in observation units. Past the last one, a robot holds
    /// the last planned state (Diffuser's controller); a planner that wants otherwise sends a
    /// new plan.
    pub states: Vec<Vec<f32>>,
    /// Planned actions, one row per step.
    pub actions: Vec<Vec<f32>>,
    /// The validity window: the plan may be executed for this many steps after `from_step`, then
    /// the robot holds until a new plan comes. Absent: until replaced.
    #[serde(default)]
    pub valid_steps: Option<u64>,
    /// The value model's estimate of the plan's return, if the planner has one.
    #[serde(default)]
    pub value: Option<f64>,
    /// Constraint residuals before and after projection (empty: no constraints configured).
    #[serde(default)]
    pub constraints: Vec<ConstraintResidual>,
    /// Where the time went.
    pub timing: PlanTiming,
    /// Denoiser evaluations spent on it.
    pub model_calls: u64,
    /// The sampler's seed.
    pub seed: u64,
}

/// One constraint's largest violation before and after projection, in the user's units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConstraintResidual {
    /// The constraint's name from the task config.
    pub name: String,
    /// Largest violation of the unprojected sample.
    pub before: f64,
    /// Largest violation of the returned plan.
    pub after: f64,
}

/// Milliseconds spent on a plan inside the service.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanTiming {
    /// From arrival to the start of sampling.
    pub queue_ms: f64,
    /// Sampling, model calls included.
    pub sample_ms: f64,
    /// Of which in the denoiser.
    pub model_ms: f64,
}

/// The checkpoint digest of a plan that no checkpoint made (scripted, test or relayed plans).
#[must_use]
pub fn no_checkpoint_digest() -> String {
    format!("sha256:{}", "0".repeat(64))
}

impl Plan {
    /// A bare plan of `states` and `actions` (rows `dt` seconds apart, row 0 for step
    /// `from_step` of `episode`) by `planner_id` for `task`, made by no checkpoint, with no
    /// request, robot, validity window, value, constraints, timing or model calls.
    #[must_use]
    pub fn bare(
        (plan_id, planner_id, task): (String, String, String),
        (episode, from_step): (u64, u64),
        dt: f64,
        states: Vec<Vec<f32>>,
        actions: Vec<Vec<f32>>,
    ) -> Self {
        Self {
            plan_id,
            request_id: None,
            planner_id,
            task,
            checkpoint_digest: no_checkpoint_digest(),
            robot_id: None,
            episode,
            from_step,
            dt,
            states,
            actions,
            valid_steps: None,
            value: None,
            constraints: Vec::new(),
            timing: PlanTiming { queue_ms: 0.0, sample_ms: 0.0, model_ms: 0.0 },
            model_calls: 0,
            seed: 0,
        }
    }
}

impl Message for Plan {
    const TYPE: &'static str = "Plan";

    fn validate(&self) -> Result<(), WireError> {
        check_id("plan.planner_id", &self.planner_id)?;
        check_id("plan.task", &self.task)?;
        check_digest("plan.checkpoint_digest", &self.checkpoint_digest)?;
        if let Some(robot) = &self.robot_id {
            check_id("plan.robot_id", robot)?;
        }
        if self.states.is_empty() || self.states.len() != self.actions.len() {
            return Err(WireError::Invalid {
                field: "plan.states".into(),
                reason: format!(
                    "{} states and {} actions; a plan has as many of each, at least one",
                    self.states.len(),
                    self.actions.len()
                ),
            });
        }
        check_rows("plan.states", &self.states, self.states[0].len())?;
        check_rows("plan.actions", &self.actions, self.actions[0].len())?;
        if !(self.dt.is_finite() && self.dt > 0.0) {
            return Err(WireError::Invalid {
                field: "plan.dt".into(),
                reason: format!("{} is not a positive time step", self.dt),
            });
        }
        Ok(())
    }
}
