//! One Maze2D episode under Diffuser's protocol (algorithms.md §1.10), with plans from any
//! source: the planner in this process (`eval`) or the plan service over Zenoh (`robot`).
//!
//! The episode resets the maze with its seed, plans from the start observation to the goal
//! (position, zero velocity) at t = 0 and every `replan_every` steps, and tracks the planned
//! states with Diffuser's controller until the time limit.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sim::Env;
use sim::maze2d::{Maze2d, WaypointExpert, track};

use crate::episode_observer::{EpisodeObserver, distance};

/// What an episode asks its plan source for.
#[derive(Debug, Clone)]
pub struct PlanQuery {
    /// The observation at `step`.
    pub observation: Vec<f32>,
    /// The goal state: goal position, zero velocity.
    pub goal: Vec<f32>,
    /// The sampler's seed ([`plan_seed`]).
    pub seed: u64,
    /// Control step of the episode.
    pub step: u64,
}

/// A plan as the episode uses it.
#[derive(Debug, Clone)]
pub struct PlannedPath {
    /// Planned states, one row per step from the query's step.
    pub states: Vec<Vec<f32>>,
    /// Milliseconds from asking to having the plan.
    pub latency_ms: f64,
    /// Of which in the denoiser, milliseconds.
    pub model_ms: f64,
    /// Denoiser calls spent.
    pub model_calls: usize,
    /// Largest violation of the task's hard constraints by the plan as received (0: satisfies
    /// all); `None` where the task declares none.
    pub constraint_violation: Option<f64>,
    /// The planner found no plan satisfying the constraints: `states` is the current state, to
    /// hold.
    pub infeasible: bool,
}

/// One episode's outcome.
#[derive(Debug, Clone, Default)]
pub struct EpisodeOutcome {
    /// Sum of rewards.
    pub episode_return: f64,
    /// The goal was reached at least once.
    pub reached: bool,
    /// Latency of each plan, milliseconds.
    pub plan_ms: Vec<f64>,
    /// Model calls of each plan.
    pub model_calls: Vec<usize>,
    /// Largest constraint violation over the episode's plans (`None`: no constraints).
    pub plan_violation: Option<f64>,
    /// Plans the planner refused as infeasible (the robot held its position instead).
    pub infeasible_plans: usize,
    /// The executed path: per step the action taken (zeros before the first) and the
    /// observation after it, `[action, observation]` rows in the data's units.
    pub path: Vec<Vec<f32>>,
}

impl EpisodeOutcome {
    /// Adds a step's reward.
    pub fn reward(&mut self, reward: f32) {
        self.episode_return += f64::from(reward);
        self.reached |= reward > 0.0;
    }

    /// Adds a plan's constraint violation.
    pub fn plan(&mut self, violation: Option<f64>) {
        if let Some(v) = violation {
            self.plan_violation = Some(self.plan_violation.map_or(v, |worst| worst.max(v)));
        }
    }
}

/// The sampler seed of the plan made at `step` of the episode reset with `episode_seed`.
#[must_use]
pub fn plan_seed(episode_seed: u64, step: u64) -> u64 {
    episode_seed.wrapping_mul(1_000_003).wrapping_add(step)
}

/// Runs an episode, planning with `source` and reporting to `observer`.
pub fn planned_episode(
    env: &mut Maze2d,
    episode_seed: u64,
    replan_every: usize,
    source: &mut dyn FnMut(&PlanQuery) -> anyhow::Result<PlannedPath>,
    observer: &mut dyn EpisodeObserver,
) -> anyhow::Result<EpisodeOutcome> {
    let mut observation = env.reset(episode_seed);
    let goal = env.goal();
    observer.episode_began(episode_seed, &goal, f64::from(env.dt()));
    let mut outcome = EpisodeOutcome::default();
    outcome.path.push([0.0, 0.0].iter().chain(&observation).copied().collect());
    let mut plan: Vec<Vec<f32>> = Vec::new();
    let mut since_plan = 0;
    for t in 0..env.max_episode_steps() {
        if t == 0 || (replan_every > 0 && since_plan == replan_every) {
            let query = PlanQuery {
                observation: observation.clone(),
                goal: env.goal_observation(),
                seed: plan_seed(episode_seed, t as u64),
                step: t as u64,
            };
            let planned = source(&query)?;
            observer.planned(t as u64, &planned);
            outcome.plan_ms.push(planned.latency_ms);
            outcome.model_calls.push(planned.model_calls);
            outcome.plan(planned.constraint_violation);
            outcome.infeasible_plans += usize::from(planned.infeasible);
            plan = planned.states;
            since_plan = 0;
        }
        let action = track(&plan, since_plan, &observation).map(|a| a.clamp(-1.0, 1.0));
        let step = env.step(&action);
        outcome.path.push(action.iter().chain(&step.observation).copied().collect());
        since_plan += 1;
        outcome.reward(step.reward);
        let wanted = plan.get(since_plan).or(plan.last()).map(|s| distance(s, &step.observation, 2));
        observer.stepped(t as u64 + 1, &step.observation, step.reward, wanted);
        observation = step.observation;
    }
    Ok(outcome)
}

/// A baseline that does not plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Baseline {
    /// The scripted waypoint expert, reset every episode.
    Expert,
    /// Uniform random actions in [−1, 1]².
    Random,
}

/// Runs an episode of a baseline policy.
pub fn baseline_episode(env: &mut Maze2d, baseline: Baseline, episode_seed: u64) -> EpisodeOutcome {
    let mut observation = env.reset(episode_seed);
    let mut expert = WaypointExpert::new(env.layout(), episode_seed);
    let mut rng = ChaCha8Rng::seed_from_u64(episode_seed);
    let mut outcome = EpisodeOutcome::default();
    for _ in 0..env.max_episode_steps() {
        let action = match baseline {
            Baseline::Expert => expert.act(&observation, env.goal()).0,
            Baseline::Random => [rng.gen_range(-1.0..=1.0), rng.gen_range(-1.0..=1.0)],
        };
        let step = env.step(&action);
        outcome.reward(step.reward);
        observation = step.observation;
    }
    outcome
}
