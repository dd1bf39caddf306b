//! What a caller asks the planner for: where the robot is, where it should go, how to sample.

use serde::{Deserialize, Serialize};

use crate::condition::Pin;
use crate::driver::picard::PicardConfig;
use crate::error::{Error, Result};
use crate::guidance::SoftDecodingConfig;
use crate::jumpy::row_by_step;
use crate::model::ModelSpec;
use crate::sampler::SamplerConfig;
use crate::workspace::WorkspaceObstacle;

/// One planning request. Observations are in the data's (robot's) units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanRequest {
    /// The current observation, pinned at index 0.
    pub observation: Vec<f32>,
    /// The goal observation, pinned at the plan's last step (Maze2D: the goal position with
    /// zero velocity), or from `arrival` on.
    #[serde(default)]
    pub goal: Option<Vec<f32>>,
    /// The step at which the plan reaches the goal: the goal is pinned there and at every later
    /// step (the plan arrives and stays). Absent: the plan's last step, (H − 1)·stride.
    /// Replanning with a shrinking horizon sets it so that replans keep the first plan's arrival
    /// time.
    #[serde(default)]
    pub arrival: Option<usize>,
    /// Further observations pinned at any step (a jumpy model's: at a multiple of its stride).
    #[serde(default)]
    pub waypoints: Vec<Pin>,
    /// Arms: what the arm must keep clear of on this plan, in its base frame (metres), beside
    /// the table; the planner's `clearance_margin_m` says how far.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub obstacles: Vec<WorkspaceObstacle>,
    /// Sampler, step count, clipping.
    pub sampler: SamplerConfig,
    /// Number B of candidate plans sampled together in one batch.
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Seed of the noise tape: the same seed gives the same plan.
    #[serde(default)]
    pub seed: u64,
    /// Sample by Picard iterations instead of step by step.
    #[serde(default)]
    pub picard: Option<PicardConfig>,
    /// Choose among several noises per step by the planner's reward or value model (soft
    /// value-based decoding); not with Picard.
    #[serde(default)]
    pub soft_decoding: Option<SoftDecodingConfig>,
}

fn default_batch_size() -> usize {
    1
}

impl PlanRequest {
    /// A request from `observation` with one candidate, seed 0, no goal and no waypoints.
    #[must_use]
    pub fn new(observation: Vec<f32>, sampler: SamplerConfig) -> Self {
        Self {
            observation,
            goal: None,
            arrival: None,
            waypoints: Vec::new(),
            obstacles: Vec::new(),
            sampler,
            batch_size: 1,
            seed: 0,
            picard: None,
            soft_decoding: None,
        }
    }

    /// Every pinned observation, at rows of the model's trajectory: the current one at 0, the
    /// goal from `arrival` (default the plan's last step) on, then the waypoints. Indices in the
    /// request count environment steps; for a jumpy model ([`ModelSpec::stride`] K > 1) the goal
    /// goes to the last row at or before its arrival step (row 1 at the earliest,
    /// [`row_by_step`]), and a waypoint must fall on a row (a multiple of K). An arrival past the plan's last step is refused here; the pins are checked
    /// against `spec` when they are prepared ([`crate::condition::Inpainting::new`]).
    pub fn pins(&self, spec: &ModelSpec) -> Result<Vec<Pin>> {
        let (stride, last) = (spec.stride, spec.span_steps());
        let mut pins = vec![Pin { index: 0, observation: self.observation.clone() }];
        if let Some(goal) = &self.goal {
            let arrival = self.arrival.unwrap_or(last);
            if arrival > last {
                return Err(Error::Request {
                    field: "arrival".into(),
                    message: format!("step {arrival} is past the plan's last step {last}; arrive at 0..={last}"),
                });
            }
            let held = row_by_step(arrival, stride)..spec.horizon;
            pins.extend(held.map(|index| Pin { index, observation: goal.clone() }));
        }
        for waypoint in &self.waypoints {
            if !waypoint.index.is_multiple_of(stride) {
                return Err(Error::Request {
                    field: "waypoints".into(),
                    message: format!(
                        "step {} falls between the rows of this jumpy model (a row every {stride} steps); pin \
                         a multiple of {stride}",
                        waypoint.index
                    ),
                });
            }
            pins.push(Pin { index: waypoint.index / stride, observation: waypoint.observation.clone() });
        }
        Ok(pins)
    }
}
