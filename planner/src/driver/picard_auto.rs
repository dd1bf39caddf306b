//! Choosing between Picard and sequential sampling by measurement.
//!
//! Whether a window of p states in one batched call beats p sequential calls depends on the
//! device: a GPU evaluates a window in about the time of one state, two CPU cores do not.
//! [`calibrate`] first measures the device's batch-cost curve, the time of one model call of
//! B·p rows for each candidate window p. A Picard plan needs at least ⌈K/p⌉ such calls, so a
//! window whose bound (K/p)·cost(B·p) cannot beat sequential sampling's K·cost(B) by 5% is
//! dropped without running it; on a CPU that is usually every window, and the calibration costs
//! a few model calls. The windows left are timed as whole plans, each stopped at the deadline
//! where it would already have lost. Picard must win by 5% to be chosen. [`AutoCache`] keeps the
//! choice per device, model and request shape in a JSON file, so it is measured once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

use super::picard::PicardConfig;
use crate::error::{Error, Result};
use crate::model::Denoiser;
use crate::planner::Planner;
use crate::request::PlanRequest;

/// Picard must be at least this much faster than sequential sampling to be chosen.
const REQUIRED_GAIN: f64 = 0.95;

/// (rows, median time of one model call in ms) pairs.
pub type CostCurve = Vec<(usize, f64)>;

/// The outcome of a calibration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutoChoice {
    /// The chosen window, or `None` for sequential sampling.
    pub window: Option<usize>,
    /// The batch-cost curve: (rows, median time of one model call in ms), from B rows up to
    /// where the cost per row stopped falling.
    pub batch_cost_ms: CostCurve,
    /// Median plan time of sequential sampling, ms; only measured when a window survived its
    /// bound.
    pub sequential_ms: Option<f64>,
    /// Every candidate window and what became of it.
    pub trials: Vec<WindowTrial>,
}

/// One candidate window of a calibration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowTrial {
    /// Window size p.
    pub window: usize,
    /// Lower bound on its plan's model time, (K/p)·cost(B·p), ms; extrapolated linearly from
    /// the last measured point for windows past the curve's end.
    pub bound_ms: f64,
    /// Median plan time, ms; `None` when the bound ruled it out or the run crossed the deadline
    /// (5% under sequential sampling).
    pub measured_ms: Option<f64>,
}

/// Measures `request`'s batch-cost curve on `planner`, times the windows of `windows` that
/// could win (tolerance `tolerance`, `repeats` plans each), and chooses.
pub fn calibrate(
    planner: &Planner,
    request: &PlanRequest,
    windows: &[usize],
    tolerance: f64,
    repeats: usize,
) -> Result<AutoChoice> {
    let steps = request.sampler.steps_for(planner.spec().diffusion_steps);
    let batch = request.batch_size.max(1);
    let (batch_cost_ms, mut trials) =
        window_bounds(steps, batch, windows, |rows| model_call_ms(planner.denoiser(), rows, repeats))?;
    let sequential_estimate = steps as f64 * batch_cost_ms[0].1;
    let contenders: Vec<usize> =
        (0..trials.len()).filter(|&i| trials[i].bound_ms < REQUIRED_GAIN * sequential_estimate).collect();
    if contenders.is_empty() {
        return Ok(AutoChoice { window: None, batch_cost_ms, sequential_ms: None, trials });
    }
    let sequential_ms = median_plan_ms(planner, &PlanRequest { picard: None, ..request.clone() }, repeats)?;
    let deadline_ms = REQUIRED_GAIN * sequential_ms;
    for i in contenders {
        let config =
            PicardConfig { window: trials[i].window, tolerance, max_sweeps: None, deadline_ms: Some(deadline_ms) };
        let ms = median_plan_ms(planner, &PlanRequest { picard: Some(config), ..request.clone() }, repeats)?;
        trials[i].measured_ms = Some(ms).filter(|ms| ms.is_finite());
    }
    let window = trials
        .iter()
        .filter_map(|trial| trial.measured_ms.map(|ms| (trial.window, ms)))
        .filter(|&(_, ms)| ms < deadline_ms)
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(window, _)| window);
    Ok(AutoChoice { window, batch_cost_ms, sequential_ms: Some(sequential_ms), trials })
}

/// The windows Picard is calibrated with for a `steps`-step sampler: powers of two up to 32, and K.
#[must_use]
pub fn candidate_windows(steps: usize) -> Vec<usize> {
    [2, 4, 8, 16, 32].into_iter().filter(|&w| w < steps).chain([steps]).collect()
}

/// The batch-cost curve of `batch` rows times each of `windows` (ascending), measured by
/// `call_ms(rows)` until a row stops getting cheaper and extrapolated linearly past that, and
/// every window's bound (K/p)·cost(B·p) for a `steps`-step sampler.
fn window_bounds(
    steps: usize,
    batch: usize,
    windows: &[usize],
    mut call_ms: impl FnMut(usize) -> Result<f64>,
) -> Result<(CostCurve, Vec<WindowTrial>)> {
    let mut windows = windows.to_vec();
    windows.sort_unstable();
    let mut batch_cost_ms = vec![(batch, call_ms(batch)?)];
    let mut trials = Vec::with_capacity(windows.len());
    let mut saturated = false;
    for window in windows {
        let &(last_rows, last_ms) = batch_cost_ms.last().expect("starts with B");
        let rows = batch * window;
        let cost = if saturated {
            last_ms * rows as f64 / last_rows as f64
        } else {
            let cost = call_ms(rows)?;
            // Past the point where a row stops getting cheaper, larger windows only add work.
            saturated = cost / rows as f64 >= REQUIRED_GAIN * last_ms / last_rows as f64;
            batch_cost_ms.push((rows, cost));
            cost
        };
        trials.push(WindowTrial { window, bound_ms: steps as f64 / window as f64 * cost, measured_ms: None });
    }
    Ok((batch_cost_ms, trials))
}

/// Median time of one call of `denoiser` on `rows` random trajectories (after one warm-up),
/// ms, read back to the host so that asynchronous devices are timed to completion.
fn model_call_ms(denoiser: &dyn Denoiser, rows: usize, repeats: usize) -> Result<f64> {
    let _no_grad = tch::no_grad_guard();
    let spec = denoiser.spec();
    let rows = i64::try_from(rows).expect("a batch fits in i64");
    let shape = [rows, spec.horizon as i64, spec.transition_dim() as i64];
    let x = Tensor::randn(shape, (Kind::Float, denoiser.device()));
    let t = Tensor::zeros([rows], (Kind::Int64, denoiser.device()));
    let mut times = Vec::with_capacity(repeats.max(1));
    for i in 0..=repeats.max(1) {
        let started = Instant::now();
        f64::try_from(denoiser.predict(&x, &t)?.sum(Kind::Float))?;
        if i > 0 {
            times.push(started.elapsed().as_secs_f64() * 1e3);
        }
    }
    Ok(median(times))
}

/// Median plan time of `request`, ms, or infinity (lost) as soon as a run stops unconverged
/// at its Picard deadline.
fn median_plan_ms(planner: &Planner, request: &PlanRequest, repeats: usize) -> Result<f64> {
    let mut times = Vec::with_capacity(repeats.max(1));
    for _ in 0..repeats.max(1) {
        let started = Instant::now();
        let plan = planner.plan(request)?;
        if plan.stats.picard.as_ref().is_some_and(|picard| !picard.converged) {
            return Ok(f64::INFINITY);
        }
        times.push(started.elapsed().as_secs_f64() * 1e3);
    }
    Ok(median(times))
}

/// The median of `values` (the upper one of an even count).
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Calibrations stored by key in a JSON file.
#[derive(Debug)]
pub struct AutoCache {
    path: PathBuf,
    choices: BTreeMap<String, AutoChoice>,
}

impl AutoCache {
    /// Opens the cache at `path` (empty if the file does not exist yet).
    pub fn open(path: &Path) -> Result<Self> {
        let choices = match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| Error::Manifest {
                path: path.to_owned(),
                message: format!("not a Picard calibration cache ({e}); delete it to measure again"),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(source) => return Err(Error::Io { path: path.to_owned(), source }),
        };
        Ok(Self { path: path.to_owned(), choices })
    }

    /// The cache key of a request on a planner: device, model shape, batch, sampler, steps.
    #[must_use]
    pub fn key(planner: &Planner, request: &PlanRequest) -> String {
        let spec = planner.spec();
        let steps = request.sampler.steps_for(spec.diffusion_steps);
        format!(
            "{}|H{}|T{}|N{}|B{}|{}|K{}",
            planner.device_name(),
            spec.horizon,
            spec.transition_dim(),
            spec.diffusion_steps,
            request.batch_size,
            request.sampler.kind.name(),
            steps
        )
    }

    /// The stored choice for `key`.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&AutoChoice> {
        self.choices.get(key)
    }

    /// Stores `choice` under `key` and writes the file.
    pub fn insert(&mut self, key: String, choice: AutoChoice) -> Result<()> {
        self.choices.insert(key, choice);
        if let Some(parent) = self.path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| Error::Io { path: parent.to_owned(), source })?;
        }
        let text = serde_json::to_string_pretty(&self.choices)
            .map_err(|e| Error::Manifest { path: self.path.clone(), message: e.to_string() })?;
        std::fs::write(&self.path, text).map_err(|source| Error::Io { path: self.path.clone(), source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Oracle: with a cost linear in the rows (a saturated CPU), the bound of every window is
    /// exactly K·cost(B), sequential's own model time, so all are ruled out, and the curve stops
    /// after its first window.
    #[test]
    fn a_linear_cost_rules_out_every_window_after_one_measurement() {
        let mut calls = Vec::new();
        let (curve, trials) = window_bounds(20, 4, &[2, 4, 8, 16, 20], |rows| {
            calls.push(rows);
            Ok(0.5 * rows as f64)
        })
        .expect("bounds");
        assert_eq!(calls, [4, 8], "measured B and B·2 only");
        assert_eq!(curve, [(4, 2.0), (8, 4.0)]);
        for trial in &trials {
            assert!((trial.bound_ms - 20.0 * 2.0).abs() < 1e-9, "{trial:?}");
            assert!(trial.bound_ms >= REQUIRED_GAIN * 20.0 * 2.0);
        }
    }

    /// Oracle: with a constant cost c per call (an idle GPU), the bound is (K/p)·c, so every
    /// window stays in, and the whole curve is measured.
    #[test]
    fn a_constant_cost_keeps_every_window() {
        let (curve, trials) = window_bounds(64, 1, &[32, 2, 64], |_| Ok(3.0)).expect("bounds");
        assert_eq!(curve.iter().map(|&(rows, _)| rows).collect::<Vec<_>>(), [1, 2, 32, 64]);
        let bounds: Vec<(usize, f64)> = trials.iter().map(|t| (t.window, t.bound_ms)).collect();
        assert_eq!(bounds, [(2, 96.0), (32, 6.0), (64, 3.0)]);
        assert!(trials.iter().all(|t| t.bound_ms < REQUIRED_GAIN * 64.0 * 3.0));
    }

    #[test]
    fn candidate_windows_end_with_k() {
        assert_eq!(candidate_windows(6), [2, 4, 6]);
        assert_eq!(candidate_windows(256), [2, 4, 8, 16, 32, 256]);
    }
}
