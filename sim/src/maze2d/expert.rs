//! D4RL's scripted Maze2D expert (`d4rl/pointmaze/waypoint_controller.py`): a shortest path over
//! the maze's cells to the goal cell, followed by a PD controller.
//!
//! The path is planned whenever the goal moves to another cell: greedy moves down a breadth-first
//! distance map (what D4RL's Q-iteration with discount 0.99 computes), ties broken in D4RL's action
//! order (−y, +y, −x, +x). Intermediate waypoints are jittered by −U(0, 0.2) per axis, the last
//! one is the goal cell itself. Action = clip(10·(waypoint − position) − velocity, ±1); a waypoint
//! counts as reached within 0.1 m, the goal cell within 0.1 m.

use std::collections::VecDeque;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::Layout;
use crate::control::Policy;

/// Proportional gain on the waypoint error.
const P_GAIN: f32 = 10.0;
/// Gain on the velocity.
const D_GAIN: f32 = -1.0;
/// Distance within which a waypoint (or the goal cell) counts as reached, metres.
const REACHED: f32 = 0.1;
/// Largest jitter of an intermediate waypoint towards −x and −y, metres.
const WAYPOINT_JITTER: f32 = 0.2;
/// Moves between cells in D4RL's action order.
const MOVES: [(i64, i64); 4] = [(0, -1), (0, 1), (-1, 0), (1, 0)];

/// The waypoint-following expert of one maze.
#[derive(Debug, Clone)]
pub struct WaypointExpert {
    layout: Layout,
    rng: ChaCha8Rng,
    target_cell: Option<(i64, i64)>,
    waypoints: Vec<[f32; 2]>,
    next: usize,
}

impl WaypointExpert {
    /// An expert for `layout` whose waypoint jitter is drawn from `seed`.
    #[must_use]
    pub fn new(layout: Layout, seed: u64) -> Self {
        Self { layout, rng: ChaCha8Rng::seed_from_u64(seed), target_cell: None, waypoints: Vec::new(), next: 0 }
    }

    /// The action towards `goal` from `observation` (x, y, vx, vy), and whether the goal cell
    /// is reached.
    pub fn act(&mut self, observation: &[f32], goal: [f32; 2]) -> ([f32; 2], bool) {
        let position = [observation[0], observation[1]];
        let goal_cell = cell_of(goal);
        if self.target_cell != Some(goal_cell) {
            self.plan(cell_of(position), goal_cell);
        }
        let target = [goal_cell.0 as f32, goal_cell.1 as f32];
        let solved = distance(position, target) < REACHED;
        let waypoint = if solved { target } else { self.waypoints[self.next] };
        if !solved && distance(position, waypoint) < REACHED && self.next + 1 < self.waypoints.len() {
            self.next += 1;
        }
        let action = [
            (P_GAIN * (waypoint[0] - position[0]) + D_GAIN * observation[2]).clamp(-1.0, 1.0),
            (P_GAIN * (waypoint[1] - position[1]) + D_GAIN * observation[3]).clamp(-1.0, 1.0),
        ];
        (action, solved)
    }

    /// The cells of the shortest path from `start` to `goal`, `start` excluded (`[goal]` when
    /// they coincide).
    #[must_use]
    pub fn path(&self, start: (i64, i64), goal: (i64, i64)) -> Vec<(i64, i64)> {
        let distances = self.distances_to(goal);
        let mut path = Vec::new();
        let mut cell = start;
        while cell != goal && path.len() < distances.len() {
            let Some(step) = MOVES
                .iter()
                .map(|(di, dj)| (cell.0 + di, cell.1 + dj))
                .filter(|next| distances.contains_key(next))
                .min_by_key(|next| distances[next])
            else {
                break;
            };
            if distances[&step] >= distances.get(&cell).copied().unwrap_or(usize::MAX) {
                break;
            }
            path.push(step);
            cell = step;
        }
        if path.is_empty() {
            path.push(goal);
        }
        path
    }

    fn plan(&mut self, start: (i64, i64), goal: (i64, i64)) {
        let path = self.path(start, goal);
        let last = path.len() - 1;
        self.waypoints = path
            .iter()
            .enumerate()
            .map(|(k, &(i, j))| {
                let (x, y) = (i as f32, j as f32);
                if k == last {
                    [x, y]
                } else {
                    [x - self.rng.gen_range(0.0..WAYPOINT_JITTER), y - self.rng.gen_range(0.0..WAYPOINT_JITTER)]
                }
            })
            .collect();
        self.next = 0;
        self.target_cell = Some(goal);
    }

    /// Breadth-first step counts to `goal` over open cells.
    fn distances_to(&self, goal: (i64, i64)) -> std::collections::HashMap<(i64, i64), usize> {
        let mut distances = std::collections::HashMap::from([(goal, 0usize)]);
        let mut queue = VecDeque::from([goal]);
        while let Some(cell) = queue.pop_front() {
            for (di, dj) in MOVES {
                let next = (cell.0 + di, cell.1 + dj);
                if !self.layout.is_wall(next) && !distances.contains_key(&next) {
                    distances.insert(next, distances[&cell] + 1);
                    queue.push_back(next);
                }
            }
        }
        distances
    }
}

/// The cell a position lies in (D4RL's `gridify`: rounded coordinates).
fn cell_of(position: [f32; 2]) -> (i64, i64) {
    (position[0].round() as i64, position[1].round() as i64)
}

fn distance(a: [f32; 2], b: [f32; 2]) -> f32 {
    (a[0] - b[0]).hypot(a[1] - b[1])
}

/// The expert as a baseline policy: towards the goal state's position.
impl Policy for WaypointExpert {
    fn act(&mut self, observation: &[f32], goal_state: &[f32]) -> Vec<f32> {
        WaypointExpert::act(self, observation, [goal_state[0], goal_state[1]]).0.to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn umaze_path_goes_around_the_wall() {
        // The U-maze: from (3, 1) the only way to the goal (1, 1) is via column 3.
        let expert = WaypointExpert::new(Layout::Umaze, 0);
        assert_eq!(expert.path((3, 1), (1, 1)), vec![(3, 2), (3, 3), (2, 3), (1, 3), (1, 2), (1, 1)]);
        assert_eq!(expert.path((1, 1), (1, 1)), vec![(1, 1)]);
    }
}
