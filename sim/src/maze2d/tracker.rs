//! Diffuser's Maze2D controller (`scripts/plan_maze2d.py`; docs/ALGORITHMS.md §1.10): it tracks the
//! planned *states*, not the planned actions.
//!
//! At step t of a plan the waypoint is the planned state t + 1 (past the plan's end: its last
//! state with zero velocity), and action = (waypoint position − position) + (waypoint velocity −
//! velocity); the environment clips it to [−1, 1].

use crate::control::Tracker;

/// Diffuser's controller as a [`Tracker`]: [`track`], clipped to the action bounds [−1, 1].
#[derive(Debug, Clone, Copy, Default)]
pub struct DiffuserTracker;

impl Tracker for DiffuserTracker {
    fn action(&mut self, plan: &[Vec<f32>], index: usize, observation: &[f32]) -> Vec<f32> {
        track(plan, index, observation).map(|a| a.clamp(-1.0, 1.0)).to_vec()
    }
}

/// The action that tracks `plan` (rows of (x, y, vx, vy)) at its step `t` from `observation`.
#[must_use]
pub fn track(plan: &[Vec<f32>], t: usize, observation: &[f32]) -> [f32; 2] {
    let waypoint = if let Some(state) = plan.get(t + 1) {
        [state[0], state[1], state[2], state[3]]
    } else {
        let last = plan.last().map_or([observation[0], observation[1]], |s| [s[0], s[1]]);
        [last[0], last[1], 0.0, 0.0]
    };
    [
        (waypoint[0] - observation[0]) + (waypoint[2] - observation[2]),
        (waypoint[1] - observation[1]) + (waypoint[3] - observation[3]),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_the_next_state_then_holds_the_last_position() {
        // Reference: plan_maze2d.py, action = next_waypoint[:2] − state[:2] + (next_waypoint[2:] − state[2:]).
        let plan = vec![vec![0.0, 0.0, 0.0, 0.0], vec![1.0, 2.0, 0.5, -0.5], vec![3.0, 3.0, 1.0, 1.0]];
        let state = [0.5, 1.0, 0.25, 0.0];
        let close = |a: [f32; 2], b: [f32; 2]| (a[0] - b[0]).abs() < 1e-6 && (a[1] - b[1]).abs() < 1e-6;
        assert!(close(track(&plan, 0, &state), [0.5 + 0.25, 1.0 - 0.5]));
        // Past the end: the last planned position with zero velocity.
        assert!(close(track(&plan, 2, &state), [2.5 - 0.25, 2.0 - 0.0]));
    }
}
