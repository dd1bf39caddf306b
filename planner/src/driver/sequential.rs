//! The sequential driver: K model calls, one after another (Picard is the parallel one).

use std::time::Duration;

use tch::Tensor;

use super::DriverRun;
use super::step_map::StepMap;
use crate::error::{Error, Result};
use crate::noise::NoiseTape;
use crate::observer::{DenoisingStep, Observer};

/// Runs every step of `map`'s sampler from the tape's x_T, or, `renoised` from an earlier plan
/// x0 at step k0, steps k0..K from α_k0 x0 + σ_k0 x_T (SDEdit); without gradients (guidance
/// takes its own) and without leaving the denoiser's device.
pub fn sample_sequential(
    map: &StepMap<'_>,
    tape: &NoiseTape,
    renoised: Option<(&Tensor, usize)>,
    observer: &mut dyn Observer,
) -> Result<DriverRun> {
    let _no_grad = tch::no_grad_guard();
    let sampler = map.sampler();
    let (mut x, first) = match renoised {
        Some((x0, k0)) if k0 < sampler.steps() && x0.size() == tape.initial().size() => {
            (sampler.noised(k0, x0, tape.initial()), k0)
        }
        Some((x0, k0)) => {
            return Err(Error::Request {
                field: "warm_start".into(),
                message: format!(
                    "a renoised start at step {k0} of {} from a trajectory of shape {:?} (this plan's: {:?})",
                    sampler.steps(),
                    x0.size(),
                    tape.initial().size()
                ),
            });
        }
        None => (tape.initial().copy(), 0),
    };
    map.inpainting().apply(&mut x);
    let batch = x.size()[0] as usize;
    let mut x0_prev: Option<Tensor> = None;
    let mut model_time = Duration::ZERO;
    for (k, &t) in sampler.timesteps().iter().enumerate().skip(first) {
        let x_t = map.guided(&x, &[k], batch)?;
        let output = map.predict(&x_t, &[k], batch, &mut model_time)?;
        let x0_hat = map.x0_hat(k, &x_t, &output)?;
        observer.on_step(&DenoisingStep { k, t, x_t: &x_t, x0_hat: &x0_hat });
        x = map.advance(k, &x_t, &x0_hat, x0_prev.as_ref(), tape.step(k))?;
        x0_prev = Some(x0_hat);
    }
    Ok(DriverRun { x, model_time, model_calls: sampler.steps() - first, picard: None, iterates: Vec::new() })
}
