//! Task configs (configs/tasks/*.toml): the environment, the planner and the evaluation protocol.
//! `eval`, `serve`, `robot` and `launch` all read them, so a task means the same everywhere.

use std::path::{Path, PathBuf};

use planner::constraints::ConstraintConfig;
use planner::guidance::{GuidanceConfig, SoftDecodingConfig};
use planner::sampler::SamplerConfig;
use serde::Deserialize;
use sim::maze2d::{GoalMode, Layout, Maze2d};

use crate::picard_window::TaskPicard;
use crate::reward::RewardKind;

/// A task config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskConfig {
    /// The environment.
    pub env: EnvConfig,
    /// The planner and how it is driven.
    pub planner: PlannerConfig,
    /// The evaluation protocol.
    #[serde(default)]
    pub eval: EvalConfig,
}

/// Which maze and which goals.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvConfig {
    /// Maze layout.
    #[serde(deserialize_with = "layout")]
    pub layout: Layout,
    /// Goal of each episode.
    pub goals: Goals,
}

/// Goal of each episode.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Goals {
    /// D4RL's maze2d-*-v1 goal cell.
    Fixed,
    /// A random open cell per episode (Diffuser's Multi2D).
    Random,
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
    /// Streaming to a real-time robot: also replan when its observation is farther than this
    /// (Euclidean, observation units) from the plan's state for that step. Absent: never.
    #[serde(default)]
    pub replan_deviation: Option<f32>,
    /// Sampler, steps, clipping.
    pub sampler: SamplerConfig,
    /// Sample by Picard iterations (the window may be `auto`).
    #[serde(default)]
    pub picard: Option<TaskPicard>,
    /// Start each replan's Picard iteration from the previous plan's iterates.
    #[serde(default)]
    pub warm_start: bool,
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

impl Default for EvalConfig {
    fn default() -> Self {
        Self { episodes: 100, seed: 0 }
    }
}

fn layout<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Layout, D::Error> {
    let name = String::deserialize(deserializer)?;
    crate::collect::parse_layout(&name).map_err(serde::de::Error::custom)
}

impl TaskConfig {
    /// Reads a task config.
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let task: Self = crate::config_file::read_toml(path, "task config")?;
        let layout = task.env.layout;
        let covered = task.obstacle_cells();
        anyhow::ensure!(
            covered.len() < layout.open_cells().len(),
            "{}: the obstacles of [planner.constraints] cover every open cell of the {} maze; \
             no episode could start outside them. Shrink or move them.",
            path.display(),
            layout.name()
        );
        anyhow::ensure!(
            !(matches!(task.env.goals, Goals::Fixed) && covered.contains(&layout.goal_cell())),
            "{}: an obstacle of [planner.constraints] covers the goal cell {:?} of the {} maze, so no \
             plan could reach it. Move the obstacle, or use goals = \"random\".",
            path.display(),
            layout.goal_cell(),
            layout.name()
        );
        Ok(task)
    }

    /// The open cells the task's obstacles cover, where no episode starts.
    #[must_use]
    pub fn obstacle_cells(&self) -> Vec<(i64, i64)> {
        crate::obstacle_cells::covered_cells(self.env.layout, self.planner.constraints.as_ref())
    }

    /// A fresh environment of this task.
    #[must_use]
    pub fn make_env(&self) -> Maze2d {
        let goal_mode = match self.env.goals {
            Goals::Fixed => GoalMode::Fixed,
            Goals::Random => GoalMode::Random,
        };
        Maze2d::new(self.env.layout, goal_mode).without_cells(&self.obstacle_cells())
    }

    /// The task's name in tables, e.g. `maze2d-umaze (fixed goal)`.
    #[must_use]
    pub fn label(&self) -> String {
        let goals = match self.env.goals {
            Goals::Fixed => "fixed goal",
            Goals::Random => "random goals",
        };
        format!("maze2d-{} ({goals})", self.env.layout.name())
    }

    /// The sampler as a table shows it, e.g. `dpm_solver_pp × 20, replan every 10`.
    #[must_use]
    pub fn sampler_label(&self) -> String {
        let planner = &self.planner;
        let picard = planner.picard.as_ref().map_or(String::new(), |p| {
            format!(", Picard p={} τ={}{}", p.window, p.tolerance, if planner.warm_start { " warm" } else { "" })
        });
        let replan = match planner.replan_every {
            0 => String::new(),
            k => format!(", replan every {k}"),
        };
        let steps = planner.sampler.steps.map_or("default".into(), |k| k.to_string());
        let mut steering = Vec::new();
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
        let steering = if steering.is_empty() { String::new() } else { format!(", {}", steering.join(", ")) };
        format!("{} × {steps}{picard}{replan}{steering}", planner.sampler.kind.name())
    }
}
