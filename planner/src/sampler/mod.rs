//! Samplers of the reverse process. Each step is a pure function of (x_t, the model's x0_hat,
//! the previous x0_hat, pre-drawn noise), written as one affine map whose coefficients are
//! computed once per plan in f64:
//!
//! x_next = c_x·x_t + c_x0·x0_hat + c_prev·x0_prev + c_z·z
//!
//! Step k runs the model at timestep `timesteps[k]` and moves to `timesteps[k + 1]`; the last
//! step moves to the clean end (ᾱ = 1). ε-prediction models are turned into x0_hat first,
//! x0_hat = (x_t − σ_t·eps_hat)/α_t, then optionally clipped to [−1, 1]; every sampler then works
//! on x0_hat (DDIM's eps_hat is the one consistent with the clipped x0_hat).
//!
//! This module holds only the update rules; [`crate::driver`] iterates them.

mod config;
mod ddim;
mod ddpm;
mod dpm_solver_pp;

use tch::Tensor;

pub use config::{SamplerConfig, SamplerKind};

use crate::error::{Error, Result};
use crate::model::{DENOISER_OUTPUTS, ModelOutput, ModelSpec, check_output};
use crate::schedule::Schedule;

/// One step as an affine map (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepCoefficients {
    /// Weight c_x of the current trajectory x_t.
    pub x_t: f64,
    /// Weight c_x0 of this step's x0_hat.
    pub x0_hat: f64,
    /// Weight c_prev of the previous step's x0_hat (DPM-Solver++ 2M only).
    pub x0_prev: f64,
    /// Scale c_z of this step's standard normal noise.
    pub noise: f64,
}

/// A sampler prepared for one model: its timesteps and every step's coefficients.
#[derive(Debug, Clone)]
pub struct Sampler {
    config: SamplerConfig,
    output: ModelOutput,
    timesteps: Vec<usize>,
    coefficients: Vec<StepCoefficients>,
    /// Per step, its coefficients as the first step of a chain, without a previous x0_hat
    /// (DPM-Solver++'s first-order step; the same as `coefficients` for the one-step samplers).
    first_coefficients: Vec<StepCoefficients>,
    /// Per step (1/α_t, σ_t/α_t): x0_hat = x_t/α_t − (σ_t/α_t)·eps_hat.
    x0_from_eps: Vec<(f64, f64)>,
    /// Per step, DDPM's posterior variance of the step (0 for the step into the clean end).
    posterior_variance: Vec<f64>,
}

impl Sampler {
    /// Prepares `config` for a denoiser with `spec`.
    pub fn new(config: &SamplerConfig, spec: &ModelSpec) -> Result<Self> {
        config.validate()?;
        check_output(spec, DENOISER_OUTPUTS, "denoiser to sample from")?;
        let schedule = Schedule::new(&spec.schedule, spec.diffusion_steps)?;
        let timesteps = schedule.timesteps(config.steps_for(spec.diffusion_steps))?;
        let step = |k: usize, previous: Option<usize>| {
            let (t, next) = (timesteps[k], timesteps.get(k + 1).copied());
            match config.kind {
                SamplerKind::Ddpm => ddpm::coefficients(&schedule, t, next),
                SamplerKind::Ddim => ddim::coefficients(&schedule, t, next, config.eta),
                SamplerKind::DpmSolverPp => dpm_solver_pp::coefficients(&schedule, t, next, previous),
            }
        };
        let coefficients = (0..timesteps.len()).map(|k| step(k, k.checked_sub(1).map(|p| timesteps[p]))).collect();
        let first_coefficients = (0..timesteps.len()).map(|k| step(k, None)).collect();
        let x0_from_eps =
            timesteps.iter().map(|&t| (1.0 / schedule.alpha(t), schedule.sigma(t) / schedule.alpha(t))).collect();
        let posterior_variance = (0..timesteps.len())
            .map(|k| ddpm::coefficients(&schedule, timesteps[k], timesteps.get(k + 1).copied()).noise.powi(2))
            .collect();
        Ok(Self {
            config: config.clone(),
            output: spec.output,
            timesteps,
            coefficients,
            first_coefficients,
            x0_from_eps,
            posterior_variance,
        })
    }

    /// The settings it was prepared from.
    #[must_use]
    pub fn config(&self) -> &SamplerConfig {
        &self.config
    }

    /// Number K of steps (= model calls).
    #[must_use]
    pub fn steps(&self) -> usize {
        self.timesteps.len()
    }

    /// The model timestep of each step, in the order they run (N − 1 first, 0 last).
    #[must_use]
    pub fn timesteps(&self) -> &[usize] {
        &self.timesteps
    }

    /// DDPM's posterior variance β̃ of step k, whatever the sampler: the scale against which
    /// Picard iterations judge a state's change (ParaDiGMS does the same for DDIM).
    #[must_use]
    pub fn posterior_variance(&self, k: usize) -> f64 {
        self.posterior_variance[k]
    }

    /// x0 noised to the level of step `k`'s timestep t: α_t x0 + σ_t `noise` (the forward
    /// process q(x_t | x0), with standard normal `noise`).
    ///
    /// # Shapes
    /// `x0`, `noise`: `[B, H, A + O]` → `[B, H, A + O]`.
    pub fn noised(&self, k: usize, x0: &Tensor, noise: &Tensor) -> Tensor {
        let (inv_alpha, sigma_over_alpha) = self.x0_from_eps[k];
        x0 / inv_alpha + noise * (sigma_over_alpha / inv_alpha)
    }

    /// Whether step `k` adds noise (and so needs a slot on the noise tape).
    #[must_use]
    pub fn needs_noise(&self, k: usize) -> bool {
        self.coefficients[k].noise != 0.0
    }

    /// The clean-trajectory estimate of step `k` from the model's raw output.
    ///
    /// # Shapes
    /// `x_t`, `model_output`: `[B, H, A + O]` → `[B, H, A + O]`.
    pub fn x0_hat(&self, k: usize, x_t: &Tensor, model_output: &Tensor) -> Tensor {
        let x0_hat = match self.output {
            ModelOutput::Epsilon => {
                let (inv_alpha, sigma_over_alpha) = self.x0_from_eps[k];
                x_t * inv_alpha - model_output * sigma_over_alpha
            }
            // `new` admits only denoisers, so this is x0-prediction.
            ModelOutput::Sample | ModelOutput::Value => model_output.shallow_clone(),
        };
        if self.config.clip_x0 { x0_hat.clamp(-1.0, 1.0) } else { x0_hat }
    }

    /// Step `k`: x_next from x_t, this step's x0_hat, the previous step's (used by the
    /// second-order steps of DPM-Solver++; without it, step k is the first step of a chain that
    /// starts there, as a renoised warm start does) and this step's noise (needed where
    /// [`Sampler::needs_noise`]).
    ///
    /// # Shapes
    /// All inputs `[B, H, A + O]` → `[B, H, A + O]`.
    pub fn step(
        &self,
        k: usize,
        x_t: &Tensor,
        x0_hat: &Tensor,
        x0_prev: Option<&Tensor>,
        noise: Option<&Tensor>,
    ) -> Result<Tensor> {
        let c = if x0_prev.is_some() { self.coefficients[k] } else { self.first_coefficients[k] };
        let missing = |what: &str| Error::Internal {
            what: format!("sampler: step {k} of {} needs {what}, none was given", self.config.kind.name()),
        };
        let mut x_next = x_t * c.x_t + x0_hat * c.x0_hat;
        if let Some(x0_prev) = x0_prev
            && c.x0_prev != 0.0
        {
            x_next += x0_prev * c.x0_prev;
        }
        if c.noise != 0.0 {
            x_next += noise.ok_or_else(|| missing("noise"))? * c.noise;
        }
        Ok(x_next)
    }
}
