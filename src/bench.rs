//! `diffplan bench`: speed measurements, printed as Markdown for docs/BENCHMARKS.md, each as
//! a ratio against a baseline measured in the same run.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};
use planner::model::{Architecture, Checkpoint, Denoiser, ModelOutput, ModelSpec, NativeModel, Normalizer, Provenance};
use planner::schedule::ScheduleSpec;
use tch::{Device, Kind, Tensor};

/// Arguments of `diffplan bench`.
#[derive(Debug, clap::Args)]
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
    /// Python with torch 2.11.0, for the PyTorch baseline (default: `$DIFFPLAN_PYTHON`).
    #[arg(long, env = "DIFFPLAN_PYTHON")]
    python: PathBuf,
    /// The PyTorch implementation of the networks (default: `scripts/torch/diffuser_torch.py`).
    #[arg(long, default_value = "scripts/torch/diffuser_torch.py")]
    script: PathBuf,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum BenchTarget {
    /// One denoiser forward pass: native `tch::nn` vs TorchScript vs PyTorch eager (baseline).
    Forward,
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

/// Runs the benchmark and prints a Markdown table.
pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let BenchTarget::Forward = args.target;
    let threads = tch::get_num_threads();
    println!(
        "Forward pass, median of {} after {WARMUP} warm-up calls, CPU, {threads} threads, same weights and inputs.\n",
        args.iters
    );
    println!("| network | batch | PyTorch eager (baseline) | native tch::nn | TorchScript in tch |");
    println!("|---|---|---|---|---|");
    for shape in SHAPES {
        let dir = tempfile::tempdir()?;
        let model = NativeModel::new(
            spec(shape),
            Architecture::TemporalUnet { dim: 32, dim_mults: shape.dim_mults.to_vec(), attention: false },
            Device::Cpu,
        )?;
        Checkpoint::save(dir.path(), &model, Provenance::default())?;
        python(args, &["export".as_ref(), dir.path().as_os_str()])?;
        let baseline = pytorch_eager_ms(args, dir.path(), threads)?;
        let checkpoint = Checkpoint::open(dir.path())?;
        let native = checkpoint.load_native(Device::Cpu)?;
        let scripted = checkpoint.load_torchscript(Device::Cpu)?;
        for (&batch, eager_ms) in args.batches.iter().zip(baseline) {
            let x = Tensor::randn(
                [batch as i64, shape.horizon as i64, (shape.action_dim + shape.observation_dim) as i64],
                (Kind::Float, Device::Cpu),
            );
            let t = Tensor::randint(64, [batch as i64], (Kind::Int64, Device::Cpu));
            let native_ms = median_ms(args.iters, || native.predict(&x, &t).map(drop))?;
            let scripted_ms = median_ms(args.iters, || scripted.predict(&x, &t).map(drop))?;
            println!(
                "| {} | {batch} | {eager_ms:.2} ms (1.00) | {native_ms:.2} ms ({:.2}) | {scripted_ms:.2} ms ({:.2}) |",
                shape.name,
                native_ms / eager_ms,
                scripted_ms / eager_ms
            );
        }
    }
    Ok(())
}

fn spec(shape: &Shape) -> ModelSpec {
    let d = shape.action_dim + shape.observation_dim;
    ModelSpec {
        horizon: shape.horizon,
        action_dim: shape.action_dim,
        observation_dim: shape.observation_dim,
        output: ModelOutput::Sample,
        diffusion_steps: 64,
        schedule: ScheduleSpec::default(),
        normalizer: Normalizer::Limits { min: vec![-1.0; d], max: vec![1.0; d] },
    }
}

/// Median wall time of `f` in milliseconds, without gradients.
fn median_ms(iters: usize, mut f: impl FnMut() -> planner::Result<()>) -> anyhow::Result<f64> {
    let _guard = tch::no_grad_guard();
    let mut times = Vec::with_capacity(iters);
    for i in 0..WARMUP + iters {
        let start = Instant::now();
        f()?;
        if i >= WARMUP {
            times.push(start.elapsed().as_secs_f64() * 1e3);
        }
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

/// PyTorch eager medians (ms) for `args.batches`, from `diffuser_torch.py bench`.
fn pytorch_eager_ms(args: &BenchArgs, checkpoint: &Path, threads: i32) -> anyhow::Result<Vec<f64>> {
    let batches = args.batches.iter().map(ToString::to_string).collect::<Vec<_>>().join(",");
    let (iters, threads) = (args.iters.to_string(), threads.to_string());
    let out = python(
        args,
        &[
            "bench".as_ref(),
            checkpoint.as_os_str(),
            "--batches".as_ref(),
            batches.as_ref(),
            "--iters".as_ref(),
            iters.as_ref(),
            "--threads".as_ref(),
            threads.as_ref(),
        ],
    )?;
    out.lines()
        .map(|line| {
            let value: serde_json::Value =
                serde_json::from_str(line).with_context(|| format!("bad line from the PyTorch bench: {line}"))?;
            value["median_ms"].as_f64().with_context(|| format!("no median_ms in {line}"))
        })
        .collect()
}

/// Runs the PyTorch script and returns its standard output.
fn python(args: &BenchArgs, script_args: &[&std::ffi::OsStr]) -> anyhow::Result<String> {
    let output = Command::new(&args.python)
        .arg(&args.script)
        .args(script_args)
        .output()
        .with_context(|| format!("could not run {} (set --python or DIFFPLAN_PYTHON)", args.python.display()))?;
    if !output.status.success() {
        bail!("{} {script_args:?} failed: {}", args.script.display(), String::from_utf8_lossy(&output.stderr));
    }
    Ok(String::from_utf8(output.stdout)?)
}
