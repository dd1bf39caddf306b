//! What a running episode reports as it goes, for telemetry: the libraries' plain data, handed to
//! whoever records it (Rerun, or nobody).

use crate::episode::PlannedPath;

/// Receives an episode's events.
pub trait EpisodeObserver {
    /// Episode `seed` began, with `goal` (observation units) and `dt` seconds per step.
    fn episode_began(&mut self, seed: u64, goal: &[f32], dt: f64);
    /// The robot adopted `plan` at step `t`.
    fn planned(&mut self, t: u64, plan: &PlannedPath);
    /// Step `t` was taken: the observation after it, its reward, and the distance (observation
    /// units) from the state the plan wanted at that step.
    fn stepped(&mut self, t: u64, observation: &[f32], reward: f32, tracking_error: Option<f32>);
    /// A line for the event log: `info`, `warn` or `error`.
    fn event(&mut self, level: &str, text: &str);
}

/// `()` records nothing.
impl EpisodeObserver for () {
    fn episode_began(&mut self, _seed: u64, _goal: &[f32], _dt: f64) {}
    fn planned(&mut self, _t: u64, _plan: &PlannedPath) {}
    fn stepped(&mut self, _t: u64, _observation: &[f32], _reward: f32, _tracking_error: Option<f32>) {}
    fn event(&mut self, _level: &str, _text: &str) {}
}

/// The distance between the first `n` components of `a` and `b`.
#[must_use]
pub fn distance(a: &[f32], b: &[f32], n: usize) -> f32 {
    a.iter().zip(b).take(n).map(|(x, y)| (x - y).powi(2)).sum::<f32>().sqrt()
}
