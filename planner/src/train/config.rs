//! A training run as a TOML file (`configs/train/<task>.toml`): a denoiser
//! (`kind = "temporal_unet"`), or a value model (`kind = "value_function"` plus a `[value]`
//! table with its discount), trained on a D4RL file or a Minari dataset (`[data] format`).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::d4rl::D4rlDataset;
use super::minari;
use crate::error::{Error, Result};
use crate::model::{Architecture, ModelOutput, dense_stride, steps_covered};

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
    /// Checks what parsing cannot: the data section ([`DataConfig::validate`]), a stride of at
    /// least 1, that a value
    /// model has a discount in (0, 1] and that a denoiser has none.
    pub fn validate(&self) -> Result<()> {
        self.data.validate()?;
        let invalid = |field: &str, message: String| Error::Config { field: field.into(), message };
        if self.model.stride == 0 {
            return Err(invalid("model.stride", "must be at least 1 (1: every environment step)".into()));
        }
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
    /// The dataset, relative to the working directory: for `format = "d4rl"` an HDF5 file; for
    /// `format = "minari"` a Minari dataset folder (`<root>/<id>`, e.g.
    /// `/home/me/.minari/datasets/D4RL/pointmaze/umaze-v2`; `~` is not expanded), its `data/`
    /// folder or its `main_data.hdf5`.
    pub path: PathBuf,
    /// How the dataset is stored (default: `d4rl`).
    #[serde(default)]
    pub format: DataFormat,
    /// For a Minari dataset with a Dict observation space: the keys whose arrays, side by side in
    /// this order, make an observation (default: `["observation"]`, the layout of
    /// Gymnasium-Robotics' goal environments, e.g. PointMaze's [x, y, vx, vy]). Only with
    /// `format = "minari"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observation_keys: Option<Vec<String>>,
    /// Re-cut episodes where the agent leaves this goal (x, y) (Diffuser's
    /// `maze2d_set_terminals`); leave out to keep the file's episodes. It replaces the file's
    /// episode ends (D4RL's `timeouts`, Minari's `truncations`; terminations stay), so it suits
    /// one long stream cut into pieces, as the Maze2D and PointMaze datasets are.
    #[serde(default)]
    pub recut_at_goal: Option<[f32; 2]>,
    /// Let windows run past an episode's end, as if the agent stayed where it ended: the rows
    /// after the end repeat its last observation with these observation components (e.g.
    /// Maze2D's velocities, `[2, 3]`) and every action set to 0. Leave out for Diffuser's
    /// windows, which lie inside episodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_at_end: Option<Vec<usize>>,
}

/// How a dataset is stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataFormat {
    /// D4RL's: one stream of transitions in one HDF5 file (also what `diffplan collect` writes).
    #[default]
    D4rl,
    /// Minari's `hdf5` storage: one HDF5 group per episode and `metadata.json`
    /// ([`super::minari`]).
    Minari,
}

impl DataConfig {
    /// Reads the dataset as the D4RL stream the trainer takes.
    pub fn read(&self) -> Result<D4rlDataset> {
        match self.format {
            DataFormat::D4rl => D4rlDataset::read_hdf5(&self.path),
            DataFormat::Minari => minari::read(&self.path, self.observation_keys.as_deref()),
        }
    }

    /// Checks what parsing cannot: that `observation_keys`, if given, are for a Minari dataset
    /// and not empty.
    pub fn validate(&self) -> Result<()> {
        let invalid = |message: String| Err(Error::Config { field: "data.observation_keys".into(), message });
        match (&self.observation_keys, self.format) {
            (Some(_), DataFormat::D4rl) => invalid(
                "a D4RL file has one observation array; observation_keys choose parts of a Minari Dict space \
                 (format = \"minari\")"
                    .into(),
            ),
            (Some(keys), DataFormat::Minari) if keys.is_empty() => {
                invalid("empty; name at least one key, e.g. [\"observation\"], or leave it out".into())
            }
            _ => Ok(()),
        }
    }
}

/// The network and its diffusion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Horizon H of a window and of a plan: rows.
    pub horizon: usize,
    /// Environment steps between a window's rows (default 1: every step, as Diffuser trains).
    /// K > 1 trains a jumpy model: each window holds every K-th step of (H − 1)·K + 1.
    #[serde(default = "dense_stride")]
    pub stride: usize,
    /// Training diffusion steps N.
    pub diffusion_steps: usize,
    /// The network's shape: a `temporal_unet` denoiser or a `value_function`.
    pub architecture: Architecture,
}

impl ModelConfig {
    /// Environment steps a window covers, (H − 1)·stride + 1.
    #[must_use]
    pub fn window_steps(&self) -> usize {
        steps_covered(self.horizon, self.stride)
    }

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
