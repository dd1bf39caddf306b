//! How the K steps of a sampler are iterated: three drivers, one step map.
//!
//! Every driver runs the same [`step_map::StepMap`] (guidance, the model call, the clipped and
//! projected clean estimate, the sampler's affine update with the tape's noise, inpainting), so
//! all of them compute the same chain x_{k+1} = F_k(x_k) and differ only in the order in which
//! they evaluate it:
//! - [`sample_sequential`]: K model calls, one after another;
//! - [`picard::sample_picard`]: the chain solved as a fixed point, a window of states per
//!   batched model call (τ = 0 reproduces the sequential chain);
//! - [`sample_soft_decoding`]: sequential, choosing among several noises per step by a score.
//!
//! [`run`] chooses between them for one plan. [`picard_auto`] measures whether Picard pays on
//! this device.

pub mod picard;
pub mod picard_auto;
mod sequential;
mod soft_decoding;
pub mod step_map;

use std::time::Duration;

use tch::Tensor;

pub use sequential::sample_sequential;
pub use soft_decoding::{Scorer, sample_soft_decoding};

use crate::error::{Error, Result};
use crate::guidance::SoftDecodingConfig;
use crate::noise::NoiseTape;
use crate::observer::Observer;
use crate::plan::PicardStats;
use picard::{PicardConfig, sample_picard};
use step_map::StepMap;

/// The outcome of a driver.
#[derive(Debug)]
pub struct DriverRun {
    /// The final trajectory x_K, `[B, H, A + O]`, normalized, inpainted.
    pub x: Tensor,
    /// Time spent inside the model's forward passes (on CUDA, synchronized after each).
    pub model_time: Duration,
    /// Batched model calls: K for the sequential drivers, the sweeps for Picard.
    pub model_calls: usize,
    /// What the Picard driver did, when it ran.
    pub picard: Option<PicardStats>,
    /// Picard's iterates x_0..x_K as the run left them (a warm start for the next plan); empty
    /// for the other drivers.
    pub iterates: Vec<Tensor>,
}

/// Where a replan starts instead of the tape's pure noise: from an earlier plan, moved along the
/// horizon by the steps executed since ([`picard::shift_iterates`]).
#[derive(Clone, Copy)]
pub enum WarmStart<'a> {
    /// Picard's iterates x_0..x_K of the earlier plan: the iteration starts from them.
    Iterates(&'a [Tensor]),
    /// The earlier plan's trajectory (normalized, `[B, H, A + O]`), noised to the level of step
    /// `from_step` with the tape's x_T as the noise and denoised by steps `from_step`..K only:
    /// SDEdit's partial re-noising, K − `from_step` model calls.
    Renoised {
        /// The earlier plan.
        x0: &'a Tensor,
        /// The first step run.
        from_step: usize,
    },
}

/// Which driver a plan asks for, and what that driver needs (taken from its request).
#[derive(Clone, Copy, Default)]
pub struct DriverChoice<'a> {
    /// Picard iterations with these settings (takes precedence over soft decoding).
    pub picard: Option<&'a PicardConfig>,
    /// Where to start: Picard takes iterates, the sequential driver a renoised plan.
    pub warm_start: Option<WarmStart<'a>>,
    /// Soft value-based decoding with these settings.
    pub soft_decoding: Option<&'a SoftDecodingConfig>,
    /// The plan's seed: soft decoding draws its extra noises from a stream of its own.
    pub seed: u64,
}

/// Runs `map` from the tape's x_T with the driver `choice` names: Picard, else soft decoding
/// (choosing by `score`), else sequential.
pub fn run(
    map: &StepMap<'_>,
    tape: &NoiseTape,
    choice: DriverChoice<'_>,
    score: &Scorer<'_>,
    observer: &mut dyn Observer,
) -> Result<DriverRun> {
    let renoised = || Error::Request {
        field: "warm_start".into(),
        message: "a renoised warm start runs the sequential driver; turn off Picard and soft decoding, \
                  or use Picard's own warm start"
            .into(),
    };
    match (choice.picard, choice.soft_decoding, choice.warm_start) {
        (Some(_), _, Some(WarmStart::Renoised { .. })) | (None, Some(_), Some(_)) => Err(renoised()),
        (Some(config), _, warm) => {
            let iterates = match warm {
                Some(WarmStart::Iterates(iterates)) => Some(iterates),
                _ => None,
            };
            sample_picard(map, tape, config, iterates, observer)
        }
        (None, Some(config), None) => sample_soft_decoding(map, tape, config, score, choice.seed, observer),
        (None, None, Some(WarmStart::Renoised { x0, from_step })) => {
            sample_sequential(map, tape, Some((x0, from_step)), observer)
        }
        (None, None, _) => sample_sequential(map, tape, None, observer),
    }
}
