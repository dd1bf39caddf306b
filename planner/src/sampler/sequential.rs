//! The sequential driver: K model calls, one after another (Picard is the parallel one).

use std::time::{Duration, Instant};

use tch::{Device, Tensor};

use crate::error::Result;
use crate::model::Denoiser;
use crate::noise::NoiseTape;
use crate::observer::{DenoisingStep, Observer};
use crate::step_map::StepMap;

/// The outcome of a sequential run.
#[derive(Debug)]
pub struct SequentialRun {
    /// The final trajectory, `[B, H, A + O]`, normalized, inpainted.
    pub x: Tensor,
    /// Time spent inside the model's forward passes (on CUDA, synchronized after each).
    pub model_time: Duration,
    /// Number of model calls (= steps).
    pub model_calls: usize,
}

/// Runs every step of `map`'s sampler from the tape's x_T, without gradients (guidance takes
/// its own) and without leaving the denoiser's device.
pub fn sample_sequential(map: &StepMap<'_>, tape: &NoiseTape, observer: &mut dyn Observer) -> Result<SequentialRun> {
    let _no_grad = tch::no_grad_guard();
    let mut x = tape.initial().copy();
    map.inpainting().apply(&mut x);
    let batch = x.size()[0] as usize;
    let mut x0_prev: Option<Tensor> = None;
    let mut model_time = Duration::ZERO;
    for (k, &t) in map.sampler().timesteps().iter().enumerate() {
        let x_t = map.guided(&x, &[k], batch)?;
        let output = map.predict(&x_t, &[k], batch, &mut model_time)?;
        let x0_hat = map.x0_hat(k, &x_t, &output)?;
        observer.on_step(&DenoisingStep { k, t, x_t: &x_t, x0_hat: &x0_hat });
        x = map.advance(k, &x_t, &x0_hat, x0_prev.as_ref(), tape.step(k))?;
        x0_prev = Some(x0_hat);
    }
    Ok(SequentialRun { x, model_time, model_calls: map.sampler().steps() })
}

/// `denoiser.predict`, adding its duration to `model_time` (on CUDA, synchronized first, so the
/// time is the model's and not just the launch's).
pub(crate) fn timed_predict(
    denoiser: &dyn Denoiser,
    x_t: &Tensor,
    t: &Tensor,
    model_time: &mut Duration,
) -> Result<Tensor> {
    let started = Instant::now();
    let output = denoiser.predict(x_t, t)?;
    if let Device::Cuda(index) = denoiser.device() {
        tch::Cuda::synchronize(index as i64);
    }
    *model_time += started.elapsed();
    Ok(output)
}
