//! A training run as a TOML file (`configs/train/<task>.toml`): a denoiser
//! (`kind = "temporal_unet"`), or a value model (`kind = "value_function"` plus a `[value]`
//! table with its discount).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{Architecture, ModelOutput};

/// Everything a training run needs; Diffuser's defaults where a field is left out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Where the data comes from.
    pub data: DataConfig,
    /// What is trained.
    pub model: ModelConfig,
    /// How it is trained.
    #[serde(default)]
    pub optimization: OptimizationConfig,
    /// The value targets; required for a `value_function`, refused for a denoiser.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<ValueConfig>,
    /// Checkpoint folder (created; `training/` inside it holds the state for resuming).
    pub out: PathBuf,
}

impl TrainConfig {
    /// Checks what parsing cannot: that a value model has a discount in (0, 1] and that a
    /// denoiser has none.
    pub fn validate(&self) -> Result<()> {
        let invalid = |field: &str, message: String| Error::Config { field: field.into(), message };
        match (self.model.output(), &self.value) {
            (ModelOutput::Value, None) => Err(invalid(
                "value.discount",
                "missing: a value_function learns discounted returns; add `[value]` with `discount = 0.99`".into(),
            )),
            (ModelOutput::Value, Some(value)) if !(value.discount > 0.0 && value.discount <= 1.0) => Err(invalid(
                "value.discount",
                format!(
                    "{} is not in (0, 1]; Diffuser's default is 0.99 (its released locomotion value functions: 0.997)",
                    value.discount
                ),
            )),
            (ModelOutput::Value, Some(_)) | (_, None) => Ok(()),
            (_, Some(_)) => Err(invalid(
                "value",
                format!(
                    "a [value] table (discount) belongs to a value model, but model.architecture is a \
                     denoiser ({}); remove [value] or set model.architecture.kind = \"value_function\"",
                    self.model.architecture.kind()
                ),
            )),
        }
    }
}

/// The targets of a value model (Diffuser's `ValueDataset`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueConfig {
    /// Discount γ per environment step, in (0, 1] (no default; Diffuser's default: 0.99). A
    /// window starting at step s of an episode of steps ..=T is worth Σ_{t=s}^{T} γ^{t−s} r_t.
    pub discount: f64,
}

/// The dataset and how it is cut into windows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// A D4RL-format HDF5 file, relative to the working directory.
    pub path: PathBuf,
    /// Re-cut episodes where the agent leaves this goal (x, y) (Diffuser's
    /// `maze2d_set_terminals`); leave out to keep the file's episodes.
    #[serde(default)]
    pub recut_at_goal: Option<[f32; 2]>,
}

/// The network and its diffusion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Horizon H of a window and of a plan.
    pub horizon: usize,
    /// Training diffusion steps N.
    pub diffusion_steps: usize,
    /// The network's shape: a `temporal_unet` denoiser or a `value_function`.
    pub architecture: Architecture,
}

impl ModelConfig {
    /// What the trained network predicts: `value` for a value function, else `sample` (x0).
    #[must_use]
    pub fn output(&self) -> ModelOutput {
        match self.architecture {
            Architecture::ValueFunction { .. } => ModelOutput::Value,
            Architecture::TemporalUnet { .. } => ModelOutput::Sample,
        }
    }
}

/// Optimizer, EMA and bookkeeping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OptimizationConfig {
    /// Gradient steps.
    pub steps: usize,
    /// Windows per step.
    pub batch_size: usize,
    /// Adam's learning rate.
    pub learning_rate: f64,
    /// Clip the global gradient norm to this (0: no clipping).
    pub grad_clip: f64,
    /// Loss weight of the first action (Diffuser's `action_weight`; denoisers only).
    pub action_weight: f64,
    /// EMA decay per update.
    pub ema_decay: f64,
    /// Steps between EMA updates.
    pub ema_every: usize,
    /// Before this step the EMA copies the model.
    pub ema_start: usize,
    /// Steps between checkpoints.
    pub checkpoint_every: usize,
    /// Seed of initialisation, batches, timesteps and noise.
    pub seed: u64,
}

impl Default for OptimizationConfig {
    /// Diffuser's Maze2D settings (docs/ALGORITHMS.md §1.8–1.9), with gradient clipping at 1.
    fn default() -> Self {
        Self {
            steps: 20_000,
            batch_size: 32,
            learning_rate: 2e-4,
            grad_clip: 1.0,
            action_weight: 1.0,
            ema_decay: 0.995,
            ema_every: 10,
            ema_start: 2000,
            checkpoint_every: 2000,
            seed: 0,
        }
    }
}
