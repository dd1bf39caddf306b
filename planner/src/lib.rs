//! Turning noise into a plan: denoisers, schedules, samplers, guidance and projection.
//!
//! # Vocabulary
//! Used the same way in every module of this crate:
//! - `k`: a step index of the sampler, counting down from the first denoising step;
//! - `t`: the model's timestep, an integer in `0..N` with `N = ModelSpec::diffusion_steps`;
//! - `x_t`: a noisy trajectory at timestep `t`, `[B, H, A + O]` in normalized units, actions
//!   first and observations after them (Diffuser's layout);
//! - `x0_hat`: the model's estimate of the clean trajectory;
//! - `eps_hat`: the model's estimate of the noise.

pub mod condition;
pub mod constraints;
pub mod driver;
pub mod error;
pub mod guidance;
pub mod model;
pub mod noise;
pub mod observer;
pub mod plan;
mod planner;
pub mod request;
pub mod runtime;
pub mod sampler;
pub mod schedule;
pub mod train;

pub use error::{Error, Result};
pub use observer::{DenoisingStep, Observer};
pub use plan::{Candidate, PicardStats, Plan, SamplerStats, Timings};
pub use planner::Planner;
pub use request::PlanRequest;
