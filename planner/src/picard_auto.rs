//! Choosing between Picard and sequential sampling by measurement.
//!
//! Whether a window of p states in one batched call beats p sequential calls depends on the
//! device: a GPU evaluates a window in about the time of one state, two CPU cores do not.
//! [`calibrate`] times the same request sequentially and with each candidate window and picks the
//! fastest; Picard must win by 5% to be chosen. [`AutoCache`] keeps the choice per device, model
//! and request shape in a JSON file, so it is measured once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::picard::PicardConfig;
use crate::planner::Planner;
use crate::request::PlanRequest;

/// Picard must be at least this much faster than sequential sampling to be chosen.
const REQUIRED_GAIN: f64 = 0.95;

/// The outcome of a calibration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutoChoice {
    /// The chosen window, or `None` for sequential sampling.
    pub window: Option<usize>,
    /// Median plan time of sequential sampling, ms.
    pub sequential_ms: f64,
    /// Median plan time per window tried, ms.
    pub picard_ms: Vec<(usize, f64)>,
}

/// Times `request` sequentially and by Picard with each of `windows` (tolerance from
/// `tolerance`), `repeats` times each, and chooses.
pub fn calibrate(
    planner: &Planner,
    request: &PlanRequest,
    windows: &[usize],
    tolerance: f64,
    repeats: usize,
) -> Result<AutoChoice> {
    let time = |request: &PlanRequest| -> Result<f64> {
        let mut times = Vec::with_capacity(repeats.max(1));
        for _ in 0..repeats.max(1) {
            let started = Instant::now();
            planner.plan(request)?;
            times.push(started.elapsed().as_secs_f64() * 1e3);
        }
        times.sort_by(f64::total_cmp);
        Ok(times[times.len() / 2])
    };
    let sequential_ms = time(&PlanRequest { picard: None, ..request.clone() })?;
    let mut picard_ms = Vec::with_capacity(windows.len());
    for &window in windows {
        let config = PicardConfig { window, tolerance, max_sweeps: None, deadline_ms: None };
        picard_ms.push((window, time(&PlanRequest { picard: Some(config), ..request.clone() })?));
    }
    let best = picard_ms.iter().copied().min_by(|a, b| a.1.total_cmp(&b.1));
    let window = best.filter(|&(_, ms)| ms < REQUIRED_GAIN * sequential_ms).map(|(window, _)| window);
    Ok(AutoChoice { window, sequential_ms, picard_ms })
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
