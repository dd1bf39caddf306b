//! `diffplan bench`: speed measurements, printed as Markdown for docs/BENCHMARKS.md, each as
//! a ratio against a baseline measured in the same run.

mod delivery;
mod forward;
mod kinematics;
mod load;
mod picard;
mod plan;
mod replan;
mod ros2_wire;
mod steering;
mod train;
mod wire;
mod workers;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};
use planner::model::{Architecture, Checkpoint, ModelOutput, ModelSpec, NativeModel, Normalizer, Provenance};
use planner::schedule::ScheduleSpec;
use tch::Device;

/// Arguments of `diffplan bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// What to measure.
    #[arg(value_enum)]
    target: BenchTarget,
    /// Timed repetitions per measurement; the median is reported (default: 20).
    #[arg(long, default_value_t = 20)]
    iters: usize,
    /// Batch sizes to measure (default: 1,32).
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 32])]
    batches: Vec<usize>,
    /// Denoising steps K of `bench plan` (default: 20).
    #[arg(long, default_value_t = 20)]
    steps: usize,
    /// Python with torch 2.11.0, for the PyTorch baselines (default: `$DIFFPLAN_PYTHON`).
    #[arg(long, env = "DIFFPLAN_PYTHON", default_value = "python3")]
    python: PathBuf,
    /// Folder of the PyTorch baselines `diffuser_torch.py` and `sampler_reference.py`.
    #[arg(long, default_value = "scripts/torch")]
    scripts: PathBuf,
    /// Checkpoint of `bench picard`.
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Picard tolerance τ of `bench picard`.
    #[arg(long, default_value_t = 0.1)]
    tolerance: f64,
    /// Step counts K of `bench picard`: 20 runs DPM-Solver++, any other DDPM.
    #[arg(long, value_delimiter = ',', default_values_t = [20usize, 64, 256])]
    picard_steps: Vec<usize>,
    /// Seconds after which `bench picard` stops a Picard plan and reports it unconverged.
    #[arg(long, default_value_t = 120.0)]
    picard_cap_s: f64,
    /// Seconds one `bench picard` measurement may take (warm-ups stop after a tenth of it,
    /// timed repetitions after all of it, at least one of each); seconds of each `bench load` row.
    #[arg(long, default_value_t = 60.0)]
    budget_s: f64,
    /// Robot counts of `bench load`'s rows.
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 8, 32, 64])]
    robots: Vec<usize>,
    /// Lab folder (scripts/lab-certs.sh DIR) for `bench wire`'s row through a secured router.
    #[arg(long, value_name = "DIR")]
    tls: Option<PathBuf>,
    /// Task config of `bench wire` and `bench load` (its planner is served), `bench steering`,
    /// `bench replan` and `bench kinematics`.
    #[arg(long, default_value = "configs/tasks/maze2d-umaze.toml")]
    task: PathBuf,
    /// Device of `bench picard`, `bench wire`, `bench load` and `bench steering`.
    #[command(flatten)]
    device: crate::cli::DeviceArgs,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum BenchTarget {
    /// One denoiser forward pass: native `tch::nn` vs TorchScript vs PyTorch eager (baseline).
    Forward,
    /// A whole plan per sampler: overhead over K forward passes, and against a PyTorch loop.
    Plan,
    /// Sequential sampling against Picard iterations on `--checkpoint`.
    Picard,
    /// Zenoh: plan delivery latency, plan service throughput, real-time replanning rate.
    Wire,
    /// Many robots against one or two planner workers: every request answered once, plan
    /// latency per robot count.
    Load,
    /// Guidance, projection and derivative-free selection on `--task`, against plain sampling.
    Steering,
    /// Closing the loop: cold against renoised replans on `--task`, and the safety filter's
    /// cost per control step.
    Replan,
    /// An arm task's forward kinematics over a plan batch, against its denoiser's forward pass.
    Kinematics,
    /// One training step in Rust against the same step in PyTorch.
    Train,
}

/// Runs the chosen benchmark and prints its Markdown table.
pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    match args.target {
        BenchTarget::Forward => forward::run(args),
        BenchTarget::Plan => plan::run(args),
        BenchTarget::Picard => picard::run(args),
        BenchTarget::Wire => wire::run(args),
        BenchTarget::Load => load::run(args),
        BenchTarget::Steering => steering::run(args),
        BenchTarget::Replan => replan::run(args),
        BenchTarget::Kinematics => kinematics::run(args),
        BenchTarget::Train => train::run(args),
    }
}

/// Warm-up calls before timing.
const WARMUP: usize = 3;

/// A network shape of the benchmark.
struct Shape {
    name: &'static str,
    horizon: usize,
    action_dim: usize,
    observation_dim: usize,
    dim_mults: &'static [usize],
}

/// Diffuser's Maze2D and locomotion U-Nets.
const SHAPES: &[Shape] = &[
    Shape {
        name: "maze2d (T=6, H=128, mults 1,4,8)",
        horizon: 128,
        action_dim: 2,
        observation_dim: 4,
        dim_mults: &[1, 4, 8],
    },
    Shape {
        name: "locomotion (T=14, H=32, mults 1,2,4,8)",
        horizon: 32,
        action_dim: 3,
        observation_dim: 11,
        dim_mults: &[1, 2, 4, 8],
    },
];

/// Training steps N of the benchmark models.
const DIFFUSION_STEPS: usize = 64;

/// Saves a freshly initialised x0-predicting U-Net of `shape` as a checkpoint in `dir`, with a
/// TorchScript export made by PyTorch.
fn save_checkpoint(args: &BenchArgs, shape: &Shape, dir: &Path) -> anyhow::Result<Checkpoint> {
    let d = shape.action_dim + shape.observation_dim;
    let spec = ModelSpec {
        horizon: shape.horizon,
        stride: 1,
        action_dim: shape.action_dim,
        observation_dim: shape.observation_dim,
        output: ModelOutput::Sample,
        diffusion_steps: DIFFUSION_STEPS,
        schedule: ScheduleSpec::default(),
        normalizer: Normalizer::Limits { min: vec![-1.0; d], max: vec![1.0; d] },
    };
    let architecture = Architecture::TemporalUnet { dim: 32, dim_mults: shape.dim_mults.to_vec(), attention: false };
    let model = NativeModel::new(spec, architecture, Device::Cpu)?;
    Checkpoint::save(dir, &model, Provenance::default())?;
    python(args, "diffuser_torch.py", &["export".as_ref(), dir.as_os_str()])?;
    Ok(Checkpoint::open(dir)?)
}

/// Median wall time of `f` in milliseconds, without gradients.
fn median_ms<T>(iters: usize, mut f: impl FnMut() -> planner::Result<T>) -> anyhow::Result<f64> {
    let _guard = tch::no_grad_guard();
    let mut times = Vec::with_capacity(iters);
    for i in 0..WARMUP + iters {
        let start = Instant::now();
        f()?;
        if i >= WARMUP {
            times.push(start.elapsed().as_secs_f64() * 1e3);
        }
    }
    Ok(median(times))
}

/// The median of `values` (the upper one of an even count).
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The value at quantile `q` of `values`.
fn quantile(mut values: Vec<f64>, q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    values[((values.len() - 1) as f64 * q).round() as usize]
}

/// Runs `scripts/<script>` with `script_args` and returns its standard output.
fn python(args: &BenchArgs, script: &str, script_args: &[&std::ffi::OsStr]) -> anyhow::Result<String> {
    let path = args.scripts.join(script);
    let output = Command::new(&args.python)
        .arg(&path)
        .args(script_args)
        .output()
        .with_context(|| format!("could not run {} (set --python or DIFFPLAN_PYTHON)", args.python.display()))?;
    if !output.status.success() {
        bail!("{} {script_args:?} failed: {}", path.display(), String::from_utf8_lossy(&output.stderr));
    }
    Ok(String::from_utf8(output.stdout)?)
}

/// The field `key` of every JSON line in `out`.
fn json_field(out: &str, key: &str) -> anyhow::Result<Vec<f64>> {
    out.lines()
        .map(|line| {
            let value: serde_json::Value =
                serde_json::from_str(line).with_context(|| format!("bad line from the PyTorch bench: {line}"))?;
            value[key].as_f64().with_context(|| format!("no {key} in {line}"))
        })
        .collect()
}
