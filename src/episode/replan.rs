//! When a robot needs a new plan and where that plan arrives: one policy for the lockstep
//! episode (robot side) and the streaming plan service (planner side, real-time robots).
//!
//! Diffuser's models learned to arrive exactly H − 1 steps after the start. Replanning with the
//! goal pinned at H − 1 every time pushes the arrival out by the steps executed, and the robot
//! never gets there (docs/CLOSED_LOOP.md). With [`Arrival::Kept`] a replan at step t pins the
//! goal at the step the first plan arrived, H − 1 − t steps ahead, and holds it there to the
//! end of the window: the horizon shrinks and the arrival stays put.

use serde::Deserialize;

use super::distance;
use crate::task::{PlannerConfig, Task};

/// The fewest steps ahead a replan's goal is pinned at. Once the first plan's arrival has
/// passed without the robot at the goal, every replan aims this many steps ahead (0.08 s on
/// Maze2D): the arrival recedes only then, and only as slowly as this.
pub const MIN_ARRIVAL_STEPS: u64 = 8;

/// How a replan places the goal (`[planner] arrival`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Arrival {
    /// Every replan arrives when the episode's first plan did (a shrinking horizon), no sooner
    /// than [`MIN_ARRIVAL_STEPS`] ahead.
    #[default]
    Kept,
    /// Every plan pins the goal at its last index H − 1, so the arrival recedes with each
    /// replan (Diffuser's replanning; kept to measure against).
    Receding,
}

/// Why a new plan was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// No plan yet in this episode.
    Start,
    /// The goal changed.
    NewGoal,
    /// `replan_every` steps since the last plan.
    Every,
    /// The robot is farther than `replan_deviation` from every planned position.
    Deviation,
    /// The robot is at the plan's last row, and the plan has nothing more to say; or its last
    /// plan was refused and it holds.
    Expired,
}

/// How many plans each trigger asked for in an episode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Triggers {
    /// [`Trigger::Every`].
    pub every: usize,
    /// [`Trigger::Deviation`].
    pub deviation: usize,
    /// [`Trigger::NewGoal`].
    pub new_goal: usize,
    /// [`Trigger::Expired`].
    pub expired: usize,
}

impl Triggers {
    /// Counts one plan made for `trigger`.
    pub fn count(&mut self, trigger: Trigger) {
        match trigger {
            Trigger::Start => {}
            Trigger::NewGoal => self.new_goal += 1,
            Trigger::Every => self.every += 1,
            Trigger::Deviation => self.deviation += 1,
            Trigger::Expired => self.expired += 1,
        }
    }

    /// Replans of all kinds (the first plan not counted).
    #[must_use]
    pub fn total(&self) -> usize {
        self.every + self.deviation + self.new_goal + self.expired
    }
}

/// The plan a robot is executing, as the replanning policy sees it.
#[derive(Debug, Clone)]
pub struct Executing {
    /// Planned observations, row 0 at `from_step`.
    pub states: Vec<Vec<f32>>,
    /// The control step of row 0.
    pub from_step: u64,
    /// The control step at which the robot should be at the goal (`None`: none set yet, as
    /// when the first plan was refused and the robot holds).
    pub arrival_step: Option<u64>,
    /// The goal it was planned for.
    pub goal: Vec<f32>,
    /// The planner refused the plan: the robot holds where it was.
    pub refused: bool,
}

impl Executing {
    /// The plan `states` made at `from_step` for `goal`, asked to arrive at row `arrival`
    /// (`None`: its last row).
    #[must_use]
    pub fn planned(states: Vec<Vec<f32>>, from_step: u64, arrival: Option<usize>, goal: Vec<f32>) -> Self {
        let arrival = arrival.unwrap_or(states.len().saturating_sub(1));
        Self { states, from_step, arrival_step: Some(from_step + arrival as u64), goal, refused: false }
    }

    /// Holding `observation` from `from_step` because the planner refused: the arrival
    /// `previous` aimed at still stands if it was for the same goal.
    #[must_use]
    pub fn held(observation: &[f32], from_step: u64, previous: Option<&Self>, goal: Vec<f32>) -> Self {
        let arrival_step = previous.filter(|p| p.goal == goal).and_then(|p| p.arrival_step);
        Self { states: vec![observation.to_vec()], from_step, arrival_step, goal, refused: true }
    }

    /// The plan's row for control step `step` (its first before it, its last past its end).
    #[must_use]
    pub fn index(&self, step: u64) -> usize {
        (step.saturating_sub(self.from_step) as usize).min(self.states.len().saturating_sub(1))
    }

    /// Metres from the robot at `observation` to the nearest planned position up to the
    /// arrival.
    #[must_use]
    pub fn deviation(&self, task: &dyn Task, observation: &[f32]) -> f32 {
        let here = task.position(observation);
        let arrival = self.arrival_step.map_or(usize::MAX, |a| a.saturating_sub(self.from_step) as usize);
        self.states[..=arrival.min(self.states.len() - 1)]
            .iter()
            .map(|state| distance(task.position(state), here))
            .fold(f32::INFINITY, f32::min)
    }
}

/// When to replan and where replans arrive: `[planner] replan_every`, `replan_deviation` and
/// `arrival`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Replanning {
    /// Replan every this many steps (0: not on a clock).
    pub every: usize,
    /// Replan when the robot is farther than this from the planned path, metres.
    pub deviation: Option<f32>,
    /// Where replans pin the goal.
    pub arrival: Arrival,
}

impl Replanning {
    /// The task's replanning settings.
    #[must_use]
    pub fn of(planner: &PlannerConfig) -> Self {
        Self { every: planner.replan_every, deviation: planner.replan_deviation, arrival: planner.arrival }
    }

    /// Whether the robot replans at all after its first plan (other than for a new goal):
    /// without, it plans once (Diffuser's protocol).
    #[must_use]
    pub fn closes_the_loop(&self) -> bool {
        self.every > 0 || self.deviation.is_some()
    }

    /// Why the robot needs a new plan at `step`, at `observation`, going to `goal`, while
    /// executing `current`; `None`: it keeps `current`.
    #[must_use]
    pub fn trigger(
        &self,
        task: &dyn Task,
        current: Option<&Executing>,
        step: u64,
        observation: &[f32],
        goal: &[f32],
    ) -> Option<Trigger> {
        let Some(current) = current else { return Some(Trigger::Start) };
        if current.goal != goal {
            return Some(Trigger::NewGoal);
        }
        // A refused plan left the robot holding with nothing more to say: it asks again (with
        // the next step's seed) in every mode, plan-once included.
        if current.refused && step > current.from_step {
            return Some(Trigger::Expired);
        }
        if !self.closes_the_loop() {
            return None;
        }
        let since = step.saturating_sub(current.from_step);
        if self.every > 0 && since >= self.every as u64 {
            return Some(Trigger::Every);
        }
        if self.deviation.is_some_and(|limit| current.deviation(task, observation) > limit) {
            return Some(Trigger::Deviation);
        }
        if since + 1 >= current.states.len() as u64 {
            return Some(Trigger::Expired);
        }
        None
    }

    /// The row at which the plan made at `step` for `trigger` should reach the goal (`None`:
    /// the planner's last row).
    #[must_use]
    pub fn arrival(&self, trigger: Trigger, current: Option<&Executing>, step: u64) -> Option<usize> {
        match (self.arrival, trigger, current.and_then(|c| c.arrival_step)) {
            (Arrival::Kept, Trigger::Every | Trigger::Deviation | Trigger::Expired, Some(arrival_step)) => {
                Some(arrival_step.saturating_sub(step).max(MIN_ARRIVAL_STEPS) as usize)
            }
            _ => None,
        }
    }
}
