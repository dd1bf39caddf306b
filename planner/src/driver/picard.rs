//! Parallel sampling by Picard iterations (ParaDiGMS, Shih et al. 2023; docs/ALGORITHMS.md §2).
//!
//! The K steps of a sampler are a chain x_{k+1} = F_k(x_k) ([`StepMap`]: guidance, the model, the
//! projected clean estimate, the sampler's affine step and inpainting), with the noise z_k fixed
//! on the tape. Picard iteration solves the whole chain as a
//! fixed point: a window of p states is evaluated in one batched model call, each step's increment
//! Δ_j = F_j(x_j) − x_j is computed, and the window is rebuilt from its first state by cumulative
//! sums, x_{b+1+k} ← x_b + Σ_{i ≤ k} Δ_{b+i}. A state has converged when its change, per
//! dimension and relative to DDPM's posterior variance of the step that leaves it, is below τ²;
//! the window then slides past the converged prefix plus one (the first unconverged state was
//! computed from converged predecessors). The last state only converges by equality, so τ = 0
//! reproduces the sequential sampler: each sweep then advances exactly one step.
//!
//! DPM-Solver++'s history (the previous x0_hat) comes from inside the window, and for its first
//! state from the sweep that accepted the state before it.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

use super::DriverRun;
use super::step_map::StepMap;
use crate::condition::Inpainting;
use crate::error::{Error, Result};
use crate::noise::NoiseTape;
use crate::observer::{Observer, PicardSweep};
use crate::plan::PicardStats;

/// Settings of the Picard driver. The window is a number of states; an application may read
/// its settings with another window type (e.g. one that also allows `auto`) and resolve it
/// with [`PicardConfig::with_window`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PicardConfig<W = usize> {
    /// Window size p: states evaluated per batched model call.
    pub window: W,
    /// Tolerance τ on the per-dimension change relative to the step's noise scale (ParaDiGMS's
    /// default 0.1).
    #[serde(default = "default_tolerance")]
    pub tolerance: f64,
    /// Stop after this many sweeps even if not converged (default: no cap beyond K).
    #[serde(default)]
    pub max_sweeps: Option<usize>,
    /// Stop after the sweep that crosses this many milliseconds and return the current iterate.
    #[serde(default)]
    pub deadline_ms: Option<f64>,
}

/// ParaDiGMS's default tolerance τ.
pub const DEFAULT_TOLERANCE: f64 = 0.1;

fn default_tolerance() -> f64 {
    DEFAULT_TOLERANCE
}

impl<W> PicardConfig<W> {
    /// The same settings with window `window`.
    #[must_use]
    pub fn with_window<V>(&self, window: V) -> PicardConfig<V> {
        PicardConfig { window, tolerance: self.tolerance, max_sweeps: self.max_sweeps, deadline_ms: self.deadline_ms }
    }
}

/// Runs `sampler` by Picard iterations from the tape's x_T, or from `warm_start`: K + 1 iterates
/// of an earlier run (e.g. shifted along the horizon), whose first one replaces the tape's x_T.
pub fn sample_picard(
    map: &StepMap<'_>,
    tape: &NoiseTape,
    config: &PicardConfig,
    warm_start: Option<&[Tensor]>,
    observer: &mut dyn Observer,
) -> Result<DriverRun> {
    let steps = map.sampler().steps();
    if config.window == 0 || !(config.tolerance.is_finite() && config.tolerance >= 0.0) {
        return Err(Error::Request {
            field: "picard".into(),
            message: format!("window {} must be ≥ 1 and tolerance {} ≥ 0", config.window, config.tolerance),
        });
    }
    let _no_grad = tch::no_grad_guard();
    let started = Instant::now();
    let xs = initial_iterates(tape, map.inpainting(), steps, warm_start)?;
    let mut chain = Chain { xs, x0_hats: (0..steps).map(|_| None).collect(), model_time: Duration::ZERO };
    let threshold = config.tolerance * config.tolerance;
    let (mut begin, mut sweeps, mut evaluations, mut residual) = (0, 0, 0, 0.0);
    let mut converged = true;
    while begin < steps {
        let end = (begin + config.window).min(steps);
        let errors = chain.sweep(map, tape, begin, end, threshold)?;
        evaluations += end - begin;
        let first_unconverged = errors.iter().position(|&e| e > 1.0).unwrap_or(errors.len());
        // The final state has no noise scale (it converges only by equality), so it is left out.
        residual = errors.iter().copied().filter(|e| e.is_finite()).fold(0.0, f64::max) * threshold;
        // Newly exposed slots start from the last state computed.
        let advance = (first_unconverged + 1).min(config.window).min(end - begin);
        let next_begin = begin + advance;
        let next_end = (next_begin + config.window).min(steps);
        for k in end + 1..=next_end {
            chain.xs[k] = chain.xs[end].copy();
        }
        observer.on_sweep(&PicardSweep { sweep: sweeps, window: (begin, end), errors });
        sweeps += 1;
        begin = next_begin;
        let out_of_sweeps = config.max_sweeps.is_some_and(|cap| sweeps >= cap);
        let out_of_time = config.deadline_ms.is_some_and(|ms| started.elapsed().as_secs_f64() * 1e3 >= ms);
        if begin < steps && (out_of_sweeps || out_of_time) {
            converged = false;
            break;
        }
    }
    Ok(DriverRun {
        x: chain.xs[steps].shallow_clone(),
        iterates: chain.xs,
        model_calls: sweeps,
        picard: Some(PicardStats { sweeps, model_evaluations: evaluations, residual, converged }),
        model_time: chain.model_time,
    })
}

/// The iterates x_0..x_K of a Picard run and what one sweep hands the next.
struct Chain {
    xs: Vec<Tensor>,
    /// Each step's latest clean estimate (DPM-Solver++'s history).
    x0_hats: Vec<Option<Tensor>>,
    /// Time inside the model so far.
    model_time: Duration,
}

impl Chain {
    /// One sweep over the window `begin..end`: one batched model call, every step's increment
    /// F_k(x_k) − x_k, and the window's states rebuilt by cumulative sums from its first. Returns
    /// per state of the window its change relative to the step's noise scale and to τ²
    /// (`threshold`): ≤ 1 is converged.
    fn sweep(
        &mut self,
        map: &StepMap<'_>,
        tape: &NoiseTape,
        begin: usize,
        end: usize,
        threshold: f64,
    ) -> Result<Vec<f64>> {
        let xs = &mut self.xs;
        let batch = xs[0].size()[0];
        let window: Vec<usize> = (begin..end).collect();
        let inputs = map.guided(&Tensor::cat(&xs[begin..end], 0), &window, batch as usize)?;
        let outputs = map.predict(&inputs, &window, batch as usize, &mut self.model_time)?;
        let (inputs, outputs) = (inputs.split(batch, 0), outputs.split(batch, 0));
        // Increments of every step of the window, and the rebuilt states.
        let mut running = xs[begin].shallow_clone();
        let mut changes = Vec::with_capacity(end - begin);
        let mut rebuilt = Vec::with_capacity(end - begin);
        for (offset, k) in (begin..end).enumerate() {
            let x0_hat = map.x0_hat(k, &inputs[offset], &outputs[offset])?;
            let previous = if k == 0 { None } else { self.x0_hats[k - 1].as_ref() };
            let next = map.advance(k, &inputs[offset], &x0_hat, previous, tape.step(k))?;
            running = &running + (next - &xs[k]);
            // The largest squared change over the batch, left on the device until all are known.
            changes.push((&running - &xs[k + 1]).square().sum_dim_intlist(&[1i64, 2][..], false, Kind::Double).max());
            rebuilt.push(running.shallow_clone());
            self.x0_hats[k] = Some(x0_hat);
        }
        let changes = Vec::<f64>::try_from(Tensor::stack(&changes, 0))?;
        let per_item = xs[0].numel() as f64 / batch as f64;
        let (sampler, steps) = (map.sampler(), map.sampler().steps());
        let errors = changes
            .iter()
            .zip(begin..end)
            .map(|(&worst, k)| {
                let scale = if k + 1 < steps { sampler.posterior_variance(k + 1) * per_item } else { 0.0 };
                if scale > 0.0 {
                    worst / scale / threshold.max(f64::MIN_POSITIVE)
                } else if worst == 0.0 {
                    0.0
                } else {
                    f64::INFINITY
                }
            })
            .collect();
        for (offset, state) in rebuilt.into_iter().enumerate() {
            xs[begin + 1 + offset] = state;
        }
        Ok(errors)
    }
}

/// The K + 1 starting iterates: a warm start's (its first replaces the tape's x_T, so the fixed
/// point moves as little as possible), or the tape's x_T everywhere; all inpainted.
fn initial_iterates(
    tape: &NoiseTape,
    inpainting: &Inpainting,
    steps: usize,
    warm_start: Option<&[Tensor]>,
) -> Result<Vec<Tensor>> {
    let mut xs: Vec<Tensor> = match warm_start {
        Some(iterates) if iterates.len() == steps + 1 => iterates.iter().map(Tensor::copy).collect(),
        Some(iterates) => {
            return Err(Error::Request {
                field: "picard warm start".into(),
                message: format!("{} iterates given, the sampler needs {}", iterates.len(), steps + 1),
            });
        }
        None => (0..=steps).map(|_| tape.initial().copy()).collect(),
    };
    for x in &mut xs {
        inpainting.apply(x);
    }
    Ok(xs)
}

/// Moves every iterate `executed` steps along the horizon, for a warm start after the robot
/// executed that many steps of the plan: the first `executed` rows drop out and the last row is
/// repeated at the end.
///
/// # Shapes
/// Each iterate `[B, H, A + O]` → `[B, H, A + O]`.
#[must_use]
pub fn shift_iterates(iterates: &[Tensor], executed: usize) -> Vec<Tensor> {
    iterates
        .iter()
        .map(|x| {
            let horizon = x.size()[1];
            let shift = (executed as i64).min(horizon - 1);
            let last = x.narrow(1, horizon - 1, 1).expand([-1, shift, -1], false);
            Tensor::cat(&[x.narrow(1, shift, horizon - shift), last], 1)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn shifting_drops_executed_rows_and_repeats_the_last() {
        let x = Tensor::arange(10, (Kind::Float, Device::Cpu)).view([1, 5, 2]);
        let shifted = shift_iterates(&[x], 2);
        let want = Tensor::from_slice(&[4.0f32, 5.0, 6.0, 7.0, 8.0, 9.0, 8.0, 9.0, 8.0, 9.0]).view([1, 5, 2]);
        assert!(shifted[0].equal(&want));
    }
}
