//! `diffplan eval`: Maze2D episodes with Diffuser's protocol, scored like D4RL.
//!
//! Each episode resets the maze with seed `eval.seed + episode`, pins the start observation and
//! the goal (position, zero velocity), plans (once, or every `replan_every` steps), and tracks the
//! planned states with Diffuser's controller until the time limit. The table gives the D4RL
//! normalized score ×100 (mean ± standard error), the share of episodes that reached the goal, the
//! return, plan latency (p50 / p95) and model calls per plan. `--policy random` and
//! `--policy expert` (the scripted expert, reset every episode) measure this environment's own
//! reference returns.

use std::path::PathBuf;

use anyhow::Context;
use planner::model::Checkpoint;
use planner::picard::{PicardConfig, shift_iterates};
use planner::sampler::SamplerConfig;
use planner::{PlanRequest, Planner};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;
use sim::Env;
use sim::maze2d::{GoalMode, Layout, Maze2d, WaypointExpert, track};
use tch::Device;

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
    /// Sample by Picard iterations with this window.
    #[arg(long)]
    picard_window: Option<usize>,
    /// Picard tolerance τ (default: 0.1).
    #[arg(long, requires = "picard_window")]
    picard_tolerance: Option<f64>,
    /// Start each replan's Picard iteration from the previous plan's iterates, shifted by the
    /// steps executed.
    #[arg(long, requires = "picard_window")]
    warm_start: bool,
    /// `cpu`, `cuda` or `cuda:N` (default: cpu).
    #[arg(long, default_value = "cpu", value_parser = crate::device::parse_device)]
    device: Device,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum PolicyArg {
    Planner,
    Expert,
    Random,
}

/// A task config.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskConfig {
    env: EnvConfig,
    planner: PlannerConfig,
    #[serde(default)]
    eval: EvalConfig,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvConfig {
    #[serde(deserialize_with = "layout")]
    layout: Layout,
    goals: Goals,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Goals {
    Fixed,
    Random,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlannerConfig {
    checkpoint: PathBuf,
    #[serde(default)]
    replan_every: usize,
    sampler: SamplerConfig,
    #[serde(default)]
    picard: Option<PicardConfig>,
    #[serde(default)]
    warm_start: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct EvalConfig {
    episodes: usize,
    seed: u64,
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

/// One episode's outcome.
struct EpisodeOutcome {
    episode_return: f64,
    reached: bool,
    plan_ms: Vec<f64>,
    model_calls: Vec<usize>,
}

/// Runs the episodes and prints the table.
pub fn run(args: &EvalArgs) -> anyhow::Result<()> {
    crate::device::check_available(args.device)?;
    let mut task: TaskConfig = crate::config_file::read_toml(&args.config, "task config")?;
    if let Some(steps) = args.steps {
        task.planner.sampler.steps = Some(steps);
    }
    task.planner.replan_every = args.replan_every.unwrap_or(task.planner.replan_every);
    if let Some(window) = args.picard_window {
        let tolerance = args.picard_tolerance.unwrap_or(0.1);
        task.planner.picard = Some(PicardConfig { window, tolerance, max_sweeps: None, deadline_ms: None });
    }
    task.planner.warm_start |= args.warm_start;
    let episodes = args.episodes.unwrap_or(task.eval.episodes);
    let planner = match args.policy {
        PolicyArg::Planner => {
            let checkpoint = Checkpoint::open(&task.planner.checkpoint)
                .with_context(|| format!("the checkpoint named by {}", args.config.display()))?;
            Some(Planner::new(Box::new(checkpoint.load_native(args.device)?))?)
        }
        PolicyArg::Expert | PolicyArg::Random => None,
    };
    let goal_mode = match task.env.goals {
        Goals::Fixed => GoalMode::Fixed,
        Goals::Random => GoalMode::Random,
    };
    let mut results = Vec::with_capacity(episodes);
    for e in 0..episodes {
        let seed = task.eval.seed + e as u64;
        let mut env = Maze2d::new(task.env.layout, goal_mode);
        results.push(match &planner {
            Some(planner) => planner_episode(&mut env, planner, &task, seed)?,
            None => baseline_episode(&mut env, args.policy, seed),
        });
    }
    print_table(&task, args.policy, &results);
    Ok(())
}

fn planner_episode(
    env: &mut Maze2d,
    planner: &Planner,
    task: &TaskConfig,
    seed: u64,
) -> anyhow::Result<EpisodeOutcome> {
    let mut observation = env.reset(seed);
    let goal = env.goal();
    let mut result =
        EpisodeOutcome { episode_return: 0.0, reached: false, plan_ms: Vec::new(), model_calls: Vec::new() };
    let mut plan: Vec<Vec<f32>> = Vec::new();
    let mut iterates: Vec<tch::Tensor> = Vec::new();
    let mut since_plan = 0;
    for t in 0..env.max_episode_steps() {
        if t == 0 || (task.planner.replan_every > 0 && since_plan == task.planner.replan_every) {
            let request = PlanRequest {
                goal: Some(vec![goal[0], goal[1], 0.0, 0.0]),
                seed: seed.wrapping_mul(1_000_003).wrapping_add(t as u64),
                picard: task.planner.picard.clone(),
                ..PlanRequest::new(observation.clone(), task.planner.sampler.clone())
            };
            let warm = (task.planner.warm_start && !iterates.is_empty()).then(|| shift_iterates(&iterates, since_plan));
            let (planned, new_iterates) = planner.plan_warm(&request, warm.as_deref(), &mut ())?;
            iterates = new_iterates;
            result.plan_ms.push(planned.timings.total_ms);
            result.model_calls.push(planned.stats.model_calls);
            plan.clone_from(&planned.best().states);
            since_plan = 0;
        }
        let step = env.step(&track(&plan, since_plan, &observation));
        since_plan += 1;
        result.episode_return += f64::from(step.reward);
        result.reached |= step.reward > 0.0;
        observation = step.observation;
    }
    Ok(result)
}

fn baseline_episode(env: &mut Maze2d, policy: PolicyArg, seed: u64) -> EpisodeOutcome {
    let mut observation = env.reset(seed);
    let mut expert = WaypointExpert::new(env.layout(), seed);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut result =
        EpisodeOutcome { episode_return: 0.0, reached: false, plan_ms: Vec::new(), model_calls: Vec::new() };
    for _ in 0..env.max_episode_steps() {
        let action = match policy {
            PolicyArg::Expert => expert.act(&observation, env.goal()).0,
            _ => [rng.gen_range(-1.0..=1.0), rng.gen_range(-1.0..=1.0)],
        };
        let step = env.step(&action);
        result.episode_return += f64::from(step.reward);
        result.reached |= step.reward > 0.0;
        observation = step.observation;
    }
    result
}

fn print_table(task: &TaskConfig, policy: PolicyArg, results: &[EpisodeOutcome]) {
    let n = results.len() as f64;
    let reference = task.env.layout.reference_returns();
    let scores: Vec<f64> = results.iter().map(|r| reference.normalized(r.episode_return)).collect();
    let mean = scores.iter().sum::<f64>() / n;
    let standard_error =
        (scores.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0)).sqrt() / n.sqrt();
    let returns = results.iter().map(|r| r.episode_return).sum::<f64>() / n;
    let reached = results.iter().filter(|r| r.reached).count();
    let mut plan_ms: Vec<f64> = results.iter().flat_map(|r| r.plan_ms.iter().copied()).collect();
    plan_ms.sort_by(f64::total_cmp);
    let percentile = |p: f64| plan_ms.get(((plan_ms.len() as f64 - 1.0) * p).round() as usize).copied();
    // Model calls of first plans and of replans separately: a warm start only helps the latter.
    let average_calls = |calls: Vec<usize>| -> String {
        if calls.is_empty() {
            "–".into()
        } else {
            format!("{:.1}", calls.iter().sum::<usize>() as f64 / calls.len() as f64)
        }
    };
    let first_calls = average_calls(results.iter().filter_map(|r| r.model_calls.first().copied()).collect());
    let replan_calls = average_calls(results.iter().flat_map(|r| r.model_calls.iter().skip(1).copied()).collect());
    let sampler = match policy {
        PolicyArg::Planner => {
            let s = &task.planner.sampler;
            let picard = task.planner.picard.as_ref().map_or(String::new(), |p| {
                format!(
                    ", Picard p={} τ={}{}",
                    p.window,
                    p.tolerance,
                    if task.planner.warm_start { " warm" } else { "" }
                )
            });
            let replan = match task.planner.replan_every {
                0 => String::new(),
                k => format!(", replan every {k}"),
            };
            format!("{} × {}{picard}{replan}", s.kind.name(), s.steps.map_or("default".into(), |k| k.to_string()))
        }
        _ => "–".into(),
    };
    let goals = match task.env.goals {
        Goals::Fixed => "fixed goal",
        Goals::Random => "random goals",
    };
    println!(
        "| task | policy | sampler | episodes | score ×100 (mean ± s.e.) | reached goal | mean return | plan p50 / p95 | model calls / plan (first; replans) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    println!(
        "| maze2d-{} ({goals}) | {policy:?} | {sampler} | {} | {mean:.1} ± {standard_error:.1} | {reached}/{} | {returns:.1} | {} | {first_calls}; {replan_calls} |",
        task.env.layout.name(),
        results.len(),
        results.len(),
        match (percentile(0.5), percentile(0.95)) {
            (Some(p50), Some(p95)) => format!("{p50:.0} / {p95:.0} ms"),
            _ => "–".into(),
        },
    );
}
