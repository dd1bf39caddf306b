//! `diffplan plan`: one plan from a checkpoint, printed as JSON.

use std::path::{Path, PathBuf};

use anyhow::bail;
use planner::condition::Pin;
use planner::driver::picard_auto::AutoChoice;
use planner::model::{Checkpoint, Denoiser, ValueModel};
use planner::sampler::{SamplerConfig, SamplerKind};
use planner::{PlanRequest, Planner};
use serde::Serialize;
use tch::Device;

use crate::cli::{DeviceArgs, PicardArgs};

/// Arguments of `diffplan plan`. Flags override the request file.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// Checkpoint folder of the denoiser (manifest.toml, weights.safetensors, module.pt).
    #[arg(long)]
    checkpoint: PathBuf,
    /// Run the checkpoint's TorchScript export (module.pt) instead of the native network.
    #[arg(long)]
    torchscript: bool,
    /// Checkpoint folder of a value model that ranks the candidates.
    #[arg(long)]
    value: Option<PathBuf>,
    /// A plan request in TOML (fields of `PlanRequest`: observation, goal, waypoints, sampler,
    /// batch_size, seed).
    #[arg(long)]
    request: Option<PathBuf>,
    /// Current observation, comma-separated, in the data's units.
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    start: Option<Vec<f32>>,
    /// Goal observation pinned at the last index, comma-separated.
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    goal: Option<Vec<f32>>,
    /// An observation pinned at an index: `INDEX:v1,v2,...` (repeatable).
    #[arg(long, value_parser = parse_waypoint, allow_hyphen_values = true)]
    waypoint: Vec<Pin>,
    /// Sampler (default: ddpm).
    #[arg(long, value_enum)]
    sampler: Option<SamplerArg>,
    /// Denoising steps K, 1..=N (default: N for ddpm/ddim, min(20, N) for dpm-solver-pp).
    #[arg(long)]
    steps: Option<usize>,
    /// DDIM's η in [0, 1] (default: 0).
    #[arg(long)]
    eta: Option<f64>,
    /// Clamp x0_hat to [−1, 1] at every step.
    #[arg(long)]
    clip_x0: bool,
    /// Candidate plans sampled in one batch (default: 1).
    #[arg(long)]
    batch: Option<usize>,
    /// Seed of the noise tape (default: 0).
    #[arg(long)]
    seed: Option<u64>,
    #[command(flatten)]
    picard: PicardArgs,
    #[command(flatten)]
    device: DeviceArgs,
    /// CPU threads of libtorch (default: libtorch's choice).
    #[arg(long)]
    threads: Option<i32>,
}

/// Sampler names on the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum SamplerArg {
    Ddpm,
    Ddim,
    DpmSolverPp,
}

impl From<SamplerArg> for SamplerKind {
    fn from(arg: SamplerArg) -> Self {
        match arg {
            SamplerArg::Ddpm => Self::Ddpm,
            SamplerArg::Ddim => Self::Ddim,
            SamplerArg::DpmSolverPp => Self::DpmSolverPp,
        }
    }
}

/// What is printed: the request as resolved, where the model came from, and the plan.
#[derive(Serialize)]
struct Output<'a> {
    checkpoint: &'a Path,
    value_checkpoint: Option<&'a Path>,
    request: &'a PlanRequest,
    /// The measured choice behind `--picard-window auto`.
    #[serde(skip_serializing_if = "Option::is_none")]
    picard_auto: Option<AutoChoice>,
    plan: planner::Plan,
}

/// Plans once and prints the JSON, one line, to standard output.
pub fn run(args: &PlanArgs) -> anyhow::Result<()> {
    if let Some(threads) = args.threads {
        tch::set_num_threads(threads);
    }
    crate::cli::device::check_available(args.device.device)?;
    let mut request = request(args)?;
    let planner = Planner::new(load_denoiser(&args.checkpoint, args.torchscript, args.device.device)?)?;
    let planner = match &args.value {
        Some(dir) => planner.with_value_model(load_value_model(dir, args.torchscript, args.device.device)?)?,
        None => planner,
    };
    let picard_auto = match args.picard.settings(request.picard.as_ref().map(|p| p.tolerance)) {
        Some(settings) => {
            let (picard, choice) = crate::task::picard::resolve(&settings, &planner, &request)?;
            request.picard = picard;
            choice
        }
        None => None,
    };
    let plan = planner.plan(&request)?;
    let output = Output {
        checkpoint: &args.checkpoint,
        value_checkpoint: args.value.as_deref(),
        request: &request,
        picard_auto,
        plan,
    };
    println!("{}", serde_json::to_string(&output)?);
    Ok(())
}

/// The request file (if any) with the flags applied on top.
fn request(args: &PlanArgs) -> anyhow::Result<PlanRequest> {
    let mut request = if let Some(path) = &args.request {
        crate::config_file::read_toml(path, "plan request")?
    } else {
        let Some(start) = &args.start else {
            bail!("give the current observation with --start v1,v2,... or a request file with --request FILE");
        };
        PlanRequest::new(start.clone(), SamplerConfig::new(SamplerKind::Ddpm))
    };
    if let Some(start) = &args.start {
        request.observation.clone_from(start);
    }
    if args.goal.is_some() {
        request.goal.clone_from(&args.goal);
    }
    request.waypoints.extend(args.waypoint.iter().cloned());
    if let Some(kind) = args.sampler {
        request.sampler.kind = kind.into();
    }
    request.sampler.steps = args.steps.or(request.sampler.steps);
    request.sampler.eta = args.eta.unwrap_or(request.sampler.eta);
    request.sampler.clip_x0 |= args.clip_x0;
    request.batch_size = args.batch.unwrap_or(request.batch_size);
    request.seed = args.seed.unwrap_or(request.seed);
    Ok(request)
}

fn load_denoiser(dir: &Path, torchscript: bool, device: Device) -> anyhow::Result<Box<dyn Denoiser>> {
    let checkpoint = Checkpoint::open(dir)?;
    Ok(if torchscript {
        Box::new(checkpoint.load_torchscript(device)?)
    } else {
        Box::new(checkpoint.load_native(device)?)
    })
}

fn load_value_model(dir: &Path, torchscript: bool, device: Device) -> anyhow::Result<Box<dyn ValueModel>> {
    let checkpoint = Checkpoint::open(dir)?;
    Ok(if torchscript {
        Box::new(checkpoint.load_torchscript(device)?)
    } else {
        Box::new(checkpoint.load_native(device)?)
    })
}

fn parse_waypoint(text: &str) -> Result<Pin, String> {
    let (index, values) = text.split_once(':').ok_or_else(|| format!("{text:?} is not INDEX:v1,v2,..."))?;
    let index = index.trim().parse().map_err(|e| format!("waypoint index {index:?}: {e}"))?;
    let observation = values
        .split(',')
        .map(|v| v.trim().parse::<f32>().map_err(|e| format!("waypoint value {v:?}: {e}")))
        .collect::<Result<_, _>>()?;
    Ok(Pin { index, observation })
}
