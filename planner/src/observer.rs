//! A hook that sees every denoising step, for logging (Rerun) and debugging.

use tch::Tensor;

use crate::picard::PicardSweep;

/// One denoising step as the sampler saw it. Tensors stay on the model's device; an observer
/// that needs them on the host copies them itself.
#[derive(Debug)]
pub struct DenoisingStep<'a> {
    /// Step index k, from 0 (the noisiest) to K − 1.
    pub k: usize,
    /// The model timestep t of this step.
    pub t: usize,
    /// The trajectory the model saw, `[B, H, A + O]`, normalized, inpainted.
    pub x_t: &'a Tensor,
    /// The model's clean estimate (after clipping), `[B, H, A + O]`, normalized.
    pub x0_hat: &'a Tensor,
}

/// Receives each step of a plan as it is computed.
pub trait Observer {
    /// Called once per step of the sequential sampler, after the model call and before the update.
    fn on_step(&mut self, step: &DenoisingStep<'_>);

    /// Called once per Picard sweep (the default ignores it).
    fn on_sweep(&mut self, _sweep: &PicardSweep) {}
}

/// `()` observes nothing.
impl Observer for () {
    fn on_step(&mut self, _step: &DenoisingStep<'_>) {}
}
