//! `diffplan eval`: Maze2D episodes with Diffuser's protocol ([`crate::episode`]), planned in
//! this process, scored like D4RL ([`crate::score_table`]). `--policy random` and
//! `--policy expert` measure this environment's own reference returns.

use std::path::PathBuf;

use std::time::{Duration, Instant};

use anyhow::Context;
use bridge::PlanClient;
use tch::Device;

use crate::constraint_report::ConstraintCheck;
use crate::episode::{self, Baseline, PlannedPath};
use crate::local_planner::LocalPlanner;
use crate::picard_window::PicardArgs;
use crate::reward::RewardKind;
use crate::task::{PlannerConfig, TaskConfig};
use crate::telemetry::DenoiseObserver;
use crate::transport_args::TransportArgs;

/// Arguments of `diffplan eval`.
#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// Task config (TOML), e.g. configs/tasks/maze2d-umaze.toml.
    #[arg(long)]
    config: PathBuf,
    /// Override `eval.episodes`.
    #[arg(long)]
    episodes: Option<usize>,
    /// Who acts: the diffusion planner, the scripted expert, or uniform random actions.
    #[arg(long, value_enum, default_value = "planner")]
    policy: PolicyArg,
    /// Override the sampler steps.
    #[arg(long)]
    steps: Option<usize>,
    /// Override `planner.replan_every` (0: plan once).
    #[arg(long)]
    replan_every: Option<usize>,
    #[command(flatten)]
    picard: PicardArgs,
    /// Start each replan's Picard iteration from the previous plan's iterates, shifted by the
    /// steps executed.
    #[arg(long, requires = "picard_window")]
    warm_start: bool,
    /// Override `planner.batch_size` (candidates per plan).
    #[arg(long)]
    batch_size: Option<usize>,
    /// Override `planner.reward`: rank the candidates by `collision` or `rollout`.
    #[arg(long, value_enum)]
    reward: Option<RewardKind>,
    /// Plan without the task's hard constraints but still report how the plans and the executed
    /// paths violate them: the baseline for constrained planning.
    #[arg(long)]
    unconstrained: bool,
    /// `cpu`, `cuda` or `cuda:N` (default: cpu).
    #[arg(long, default_value = "cpu", value_parser = crate::device::parse_device)]
    device: Device,
    /// Plan over Zenoh instead: spread the episodes over every `diffplan serve` worker found on
    /// the network (worker k of n plays episodes k, k + n, …). The workers' task config decides
    /// the sampler; scores equal in-process planning with that config.
    #[arg(long)]
    remote: bool,
    #[command(flatten)]
    transport: TransportArgs,
    /// Record the planner's episodes to Rerun: `save [PATH]`, `spawn`, `connect [URL]` or `off`.
    #[arg(long = "rerun", num_args = 1..=2, value_names = ["SINK", "TARGET"], default_values = ["off"])]
    rerun: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum PolicyArg {
    Planner,
    Expert,
    Random,
}

/// Runs the episodes and prints the table.
pub fn run(args: &EvalArgs) -> anyhow::Result<()> {
    let mut task = TaskConfig::read(&args.config)?;
    if let Some(steps) = args.steps {
        task.planner.sampler.steps = Some(steps);
    }
    task.planner.replan_every = args.replan_every.unwrap_or(task.planner.replan_every);
    if let Some(picard) = args.picard.settings(task.planner.picard.as_ref().map(|p| p.tolerance)) {
        task.planner.picard = Some(picard);
    }
    task.planner.warm_start |= args.warm_start;
    task.planner.batch_size = args.batch_size.unwrap_or(task.planner.batch_size);
    task.planner.reward = args.reward.or(task.planner.reward);
    let episodes = args.episodes.unwrap_or(task.eval.episodes);
    let mut outcomes = Vec::with_capacity(episodes);
    match args.policy {
        PolicyArg::Planner if args.remote => {
            let outcomes = remote_episodes(args, &task, episodes)?;
            crate::score_table::print(&task, "Planner over Zenoh (workers)", &task.sampler_label(), &outcomes);
        }
        PolicyArg::Planner => local_episodes(args, &task, episodes)?,
        PolicyArg::Expert | PolicyArg::Random => {
            let baseline = if args.policy == PolicyArg::Expert { Baseline::Expert } else { Baseline::Random };
            for e in 0..episodes {
                let mut env = task.make_env();
                outcomes.push(episode::baseline_episode(&mut env, baseline, task.eval.seed + e as u64));
            }
            crate::score_table::print(&task, &format!("{:?}", args.policy), "–", &outcomes);
        }
    }
    Ok(())
}

/// Plays the episodes with the planner in this process, prints the score table and, where the
/// task has constraints, the constraint table.
fn local_episodes(args: &EvalArgs, task: &TaskConfig, episodes: usize) -> anyhow::Result<()> {
    let mut outcomes = Vec::with_capacity(episodes);
    let enforced = TaskConfig {
        planner: PlannerConfig {
            constraints: task.planner.constraints.clone().filter(|_| !args.unconstrained),
            ..task.planner.clone()
        },
        ..task.clone()
    };
    let mut local = LocalPlanner::load(&enforced, &args.config, args.device)?;
    let check = match &task.planner.constraints {
        Some(config) => Some(ConstraintCheck::new(config, local.spec().horizon, f64::from(sim::maze2d::DT))?),
        None => None,
    };
    let sink = crate::telemetry::parse_sink(&args.rerun, "eval")?;
    let mut recorder = crate::telemetry::Recorder::open(&sink, &format!("eval-{}", std::process::id()))?;
    recorder.scene(&sim::Env::scene(&task.make_env()))?;
    if let Some(constraints) = &task.planner.constraints {
        recorder.obstacles(constraints)?;
    }
    let stream = recorder.recording();
    let mut plans = 0_i64;
    for e in 0..episodes {
        let seed = task.eval.seed + e as u64;
        let mut env = task.make_env();
        let mut source = |query: &episode::PlanQuery| {
            let request = local.request(query.observation.clone(), Some(query.goal.clone()), query.seed, None);
            // Copying each step to the host costs time: only when recording.
            let mut denoising = stream.clone().map(|s| DenoiseObserver::new(s, local.spec().clone()));
            let observer: &mut dyn planner::observer::Observer = match &mut denoising {
                Some(observer) => observer,
                None => &mut (),
            };
            let plan = match local.plan("eval", seed, query.step, &request, observer) {
                Err(error @ planner::Error::Infeasible { .. }) => {
                    tracing::warn!("episode {seed}, step {}: {error}; the robot holds", query.step);
                    return Ok(PlannedPath {
                        states: vec![query.observation.clone()],
                        latency_ms: 0.0,
                        model_ms: 0.0,
                        model_calls: 0,
                        constraint_violation: None,
                        infeasible: true,
                    });
                }
                plan => plan?,
            };
            if let Some(denoising) = denoising {
                denoising.finish(plans, query.step as f64 * f64::from(sim::maze2d::DT))?;
            }
            plans += 1;
            Ok(PlannedPath {
                states: plan.best().states.clone(),
                latency_ms: plan.timings.total_ms,
                model_ms: plan.timings.model_ms,
                model_calls: plan.stats.model_calls,
                constraint_violation: check.as_ref().map(|c| c.plan_violation(plan.best())),
                infeasible: false,
            })
        };
        outcomes.push(episode::planned_episode(&mut env, seed, task.planner.replan_every, &mut source, &mut recorder)?);
    }
    let policy = if args.unconstrained { "Planner (constraints off)" } else { "Planner" };
    crate::score_table::print(task, policy, &enforced.sampler_label(), &outcomes);
    if let Some(check) = &check {
        check.print(&outcomes)?;
    }
    crate::telemetry::report(recorder.finish()?);
    Ok(())
}

/// Plays the episodes against the plan service's workers, one thread per worker, and returns
/// the outcomes in episode order.
fn remote_episodes(
    args: &EvalArgs,
    task: &TaskConfig,
    episodes: usize,
) -> anyhow::Result<Vec<episode::EpisodeOutcome>> {
    let session = args.transport.transport().open()?;
    let client = PlanClient::new(&session, args.transport.namespace()?);
    let asked = Instant::now();
    let workers = loop {
        let workers = client.workers(Duration::from_secs(1))?;
        if !workers.is_empty() {
            break workers;
        }
        anyhow::ensure!(
            asked.elapsed() < Duration::from_mins(1),
            "no `diffplan serve` worker on namespace {} after 60 s (endpoints: listen {:?}, connect {:?})",
            args.transport.namespace,
            args.transport.listen,
            args.transport.connect
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    tracing::info!("eval: {episodes} episodes over {} workers: {}", workers.len(), workers.join(", "));
    let timeout = Duration::from_mins(1);
    let n = workers.len();
    let shares: Vec<anyhow::Result<Vec<(usize, episode::EpisodeOutcome)>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = workers
            .iter()
            .enumerate()
            .map(|(k, worker)| {
                let client = &client;
                scope.spawn(move || {
                    let mut share = Vec::new();
                    for e in (k..episodes).step_by(n) {
                        let seed = task.eval.seed + e as u64;
                        let mut env = task.make_env();
                        let mut source = |query: &episode::PlanQuery| {
                            let request = crate::remote_plan::request("eval", seed, query, timeout.as_millis() as u64);
                            let sent = Instant::now();
                            let plan = client
                                .request_from(worker, &request, timeout)
                                .with_context(|| format!("episode {e} on worker {worker}"))?;
                            Ok(crate::remote_plan::path(plan, sent))
                        };
                        share.push((
                            e,
                            episode::planned_episode(&mut env, seed, task.planner.replan_every, &mut source, &mut ())?,
                        ));
                    }
                    Ok(share)
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
