//! One denoising step as a map x_k ↦ x_{k+1}, shared by every driver (sequential, Picard,
//! soft decoding) so that they compute the same chain: guidance on x_k, the model call, the
//! clean estimate (clipped, then projected onto the constraints), the sampler's affine update
//! with the tape's noise, and inpainting.

use std::time::{Duration, Instant};

use tch::{Device, Kind, Tensor};

use crate::condition::Inpainting;
use crate::constraints::Projection;
use crate::error::Result;
use crate::guidance::Guide;
use crate::model::Denoiser;
use crate::sampler::Sampler;

/// The parts of one plan's step map.
pub struct StepMap<'a> {
    denoiser: &'a dyn Denoiser,
    sampler: &'a Sampler,
    inpainting: &'a Inpainting,
    guide: Option<&'a Guide<'a>>,
    projection: Option<&'a Projection<'a>>,
}

impl<'a> StepMap<'a> {
    /// The plain map: model, sampler update, inpainting.
    #[must_use]
    pub fn new(denoiser: &'a dyn Denoiser, sampler: &'a Sampler, inpainting: &'a Inpainting) -> Self {
        Self { denoiser, sampler, inpainting, guide: None, projection: None }
    }

    /// Adds gradient guidance before each model call.
    #[must_use]
    pub fn with_guide(mut self, guide: Option<&'a Guide<'a>>) -> Self {
        self.guide = guide;
        self
    }

    /// Adds projection of each step's clean estimate onto the constraints.
    #[must_use]
    pub fn with_projection(mut self, projection: Option<&'a Projection<'a>>) -> Self {
        self.projection = projection;
        self
    }

    /// The denoiser.
    #[must_use]
    pub fn denoiser(&self) -> &'a dyn Denoiser {
        self.denoiser
    }

    /// The sampler.
    #[must_use]
    pub fn sampler(&self) -> &'a Sampler {
        self.sampler
    }

    /// The pins.
    #[must_use]
    pub fn inpainting(&self) -> &'a Inpainting {
        self.inpainting
    }

    /// What the model sees at step k for each block of `batch` rows of `x`: `x` moved by
    /// guidance (unchanged without it). `steps[i]` is the step of rows `i·batch .. (i+1)·batch`.
    ///
    /// # Shapes
    /// `x`: `[steps.len() · batch, H, A + O]` → same.
    pub fn guided(&self, x: &Tensor, steps: &[usize], batch: usize) -> Result<Tensor> {
        let Some(guide) = self.guide else { return Ok(x.shallow_clone()) };
        let timesteps = per_row(steps, batch, |k| self.sampler.timesteps()[k]);
        let variances = per_row(steps, batch, |k| self.sampler.posterior_variance(k));
        guide.apply(x, &timesteps, &variances, self.inpainting)
    }

    /// The model's output for each block of `batch` rows of `x` at its step, adding the time
    /// spent to `model_time`.
    ///
    /// # Shapes
    /// `x`: `[steps.len() · batch, H, A + O]` → same.
    pub fn predict(&self, x: &Tensor, steps: &[usize], batch: usize, model_time: &mut Duration) -> Result<Tensor> {
        let t = per_row(steps, batch, |k| self.sampler.timesteps()[k] as i64);
        let t = Tensor::from_slice(&t).to_kind(Kind::Int64).to_device(self.denoiser.device());
        timed_predict(self.denoiser, x, &t, model_time)
    }

    /// Step k's clean estimate from the model's output on `x_t`: clipped as the sampler says,
    /// then, with constraints, inpainted and projected.
    ///
    /// # Shapes
    /// `x_t`, `output`: `[B, H, A + O]` → `[B, H, A + O]`.
    pub fn x0_hat(&self, k: usize, x_t: &Tensor, output: &Tensor) -> Result<Tensor> {
        let x0_hat = self.sampler.x0_hat(k, x_t, output);
        match self.projection {
            Some(projection) => {
                let mut pinned = x0_hat.copy();
                self.inpainting.apply(&mut pinned);
                projection.intermediate(&pinned, k, self.sampler.steps())
            }
            None => Ok(x0_hat),
        }
    }

    /// Step k's update from the (guided) x_t, its clean estimate, the previous one and the
    /// step's noise, then inpainted: x_{k+1}.
    ///
    /// # Shapes
    /// All `[B, H, A + O]` → `[B, H, A + O]`.
    pub fn advance(
        &self,
        k: usize,
        x_t: &Tensor,
        x0_hat: &Tensor,
        x0_prev: Option<&Tensor>,
        noise: Option<&Tensor>,
    ) -> Result<Tensor> {
        let mut next = self.sampler.step(k, x_t, x0_hat, x0_prev, noise)?;
        self.inpainting.apply(&mut next);
        Ok(next)
    }
}

/// `f(k)` for each step k of `steps`, repeated for the `batch` rows of its block.
fn per_row<T: Clone>(steps: &[usize], batch: usize, f: impl Fn(usize) -> T) -> Vec<T> {
    steps.iter().flat_map(|&k| std::iter::repeat_n(f(k), batch)).collect()
}

/// `denoiser.predict`, adding its duration to `model_time` (on CUDA, synchronized first, so the
/// time is the model's and not just the launch's).
fn timed_predict(denoiser: &dyn Denoiser, x_t: &Tensor, t: &Tensor, model_time: &mut Duration) -> Result<Tensor> {
    let started = Instant::now();
    let output = denoiser.predict(x_t, t)?;
    if let Device::Cuda(index) = denoiser.device() {
        tch::Cuda::synchronize(index as i64);
    }
    *model_time += started.elapsed();
    Ok(output)
}
