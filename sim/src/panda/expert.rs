//! The reach task's scripted expert: plan a collision-free joint-space path to the goal
//! configuration, time it within a share of Franka's limits, and command it step by step.
//!
//! The path is RRT-Connect among the episode's obstacles and the table, every configuration on
//! it `PLANNING_MARGIN_M` clear of both, then shortcut. It is timed rest to rest per segment at
//! `LIMIT_SHARE` of Franka's speed and acceleration limits, leaving room for the servos'
//! tracking error. The action of step k is the timed path's configuration at (k + 1)·dt.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::description::ArmDescription;
use super::limits::JointLimits;
use super::path_planning::PathSearch;
use super::reach::{ReachEpisode, TABLE_TOP_Z};
use super::timing::TimedPath;
use crate::control::Policy;

/// Clearance every planned configuration keeps from obstacles and table, metres.
pub const PLANNING_MARGIN_M: f64 = 0.03;
/// Share of Franka's speed and acceleration limits the expert's timing uses.
pub const LIMIT_SHARE: f64 = 0.5;
/// RRT-Connect rounds before the expert gives up.
const RRT_ROUNDS: usize = 5000;
/// Shortcutting tries.
const SHORTCUT_ROUNDS: usize = 200;

/// The expert of one episode.
pub struct ReachExpert {
    /// The timed path; `None` when no path was found (the expert then holds the start).
    timed: Option<TimedPath>,
    start: Vec<f32>,
    dt_secs: f64,
    step: usize,
}

impl ReachExpert {
    /// Plans `episode` (drawn with seed `seed`, which also seeds the search) for an arm of
    /// `description` and `limits` stepping every `dt_secs`.
    #[must_use]
    pub fn plan(
        description: &ArmDescription,
        limits: &JointLimits,
        episode: &ReachEpisode,
        dt_secs: f64,
        seed: u64,
    ) -> Self {
        let free = |q: &[f64]| description.clearance(q, &episode.obstacles, TABLE_TOP_Z).min() >= PLANNING_MARGIN_M;
        let search = PathSearch { free: &free, lower: &limits.lower_rad, upper: &limits.upper_rad };
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let timed = search
            .rrt_connect(&episode.start, &episode.goal_q, RRT_ROUNDS, &mut rng)
            .map(|path| timed(&search.shortcut(path, SHORTCUT_ROUNDS, &mut rng), limits));
        Self { timed, start: episode.start.iter().map(|q| *q as f32).collect(), dt_secs, step: 0 }
    }

    /// The naive baseline: the straight joint-space path from the start to the goal
    /// configuration, timed the same way, whatever lies on it.
    #[must_use]
    pub fn straight(limits: &JointLimits, episode: &ReachEpisode, dt_secs: f64) -> Self {
        let path = [episode.start.clone(), episode.goal_q.clone()];
        Self {
            timed: Some(timed(&path, limits)),
            start: episode.start.iter().map(|q| *q as f32).collect(),
            dt_secs,
            step: 0,
        }
    }

    /// Whether a path was found.
    #[must_use]
    pub fn has_path(&self) -> bool {
        self.timed.is_some()
    }

    /// Seconds the timed path takes (0 without one).
    #[must_use]
    pub fn duration_secs(&self) -> f64 {
        self.timed.as_ref().map_or(0.0, TimedPath::duration_secs)
    }
}

/// `path` timed at [`LIMIT_SHARE`] of `limits`.
fn timed(path: &[Vec<f64>], limits: &JointLimits) -> TimedPath {
    let share = |limits: &[f64]| limits.iter().map(|l| l * LIMIT_SHARE).collect::<Vec<_>>();
    TimedPath::new(path, &share(&limits.max_speed_rad_per_s), &share(&limits.max_acceleration_rad_per_s2))
}

impl Policy for ReachExpert {
    fn act(&mut self, _observation: &[f32], _goal_state: &[f32]) -> Vec<f32> {
        self.step += 1;
        match &self.timed {
            Some(timed) => timed.sample(self.step as f64 * self.dt_secs).0.into_iter().map(|q| q as f32).collect(),
            None => self.start.clone(),
        }
    }
}
