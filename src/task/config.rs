//! A task file's sections (configs/tasks/*.toml): the environment, the planner and the
//! evaluation protocol. `eval`, `serve`, `robot` and `launch` all read them through
//! [`super::TaskFile`], so a task means the same everywhere.

use std::path::PathBuf;

use planner::constraints::{ConstraintConfig, TrajectoryLayout};
use planner::guidance::{CostContext, GuidanceConfig, SoftDecodingConfig};
use planner::sampler::SamplerConfig;
use planner::workspace::{ArmBody, Workspace};
use serde::Deserialize;

use super::picard::TaskPicard;
use super::{RewardKind, TaskKind, TrackerKind};
use crate::episode::replan::Arrival;

/// A task config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskConfig {
    /// The environment: `kind` (default `maze2d`) and that kind's own keys, checked when the
    /// task is built.
    pub env: toml::Table,
    /// The planner and how it is driven.
    pub planner: PlannerConfig,
    /// How plans are executed.
    #[serde(default)]
    pub control: ControlConfig,
    /// The evaluation protocol.
    #[serde(default)]
    pub eval: EvalConfig,
}

/// `[control]`: how the robot executes plans.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlConfig {
    /// The tracker (default: `diffuser`, Diffuser's protocol).
    #[serde(default)]
    pub tracker: TrackerKind,
    /// Pass every action through the safety filter on the task's obstacles (`sim::safety`):
    /// the executed path keeps out of what the plans keep out of (default: off).
    #[serde(default)]
    pub safety_filter: bool,
}

/// The checkpoint and its sampling.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlannerConfig {
    /// Checkpoint folder (native or TorchScript).
    pub checkpoint: PathBuf,
    /// Replan every this many steps; 0: plan once at t = 0 (Diffuser's protocol).
    #[serde(default)]
    pub replan_every: usize,
    /// Also replan when the robot is farther than this from every position its plan passes
    /// through up to the arrival, metres. Absent: never.
    #[serde(default)]
    pub replan_deviation: Option<f32>,
    /// Streaming to a real-time robot: pin the rows of each replan that the robot will have
    /// executed by the time the plan reaches it (the last plan's latency, in steps) to the plan
    /// it is executing, at the same absolute steps (Real-Time Chunking's frozen prefix), so the
    /// commanded motion does not jump at the seam.
    #[serde(default)]
    pub freeze_prefix: bool,
    /// Where replans pin the goal: `kept` (default; the first plan's arrival time, a shrinking
    /// horizon) or `receding` (always the last row, Diffuser's replanning).
    #[serde(default)]
    pub arrival: Arrival,
    /// Sampler, steps, clipping.
    pub sampler: SamplerConfig,
    /// Sample by Picard iterations (the window may be `auto`).
    #[serde(default)]
    pub picard: Option<TaskPicard>,
    /// Start each replan's Picard iteration from the previous plan's iterates.
    #[serde(default)]
    pub warm_start: bool,
    /// Cheap replans without Picard: each replan starts from the previous plan's executed
    /// candidate, moved along by the steps executed, noised back to the level at which this
    /// share of the sampler's steps remains, and denoised by those steps only (SDEdit), e.g.
    /// 0.25: 5 of 20 model calls. Absent: every replan starts from noise.
    #[serde(default)]
    pub renoise: Option<f32>,
    /// Candidates sampled per plan; with a reward or a value model the best is executed
    /// (best-of-N).
    #[serde(default = "one")]
    pub batch_size: usize,
    /// A value model's checkpoint (same dataset and shapes as `checkpoint`): ranks the
    /// candidates, and guidance or soft decoding may use it.
    #[serde(default)]
    pub value: Option<PathBuf>,
    /// Gradient guidance by the value model and differentiable costs.
    #[serde(default)]
    pub guidance: Option<GuidanceConfig>,
    /// Hard constraints every returned plan satisfies.
    #[serde(default)]
    pub constraints: Option<ConstraintConfig>,
    /// A derivative-free reward that ranks the candidates and drives soft decoding.
    #[serde(default)]
    pub reward: Option<RewardKind>,
    /// An arm's episodes give their goal as where the tool point must go
    /// (`sim::Env::goal_tool_point`), and the goal state is the task's inverse kinematics of it
    /// (`Task::goal_for_tool_point`), as for a request with `goal_tool_point`; a robot sends it
    /// as such. Default false: the episode's own goal state.
    #[serde(default)]
    pub tool_point_goals: bool,
    /// Soft value-based decoding: several noises per step, kept by reward (or value).
    #[serde(default)]
    pub soft_decoding: Option<SoftDecodingConfig>,
}

fn one() -> usize {
    1
}

/// Episodes and seeds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvalConfig {
    /// Number of episodes.
    pub episodes: usize,
    /// Episode e resets the environment with seed `seed + e`.
    pub seed: u64,
}

impl EvalConfig {
    /// The reset seed of episode `e`.
    #[must_use]
    pub fn episode_seed(&self, e: usize) -> u64 {
        self.seed + e as u64
    }
}

impl Default for EvalConfig {
    fn default() -> Self {
        Self { episodes: 100, seed: 0 }
    }
}

impl TaskConfig {
    /// The task kind `[env]` names and the rest of its keys.
    pub fn env_table(&self) -> anyhow::Result<(TaskKind, toml::Table)> {
        let mut env = self.env.clone();
        let kind = match env.remove("kind") {
            Some(kind) => kind.try_into()?,
            None => TaskKind::default(),
        };
        Ok((kind, env))
    }

    /// Checks the planner sections against the task's `layout` (and its `arm`, if the robot is
    /// one) before anything uses them: sampler, soft decoding, guidance costs and constraints,
    /// each error naming its field as `planner.…`.
    pub fn validate(&self, layout: &TrajectoryLayout, arm: Option<&ArmBody>) -> anyhow::Result<()> {
        let planner = &self.planner;
        anyhow::ensure!(planner.batch_size >= 1, "invalid planner.batch_size: 0; sample at least one candidate");
        if let Some(share) = planner.renoise {
            anyhow::ensure!(
                share > 0.0 && share <= 1.0,
                "invalid planner.renoise: {share}; use a share of the sampler's steps in (0, 1]"
            );
            anyhow::ensure!(
                planner.picard.is_none() && planner.soft_decoding.is_none(),
                "planner.renoise runs the sequential sampler; remove planner.picard (it has warm_start) \
                 and planner.soft_decoding"
            );
        }
        let within = |error: planner::Error| error.within("planner");
        planner.sampler.validate().map_err(within)?;
        if let Some(soft) = &planner.soft_decoding {
            soft.validate().map_err(within)?;
        }
        if let Some(guidance) = &planner.guidance {
            // Every episode of a task pins a goal, so goal costs have one.
            let goal = vec![0.0; layout.observation_dim];
            let workspace = arm.map(|body| Workspace { body: body.clone(), obstacles: Vec::new() });
            let context = CostContext {
                action_dim: layout.action_dim,
                observation_dim: layout.observation_dim,
                dt: layout.dt,
                goal: Some(&goal),
                workspace: workspace.as_ref(),
            };
            for (i, cost) in guidance.costs.iter().enumerate() {
                cost.validate(i, &context).map_err(within)?;
            }
        }
        if let Some(constraints) = &planner.constraints {
            constraints.validate(layout).map_err(within)?;
        }
        Ok(())
    }

    /// The sampler as a table shows it, e.g. `dpm_solver_pp × 20, replan every 10`.
    #[must_use]
    pub fn sampler_label(&self) -> String {
        let planner = &self.planner;
        let picard = planner.picard.as_ref().map_or(String::new(), |p| {
            format!(", Picard p={} τ={}{}", p.window, p.tolerance, if planner.warm_start { " warm" } else { "" })
        });
        let mut replanning = Vec::new();
        if planner.replan_every > 0 {
            replanning.push(format!("replan every {}", planner.replan_every));
        }
        if let Some(metres) = planner.replan_deviation {
            replanning.push(format!("replan beyond {metres} m"));
        }
        if !replanning.is_empty() {
            replanning.push(format!("arrival {:?}", planner.arrival).to_lowercase());
        }
        let replan = if replanning.is_empty() { String::new() } else { format!(", {}", replanning.join(", ")) };
        let steps = planner.sampler.steps.map_or("default".into(), |k| k.to_string());
        let mut steering = Vec::new();
        if let Some(share) = planner.renoise {
            steering.push(format!("renoised replans {share}"));
        }
        if planner.batch_size > 1 {
            steering.push(format!("best of {}", planner.batch_size));
        }
        if let Some(reward) = planner.reward {
            steering.push(format!("reward {reward:?}").to_lowercase());
        }
        if let Some(soft) = &planner.soft_decoding {
            steering.push(format!("soft decoding M={}", soft.candidates));
        }
        if let Some(guidance) = &planner.guidance {
            steering.push(format!("guided ×{}", guidance.scale));
        }
        if planner.constraints.is_some() {
            steering.push("constrained".into());
        }
        if self.control.tracker == TrackerKind::FeedForward {
            steering.push("feed-forward tracker".into());
        }
        if self.control.safety_filter {
            steering.push("safety filter".into());
        }
        let steering = if steering.is_empty() { String::new() } else { format!(", {}", steering.join(", ")) };
        format!("{} × {steps}{picard}{replan}{steering}", planner.sampler.kind.name())
    }
}
