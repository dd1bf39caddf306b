//! What the planner returns: candidate trajectories in the robot's units, best first, with the
//! timings and sampler statistics that explain them.

use serde::Serialize;

use crate::constraints::{ProjectionStats, Residual};
use crate::sampler::SamplerKind;

/// The result of one [`crate::Planner::plan`] call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// The B sampled trajectories: best first where a reward or a value model ranked them, else
    /// in batch order.
    pub candidates: Vec<Candidate>,
    /// Where the time went.
    pub timings: Timings,
    /// How the plan was sampled.
    pub stats: SamplerStats,
    /// What constraint projection did, when the planner has constraints.
    pub projection: Option<ProjectionStats>,
}

impl Plan {
    /// The first (best) candidate.
    #[must_use]
    pub fn best(&self) -> &Candidate {
        &self.candidates[0]
    }
}

/// One sampled trajectory, unnormalized. Pinned observations equal the request exactly.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    /// Its row in the sampled batch (to find it in the observer's tensors).
    pub batch_index: usize,
    /// The value model's estimate of its return, if a value model is loaded.
    pub value: Option<f32>,
    /// The planner's reward of it, if a reward is set (candidates are then ranked by it).
    pub reward: Option<f64>,
    /// Each hard constraint's residual on the returned trajectory (all ≤ 1e-6; empty without
    /// constraints).
    pub constraints: Vec<Residual>,
    /// Observations, a row of `O` values for every environment step of the plan: H rows, or
    /// (H − 1)·stride + 1 for a jumpy model (interpolated between its rows).
    pub states: Vec<Vec<f32>>,
    /// Actions, a row of `A` values for every step, as `states`.
    pub actions: Vec<Vec<f32>>,
}

impl Candidate {
    /// The trajectory as H rows of (actions, observations), flattened, in f64: the layout of
    /// [`crate::constraints::Constraints`].
    #[must_use]
    pub fn transitions(&self) -> Vec<f64> {
        self.actions.iter().zip(&self.states).flat_map(|(a, o)| a.iter().chain(o).map(|&v| f64::from(v))).collect()
    }
}

/// Wall-clock timings of one plan, in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timings {
    /// From the request to the returned plan.
    pub total_ms: f64,
    /// Inside the denoiser's forward passes.
    pub model_ms: f64,
    /// Inside the value model, ranking the candidates.
    pub value_ms: f64,
}

/// What the sampler did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SamplerStats {
    /// The update rule.
    pub sampler: SamplerKind,
    /// The model timesteps, in the order they ran.
    pub timesteps: Vec<usize>,
    /// Batched denoiser calls: K for the sequential sampler, the sweeps for Picard.
    pub model_calls: usize,
    /// What the Picard driver did, when it ran.
    pub picard: Option<PicardStats>,
    /// Seed of the noise tape.
    pub seed: u64,
    /// Where the model ran (`Cpu`, `Cuda(0)`).
    pub device: String,
}

/// The Picard driver's statistics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PicardStats {
    /// Sweeps = batched model calls = sequential depth.
    pub sweeps: usize,
    /// Single-step model evaluations (the sum of window sizes).
    pub model_evaluations: usize,
    /// Largest relative squared change of the last sweep, over the states that have a noise
    /// scale (all but the final one, which converges only by equality).
    pub residual: f64,
    /// Whether every step converged (false when stopped by the sweep cap or the deadline).
    pub converged: bool,
}
