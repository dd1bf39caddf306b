//! Steering sampling towards what the user wants.
//!
//! - Gradient guidance ([`Guide`], Diffuser's `n_step_guided_p_sample`, docs/ALGORITHMS.md §1.5):
//!   before each model call the noisy trajectory takes `n_guide_steps` gradient steps up the
//!   objective J = value_weight · V(x_t, t) − Σ costs(unnormalize(x_t)), scaled by the step's
//!   posterior variance and switched off below `t_stopgrad`.
//! - Derivative-free guidance ([`Reward`]): a reward that need not be differentiable (a
//!   simulator rollout, a collision check) ranks the B candidates (best-of-N), or picks among
//!   several noise draws at every step (soft value-based decoding,
//!   [`crate::driver::sample_soft_decoding`]).

mod cost;
mod guide;
mod reward;

pub use cost::{CostConfig, CostContext, total_cost};
pub use guide::{GuidanceConfig, Guide};
pub use reward::{Reward, SoftDecodingConfig};
