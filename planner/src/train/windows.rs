//! A dataset cut into training windows: Diffuser's `SequenceDataset` indices (no padding, the
//! same windows for a denoiser and a value model) and, for a value model, `ValueDataset`'s
//! discounted-return targets (docs/ALGORITHMS.md §1.7).

use std::ops::Range;

use super::config::TrainConfig;
use super::d4rl::D4rlDataset;
use super::episodes::{episodes, recut_at_goal, window_starts};
use crate::error::{Error, Result};

/// The windows a run trains on: H rows, `stride` environment steps apart.
#[derive(Debug, Clone, PartialEq)]
pub struct Windows {
    /// First row of each window in the dataset's flat arrays.
    pub starts: Vec<usize>,
    /// For a value model, the target of each window (same order as `starts`): the discounted
    /// return from its first step to the end of its episode, Σ_{t=s}^{T} γ^{t−s} r_t (not
    /// truncated at H; Diffuser's `ValueDataset`, unnormalized). `None` for a denoiser.
    pub targets: Option<Vec<f32>>,
}

impl Windows {
    /// Re-cuts `dataset` at `config.data.recut_at_goal` (in place, if set), then cuts its
    /// episodes into windows of (H − 1)·stride + 1 steps and, if `config.value` is set,
    /// computes their targets from the `rewards` key.
    pub fn new(config: &TrainConfig, dataset: &mut D4rlDataset) -> Result<Self> {
        if let Some(goal) = config.data.recut_at_goal {
            recut_at_goal(dataset, goal);
        }
        let episodes = episodes(dataset);
        let steps = config.model.window_steps();
        let starts = window_starts(&episodes, steps);
        if starts.is_empty() {
            return Err(Error::Config {
                field: "model.horizon".into(),
                message: format!(
                    "no episode of {} is longer than a window's {steps} steps (H = {}, stride {}); collect more \
                     data or plan shorter",
                    config.data.path.display(),
                    config.model.horizon,
                    config.model.stride
                ),
            });
        }
        let Some(value) = &config.value else {
            return Ok(Self { starts, targets: None });
        };
        if let Some(row) = dataset.rewards.iter().position(|r| !r.is_finite()) {
            return Err(Error::Dataset {
                path: config.data.path.clone(),
                message: format!(
                    "`rewards` row {row} holds {}; a value model's targets need finite rewards",
                    dataset.rewards[row]
                ),
            });
        }
        let returns = discounted_returns(&dataset.rewards, &episodes, value.discount);
        let targets = Some(starts.iter().map(|&s| returns[s] as f32).collect());
        Ok(Self { starts, targets })
    }
}

/// The discounted return of every step to the end of its episode: G_T = r_T and
/// G_t = r_t + γ G_{t+1} inside each of `episodes`, accumulated in f64. Steps outside every
/// episode get 0.
#[must_use]
pub fn discounted_returns(rewards: &[f32], episodes: &[Range<usize>], discount: f64) -> Vec<f64> {
    let mut returns = vec![0.0; rewards.len()];
    for episode in episodes {
        let mut later = 0.0;
        for t in episode.clone().rev() {
            later = f64::from(rewards[t]) + discount * later;
            returns[t] = later;
        }
    }
    returns
}
