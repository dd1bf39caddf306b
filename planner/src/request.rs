//! What a caller asks the planner for: where the robot is, where it should go, how to sample.

use serde::{Deserialize, Serialize};

use crate::condition::Pin;
use crate::driver::picard::PicardConfig;
use crate::guidance::SoftDecodingConfig;
use crate::model::ModelSpec;
use crate::sampler::SamplerConfig;
use crate::workspace::WorkspaceObstacle;

/// One planning request. Observations are in the data's (robot's) units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanRequest {
    /// The current observation, pinned at index 0.
    pub observation: Vec<f32>,
    /// The goal observation, pinned at the last index H − 1 (Maze2D: the goal position with
    /// zero velocity), or from `arrival` on.
    #[serde(default)]
    pub goal: Option<Vec<f32>>,
    /// The index at which the plan reaches the goal: the goal is pinned there and at every
    /// later index (the plan arrives and stays). Absent: H − 1. Replanning with a shrinking
    /// horizon sets it so that replans keep the first plan's arrival time.
    #[serde(default)]
    pub arrival: Option<usize>,
    /// Further observations pinned at any index.
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

    /// Every pinned observation: the current one at 0, the goal from `arrival` (default H − 1)
    /// to H − 1, then the waypoints. Checked against `spec` when the pins are prepared
    /// ([`crate::condition::Inpainting::new`]): an arrival at or past H is refused there.
    #[must_use]
    pub fn pins(&self, spec: &ModelSpec) -> Vec<Pin> {
        let mut pins = vec![Pin { index: 0, observation: self.observation.clone() }];
        if let Some(goal) = &self.goal {
            let arrival = self.arrival.unwrap_or(spec.horizon - 1);
            // At least the arrival itself, so that one past the horizon is refused, not dropped.
            let held = arrival..spec.horizon.max(arrival + 1);
            pins.extend(held.map(|index| Pin { index, observation: goal.clone() }));
        }
        pins.extend(self.waypoints.iter().cloned());
        pins
    }
}
