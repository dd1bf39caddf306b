//! What a running episode reports as it goes, for telemetry: the libraries' plain data, handed to
//! whoever records it (Rerun, or nobody).

use super::PlannedPath;

/// How much an event matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Normal operation.
    Info,
    /// The robot is not doing what it was asked (holding, a stale plan).
    Warn,
}

/// Receives an episode's events.
pub trait EpisodeObserver {
    /// Episode `seed` began, with `goal` (a state, observation units) and `dt` seconds per step.
    fn episode_began(&mut self, seed: u64, goal: &[f32], dt: f64);
    /// The robot adopted `plan` at step `t`.
    fn planned(&mut self, t: u64, plan: &PlannedPath);
    /// Step `t` was taken: the observation after it, its reward, and the distance (metres)
    /// from where the plan wanted the robot at that step.
    fn stepped(&mut self, t: u64, observation: &[f32], reward: f32, tracking_error: Option<f32>);
    /// A line for the event log.
    fn event(&mut self, level: Level, text: &str);
}

/// `()` records nothing.
impl EpisodeObserver for () {
    fn episode_began(&mut self, _seed: u64, _goal: &[f32], _dt: f64) {}
    fn planned(&mut self, _t: u64, _plan: &PlannedPath) {}
    fn stepped(&mut self, _t: u64, _observation: &[f32], _reward: f32, _tracking_error: Option<f32>) {}
    fn event(&mut self, _level: Level, _text: &str) {}
}
