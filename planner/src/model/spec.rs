//! What a model is: its shapes, what it predicts, the diffusion it was trained on, and the
//! normalizer between a robot's units and its normalized space.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::Normalizer;
use crate::schedule::ScheduleSpec;

/// What the network's output means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelOutput {
    /// The noise ε that was added (ε-prediction).
    Epsilon,
    /// The clean trajectory x0 (x0-prediction; Diffuser's released configs).
    Sample,
    /// The value (expected return) of the noisy trajectory, one number per trajectory.
    Value,
}

/// The contract between a trained network and the planner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// Planning horizon H: rows of a trajectory.
    pub horizon: usize,
    /// Environment steps between consecutive rows: 1 for Diffuser's dense trajectories, K > 1
    /// for a jumpy model over every K-th state (a row then spans K steps of the environment).
    #[serde(default = "dense_stride", skip_serializing_if = "is_dense")]
    pub stride: usize,
    /// Action dimension A (the first A entries of a transition).
    pub action_dim: usize,
    /// Observation dimension O (the last O entries of a transition).
    pub observation_dim: usize,
    /// What the network predicts.
    pub output: ModelOutput,
    /// Number N of diffusion steps the model was trained with; its timesteps are `0..N`.
    pub diffusion_steps: usize,
    /// The forward-process noise schedule (default: cosine, s = 0.008).
    #[serde(default)]
    pub schedule: ScheduleSpec,
    /// Statistics mapping transitions to normalized space.
    pub normalizer: Normalizer,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_dense(stride: &usize) -> bool {
    *stride == 1
}

/// The stride of a dense model (a row per environment step), the default.
#[must_use]
pub fn dense_stride() -> usize {
    1
}

/// Environment steps that `horizon` rows `stride` steps apart cover, first and last included:
/// (H − 1)·stride + 1.
#[must_use]
pub fn steps_covered(horizon: usize, stride: usize) -> usize {
    (horizon.max(1) - 1) * stride + 1
}

impl ModelSpec {
    /// Environment steps from a trajectory's first row to its last, (H − 1)·stride: the last
    /// index of a returned plan.
    #[must_use]
    pub fn span_steps(&self) -> usize {
        self.plan_steps() - 1
    }

    /// Rows of a returned plan, one per environment step: (H − 1)·stride + 1 (H for a dense
    /// model; [`crate::jumpy`]).
    #[must_use]
    pub fn plan_steps(&self) -> usize {
        steps_covered(self.horizon, self.stride)
    }

    /// Transition dimension A + O: the last axis of every trajectory tensor.
    #[must_use]
    pub fn transition_dim(&self) -> usize {
        self.action_dim + self.observation_dim
    }

    /// Checks the spec on its own (architecture-specific checks live with the architecture).
    pub fn validate(&self) -> Result<()> {
        let invalid = |field: &str, message: String| Error::Config { field: format!("spec.{field}"), message };
        if self.horizon == 0 {
            return Err(invalid("horizon", "must be at least 1".into()));
        }
        if self.stride == 0 {
            return Err(invalid("stride", "must be at least 1 (1: a row per environment step)".into()));
        }
        if self.observation_dim == 0 {
            return Err(invalid("observation_dim", "must be at least 1".into()));
        }
        if self.diffusion_steps == 0 {
            return Err(invalid("diffusion_steps", "must be at least 1".into()));
        }
        self.schedule.validate()?;
        self.normalizer.validate(self.transition_dim())
    }
}
