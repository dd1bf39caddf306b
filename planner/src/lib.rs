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
//!
//! # Map
//! In the order a plan flows through them:
//! - [`request`] and [`condition`]: what the caller asks for, and its pins (inpainting);
//!   [`jumpy`]: a model with a row every K steps, and the dense plan handed out from it;
//! - [`Planner`] (`planner.rs`): the facade, prepare → [`driver::run`] → finish;
//! - [`driver`]: how the K steps are iterated (sequential, Picard, soft decoding), all through
//!   one step map, [`driver::step_map::StepMap`];
//! - [`sampler`] and [`schedule`]: the update rules, one affine map per step, and [`noise`]:
//!   every random number drawn up front;
//! - [`model`]: the denoisers and value models behind the step map;
//! - [`guidance`]: gradient and derivative-free steering;
//! - [`constraints`]: hard constraints, from config to projection on device tensors;
//! - [`kinematics`]: differentiable forward kinematics of an arm, and [`workspace`]: the arm's
//!   volume and its clearance to obstacles and table, for its constraints and costs;
//! - [`plan`] and [`observer`]: what comes back, and what can watch it being made;
//! - [`error`]: whose fault each failure is; [`train`]: training the models; [`import`]:
//!   models trained by other programs (Diffuser); [`runtime`]: facts about the linked libtorch.

pub mod condition;
pub mod constraints;
pub mod driver;
pub mod error;
pub mod guidance;
pub mod import;
pub mod jumpy;
pub mod kinematics;
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
pub mod workspace;

pub use error::{Error, Result};
pub use observer::{DenoisingStep, Observer};
pub use plan::{Candidate, PicardStats, Plan, SamplerStats, Timings};
pub use planner::Planner;
pub use request::PlanRequest;
