//! One episode under Diffuser's protocol (docs/ALGORITHMS.md §1.10), with plans from any
//! [`PlanSource`]: the planner in this process (`eval`) or the plan service over Zenoh (`robot`).
//!
//! The episode resets the environment with its seed, plans from the start observation to the
//! goal state at step 0 and every `replan_every` steps, and tracks the planned states with the
//! task's tracker (`[control] tracker`) until the time limit.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{EpisodeObserver, EpisodeOutcome, PlanQuery, PlanSource, distance, plan_seed};
use crate::task::{Task, TaskFile};

/// Runs the episode of `file`'s task reset with `episode_seed`, planning with `source` and
/// reporting to `observer`.
pub fn planned_episode(
    file: &TaskFile,
    episode_seed: u64,
    source: &mut dyn PlanSource,
    observer: &mut dyn EpisodeObserver,
) -> anyhow::Result<EpisodeOutcome> {
    let task = file.task.as_ref();
    let replan_every = file.config.planner.replan_every;
    let mut env = task.make_env();
    let mut tracker = task.tracker(&file.config.control);
    let mut observation = env.reset(episode_seed);
    let goal = env.goal_state();
    observer.episode_began(episode_seed, &goal, f64::from(env.dt()));
    let mut outcome = EpisodeOutcome::default();
    outcome.path.push(std::iter::repeat_n(0.0, env.action_dim()).chain(observation.iter().copied()).collect());
    let mut plan: Vec<Vec<f32>> = Vec::new();
    let mut since_plan = 0;
    for step in 0..env.max_episode_steps() as u64 {
        if step == 0 || (replan_every > 0 && since_plan == replan_every) {
            let query = PlanQuery {
                episode: episode_seed,
                observation: observation.clone(),
                goal: goal.clone(),
                seed: plan_seed(episode_seed, step),
                step,
            };
            let planned = source.plan(&query)?;
            observer.planned(step, &planned);
            outcome.plan(&planned);
            plan = planned.states;
            since_plan = 0;
        }
        let action = tracker.action(&plan, since_plan, &observation);
        let result = env.step(&action);
        outcome.path.push(action.iter().chain(&result.observation).copied().collect());
        since_plan += 1;
        outcome.step(&result);
        let wanted = plan.get(since_plan).or(plan.last());
        let error = wanted.map(|s| distance(task.position(s), task.position(&result.observation)));
        observer.stepped(step + 1, &result.observation, result.reward, error);
        observation = result.observation;
    }
    outcome.interventions = tracker.interventions();
    Ok(outcome)
}

/// A baseline that does not plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Baseline {
    /// The task's scripted expert, reset every episode.
    Expert,
    /// Uniform random actions in [−1, 1] per dimension.
    Random,
}

/// Runs the episode reset with `episode_seed` with a baseline policy.
#[must_use]
pub fn baseline_episode(task: &dyn Task, baseline: Baseline, episode_seed: u64) -> EpisodeOutcome {
    let mut env = task.make_env();
    let mut observation = env.reset(episode_seed);
    let mut expert = task.expert(episode_seed);
    let mut rng = ChaCha8Rng::seed_from_u64(episode_seed);
    let mut outcome = EpisodeOutcome::default();
    for _ in 0..env.max_episode_steps() {
        let action: Vec<f32> = match baseline {
            Baseline::Expert => expert.act(&observation, &env.goal_state()),
            Baseline::Random => (0..env.action_dim()).map(|_| rng.gen_range(-1.0..=1.0)).collect(),
        };
        let result = env.step(&action);
        outcome.step(&result);
        observation = result.observation;
    }
    outcome
}
