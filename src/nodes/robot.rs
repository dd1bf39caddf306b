//! The robot node: a task's simulator as a robot on Zenoh, behind the same protocol a real robot
//! uses. It publishes its state, executes plans with the task's tracker and returns each
//! episode's outcome.
//!
//! - **lockstep**: the simulation waits for the planner. At step 0 and every `replan_every`
//!   steps it queries the plan service ([`super::sources::LinkSource`]) and steps only once the
//!   plan is in; same seeds, same scores as `eval`.
//! - **realtime**: the simulation runs on the wall clock and executes the newest streamed plan
//!   ([`super::realtime`]).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bridge::message::NodeStatus;
use bridge::{Namespace, RobotLink};
use serde::Deserialize;

use super::realtime::{Pace, realtime_episode};
use super::ros2::{Ros2RobotPort, Ros2Settings};
use super::sources::LinkSource;
use crate::cli::progress;
use crate::episode::lockstep::planned_episode;
use crate::episode::report::print_scores;
use crate::episode::results::EvalResults;
use crate::episode::{EpisodeObserver, EpisodeOutcome};
use crate::task::TaskFile;
use crate::telemetry::{Recorder, Sink};

/// Default robot id.
const DEFAULT_ID: &str = "robot-0";
/// Default real-time watchdog timeout, milliseconds.
const DEFAULT_PLAN_TIMEOUT_MS: u64 = 500;
/// Default simulated seconds per wall-clock second.
const DEFAULT_SPEED: f64 = 1.0;
/// Default lockstep query timeout, milliseconds.
const DEFAULT_QUERY_TIMEOUT_MS: u64 = 30_000;
/// Default wait for a planner of the robot's task, seconds (a planner may load and calibrate for
/// a minute).
const DEFAULT_PLANNER_WAIT_S: u64 = 120;

/// A robot node's settings: the flags of `diffplan robot` and a launch file's `[robot]` table,
/// one type with each default written once.
#[derive(Debug, Clone, clap::Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RobotNodeConfig {
    /// Task config (TOML): the environment, replanning and evaluation seeds.
    #[arg(long)]
    pub config: PathBuf,
    /// This robot's id (letters, digits, '_', '-').
    #[arg(long, default_value = DEFAULT_ID)]
    #[serde(default = "default_id")]
    pub id: String,
    /// lockstep: the simulation waits for each plan; realtime: it runs on the wall clock.
    #[arg(long, value_enum, default_value = "lockstep")]
    #[serde(default)]
    pub mode: Clocking,
    /// Override `eval.episodes` (the task file's; 100 where it has none).
    #[arg(long)]
    #[serde(default)]
    pub episodes: Option<usize>,
    /// Override `eval.seed` (the task file's; 0 where it has none), the first episode's seed
    /// (episodes play S … S + N − 1).
    #[arg(long)]
    #[serde(default)]
    pub seed: Option<u64>,
    /// Also write every episode and the summary as JSON to this file
    /// (schema: docs/schema/eval-results.schema.json).
    #[arg(long)]
    #[serde(default)]
    pub json: Option<PathBuf>,
    /// realtime: hold still when no plan arrived for this long, milliseconds.
    #[arg(long, default_value_t = DEFAULT_PLAN_TIMEOUT_MS)]
    #[serde(default = "default_plan_timeout_ms")]
    pub plan_timeout_ms: u64,
    /// realtime: simulated seconds per wall-clock second.
    #[arg(long, default_value_t = DEFAULT_SPEED)]
    #[serde(default = "default_speed")]
    pub speed: f64,
    /// lockstep: give up a plan query after this long and ask again, milliseconds.
    #[arg(long, default_value_t = DEFAULT_QUERY_TIMEOUT_MS)]
    #[serde(default = "default_query_timeout_ms")]
    pub query_timeout_ms: u64,
    /// Before the first episode, wait this long for a planner of the robot's task, seconds; then
    /// stop with an error naming the tasks that are served.
    #[arg(long, default_value_t = DEFAULT_PLANNER_WAIT_S)]
    #[serde(default = "default_planner_wait_s")]
    pub planner_wait_s: u64,
    /// Speak ROS 2 instead (realtime only): the simulator as a ROS 2 robot, JointState out and
    /// JointTrajectory in; a launch file's `[ros2]` table sets it.
    #[command(flatten)]
    #[serde(skip)]
    pub ros2: Ros2Settings,
}

fn default_id() -> String {
    DEFAULT_ID.into()
}

fn default_plan_timeout_ms() -> u64 {
    DEFAULT_PLAN_TIMEOUT_MS
}

fn default_speed() -> f64 {
    DEFAULT_SPEED
}

fn default_query_timeout_ms() -> u64 {
    DEFAULT_QUERY_TIMEOUT_MS
}

fn default_planner_wait_s() -> u64 {
    DEFAULT_PLANNER_WAIT_S
}

/// How the simulation is clocked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Clocking {
    /// The simulation waits for the planner (deterministic).
    #[default]
    Lockstep,
    /// The simulation runs on the wall clock.
    Realtime,
}

impl Clocking {
    /// The policy column of the score table.
    #[must_use]
    pub fn policy(self) -> &'static str {
        match self {
            Self::Lockstep => "Planner over Zenoh (lockstep)",
            Self::Realtime => "Planner over Zenoh (realtime)",
        }
    }
}

/// Runs the robot's episodes of `file` on `session` until done or `stop` is set.
pub fn run_episodes(
    node: &RobotNodeConfig,
    file: &TaskFile,
    session: &bridge::zenoh::Session,
    namespace: &Namespace,
    stop: &AtomicBool,
    observer: &mut dyn EpisodeObserver,
) -> anyhow::Result<Vec<EpisodeOutcome>> {
    let episodes = node.episodes.unwrap_or(file.config.eval.episodes);
    let wait = Duration::from_secs(node.planner_wait_s);
    let pace = Pace { speed: node.speed, plan_timeout_ms: node.plan_timeout_ms };
    if node.ros2.enabled {
        anyhow::ensure!(
            node.mode == Clocking::Realtime,
            "a ROS 2 robot runs on the wall clock: use --mode realtime with --ros2"
        );
        let mut port = Ros2RobotPort::new(session, &node.ros2, &node.id, file.task.as_ref())?;
        port.wait_for_subscriber(wait, stop)?;
        return play(node, file, episodes, stop, |seed| realtime_episode(pace, file, &mut port, seed, stop, observer));
    }
    let mut link = RobotLink::new(session, namespace, &node.id, &file.task.id(), node.mode == Clocking::Lockstep)?;
    let planners = link.wait_for_planner(wait, stop)?;
    tracing::info!("robot {}: planners of task {}: {}", node.id, link.task(), planners.join(", "));
    let timeout = Duration::from_millis(node.query_timeout_ms);
    let outcomes = play(node, file, episodes, stop, |seed| match node.mode {
        Clocking::Lockstep => {
            let mut source = LinkSource { link: &mut link, timeout, stop, limits: file.task.limits() };
            planned_episode(file, seed, &mut source, observer)
        }
        Clocking::Realtime => realtime_episode(pace, file, &mut link, seed, stop, observer),
    });
    link.publish_status(NodeStatus::Stopping, None, 0)?;
    outcomes
}

/// Plays `episodes` episodes of `file`, each by `episode` from its seed, until done or `stop`.
fn play(
    node: &RobotNodeConfig,
    file: &TaskFile,
    episodes: usize,
    stop: &AtomicBool,
    mut episode: impl FnMut(u64) -> anyhow::Result<EpisodeOutcome>,
) -> anyhow::Result<Vec<EpisodeOutcome>> {
    let mut outcomes = Vec::with_capacity(episodes);
    let bar = progress::bar(episodes as u64, "episodes");
    for e in 0..episodes {
        bar.set_position(e as u64);
        if stop.load(Ordering::Relaxed) {
            tracing::warn!("robot {}: stopped after {e} of {episodes} episodes", node.id);
            break;
        }
        let outcome = episode(file.config.eval.episode_seed(e))?;
        if node.mode == Clocking::Realtime && stop.load(Ordering::Relaxed) {
            tracing::warn!("robot {}: episode {e} interrupted; it is left out of the table", node.id);
            break;
        }
        outcomes.push(outcome);
    }
    bar.finish_and_clear();
    Ok(outcomes)
}

/// The robot's task file with its `--seed` applied.
pub fn task_file(node: &RobotNodeConfig) -> anyhow::Result<TaskFile> {
    let read = TaskFile::read(&node.config)?;
    let mut config = read.config.clone();
    config.eval.seed = node.seed.unwrap_or(config.eval.seed);
    Ok(read.with_config(config))
}

/// Prints the score table of the robot's `outcomes` and writes its `--json` results.
pub fn report_outcomes(node: &RobotNodeConfig, file: &TaskFile, outcomes: &[EpisodeOutcome]) -> anyhow::Result<()> {
    let (task, policy, sampler) = (file.task.as_ref(), node.mode.policy(), file.config.sampler_label());
    if !outcomes.is_empty() {
        print_scores(task, policy, &sampler, outcomes);
    }
    if let Some(path) = &node.json {
        EvalResults::new(task, policy, &sampler, file.config.eval.seed, outcomes, None)?.write(path)?;
    }
    Ok(())
}

/// Runs robot `node` on `session`, recording to `sink`, and prints its score table: what
/// `diffplan robot` and a separate-process launch's robot do.
pub fn run_and_report(
    node: &RobotNodeConfig,
    session: &bridge::zenoh::Session,
    namespace: &bridge::Namespace,
    sink: &Sink,
) -> anyhow::Result<()> {
    let file = task_file(node)?;
    let mut recorder = Recorder::open(sink, &format!("robot-{}", std::process::id()))?;
    recorder.scene(std::sync::Arc::clone(&file.task), None)?;
    let stop = crate::nodes::shutdown::flag();
    let outcomes = run_episodes(node, &file, session, namespace, &stop, &mut recorder);
    crate::telemetry::report(recorder.finish()?);
    report_outcomes(node, &file, &outcomes?)
}
