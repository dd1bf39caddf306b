//! The normalizer Diffuser fits to its training data. Diffuser stores no normalizer: it
//! recomputes one from the D4RL dataset whenever it loads a run, so an import must do the same
//! with the same rows.
//!
//! Diffuser's pipeline (its `sequence_dataset` and `process_maze2d_episode`): with
//! `maze2d_set_terminals` the timeouts are first re-cut at the goal; an episode runs to the
//! next step flagged `terminals` or `timeouts`, rows after the last flag are never used, and a
//! Maze2D episode drops its last row (that row becomes `next_observations`). The normalizer's
//! statistics are taken per dimension over the rows kept, actions and observations alike.

use crate::error::{Error, Result};
use crate::model::Normalizer;
use crate::train::d4rl::D4rlDataset;
use crate::train::episodes::{episodes, recut_at_goal};

/// Which of Diffuser's normalizers, and how its Maze2D data were cut.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DiffuserData {
    /// Diffuser's Maze2D: episodes re-cut at `goal` (x, y in metres), each losing its last row;
    /// `LimitsNormalizer`.
    Maze2d {
        /// The maze's fixed target, `env._target`.
        goal: [f32; 2],
    },
    /// Another D4RL task (locomotion): episodes as flagged, whole; `GaussianNormalizer` or
    /// `LimitsNormalizer` as `gaussian` says.
    Other {
        /// Fit mean and population standard deviation instead of min and max.
        gaussian: bool,
    },
}

/// Fits Diffuser's normalizer to `dataset` over the rows its pipeline keeps; transitions are
/// `[action, observation]`.
pub fn diffuser_normalizer(dataset: &D4rlDataset, data: DiffuserData) -> Result<Normalizer> {
    let mut dataset = dataset.clone();
    let drop_last = match data {
        DiffuserData::Maze2d { goal } => {
            recut_at_goal(&mut dataset, goal);
            1
        }
        DiffuserData::Other { .. } => 0,
    };
    let last = dataset.len().checked_sub(1);
    let kept: Vec<std::ops::Range<usize>> = episodes(&dataset)
        .into_iter()
        // The tail after the last flag is not an episode in Diffuser's pipeline.
        .filter(|e| Some(e.end - 1) != last || dataset.terminals[e.end - 1] || dataset.timeouts[e.end - 1])
        .map(|e| e.start..e.end - drop_last.min(e.len()))
        .collect();
    let (a, o) = (dataset.actions.width, dataset.observations.width);
    let transitions: Vec<f32> = kept
        .iter()
        .cloned()
        .flatten()
        .flat_map(|i| dataset.actions.row(i).iter().chain(dataset.observations.row(i)).copied())
        .collect();
    if transitions.is_empty() {
        return Err(Error::Config {
            field: "dataset".into(),
            message: format!(
                "no rows left after Diffuser's episode cut ({} episodes flagged in {} rows){}",
                kept.len(),
                dataset.len(),
                if matches!(data, DiffuserData::Maze2d { .. }) {
                    "; is the goal the maze's target? the robot must reach it and leave it again to end an episode"
                } else {
                    ""
                }
            ),
        });
    }
    match data {
        DiffuserData::Other { gaussian: true } => Normalizer::fit_gaussian(&transitions, a + o),
        _ => Normalizer::fit_limits(&transitions, a + o),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::d4rl::Table;

    /// A stream whose x positions are `xs`; actions equal the row index.
    fn stream(xs: &[f32], timeouts: &[usize]) -> D4rlDataset {
        let n = xs.len();
        D4rlDataset {
            observations: Table { values: xs.iter().flat_map(|&x| [x, 0.0, 0.0, 0.0]).collect(), width: 4 },
            actions: Table { values: (0..n).flat_map(|i| [i as f32, 0.0]).collect(), width: 2 },
            rewards: vec![0.0; n],
            terminals: vec![false; n],
            timeouts: (0..n).map(|i| timeouts.contains(&i)).collect(),
            infos: Vec::new(),
        }
    }

    /// The first action's range under a limits normalizer.
    fn action_range(n: &Normalizer) -> (f64, f64) {
        match n {
            Normalizer::Limits { min, max } => (min[0], max[0]),
            Normalizer::Gaussian { .. } => panic!("expected limits"),
        }
    }

    #[test]
    fn locomotion_rows_stop_at_the_last_flag() {
        // Rows 0..=5 end at the flag on row 5; rows 6..=7 are an unflagged tail, never used.
        let n = diffuser_normalizer(&stream(&[0.0; 8], &[2, 5]), DiffuserData::Other { gaussian: false }).expect("fit");
        assert_eq!(action_range(&n), (0.0, 5.0));
    }

    #[test]
    fn maze2d_episodes_are_recut_at_the_goal_and_lose_their_last_row() {
        // At the goal (x within 0.5 of 3) on rows 2–3 and 6; it leaves after rows 3 and 6, so
        // episodes are 0..=3 and 4..=6, kept as 0..=2 and 4..=5; row 7 is the tail.
        let xs = [0.0, 1.0, 3.0, 3.2, 1.0, 0.0, 3.0, 0.0];
        let n = diffuser_normalizer(&stream(&xs, &[]), DiffuserData::Maze2d { goal: [3.0, 0.0] }).expect("fit");
        assert_eq!(action_range(&n), (0.0, 5.0));
        match n {
            Normalizer::Limits { min, max } => assert_eq!((min[2], max[2]), (0.0, 3.0)),
            Normalizer::Gaussian { .. } => unreachable!(),
        }
    }

    #[test]
    fn a_goal_never_left_is_refused() {
        let error = diffuser_normalizer(&stream(&[0.0; 4], &[]), DiffuserData::Maze2d { goal: [9.0, 9.0] })
            .expect_err("no episode ends");
        assert!(error.to_string().contains("no rows left"), "{error}");
    }
}
