//! What a plan request says about sampling: which sampler, how many steps, clipping.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The reverse-process update rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SamplerKind {
    /// Ancestral sampling with Diffuser's posterior step (stochastic).
    Ddpm,
    /// DDIM (Song et al. 2021); deterministic at η = 0, equal to DDPM at η = 1.
    Ddim,
    /// DPM-Solver++ 2M (Lu et al. 2022), data prediction, deterministic.
    DpmSolverPp,
}

impl SamplerKind {
    /// The name used in configs and on the command line.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Ddpm => "ddpm",
            Self::Ddim => "ddim",
            Self::DpmSolverPp => "dpm_solver_pp",
        }
    }
}

/// Sampler settings of one plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SamplerConfig {
    /// Update rule.
    pub kind: SamplerKind,
    /// Number K of denoising steps (model calls), `1..=N`. Default: all N training steps for
    /// DDPM and DDIM, min(20, N) for DPM-Solver++ (its authors recommend 10–20).
    #[serde(default)]
    pub steps: Option<usize>,
    /// DDIM's η: 0 is deterministic, 1 is DDPM's posterior noise. Only DDIM takes it.
    #[serde(default)]
    pub eta: f64,
    /// Clamp x0_hat to [−1, 1] before each update (Diffuser's `clip_denoised`, on for Maze2D
    /// whose limits normalizer maps the data onto [−1, 1]).
    #[serde(default)]
    pub clip_x0: bool,
}

impl SamplerConfig {
    /// Settings with `kind`'s default step count, η = 0 and no clipping.
    #[must_use]
    pub fn new(kind: SamplerKind) -> Self {
        Self { kind, steps: None, eta: 0.0, clip_x0: false }
    }

    /// The number of steps K for a model trained with `diffusion_steps` steps: `steps`, or the
    /// kind's default. Its range is checked by [`crate::schedule::Schedule::timesteps`].
    #[must_use]
    pub fn steps_for(&self, diffusion_steps: usize) -> usize {
        self.steps.unwrap_or(match self.kind {
            SamplerKind::Ddpm | SamplerKind::Ddim => diffusion_steps,
            SamplerKind::DpmSolverPp => diffusion_steps.min(20),
        })
    }

    /// Checks η: in [0, 1], and only given to DDIM.
    pub fn validate(&self) -> Result<()> {
        let invalid = |message: String| Error::Request { field: "sampler.eta".into(), message };
        if !(self.eta.is_finite() && (0.0..=1.0).contains(&self.eta)) {
            return Err(invalid(format!("{} must lie in [0, 1]", self.eta)));
        }
        if self.eta != 0.0 && self.kind != SamplerKind::Ddim {
            return Err(invalid(format!("only ddim takes eta; {} has none, so leave it out", self.kind.name())));
        }
        Ok(())
    }
}
