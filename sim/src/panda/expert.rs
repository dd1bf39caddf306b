//! The arm tasks' scripted expert: plan a collision-free joint-space path for each leg of the
//! task (the reach: start to goal; pick-and-place: start to grasp, grasp to place), time it within
//! a share of Franka's limits, and command it step by step.
//!
//! Each leg's path is RRT-Connect over the configurations its `free` accepts (every one
//! `PLANNING_MARGIN_M` clear of obstacles and table), then shortcut. It is timed rest to rest per
//! segment at `LIMIT_SHARE` of Franka's speed and acceleration limits, leaving room for the
//! servos' tracking error. The action of step k of a leg is its timed path's angles and speeds at
//! (k + 1)·dt. The
//! expert moves on to the next leg when the environment's goal changes (the grasp has been
//! made), and holds the end of its leg until then.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::limits::JointLimits;
use super::path_planning::PathSearch;
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

/// Whether a configuration (joint angles, rad) is allowed.
pub type Free<'a> = &'a dyn Fn(&[f64]) -> bool;

/// One motion of a task, between two configurations at rest (rad).
pub struct Leg<'a> {
    /// Where it starts.
    pub from: &'a [f64],
    /// Where it ends.
    pub to: &'a [f64],
    /// Whether a configuration on the way is allowed.
    pub free: Free<'a>,
}

/// The expert of one episode.
pub struct ArmExpert {
    /// Each leg's timed path; empty when a leg has no path (the expert then holds the start).
    legs: Vec<TimedPath>,
    /// Where the first leg starts, at rest: angles, then zero speeds.
    start: Vec<f32>,
    dt_secs: f64,
    /// The leg being executed, the step it began at, and the step now.
    leg: usize,
    leg_began: usize,
    step: usize,
    /// The goal the current leg serves: a new one moves the expert to the next leg.
    goal: Option<Vec<f32>>,
}

impl ArmExpert {
    /// Plans `legs` for an arm of `limits` stepping every `dt_secs`; `seed` seeds the searches.
    ///
    /// # Panics
    /// If `legs` is empty.
    #[must_use]
    pub fn plan(limits: &JointLimits, legs: &[Leg], dt_secs: f64, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let timed: Option<Vec<TimedPath>> = legs
            .iter()
            .map(|leg| {
                let search = PathSearch { free: leg.free, lower: &limits.lower_rad, upper: &limits.upper_rad };
                search
                    .rrt_connect(leg.from, leg.to, RRT_ROUNDS, &mut rng)
                    .map(|path| timed(&search.shortcut(path, SHORTCUT_ROUNDS, &mut rng), limits))
            })
            .collect();
        Self::of(timed.unwrap_or_default(), legs, dt_secs)
    }

    /// The naive baseline: each leg's straight joint-space path, timed the same way, whatever
    /// lies on it.
    ///
    /// # Panics
    /// If `legs` is empty.
    #[must_use]
    pub fn straight(limits: &JointLimits, legs: &[Leg], dt_secs: f64) -> Self {
        let timed = legs.iter().map(|leg| timed(&[leg.from.to_vec(), leg.to.to_vec()], limits)).collect();
        Self::of(timed, legs, dt_secs)
    }

    fn of(timed: Vec<TimedPath>, legs: &[Leg], dt_secs: f64) -> Self {
        let from = legs.first().expect("a task has a leg").from;
        let start = from.iter().map(|q| *q as f32).chain(std::iter::repeat_n(0.0, from.len())).collect();
        Self { legs: timed, start, dt_secs, leg: 0, leg_began: 0, step: 0, goal: None }
    }

    /// Whether a path was found for every leg.
    #[must_use]
    pub fn has_path(&self) -> bool {
        !self.legs.is_empty()
    }

    /// Seconds the timed paths take together (0 without them).
    #[must_use]
    pub fn duration_secs(&self) -> f64 {
        self.legs.iter().map(TimedPath::duration_secs).sum()
    }
}

/// `path` timed at [`LIMIT_SHARE`] of `limits`.
fn timed(path: &[Vec<f64>], limits: &JointLimits) -> TimedPath {
    let share = |limits: &[f64]| limits.iter().map(|l| l * LIMIT_SHARE).collect::<Vec<_>>();
    TimedPath::new(path, &share(&limits.max_speed_rad_per_s), &share(&limits.max_acceleration_rad_per_s2))
}

impl Policy for ArmExpert {
    fn act(&mut self, _observation: &[f32], goal_state: &[f32]) -> Vec<f32> {
        if self.goal.as_deref().is_some_and(|goal| goal != goal_state) && self.leg + 1 < self.legs.len() {
            self.leg += 1;
            self.leg_began = self.step;
        }
        self.goal = Some(goal_state.to_vec());
        self.step += 1;
        match self.legs.get(self.leg) {
            Some(timed) => {
                let t = (self.step - self.leg_began) as f64 * self.dt_secs;
                let (q, speed) = timed.sample(t);
                q.into_iter().chain(speed).map(|v| v as f32).collect()
            }
            None => self.start.clone(),
        }
    }
}
