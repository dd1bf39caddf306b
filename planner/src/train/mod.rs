//! Training denoisers and value models in Rust: D4RL-format datasets and Minari datasets (read
//! into the same stream), windows of a horizon (with discounted-return targets for a value
//! model), and the training loop (Diffuser's x0-prediction or value loss with inpainting, Adam,
//! EMA, checkpoints, resume).

mod adam;
pub mod config;
pub mod d4rl;
pub mod episodes;
pub mod minari;
mod staged;
mod trainer;
pub mod windows;

pub use config::{DataConfig, DataFormat, ModelConfig, OptimizationConfig, TrainConfig, ValueConfig};
pub use trainer::{StepReport, Trainer};
pub use windows::Windows;
