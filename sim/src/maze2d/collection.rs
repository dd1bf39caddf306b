//! A Maze2D dataset from the scripted expert, generated the way D4RL's
//! `generate_maze2d_datasets.py` does it.
//!
//! One continuous stream: the environment is reset once; the expert drives to a random goal; when
//! it reaches the goal cell (or the episode's step limit passes) a new random goal is drawn and
//! `timeouts` marks that step, as in D4RL's released files. `rewards` are sparse against the
//! layout's fixed goal on the current observation (D4RL's relabelling). Unlike D4RL's script, the
//! step after a goal switch records the true state (D4RL records the stale one twice).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use super::{GOAL_RADIUS, GoalMode, Layout, Maze2d, WaypointExpert};
use crate::collected::Collected;
use crate::env::Env;

/// Standard deviation of the expert's action noise when `noisy` (D4RL's `--noisy`).
const ACTION_NOISE: f32 = 0.5;

/// Runs the expert on `layout` for `samples` steps from `seed` (start, goals, waypoint jitter and,
/// with `noisy`, N(0, 0.5²) action noise); `on_step` is called after each step (progress).
/// Rewards are 1 within 0.5 m of the layout's fixed goal; actions lie in [−1, 1]².
#[must_use]
pub fn collect(layout: Layout, samples: usize, noisy: bool, seed: u64, on_step: &mut dyn FnMut()) -> Collected {
    let mut env = Maze2d::new(layout, GoalMode::Random);
    let mut observation = env.reset(seed);
    let mut expert = WaypointExpert::new(layout, seed);
    // The same seed on another ChaCha stream: action noise independent of the environment's draws.
    let mut noise = ChaCha8Rng::seed_from_u64(seed);
    noise.set_stream(1);
    let (gi, gj) = layout.goal_cell();
    let fixed_goal = [gi as f32, gj as f32];
    let mut data = Collected {
        observations: Vec::with_capacity(4 * samples),
        actions: Vec::with_capacity(2 * samples),
        goals: Vec::with_capacity(2 * samples),
        rewards: Vec::with_capacity(samples),
        timeouts: Vec::with_capacity(samples),
    };
    let mut steps_to_goal = 0;
    for _ in 0..samples {
        let (mut action, solved) = expert.act(&observation, env.goal());
        if noisy {
            for a in &mut action {
                *a += ACTION_NOISE * noise.sample::<f32, _>(StandardNormal);
            }
        }
        let action = action.map(|a| a.clamp(-1.0, 1.0));
        let done = solved || steps_to_goal >= layout.max_episode_steps();
        let at_fixed_goal = (observation[0] - fixed_goal[0]).hypot(observation[1] - fixed_goal[1]) <= GOAL_RADIUS;
        data.observations.extend_from_slice(&observation);
        data.actions.extend(action);
        data.goals.extend(env.goal());
        data.rewards.push(if at_fixed_goal { 1.0 } else { 0.0 });
        data.timeouts.push(done);
        observation = env.step(&action).observation;
        steps_to_goal += 1;
        if done {
            env.set_random_goal();
            steps_to_goal = 0;
        }
        on_step();
    }
    data
}
