//! A training run as a TOML file (`configs/train/<task>.toml`).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::model::Architecture;

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
    /// Checkpoint folder (created; `training/` inside it holds the state for resuming).
    pub out: PathBuf,
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
    /// The U-Net's shape.
    pub architecture: Architecture,
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
    /// Loss weight of the first action (Diffuser's `action_weight`).
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
    /// Diffuser's Maze2D settings (algorithms.md §1.8–1.9), with gradient clipping at 1.
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
