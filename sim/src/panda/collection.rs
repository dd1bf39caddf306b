//! An arm task's dataset from its scripted expert: whole episodes back to back, each
//! `max_episode_steps` long (the expert arrives, then rests at the goal), `timeouts` marking each
//! episode's last step.
//!
//! Episode seeds come from the collection seed on their own ChaCha stream, so they are large
//! random numbers that evaluation's seeds (0, 1, 2, …) do not meet. An episode whose expert finds
//! no path is skipped and counted. With `noisy`, the expert's joint angle targets get
//! N(0, 0.02²) rad of noise (its speeds none).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use super::ArmEnv;
use crate::collected::Collected;
use crate::control::Policy;

/// Standard deviation of the target noise when `noisy`, rad.
const TARGET_NOISE_RAD: f32 = 0.02;

/// The recorded stream and what the expert did.
#[derive(Debug, Clone, Default)]
pub struct ArmCollected {
    /// Observations (the environment's), actions (7 joint angle targets, 7 joint speeds), goals (the task's goal
    /// position: x, y, z, metres), rewards (1 at the goal) and `timeouts` (each episode's last
    /// step).
    pub stream: Collected,
    /// Episodes recorded whole or in part.
    pub episodes: usize,
    /// Of those, episodes whose tool point reached the goal.
    pub reached: usize,
    /// Episodes skipped because the expert found no path.
    pub skipped: usize,
    /// Recorded steps in which the executed motion touched an obstacle or the table, or broke a
    /// joint limit (a physics step in contact counts its control step once).
    pub violating_steps: usize,
}

/// Runs `env`'s expert on its episodes for `samples` steps from `seed`; `on_step` is called
/// after each recorded step.
#[must_use]
pub fn collect_arm(
    env: &mut dyn ArmEnv,
    samples: usize,
    noisy: bool,
    seed: u64,
    on_step: &mut dyn FnMut(),
) -> ArmCollected {
    let mut seeds = ChaCha8Rng::seed_from_u64(seed);
    seeds.set_stream(2);
    let mut noise = ChaCha8Rng::seed_from_u64(seed);
    noise.set_stream(1);
    let mut data = ArmCollected::default();
    let max_steps = env.max_episode_steps();
    while data.stream.rewards.len() < samples {
        let episode_seed: u64 = seeds.r#gen();
        let mut observation = env.reset(episode_seed);
        let mut expert = env.expert(episode_seed);
        if !expert.has_path() {
            data.skipped += 1;
            continue;
        }
        let goal_position = env.goal_position().map(|v| v as f32);
        let mut reached = false;
        for step in 0..max_steps {
            let mut action = expert.act(&observation, &env.goal_state());
            if noisy {
                let joints = action.len() / 2;
                for a in &mut action[..joints] {
                    *a += TARGET_NOISE_RAD * noise.sample::<f32, _>(StandardNormal);
                }
            }
            let result = env.step(&action);
            data.violating_steps += usize::from(result.violated == Some(true));
            let stream = &mut data.stream;
            stream.observations.extend_from_slice(&observation);
            stream.actions.extend_from_slice(&action);
            stream.goals.extend_from_slice(&goal_position);
            stream.rewards.push(result.reward);
            let last = step + 1 == max_steps || stream.rewards.len() == samples;
            stream.timeouts.push(last);
            reached |= result.at_goal;
            observation = result.observation;
            on_step();
            if last {
                break;
            }
        }
        data.episodes += 1;
        data.reached += usize::from(reached);
    }
    data
}
