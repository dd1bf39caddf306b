//! The sequential driver: K model calls, one after another (Picard is the parallel one).

use std::time::Duration;

use tch::Tensor;

use super::DriverRun;
use super::step_map::StepMap;
use crate::error::Result;
use crate::noise::NoiseTape;
use crate::observer::{DenoisingStep, Observer};

/// Runs every step of `map`'s sampler from the tape's x_T, without gradients (guidance takes
/// its own) and without leaving the denoiser's device.
pub fn sample_sequential(map: &StepMap<'_>, tape: &NoiseTape, observer: &mut dyn Observer) -> Result<DriverRun> {
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
    Ok(DriverRun { x, model_time, model_calls: map.sampler().steps(), picard: None, iterates: Vec::new() })
}
