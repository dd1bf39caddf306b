//! A plan's rollout: Diffuser's controller tracks the planned states in a fresh Rapier maze,
//! which scores a plan by what the robot would actually do with it.

use super::{GOAL_RADIUS, GoalMode, Layout, Maze2d, track};
use crate::env::Env;

/// Steps within [`GOAL_RADIUS`] of the plan's last position while [`track`] follows `states`
/// (rows of (x, y, vx, vy)) for as many steps as the plan has, from its first state; as Maze2D's
/// reward counts them. 0 for an empty plan.
#[must_use]
pub fn steps_near_end(layout: Layout, states: &[Vec<f32>]) -> usize {
    let (Some(first), Some(last)) = (states.first(), states.last()) else { return 0 };
    let mut env = Maze2d::new(layout, GoalMode::Fixed);
    env.reset(0);
    env.set_state([first[0], first[1]], [first[2], first[3]]);
    let mut observation = env.observation();
    let mut reached = 0;
    for t in 0..states.len() {
        observation = env.step(&track(states, t, &observation)).observation;
        let (dx, dy) = (observation[0] - last[0], observation[1] - last[1]);
        reached += usize::from((dx * dx + dy * dy).sqrt() <= GOAL_RADIUS);
    }
    reached
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_that_stays_at_its_end_counts_every_step() {
        // Reference: Maze2D's reward, 1 per step within 0.5 of the goal.
        let states = vec![vec![1.0, 1.0, 0.0, 0.0]; 10];
        assert_eq!(steps_near_end(Layout::Umaze, &states), 10);
        assert_eq!(steps_near_end(Layout::Umaze, &[]), 0);
    }
}
