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
    /// With `[data] hold_at_end`: for each window, the last step of its episode and the row
    /// after the dataset's rows that holds it (`held_rows`, one per episode in order). Rows of
    /// the window past that step read the held row.
    pub ends: Option<Vec<(usize, usize)>>,
    /// With `[data] hold_at_end`, the transitions (actions, observation) to append after the
    /// dataset's rows: each episode's last step with the actions and the held observation
    /// components set to 0. Empty without.
    pub held_rows: Vec<f32>,
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
        let (starts, ends, held_rows) = match &config.data.hold_at_end {
            Some(still) => {
                check_still(still, dataset.observations.width)?;
                let rows = dataset.len();
                let every_step = episodes
                    .iter()
                    .enumerate()
                    .flat_map(|(e, range)| range.clone().map(move |s| (s, (range.end - 1, rows + e))));
                let (starts, ends): (Vec<usize>, Vec<(usize, usize)>) = every_step.unzip();
                (starts, Some(ends), held_rows(dataset, &episodes, still))
            }
            None => (window_starts(&episodes, steps), None, Vec::new()),
        };
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
            return Ok(Self { starts, ends, held_rows, targets: None });
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
        Ok(Self { starts, ends, held_rows, targets })
    }

    /// The dataset rows of window `i`: `horizon` rows `stride` steps apart from its start, the
    /// held row in place of any past its episode's last step.
    pub fn rows(&self, i: usize, horizon: usize, stride: usize) -> impl Iterator<Item = usize> + '_ {
        let (start, end) = (self.starts[i], self.ends.as_ref().map(|ends| ends[i]));
        (0..horizon).map(move |k| match (start + k * stride, end) {
            (row, Some((last, held))) if row > last => held,
            (row, _) => row,
        })
    }
}

/// One transition (actions, observation) per episode of `dataset`, in order: its last step with
/// the actions and the `still` observation components set to 0.
fn held_rows(dataset: &D4rlDataset, episodes: &[Range<usize>], still: &[usize]) -> Vec<f32> {
    episodes
        .iter()
        .flat_map(|range| {
            let mut observation = dataset.observations.row(range.end - 1).to_vec();
            for &component in still {
                observation[component] = 0.0;
            }
            std::iter::repeat_n(0.0, dataset.actions.width).chain(observation)
        })
        .collect()
}

/// Errors unless every component of `still` is an observation index.
fn check_still(still: &[usize], width: usize) -> Result<()> {
    match still.iter().find(|&&c| c >= width) {
        Some(c) => Err(Error::Config {
            field: "data.hold_at_end".into(),
            message: format!("component {c} is not an observation component (the observations have {width})"),
        }),
        None => Ok(()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::d4rl::Table;

    fn config(hold: &str) -> TrainConfig {
        let text = format!(
            "out = \"runs/x\"\n[data]\npath = \"x.hdf5\"\n{hold}\n[model]\nhorizon = 3\nstride = 2\n\
             diffusion_steps = 4\n[model.architecture]\nkind = \"temporal_unet\"\ndim = 8\ndim_mults = [1]\n\
             attention = false\n"
        );
        toml::from_str(&text).expect("config")
    }

    /// Episodes of 7 and 4 steps; observation (x, 0, 1, 0) and action (x, x) at step x.
    fn dataset() -> D4rlDataset {
        let n = 11;
        D4rlDataset {
            observations: Table { values: (0..n).flat_map(|x| [x as f32, 0.0, 1.0, 0.0]).collect(), width: 4 },
            actions: Table { values: (0..n).flat_map(|x| [x as f32, x as f32]).collect(), width: 2 },
            rewards: vec![0.0; n],
            terminals: vec![false; n],
            timeouts: (0..n).map(|i| i == 6).collect(),
            infos: Vec::new(),
        }
    }

    #[test]
    fn held_windows_run_past_their_episodes_end_and_stay_there_at_rest() {
        // H = 3 rows 2 steps apart span 5 steps. Inside episodes (Diffuser's windows) only the
        // 7-step episode has room, at starts 0 and 1 (worked out by hand).
        let inside = Windows::new(&config(""), &mut dataset()).expect("windows");
        assert_eq!((inside.starts.clone(), inside.ends.clone(), inside.held_rows.clone()), (vec![0, 1], None, vec![]));
        assert_eq!(inside.rows(1, 3, 2).collect::<Vec<_>>(), vec![1, 3, 5]);
        // Held: every step starts a window; rows past an episode's last step (6, then 10) read
        // that episode's held row, stored after the 11 dataset rows (11, then 12).
        let held = Windows::new(&config("hold_at_end = [2]"), &mut dataset()).expect("windows");
        assert_eq!(held.starts, (0..11).collect::<Vec<_>>());
        assert_eq!(held.rows(5, 3, 2).collect::<Vec<_>>(), vec![5, 11, 11]);
        assert_eq!(held.rows(8, 3, 2).collect::<Vec<_>>(), vec![8, 10, 12]);
        // A held row is the last step at rest: actions 0, component 2 (the x velocity) 0.
        assert_eq!(held.held_rows, vec![0.0, 0.0, 6.0, 0.0, 0.0, 0.0, 0.0, 0.0, 10.0, 0.0, 0.0, 0.0]);
        let err = Windows::new(&config("hold_at_end = [4]"), &mut dataset()).expect_err("component 4").to_string();
        assert!(err.contains("data.hold_at_end") && err.contains("component 4"), "{err}");
    }
}
