//! Training denoisers in Rust: D4RL-format datasets, windows of a horizon, and the training loop
//! (Diffuser's x0-prediction loss with inpainting, Adam, EMA, checkpoints, resume).

mod adam;
pub mod config;
pub mod d4rl;
pub mod episodes;
mod trainer;

pub use config::{DataConfig, ModelConfig, OptimizationConfig, TrainConfig};
pub use trainer::{StepReport, Trainer};
