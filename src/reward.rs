//! Derivative-free rewards for Maze2D plans (task TOML `planner.reward`): a collision check
//! against the maze's walls, and a rollout that tracks the plan in the Rapier maze.

use planner::guidance::Reward;
use serde::Deserialize;
use sim::Env;
use sim::maze2d::{BALL_RADIUS, GOAL_RADIUS, GoalMode, Layout, Maze2d, WALL_HALF_SIDE, WALL_OFFSET, track};

/// Which reward ranks candidates (best-of-N) and drives soft decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum RewardKind {
    /// Minus the number of planned states whose ball overlaps a wall.
    Collision,
    /// Track the plan in Rapier for H steps from its first state; the number of steps within
    /// 0.5 of its last state (the goal), as Maze2D's reward counts them.
    Rollout,
}

impl RewardKind {
    /// The reward for plans in `layout`.
    #[must_use]
    pub fn build(self, layout: Layout) -> Box<dyn Reward> {
        match self {
            Self::Collision => Box::new(WallCollisions { layout }),
            Self::Rollout => Box::new(Rollout { layout }),
        }
    }
}

/// Minus the number of states (x, y, …) whose ball of radius [`BALL_RADIUS`] overlaps a wall box.
struct WallCollisions {
    layout: Layout,
}

impl WallCollisions {
    /// Whether a ball at (x, y) overlaps a wall box of its own or a neighbouring cell.
    fn collides(&self, x: f32, y: f32) -> bool {
        let (i, j) = ((x - WALL_OFFSET).round() as i64, (y - WALL_OFFSET).round() as i64);
        (i - 1..=i + 1).any(|ci| {
            (j - 1..=j + 1).any(|cj| {
                if !self.layout.is_wall((ci, cj)) {
                    return false;
                }
                let (cx, cy) = (ci as f32 + WALL_OFFSET, cj as f32 + WALL_OFFSET);
                let dx = ((x - cx).abs() - WALL_HALF_SIDE).max(0.0);
                let dy = ((y - cy).abs() - WALL_HALF_SIDE).max(0.0);
                dx * dx + dy * dy < BALL_RADIUS * BALL_RADIUS
            })
        })
    }
}

impl Reward for WallCollisions {
    fn reward(&self, states: &[Vec<f32>], _actions: &[Vec<f32>]) -> f64 {
        -(states.iter().filter(|s| self.collides(s[0], s[1])).count() as f64)
    }

    fn name(&self) -> String {
        "collision".into()
    }
}

/// Steps within [`GOAL_RADIUS`] of the plan's last position while Diffuser's controller tracks
/// the plan in a fresh Rapier maze.
struct Rollout {
    layout: Layout,
}

impl Reward for Rollout {
    fn reward(&self, states: &[Vec<f32>], _actions: &[Vec<f32>]) -> f64 {
        let (Some(first), Some(last)) = (states.first(), states.last()) else { return 0.0 };
        let mut env = Maze2d::new(self.layout, GoalMode::Fixed);
        env.reset(0);
        env.set_state([first[0], first[1]], [first[2], first[3]]);
        let mut observation = env.observation();
        let mut reached = 0;
        for t in 0..states.len() {
            observation = env.step(&track(states, t, &observation)).observation;
            let (dx, dy) = (observation[0] - last[0], observation[1] - last[1]);
            reached += usize::from((dx * dx + dy * dy).sqrt() <= GOAL_RADIUS);
        }
        reached as f64
    }

    fn name(&self) -> String {
        "rollout".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_collision_check_matches_the_wall_boxes() {
        // Reference: U-maze cell (0, 0) is a wall, its box spans [−0.7, 0.3]² in observation
        // coordinates; cell (1, 1) is open.
        let check = WallCollisions { layout: Layout::Umaze };
        assert!(check.collides(0.35, 1.0), "0.05 from the wall's face");
        assert!(!check.collides(0.45, 1.0), "0.15 from the wall's face");
        assert!(!check.collides(1.0, 1.0), "the open cell's centre");
        let states = vec![vec![0.35, 1.0, 0.0, 0.0], vec![1.0, 1.0, 0.0, 0.0]];
        assert!((check.reward(&states, &[]) + 1.0).abs() < f64::EPSILON);
    }

    #[test]
    fn a_rollout_of_a_plan_that_stays_at_the_goal_counts_every_step() {
        // Reference: Maze2D's reward, 1 per step within 0.5 of the goal.
        let states = vec![vec![1.0, 1.0, 0.0, 0.0]; 10];
        assert!((Rollout { layout: Layout::Umaze }.reward(&states, &[]) - 10.0).abs() < f64::EPSILON);
    }
}
