//! `ModelCard`: what a planner serves, the reply to a query on its `describe` key. A robot or a
//! client learns from it, before any plan, the task, the checkpoint, the plan's shape and units,
//! the goal layout, the sampler's defaults and the limits a request must keep within.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Message, SamplerOptions, check_digest, check_finite, check_id};
use crate::WireError;

/// A planner's description of itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelCard {
    /// The planner's id.
    pub planner_id: String,
    /// The protocol version it speaks.
    pub protocol_version: u64,
    /// The task it plans for, an id (e.g. `maze2d-umaze`): robots ask for planners by it.
    pub task: String,
    /// The task's name in tables, e.g. `maze2d-umaze (fixed goal)`.
    pub task_label: String,
    /// The checkpoint folder, as the planner's task config names it.
    pub checkpoint: String,
    /// The digest of the checkpoint folder's files (`sha256:<64 hex digits>`).
    pub checkpoint_digest: String,
    /// Rows of a plan (H).
    pub horizon: u64,
    /// The model's diffusion steps (N): the most steps a sampler may take.
    pub diffusion_steps: u64,
    /// Seconds between consecutive rows of a plan.
    pub dt: f64,
    /// The observation's components, in order (O of them): a plan's `states` rows.
    pub observation: Vec<Component>,
    /// The action's components, in order (A of them): a plan's `actions` rows.
    pub action: Vec<Component>,
    /// What a request's `goal` is.
    pub goal: GoalLayout,
    /// The sampler used when a request names none.
    pub sampler: SamplerOptions,
    /// What a request must keep within.
    pub limits: PlanLimits,
    /// Names of the hard constraints every plan satisfies (empty: none).
    pub constraints: Vec<String>,
    /// Streamed plans are replanned every this many steps (0: once per episode).
    pub replan_every: u64,
    /// Whether it streams plans to robots' published states, besides answering queries.
    pub streaming: bool,
    /// A valid request of the task: a start and a goal.
    pub example: ExampleRequest,
}

/// One component of an observation or an action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Component {
    /// Its name, e.g. `x` or `panda_joint1`.
    pub name: String,
    /// Its unit, e.g. `m`, `m/s`, `rad`, or `1` for a unitless command.
    pub unit: String,
    /// Its lower bound, if it has one.
    #[serde(default)]
    pub low: Option<f32>,
    /// Its upper bound, if it has one.
    #[serde(default)]
    pub high: Option<f32>,
}

/// What a request's `goal` holds and where it is pinned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GoalLayout {
    /// Values in a goal.
    pub width: u64,
    /// The observation components the goal pins, in order.
    pub components: Vec<String>,
    /// The plan row the goal is pinned at unless a request's `arrival` says otherwise (H − 1).
    pub row: u64,
    /// How to fill it, e.g. `(x, y, 0, 0): arrive at the goal at rest`.
    pub note: String,
}

/// The limits of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanLimits {
    /// The most candidates (`batch_size`) one request may ask for.
    pub max_batch: u64,
    /// The most sampler steps a request may ask for.
    pub max_steps: u64,
    /// The largest payload the planner accepts, bytes.
    pub max_payload_bytes: u64,
}

/// A start and a goal the task admits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExampleRequest {
    /// A start observation.
    pub observation: Vec<f32>,
    /// A goal.
    pub goal: Vec<f32>,
}

impl Message for ModelCard {
    const TYPE: &'static str = "ModelCard";

    fn validate(&self) -> Result<(), WireError> {
        check_id("model_card.planner_id", &self.planner_id)?;
        check_id("model_card.task", &self.task)?;
        check_digest("model_card.checkpoint_digest", &self.checkpoint_digest)?;
        let invalid = |field: &str, reason: String| Err(WireError::Invalid { field: field.into(), reason });
        if self.horizon == 0 || self.observation.is_empty() || self.action.is_empty() {
            return invalid("model_card", "a card describes at least one row, observation and action value".into());
        }
        if !(self.dt.is_finite() && self.dt > 0.0) {
            return invalid("model_card.dt", format!("{} is not a positive time step", self.dt));
        }
        if self.goal.width as usize != self.goal.components.len() || self.goal.row >= self.horizon {
            return invalid(
                "model_card.goal",
                format!(
                    "width {} with {} components at row {} of {}; the width counts the components and the row \
                     is a row of the plan",
                    self.goal.width,
                    self.goal.components.len(),
                    self.goal.row,
                    self.horizon
                ),
            );
        }
        check_finite("model_card.example.observation", &self.example.observation)?;
        check_finite("model_card.example.goal", &self.example.goal)?;
        if self.example.observation.len() != self.observation.len() || self.example.goal.len() as u64 != self.goal.width
        {
            return invalid(
                "model_card.example",
                format!(
                    "an observation of {} and a goal of {} values; the card's widths are {} and {}",
                    self.example.observation.len(),
                    self.example.goal.len(),
                    self.observation.len(),
                    self.goal.width
                ),
            );
        }
        Ok(())
    }
}
