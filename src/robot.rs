//! `diffplan robot`: the Maze2D simulator as a robot on Zenoh, behind the same protocol a real
//! robot uses. It publishes its state, executes plans with Diffuser's tracking controller and
//! prints the score table at the end.
//!
//! - **lockstep**: the simulation waits for the planner. At t = 0 and every `replan_every` steps
//!   it queries the plan service and steps only once the plan is in; same seeds, same scores as
//!   `eval`.
//! - **realtime**: the simulation runs on the wall clock (`--speed` simulated seconds per second)
//!   and executes the newest streamed plan; the planner re-sends the current plan while it holds,
//!   which keeps the watchdog fed; past the plan's end it holds the last planned state. With no
//!   plan (new or re-sent) within `--plan-timeout-ms`, past the plan's validity window, or when
//!   told to hold, it holds its position (zero velocity) and says so in its status and log; it
//!   resumes on the next fresh plan.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bridge::message::{CommandKind, NodeStatus, RobotMode, RobotState};
use bridge::{BridgeError, Health, Namespace, RobotLink, Watchdog};
use sim::Env;
use sim::maze2d::{Maze2d, track};

use crate::episode::{self, EpisodeOutcome, PlanQuery, PlannedPath};
use crate::episode_observer::{EpisodeObserver, distance};
use crate::task::TaskConfig;
use crate::telemetry::Recorder;
use crate::transport_args::TransportArgs;

/// Arguments of `diffplan robot`.
#[derive(Debug, clap::Args)]
pub struct RobotArgs {
    #[command(flatten)]
    node: RobotNode,
    #[command(flatten)]
    transport: TransportArgs,
    /// Rerun recording: `save [PATH]` (default: runs/recordings/robot-….rrd), `spawn`,
    /// `connect [URL]` or `off`.
    #[arg(long = "rerun", num_args = 1..=2, value_names = ["SINK", "TARGET"], default_values = ["save"])]
    rerun: Vec<String>,
}

/// A robot node's settings (also a launch file's `[robot]` table).
#[derive(Debug, Clone, clap::Args, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RobotNode {
    /// Task config (TOML): the environment, replanning and evaluation seeds.
    #[arg(long)]
    pub config: PathBuf,
    /// This robot's id (letters, digits, '_', '-').
    #[arg(long, default_value = "robot-0")]
    #[serde(default = "default_robot_id")]
    pub id: String,
    /// lockstep: the simulation waits for each plan; realtime: it runs on the wall clock.
    #[arg(long, value_enum, default_value = "lockstep")]
    #[serde(default)]
    pub mode: Clocking,
    /// Override `eval.episodes`.
    #[arg(long)]
    #[serde(default)]
    pub episodes: Option<usize>,
    /// realtime: hold still when no plan arrived for this long, milliseconds.
    #[arg(long, default_value_t = 500)]
    #[serde(default = "default_plan_timeout_ms")]
    pub plan_timeout_ms: u64,
    /// realtime: simulated seconds per wall-clock second.
    #[arg(long, default_value_t = 1.0)]
    #[serde(default = "default_speed")]
    pub speed: f64,
    /// lockstep: give up a plan query after this long and ask again, milliseconds.
    #[arg(long, default_value_t = 30_000)]
    #[serde(default = "default_query_timeout_ms")]
    pub query_timeout_ms: u64,
}

/// How the simulation is clocked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Clocking {
    /// The simulation waits for the planner (deterministic).
    #[default]
    Lockstep,
    /// The simulation runs on the wall clock.
    Realtime,
}

fn default_robot_id() -> String {
    "robot-0".into()
}

fn default_plan_timeout_ms() -> u64 {
    500
}

fn default_speed() -> f64 {
    1.0
}

fn default_query_timeout_ms() -> u64 {
    30_000
}

/// Runs the episodes and prints the table.
pub fn run(args: &RobotArgs) -> anyhow::Result<()> {
    let session = args.transport.transport().open()?;
    let namespace = args.transport.namespace()?;
    let task = TaskConfig::read(&args.node.config)?;
    let sink = crate::telemetry::parse_sink(&args.rerun, "robot")?;
    let mut recorder = Recorder::open(&sink, &format!("robot-{}", std::process::id()))?;
    recorder.scene(&task.make_env().scene())?;
    let outcomes = run_episodes(&args.node, &task, &session, &namespace, &crate::shutdown::flag(), &mut recorder);
    crate::telemetry::report(recorder.finish()?);
    print_table(&args.node, &task, &outcomes?);
    Ok(())
}

/// Prints the score table of a robot's episodes.
pub fn print_table(node: &RobotNode, task: &TaskConfig, outcomes: &[EpisodeOutcome]) {
    let policy = match node.mode {
        Clocking::Lockstep => "Planner over Zenoh (lockstep)",
        Clocking::Realtime => "Planner over Zenoh (realtime)",
    };
    crate::score_table::print(task, policy, &task.sampler_label(), outcomes);
}

/// Runs the robot's episodes on `session` until done or `stop` is set.
pub fn run_episodes(
    node: &RobotNode,
    task: &TaskConfig,
    session: &bridge::zenoh::Session,
    namespace: &Namespace,
    stop: &AtomicBool,
    observer: &mut dyn EpisodeObserver,
) -> anyhow::Result<Vec<EpisodeOutcome>> {
    let mut link = RobotLink::new(session, namespace, &node.id, node.mode == Clocking::Lockstep)?;
    let episodes = node.episodes.unwrap_or(task.eval.episodes);
    wait_for_planner(node, &link, stop)?;
    let mut outcomes = Vec::with_capacity(episodes);
    for e in 0..episodes {
        if stop.load(Ordering::Relaxed) {
            tracing::warn!("robot {}: stopped after {e} of {episodes} episodes", node.id);
            break;
        }
        let seed = task.eval.seed + e as u64;
        let mut env = task.make_env();
        let outcome = match node.mode {
            Clocking::Lockstep => lockstep_episode(node, task, &mut link, &mut env, seed, stop, observer)?,
            Clocking::Realtime => realtime_episode(node, &mut link, &mut env, seed, stop, observer)?,
        };
        if node.mode == Clocking::Realtime && stop.load(Ordering::Relaxed) {
            tracing::warn!("robot {}: episode {e} interrupted; it is left out of the table", node.id);
            break;
        }
        outcomes.push(outcome);
    }
    link.publish_status(NodeStatus::Stopping, None, 0)?;
    Ok(outcomes)
}

/// Blocks until a planner is alive (or `stop`), saying so every few seconds.
fn wait_for_planner(node: &RobotNode, link: &RobotLink, stop: &AtomicBool) -> anyhow::Result<()> {
    let asked = Instant::now();
    let mut said = Duration::ZERO;
    while !stop.load(Ordering::Relaxed) {
        if !link.planners(Duration::from_millis(500))?.is_empty() {
            return Ok(());
        }
        if asked.elapsed() >= said {
            tracing::info!("robot {}: waiting for a planner on the network", node.id);
            said += Duration::from_secs(5);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

fn lockstep_episode(
    node: &RobotNode,
    task: &TaskConfig,
    link: &mut RobotLink,
    env: &mut Maze2d,
    seed: u64,
    stop: &AtomicBool,
    observer: &mut dyn EpisodeObserver,
) -> anyhow::Result<EpisodeOutcome> {
    let timeout = Duration::from_millis(node.query_timeout_ms);
    let mut source = |query: &PlanQuery| -> anyhow::Result<PlannedPath> {
        let request = crate::remote_plan::request(&node.id, seed, query, node.query_timeout_ms);
        let asked = Instant::now();
        let mut waiting = false;
        loop {
            match link.request_plan(&request, timeout) {
                Ok(plan) => {
                    if waiting {
                        tracing::info!("robot {}: a planner answered; resuming at step {}", node.id, query.step);
                        link.publish_status(NodeStatus::Ok, None, query.step)?;
                    }
                    return Ok(crate::remote_plan::path(plan, asked));
                }
                Err(error @ BridgeError::NoReply { .. }) if !stop.load(Ordering::Relaxed) => {
                    if !waiting {
                        tracing::warn!(
                            "robot {}: holding at step {} until a planner answers: {error}",
                            node.id,
                            query.step
                        );
                        link.publish_status(NodeStatus::Holding, Some("waiting for a planner".into()), query.step)?;
                        waiting = true;
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(error) => return Err(error.into()),
            }
        }
    };
    episode::planned_episode(env, seed, task.planner.replan_every, &mut source, observer)
}

/// Whether the real-time robot executes its plan or holds, and where it holds.
struct Hold {
    /// Holding now (true until the first plan).
    active: bool,
    /// An operator's `hold` command is in force.
    commanded: bool,
    /// The position held, with zero velocity, as a one-state plan for [`track`].
    target: Vec<Vec<f32>>,
    /// Step at which the hold began.
    began: u64,
}

impl Hold {
    fn new(observation: &[f32]) -> Self {
        Self { active: true, commanded: false, target: vec![vec![observation[0], observation[1], 0.0, 0.0]], began: 0 }
    }

    /// Starts holding at `observation` (step `t`, for `reason`), logging and reporting it.
    fn begin(
        &mut self,
        link: &mut RobotLink,
        observation: &[f32],
        t: u64,
        reason: String,
        observer: &mut dyn EpisodeObserver,
    ) -> anyhow::Result<()> {
        *self = Self { active: true, commanded: self.commanded, began: t, ..Self::new(observation) };
        link.count("holds");
        tracing::warn!("robot {}: holding at step {t}: {reason}", link.robot_id());
        observer.event("warn", &format!("holding at step {t}: {reason}"));
        link.publish_status(NodeStatus::Holding, Some(reason), t)?;
        Ok(())
    }

    /// Stops holding at step `t`, logging how still the robot stood.
    fn end(
        &mut self,
        link: &RobotLink,
        observation: &[f32],
        t: u64,
        observer: &mut dyn EpisodeObserver,
    ) -> anyhow::Result<()> {
        self.active = false;
        let speed = observation[2].hypot(observation[3]);
        let moved = (observation[0] - self.target[0][0]).hypot(observation[1] - self.target[0][1]);
        tracing::info!(
            "robot {}: resumed at step {t} after holding {} steps (speed {speed:.3} m/s, moved {moved:.3} m)",
            link.robot_id(),
            t - self.began
        );
        observer.event("info", &format!("resumed at step {t} after holding {} steps", t - self.began));
        link.publish_status(NodeStatus::Ok, None, t)?;
        Ok(())
    }
}

fn realtime_episode(
    node: &RobotNode,
    link: &mut RobotLink,
    env: &mut Maze2d,
    seed: u64,
    stop: &AtomicBool,
    observer: &mut dyn EpisodeObserver,
) -> anyhow::Result<EpisodeOutcome> {
    let mut observation = env.reset(seed);
    observer.episode_began(seed, &env.goal(), f64::from(env.dt()));
    let goal = env.goal_observation();
    let dt = f64::from(env.dt());
    let period = Duration::from_secs_f64(dt / node.speed);
    let mut watchdog = Watchdog::new(node.plan_timeout_ms);
    let mut outcome = EpisodeOutcome::default();
    let mut plan: Option<bridge::message::Plan> = None;
    // The step the plan's first state stands for: its `from_step`, or its arrival when it was
    // planned from a state the robot has been holding since (then the robot is still there).
    let mut origin = 0_u64;
    let mut published: VecDeque<(u64, Instant)> = VecDeque::new();
    let mut hold = Hold::new(&observation);
    let start = Instant::now();
    for t in 0..env.max_episode_steps() as u64 {
        if let Some(wait) = (start + period * t as u32).checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        if stop.load(Ordering::Relaxed) {
            break;
        }
        for command in link.commands() {
            observer.event("info", &format!("command {:?} at step {t}", command.command));
            match command.command {
                CommandKind::Hold => hold.commanded = true,
                CommandKind::Resume => hold.commanded = false,
                CommandKind::Shutdown => stop.store(true, Ordering::Relaxed),
            }
        }
        let mode = if hold.active { RobotMode::Holding } else { RobotMode::Running };
        link.publish_state(&robot_state(node, seed, t, dt, &observation, Some(&goal), mode))?;
        published.push_back((t, Instant::now()));
        if published.len() > 4096 {
            published.pop_front();
        }
        let now_ms = start.elapsed().as_millis() as u64;
        if let Some(received) = link.latest_plan() {
            if plan.as_ref().is_some_and(|p| p.plan_id == received.body.plan_id) {
                // The planner confirms the plan being executed: it is alive and the plan holds.
                watchdog.feed(now_ms);
            } else if received.body.episode == seed && received.body.from_step <= t {
                if let Some((_, sent)) = published.iter().find(|(s, _)| *s == received.body.from_step) {
                    outcome.plan_ms.push(sent.elapsed().as_secs_f64() * 1e3);
                }
                outcome.model_calls.push(received.body.model_calls as usize);
                let path = PlannedPath {
                    states: received.body.states.clone(),
                    latency_ms: outcome.plan_ms.last().copied().unwrap_or(f64::NAN),
                    model_ms: received.body.timing.model_ms,
                    model_calls: received.body.model_calls as usize,
                    constraint_violation: crate::remote_plan::worst_after(&received.body),
                    infeasible: false,
                };
                observer.planned(t, &path);
                origin = if hold.active && received.body.from_step >= hold.began { t } else { received.body.from_step };
                plan = Some(received.body);
                watchdog.feed(now_ms);
            } else {
                link.count("plans_ignored");
            }
        }
        let (health, _) = watchdog.check(now_ms);
        let index = plan.as_ref().map(|_| t - origin);
        let expired = plan.as_ref().zip(index).is_some_and(|(p, i)| p.valid_steps.is_some_and(|v| i >= v));
        let execute = health == Health::Fresh && plan.is_some() && !expired && !hold.commanded;
        if execute && hold.active {
            hold.end(link, &observation, t, observer)?;
        } else if !execute && !hold.active {
            let reason = if hold.commanded {
                "told to hold".to_owned()
            } else if expired {
                "the plan's validity window passed".to_owned()
            } else {
                format!("no fresh plan for {} ms", watchdog.age(now_ms).unwrap_or(now_ms))
            };
            hold.begin(link, &observation, t, reason, observer)?;
        }
        let action = match (&plan, index) {
            (Some(p), Some(i)) if execute => track(&p.states, i as usize, &observation),
            _ => track(&hold.target, 0, &observation),
        };
        let step = env.step(&action);
        outcome.reward(step.reward);
        let wanted = match (&plan, index) {
            (Some(p), Some(i)) if execute => p.states.get(i as usize + 1).or(p.states.last()),
            _ => hold.target.first(),
        };
        observer.stepped(t + 1, &step.observation, step.reward, wanted.map(|s| distance(s, &step.observation, 2)));
        observation = step.observation;
    }
    let end = env.max_episode_steps() as u64;
    link.publish_state(&robot_state(node, seed, end, dt, &observation, None, RobotMode::Done))?;
    Ok(outcome)
}

/// The state message of step `t` of episode `seed`.
fn robot_state(
    node: &RobotNode,
    seed: u64,
    t: u64,
    dt: f64,
    observation: &[f32],
    goal: Option<&Vec<f32>>,
    mode: RobotMode,
) -> RobotState {
    RobotState {
        robot_id: node.id.clone(),
        episode: seed,
        step: t,
        time_s: t as f64 * dt,
        observation: observation.to_vec(),
        goal: goal.cloned(),
        joint_names: None,
        mode,
    }
}
