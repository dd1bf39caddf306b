//! A hook that sees every denoising step and every Picard sweep, for logging (Rerun) and
//! debugging.

use tch::Tensor;

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

/// One Picard sweep as the driver saw it ([`crate::driver::picard`]).
#[derive(Debug)]
pub struct PicardSweep {
    /// Sweep number, from 0.
    pub sweep: usize,
    /// The window's first step b and its end e (exclusive).
    pub window: (usize, usize),
    /// Per state of the window, its error relative to τ² (≤ 1: converged).
    pub errors: Vec<f64>,
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
