//! Robot tasks as plug-ins. A task file (configs/tasks/*.toml) names a task kind and its
//! environment, the planner and the evaluation protocol; [`TaskFile::read`] parses it, validates
//! every section, then builds the kind's [`Task`]. Everything that differs between robot tasks
//! sits behind that one trait: the episode loops, the nodes, the commands and the telemetry talk
//! only to it.
//!
//! Adding a task (ARCHITECTURE.md, "Tasks are plug-ins", lists the files): its simulator in
//! `sim/src/<task>/`, one file here implementing [`Task`], and a variant of [`TaskKind`] with its
//! arm in [`TaskKind::build`].

mod config;
mod dataset;
mod limits;
mod maze2d;
mod panda_arm;
mod panda_pick_place;
mod panda_reach;
pub mod picard;
mod solved_tool_goal;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use bridge::message::{Component, ToolPointGoal};
use planner::constraints::{ConstraintConfig, TrajectoryLayout};
use planner::guidance::Reward;
use planner::train::d4rl::D4rlDataset;
use planner::workspace::{ArmBody, WorkspaceObstacle};
use serde::Deserialize;
use sim::{Env, Policy, SceneShape, Tracker};

pub use config::{ControlConfig, PlannerConfig, TaskConfig};
pub use limits::{Bound, JOINT_RANGE, RobotLimits};
pub use solved_tool_goal::SolvedToolGoal;

/// What a robot task supplies to the application. Maze2D ([`maze2d::Maze2dTask`]) is the first.
pub trait Task: Send + Sync {
    /// The task's name in tables, e.g. `maze2d-umaze (fixed goal)`.
    fn label(&self) -> String;
    /// The task's id on the wire (letters, digits, `_`, `-`), e.g. `maze2d-umaze`: it names the
    /// robot, its world and its observation, so that a plan of one task's planner is one its
    /// robots can execute; planner settings (goals, constraints, samplers) do not change it.
    fn id(&self) -> String;
    /// The observation's components and the action's, in order, with their units and bounds.
    fn components(&self) -> (Vec<Component>, Vec<Component>);
    /// How a request's goal is filled, e.g. `(x, y, 0, 0): arrive at the goal at rest`.
    fn goal_note(&self) -> String;
    /// The goal every episode has (an observation), if the task's goal is fixed.
    fn fixed_goal(&self) -> Option<Vec<f32>>;
    /// The robot's own limits, which it checks every plan against before executing it.
    fn limits(&self) -> RobotLimits;
    /// Widths of an action and of an observation (a plan's row is `[action, observation]`).
    fn dims(&self) -> (usize, usize);
    /// Seconds of simulated time per control step.
    fn dt_secs(&self) -> f64;
    /// A fresh environment; its resets avoid what the task's constraints exclude.
    fn make_env(&self) -> Box<dyn Env>;
    /// The controller that executes plans on the robot, as `control` asks.
    fn tracker(&self, control: &ControlConfig) -> Box<dyn Tracker>;
    /// The scripted expert of the episode reset with `seed`.
    fn expert(&self, seed: u64) -> Box<dyn Policy>;
    /// The arm as the planner sees it (its chain, its volume, its table), if the robot is an
    /// arm: for the planner's differentiable kinematics and clearance.
    fn arm_body(&self) -> Option<ArmBody> {
        None
    }
    /// What the robot must keep clear of in the episode reset with `seed`, beyond what the
    /// task's constraints fix (the Panda: the episode's balls and boxes). Every plan request of
    /// the episode carries them.
    fn obstacles(&self, _seed: u64) -> Vec<WorkspaceObstacle> {
        Vec::new()
    }
    /// A naive policy for the episode reset with `seed`, one that ignores what the expert plans
    /// around (the Panda: straight joint-space motion to the goal configuration), if the task
    /// has one: the row that shows the obstacles matter.
    fn naive(&self, _seed: u64) -> Option<Box<dyn Policy>> {
        None
    }
    /// `samples` steps of the scripted expert in D4RL's format (seeded; `noisy`: D4RL's action
    /// noise); `on_step` is called after every step.
    fn collect(&self, samples: usize, noisy: bool, seed: u64, on_step: &mut dyn FnMut()) -> D4rlDataset;
    /// The derivative-free reward `kind` that ranks candidate plans.
    fn reward(&self, kind: RewardKind) -> Box<dyn Reward>;
    /// Where `state` (an observation) puts the robot in the world, metres: what telemetry draws
    /// and what tracking errors measure.
    fn position(&self, state: &[f32]) -> [f32; 3];
    /// The state a position-controlled robot at `observation` was commanded into by its last
    /// action `last` (for the Panda, a trajectory point: its angles and speeds), for replans to
    /// start from instead of the measured state, so that the new plan continues the servos'
    /// targets rather than jumping back by their tracking lag; `None` where replans start from
    /// the measured state (Maze2D, whose actions are forces).
    fn commanded_state(&self, _observation: &[f32], _last: &[f32]) -> Option<Vec<f32>> {
        None
    }
    /// The goal state that puts an arm's tool point where `goal` says, clear of `obstacles`, for
    /// a robot at `observation` (the same goal and obstacles give the same state); refused with
    /// the reason by tasks whose goals are states only, and for a goal out of reach.
    fn goal_for_tool_point(
        &self,
        _observation: &[f32],
        _goal: &ToolPointGoal,
        _obstacles: &[WorkspaceObstacle],
    ) -> anyhow::Result<Vec<f32>> {
        anyhow::bail!("{} plans to goal states, not tool points: send `goal` ({})", self.label(), self.goal_note())
    }
    /// The jump of the commanded action at a plan seam, from `before` (the last action of the
    /// previous plan) to `after` (the first of the new one): by default the largest change of
    /// any component, in action units.
    fn seam_jump(&self, before: &[f32], after: &[f32]) -> f32 {
        largest_change(before, after)
    }
    /// The robot's body at `state` as shapes to draw (the Panda: its link capsules, and the
    /// pick-and-place cube as a box), base frame; none for a robot drawn as a point.
    fn body_shapes(&self, _state: &[f32]) -> Vec<SceneShape> {
        Vec::new()
    }
    /// An episode return as D4RL's normalized score ×100.
    fn normalized_score(&self, episode_return: f64) -> f64;

    /// Why this task cannot execute plans as `control` asks, if it cannot (a tracker or safety
    /// filter it does not have).
    fn check_control(&self, _control: &ControlConfig) -> anyhow::Result<()> {
        Ok(())
    }

    /// The layout of this task's plans of `horizon` rows.
    fn trajectory_layout(&self, horizon: usize) -> TrajectoryLayout {
        let (action_dim, observation_dim) = self.dims();
        TrajectoryLayout { horizon, action_dim, observation_dim, dt: self.dt_secs() }
    }
}

/// The largest change of any component from `before` to `after`: a seam's jump.
#[must_use]
pub fn largest_change(before: &[f32], after: &[f32]) -> f32 {
    before.iter().zip(after).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max)
}

/// The registered task kinds (`kind` in a task file's `[env]`; `maze2d` when absent).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// D4RL's point mass in a maze, on Rapier ([`maze2d`]).
    #[default]
    Maze2d,
    /// A Franka Panda reaching among obstacles, on Rapier ([`panda_reach`]).
    PandaReach,
    /// A Franka Panda carrying a cube to a goal among obstacles, on Rapier ([`panda_pick_place`]).
    PandaPickPlace,
}

impl TaskKind {
    /// The task of this kind for the `[env]` table `env`, with the (validated) constraints that
    /// shape its resets.
    fn build(self, env: toml::Table, constraints: Option<&ConstraintConfig>) -> anyhow::Result<Arc<dyn Task>> {
        Ok(match self {
            Self::Maze2d => Arc::new(maze2d::Maze2dTask::new(toml::Value::Table(env).try_into()?, constraints)?),
            Self::PandaReach => {
                Arc::new(panda_reach::PandaReachTask::new(toml::Value::Table(env).try_into()?, constraints)?)
            }
            Self::PandaPickPlace => {
                Arc::new(panda_pick_place::PandaPickPlaceTask::new(toml::Value::Table(env).try_into()?, constraints)?)
            }
        })
    }
}

/// Which controller executes plans (`[control] tracker`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum TrackerKind {
    /// Diffuser's controller: the next planned state by a PD law without feed-forward (its
    /// published protocol, so published comparisons run as they did).
    #[default]
    Diffuser,
    /// Time-indexed tracking with feed-forward from the planned states (the inverse of the
    /// robot's dynamics), stiffer feedback, and time scaling when the robot lags.
    FeedForward,
}

/// Which derivative-free reward ranks candidates (best-of-N) and drives soft decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum RewardKind {
    /// Minus the number of planned states in collision with the scene.
    Collision,
    /// Track the plan in the simulator for as many steps as it has, from its first state; the
    /// steps spent near its last state (the goal), as the task's reward counts them.
    Rollout,
}

/// A task file, read and validated, with its task built.
#[derive(Clone)]
pub struct TaskFile {
    /// The file it was read from (relative paths in it are resolved by the caller).
    pub path: PathBuf,
    /// Its planner and evaluation sections.
    pub config: TaskConfig,
    /// The task it describes.
    pub task: Arc<dyn Task>,
}

impl TaskFile {
    /// Reads `path`: parse, then validate every section against the task's layout, then build.
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Self::parse(path, &text)
    }

    /// [`TaskFile::read`] on `text`, the contents of `path`.
    pub fn parse(path: &Path, text: &str) -> anyhow::Result<Self> {
        let config: TaskConfig = crate::config_file::parse_toml(path, text, "task config")?;
        let (kind, env) = config.env_table().with_context(|| format!("{}: [env]", path.display()))?;
        let at = |section: &str| format!("{}: {section}", path.display());
        // The layout's horizon is the model's, unknown until it loads; the checks here concern
        // dimensions, names and values, which hold for every horizon.
        let probe = kind.build(env.clone(), None).with_context(|| at("[env]"))?;
        config.validate(&probe.trajectory_layout(2), probe.arm_body().as_ref()).with_context(|| at("[planner]"))?;
        let task = kind.build(env, config.planner.constraints.as_ref()).with_context(|| at("[env]"))?;
        task.check_control(&config.control).with_context(|| at("[control]"))?;
        Ok(Self { path: path.to_owned(), config, task })
    }

    /// The same task with `config` changed (flags override files); the task is not rebuilt, so
    /// only planner and evaluation settings may differ.
    #[must_use]
    pub fn with_config(&self, config: TaskConfig) -> Self {
        Self { path: self.path.clone(), config, task: Arc::clone(&self.task) }
    }
    /// The task's name in tables (see [`Task::label`]).
    #[must_use]
    pub fn label(&self) -> String {
        self.task.label()
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::nodes::launch_file::LaunchFile;

    fn files(dir: &str) -> Vec<PathBuf> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&root)
            .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
            .map(|e| e.expect("entry").path())
            .collect();
        files.sort();
        files
    }

    /// Every shipped file under configs/ and launch/ parses and validates, planner sections
    /// included, without running an episode.
    #[test]
    fn every_shipped_config_and_launch_file_is_valid() {
        let train = files("configs/train");
        assert!(train.len() >= 3, "{train:?}");
        for path in train {
            let config: planner::train::TrainConfig = crate::config_file::read_toml(&path, "training config")
                .unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
            let maze = path.file_name().is_some_and(|name| name.to_string_lossy().starts_with("maze2d"));
            assert!(!maze || config.data.recut_at_goal.is_some(), "{}: Maze2D runs re-cut at the goal", path.display());
            config.validate().unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
        for path in files("configs/requests") {
            let _: planner::PlanRequest = crate::config_file::read_toml(&path, "plan request")
                .unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
        }
        let tasks = files("configs/tasks");
        assert!(tasks.len() >= 10, "{tasks:?}");
        for path in tasks {
            let file = TaskFile::read(&path).unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
            assert!(!file.label().is_empty(), "{}", path.display());
        }
        let launches = files("launch");
        assert!(launches.len() >= 2, "{launches:?}");
        for path in launches {
            let launch = LaunchFile::read(&path).unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
            for config in [&launch.robot.config, &launch.planner.config] {
                TaskFile::read(config)
                    .unwrap_or_else(|e| panic!("{} names {}: {e:#}", path.display(), config.display()));
            }
        }
    }

    /// Parse, then validate, then use: a constraint on a dimension the observation lacks is
    /// refused by its field's full name before anything (the reset exclusions) reads it.
    #[test]
    fn a_constraint_on_a_missing_dimension_is_refused_by_name_not_by_a_panic() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("task.toml");
        std::fs::write(
            &path,
            "[env]\nlayout = \"umaze\"\ngoals = \"fixed\"\n\n[planner]\ncheckpoint = \"models/maze2d-umaze\"\n\n\
             [planner.sampler]\nkind = \"ddim\"\n\n[[planner.constraints.obstacle]]\ndims = [0, 7]\n\
             center = [1.0, 1.0]\nradii = [0.2, 0.2]\n",
        )
        .expect("write");
        let error = format!("{:#}", TaskFile::read(&path).err().expect("refused"));
        assert!(error.contains("planner.constraints.obstacle[0].dims"), "{error}");
        std::fs::write(
            &path,
            "[env]\nkind = \"arm\"\n[planner]\ncheckpoint = \"m\"\n[planner.sampler]\nkind = \"ddim\"\n",
        )
        .expect("write");
        let error = format!("{:#}", TaskFile::read(&path).err().expect("refused"));
        assert!(error.contains("[env]") && error.contains("arm"), "{error}");
    }
}
