//! Episodes on the robot side: Diffuser's protocol ([`lockstep`]) with plans from any
//! [`PlanSource`] (the planner in this process, a worker of the plan service, a robot's link),
//! reported to an [`EpisodeObserver`] and summed up in tables ([`report`]). The real-time loop
//! speaks the robot's link, so it lives with the robot node (`crate::nodes::realtime`).

pub mod lockstep;
pub mod observer;
pub mod replan;
pub mod report;
pub mod results;

use bridge::message::ToolPointGoal;
pub use observer::{EpisodeObserver, Level};
use planner::workspace::WorkspaceObstacle;

/// What an episode asks its plan source for.
#[derive(Debug, Clone)]
pub struct PlanQuery {
    /// The episode's seed (its id on the wire).
    pub episode: u64,
    /// The observation at `step`.
    pub observation: Vec<f32>,
    /// The goal state (see `sim::Env::goal_state`).
    pub goal: Vec<f32>,
    /// The goal as where an arm's tool point must go, of which `goal` is the task's solution
    /// ([`crate::task::Task::goal_for_tool_point`]); sent in its place over the wire.
    pub goal_tool_point: Option<ToolPointGoal>,
    /// The plan's row at which to reach the goal and hold it (`None`: its last row); see
    /// [`replan::Replanning::arrival`].
    pub arrival: Option<usize>,
    /// The sampler's seed ([`plan_seed`]).
    pub seed: u64,
    /// Control step of the episode.
    pub step: u64,
    /// What the arm keeps clear of in this episode ([`crate::task::Task::obstacles`]).
    pub obstacles: Vec<WorkspaceObstacle>,
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

impl PlannedPath {
    /// The plan that holds `observation`: what the robot executes when the planner refused.
    #[must_use]
    pub fn hold(observation: &[f32]) -> Self {
        Self {
            states: vec![observation.to_vec()],
            latency_ms: 0.0,
            model_ms: 0.0,
            model_calls: 0,
            constraint_violation: None,
            infeasible: true,
        }
    }
}

/// Where an episode's plans come from.
pub trait PlanSource {
    /// The plan for `query`.
    fn plan(&mut self, query: &PlanQuery) -> anyhow::Result<PlannedPath>;
}

/// One episode's outcome.
#[derive(Debug, Clone, Default)]
pub struct EpisodeOutcome {
    /// Sum of rewards.
    pub episode_return: f64,
    /// The goal was reached at least once.
    pub reached: bool,
    /// Control steps played.
    pub steps: usize,
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
    /// What the tracker's safety filter did to the actions.
    pub interventions: sim::Interventions,
    /// The replans and what asked for them.
    pub triggers: replan::Triggers,
    /// At each switch to a new plan, the largest change of the commanded action from the step
    /// before ([`crate::task::Task::seam_jump`]: action units; the Panda's, its angles in rad).
    pub seam_jumps: Vec<f32>,
    /// Steps whose executed motion touched an obstacle or broke a joint limit, where the
    /// environment checks it (`sim::Step::violated`).
    pub violating_steps: Option<usize>,
}

impl EpisodeOutcome {
    /// Adds a step's outcome.
    pub fn step(&mut self, step: &sim::Step) {
        self.episode_return += f64::from(step.reward);
        self.reached |= step.at_goal;
        self.steps += 1;
        if let Some(violated) = step.violated {
            *self.violating_steps.get_or_insert(0) += usize::from(violated);
        }
    }

    /// Adds a seam's jump (see [`crate::task::Task::seam_jump`]).
    pub fn seam(&mut self, jump: f32) {
        self.seam_jumps.push(jump);
    }

    /// Adds a plan: its latency, model calls, constraint violation and whether it was refused.
    pub fn plan(&mut self, plan: &PlannedPath) {
        self.plan_ms.push(plan.latency_ms);
        self.model_calls.push(plan.model_calls);
        if let Some(v) = plan.constraint_violation {
            self.plan_violation = Some(self.plan_violation.map_or(v, |worst| worst.max(v)));
        }
        self.infeasible_plans += usize::from(plan.infeasible);
    }
}

/// The sampler seed of the plan made at `step` of the episode reset with `episode_seed`.
#[must_use]
pub fn plan_seed(episode_seed: u64, step: u64) -> u64 {
    episode_seed.wrapping_mul(1_000_003).wrapping_add(step)
}

/// The distance between two points, metres.
#[must_use]
pub fn distance(a: [f32; 3], b: [f32; 3]) -> f32 {
    a.iter().zip(&b).map(|(x, y)| (x - y).powi(2)).sum::<f32>().sqrt()
}
