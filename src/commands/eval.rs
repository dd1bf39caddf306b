//! `diffplan eval`: a task's episodes with Diffuser's protocol ([`crate::episode::lockstep`]),
//! planned in this process or by the plan service's workers, scored like D4RL
//! ([`crate::episode::report`]). `--policy random` and `--policy expert` measure the task's own
//! reference returns.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::Context;

use bridge::PlanClient;

use crate::cli::{DeviceArgs, PicardArgs, RerunArgs, TransportArgs, progress};
use crate::episode::lockstep::{Baseline, baseline_episode, planned_episode};
use crate::episode::replan::Arrival;
use crate::episode::report::{ConstraintCheck, ScoreSummary, print_scores};
use crate::episode::results::EvalResults;
use crate::episode::{EpisodeObserver, EpisodeOutcome};
use crate::nodes::planner::TaskPlanner;
use crate::nodes::sources::{LocalSource, RemoteSource};
use crate::task::{PlannerConfig, RewardKind, TaskConfig, TaskFile, TrackerKind};
use crate::telemetry::Recorder;

/// Arguments of `diffplan eval`. Records nothing unless `--rerun` says where.
#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// Task config (TOML), e.g. configs/tasks/maze2d-umaze.toml.
    #[arg(long)]
    config: PathBuf,
    /// Override `eval.episodes` (the task file's; 100 where it has none).
    #[arg(long)]
    episodes: Option<usize>,
    /// Override `eval.seed` (the task file's; 0 where it has none), the first episode's seed:
    /// episodes play seeds S … S + N − 1 (hold out seeds by starting past the ones a model was
    /// tuned on).
    #[arg(long)]
    seed: Option<u64>,
    /// Also write every episode and the summary as JSON to this file
    /// (schema: docs/schema/eval-results.schema.json).
    #[arg(long)]
    json: Option<PathBuf>,
    /// Who acts: the diffusion planner, the scripted expert, uniform random actions, or the
    /// task's naive policy (the Panda: straight joint-space motion to the goal configuration).
    #[arg(long, value_enum, default_value = "planner")]
    policy: PolicyArg,
    /// Override the sampler steps.
    #[arg(long)]
    steps: Option<usize>,
    /// Override `planner.replan_every` (0: plan once).
    #[arg(long)]
    replan_every: Option<usize>,
    /// Override `planner.replan_deviation`: also replan when the robot is farther than this
    /// from its plan's path, metres.
    #[arg(long)]
    replan_deviation: Option<f32>,
    /// Override `planner.arrival`: where replans pin the goal.
    #[arg(long, value_enum)]
    arrival: Option<Arrival>,
    #[command(flatten)]
    picard: PicardArgs,
    /// Start each replan's Picard iteration from the previous plan's iterates, shifted by the
    /// steps executed.
    #[arg(long, requires = "picard_window")]
    warm_start: bool,
    /// Override `planner.renoise`: replans start from the previous plan renoised, running this
    /// share of the sampler's steps (e.g. 0.25).
    #[arg(long)]
    renoise: Option<f32>,
    /// Override `planner.batch_size` (candidates per plan).
    #[arg(long)]
    batch_size: Option<usize>,
    /// Override `planner.reward`: rank the candidates by `collision` or `rollout`.
    #[arg(long, value_enum)]
    reward: Option<RewardKind>,
    #[command(flatten)]
    control: ControlArgs,
    /// How episodes give the planner their goal: `state` (the episode's goal state, or the task
    /// file's `[planner] tool_point_goals`) or `tool-point` (where the arm's tool point must go,
    /// solved by the task's inverse kinematics).
    #[arg(long, value_enum, default_value = "state")]
    goals: GoalsArg,
    /// Plan without the task's hard constraints but still report how the plans and the executed
    /// paths violate them: the baseline for constrained planning.
    #[arg(long)]
    unconstrained: bool,
    #[command(flatten)]
    device: DeviceArgs,
    /// Plan over Zenoh instead: spread the episodes over every `diffplan serve` worker found on
    /// the network (worker k of n plays episodes k, k + n, …). The workers' task config decides
    /// the sampler; scores equal in-process planning with that config.
    #[arg(long)]
    remote: bool,
    #[command(flatten)]
    transport: TransportArgs,
    #[command(flatten)]
    rerun: RerunArgs,
}

/// How the plans are executed.
#[derive(Debug, clap::Args)]
struct ControlArgs {
    /// Override `control.tracker`: the controller that executes the plans.
    #[arg(long, value_enum)]
    tracker: Option<TrackerKind>,
    /// Turn on `control.safety_filter`: every action passes the safety filter on the task's
    /// obstacles.
    #[arg(long)]
    safety_filter: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum PolicyArg {
    Planner,
    Expert,
    Random,
    Naive,
}

/// Runs the episodes, prints the tables and writes the JSON results if asked.
pub fn run(args: &EvalArgs) -> anyhow::Result<()> {
    let read = TaskFile::read(&args.config)?;
    let file = read.with_config(overridden(args, &read.config));
    (file.config.validate(&file.task.trajectory_layout(2), file.task.arm_body().as_ref()))
        .context("the task config with eval's flags applied")?;
    file.task.check_control(&file.config.control).context("[control] with eval's flags applied")?;
    let task = file.task.as_ref();
    let config = &file.config;
    let episodes = args.episodes.unwrap_or(config.eval.episodes);
    let (policy, sampler, outcomes) = match args.policy {
        PolicyArg::Planner if args.remote => {
            ("Planner over Zenoh (workers)".to_owned(), config.sampler_label(), remote_episodes(args, &file, episodes)?)
        }
        PolicyArg::Planner => return local_episodes(args, &file, episodes),
        PolicyArg::Expert | PolicyArg::Random | PolicyArg::Naive => {
            let baseline = match args.policy {
                PolicyArg::Expert => Baseline::Expert,
                PolicyArg::Naive => Baseline::Naive,
                PolicyArg::Random | PolicyArg::Planner => Baseline::Random,
            };
            let bar = progress::bar(episodes as u64, "episodes");
            let outcomes = (0..episodes)
                .map(|e| {
                    bar.inc(1);
                    baseline_episode(task, baseline, config.eval.episode_seed(e))
                })
                .collect::<anyhow::Result<_>>()?;
            bar.finish_and_clear();
            (format!("{:?}", args.policy), "–".to_owned(), outcomes)
        }
    };
    print_scores(task, &policy, &sampler, &outcomes);
    write_json(args, &file, &policy, &sampler, &outcomes, None)
}

/// Writes `--json` results, if asked for.
fn write_json(
    args: &EvalArgs,
    file: &TaskFile,
    policy: &str,
    sampler: &str,
    outcomes: &[EpisodeOutcome],
    check: Option<&ConstraintCheck<'_>>,
) -> anyhow::Result<()> {
    let Some(path) = &args.json else { return Ok(()) };
    EvalResults::new(file.task.as_ref(), policy, sampler, file.config.eval.seed, outcomes, check)?.write(path)?;
    tracing::info!("eval: {} episodes written to {}", outcomes.len(), path.display());
    Ok(())
}

/// The task's planner and evaluation settings with the flags applied.
fn overridden(args: &EvalArgs, config: &TaskConfig) -> TaskConfig {
    let mut config = config.clone();
    config.eval.seed = args.seed.unwrap_or(config.eval.seed);
    let planner = &mut config.planner;
    if let Some(steps) = args.steps {
        planner.sampler.steps = Some(steps);
    }
    planner.replan_every = args.replan_every.unwrap_or(planner.replan_every);
    planner.replan_deviation = args.replan_deviation.or(planner.replan_deviation);
    planner.arrival = args.arrival.unwrap_or(planner.arrival);
    if let Some(picard) = args.picard.settings(planner.picard.as_ref().map(|p| p.tolerance)) {
        planner.picard = Some(picard);
    }
    planner.warm_start |= args.warm_start;
    planner.renoise = args.renoise.or(planner.renoise);
    planner.batch_size = args.batch_size.unwrap_or(planner.batch_size);
    planner.reward = args.reward.or(planner.reward);
    planner.tool_point_goals |= args.goals == GoalsArg::ToolPoint;
    config.control.tracker = args.control.tracker.unwrap_or(config.control.tracker);
    config.control.safety_filter |= args.control.safety_filter;
    config
}

/// How `eval` gives the planner each episode's goal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum GoalsArg {
    /// The episode's goal state (or the task file's choice).
    State,
    /// Where the arm's tool point must go.
    ToolPoint,
}

/// Plays the episodes with the planner in this process, prints the score table and, where the
/// task has constraints, the constraint table.
fn local_episodes(args: &EvalArgs, file: &TaskFile, episodes: usize) -> anyhow::Result<()> {
    let config = &file.config;
    let task = file.task.as_ref();
    let enforced = file.with_config(TaskConfig {
        planner: PlannerConfig {
            constraints: config.planner.constraints.clone().filter(|_| !args.unconstrained),
            ..config.planner.clone()
        },
        ..config.clone()
    });
    let mut planner = TaskPlanner::load(&enforced, args.device.device)?;
    let horizon = planner.spec().plan_steps();
    let check = config.planner.constraints.as_ref().map(|c| ConstraintCheck::new(c, task, horizon)).transpose()?;
    let mut recorder = Recorder::open(&args.rerun.sink("eval", "off")?, &format!("eval-{}", std::process::id()))?;
    recorder.scene(Arc::clone(&file.task), config.planner.constraints.as_ref())?;
    let recording = recorder.recording();
    let mut source =
        LocalSource { planner: &mut planner, check: check.as_ref(), recording, task: Arc::clone(&file.task), plans: 0 };
    let mut outcomes = Vec::with_capacity(episodes);
    let bar = progress::bar(episodes as u64, "episodes");
    for e in 0..episodes {
        let observer: &mut dyn EpisodeObserver = &mut recorder;
        outcomes.push(planned_episode(&enforced, config.eval.episode_seed(e), &mut source, observer)?);
        bar.inc(1);
        bar.set_message(format!("score {:.1}", ScoreSummary::of(task, &outcomes).score_mean));
    }
    bar.finish_and_clear();
    let policy = if args.unconstrained { "Planner (constraints off)" } else { "Planner" };
    let sampler = enforced.config.sampler_label();
    print_scores(task, policy, &sampler, &outcomes);
    if let Some(check) = &check {
        check.print(&outcomes)?;
    }
    crate::telemetry::report(recorder.finish()?);
    write_json(args, file, policy, &sampler, &outcomes, check.as_ref())
}

/// Plays the episodes against the plan service's workers, one thread per worker, and returns
/// the outcomes in episode order.
fn remote_episodes(args: &EvalArgs, file: &TaskFile, episodes: usize) -> anyhow::Result<Vec<EpisodeOutcome>> {
    let session = args.transport.transport(bridge::security::Role::Robot)?.open()?;
    let task = file.task.id();
    let client = PlanClient::new(&session, args.transport.namespace()?).for_task(&task);
    let workers = client.wait_for_task(&task, Duration::from_mins(1), &AtomicBool::new(false)).with_context(|| {
        format!("endpoints: listen {:?}, connect {:?}", args.transport.listen, args.transport.connect)
    })?;
    tracing::info!("eval: {episodes} episodes over {} workers: {}", workers.len(), workers.join(", "));
    let n = workers.len();
    let config = &file.config;
    let shares: Vec<anyhow::Result<Vec<(usize, EpisodeOutcome)>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = workers
            .iter()
            .enumerate()
            .map(|(k, worker)| {
                let (client, task) = (&client, &task);
                scope.spawn(move || {
                    let mut source = RemoteSource { client, worker, task, timeout: Duration::from_mins(1) };
                    (k..episodes)
                        .step_by(n)
                        .map(|e| Ok((e, planned_episode(file, config.eval.episode_seed(e), &mut source, &mut ())?)))
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(anyhow::anyhow!("a worker thread panicked"))))
            .collect()
    });
    let mut outcomes = Vec::with_capacity(episodes);
    for share in shares {
        outcomes.extend(share?);
    }
    outcomes.sort_by_key(|(e, _)| *e);
    Ok(outcomes.into_iter().map(|(_, outcome)| outcome).collect())
}
