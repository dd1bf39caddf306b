//! The sequential driver: K model calls, one after another (Picard is the parallel one).

use std::time::{Duration, Instant};

use tch::{Device, Kind, Tensor};

use super::Sampler;
use crate::condition::Inpainting;
use crate::error::Result;
use crate::model::Denoiser;
use crate::noise::NoiseTape;
use crate::observer::{DenoisingStep, Observer};

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

/// Runs every step of `sampler` from the tape's x_T, inpainting after every step, without
/// gradients and without leaving the denoiser's device.
pub fn sample_sequential(
    denoiser: &dyn Denoiser,
    sampler: &Sampler,
    tape: &NoiseTape,
    inpainting: &Inpainting,
    observer: &mut dyn Observer,
) -> Result<SequentialRun> {
    let _no_grad = tch::no_grad_guard();
    let device = denoiser.device();
    let mut x = tape.initial().copy();
    inpainting.apply(&mut x);
    let batch = x.size()[0];
    let mut x0_prev: Option<Tensor> = None;
    let mut model_time = Duration::ZERO;
    for (k, &t) in sampler.timesteps().iter().enumerate() {
        let t_batch = Tensor::full([batch], t as i64, (Kind::Int64, device));
        let output = timed_predict(denoiser, &x, &t_batch, &mut model_time)?;
        let x0_hat = sampler.x0_hat(k, &x, &output);
        observer.on_step(&DenoisingStep { k, t, x_t: &x, x0_hat: &x0_hat });
        let mut x_next = sampler.step(k, &x, &x0_hat, x0_prev.as_ref(), tape.step(k))?;
        inpainting.apply(&mut x_next);
        x = x_next;
        x0_prev = Some(x0_hat);
    }
    Ok(SequentialRun { x, model_time, model_calls: sampler.steps() })
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
