//! `diffplan train`: trains a denoiser or a value model from a TOML config, with a progress bar,
//! checkpoints and resumption; the final checkpoint gets a TorchScript export made by PyTorch.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use planner::model::{Checkpoint, Provenance};
use planner::runtime;
use planner::train::{TrainConfig, Trainer};

use crate::cli::{DeviceArgs, progress};

/// Arguments of `diffplan train`.
#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// Training config (TOML), e.g. configs/train/maze2d-umaze.toml.
    #[arg(long)]
    config: PathBuf,
    /// Continue the run saved in the config's `out` folder.
    #[arg(long)]
    resume: bool,
    /// Start a new run from this checkpoint's weights instead of a random initialization (same
    /// architecture; its horizon may differ), e.g. `--init models/maze2d-medium`.
    #[arg(long, conflicts_with = "resume", value_name = "CHECKPOINT")]
    init: Option<PathBuf>,
    /// Override `optimization.steps`.
    #[arg(long)]
    steps: Option<usize>,
    #[command(flatten)]
    device: DeviceArgs,
    /// Skip the TorchScript export at the end.
    #[arg(long)]
    no_export: bool,
    /// Python with torch 2.11.0 for the TorchScript export (default: `$DIFFPLAN_PYTHON`).
    #[arg(long, env = "DIFFPLAN_PYTHON")]
    python: Option<PathBuf>,
}

/// Steps between progress lines when standard error is not a terminal.
const LOG_EVERY: usize = 100;

/// Trains to the configured step count.
pub fn run(args: &TrainArgs) -> anyhow::Result<()> {
    crate::cli::device::check_available(args.device.device)?;
    let mut config: TrainConfig = crate::config_file::read_toml(&args.config, "training config")?;
    if let Some(steps) = args.steps {
        config.optimization.steps = steps;
    }
    config.validate().with_context(|| format!("{}: not a valid training config", args.config.display()))?;
    let dataset =
        config.data.read().with_context(|| format!("reading the dataset named by {}", args.config.display()))?;
    let total = config.optimization.steps;
    let every = config.optimization.checkpoint_every.max(1);
    let mut trainer = Trainer::new(config.clone(), dataset, args.device.device, args.resume)?;
    let initialized_from = match &args.init {
        Some(dir) => {
            let source = Checkpoint::open(dir)?;
            trainer.initialize_from(&source).with_context(|| format!("initializing from {}", dir.display()))?;
            let steps = source.manifest().provenance.train_steps.map_or(String::new(), |s| format!(" ({s} steps)"));
            Some(format!("{}{steps}", dir.display()))
        }
        None if args.resume => {
            Checkpoint::open(&config.out).ok().and_then(|c| c.manifest().provenance.initialized_from.clone())
        }
        None => None,
    };
    let what =
        config.value.as_ref().map_or("a denoiser".to_string(), |v| format!("a value model (γ = {})", v.discount));
    eprintln!(
        "training {what} into {} on {} windows of {} (H = {}, stride {}), from step {} to {total}",
        config.out.display(),
        trainer.windows(),
        config.data.path.display(),
        config.model.horizon,
        config.model.stride,
        trainer.step()
    );
    if let Some(from) = &initialized_from {
        eprintln!("initialized from {from}");
    }
    let bar = progress::bar(total as u64, "steps").with_position(trainer.step() as u64);
    let mut smoothed = None;
    while trainer.step() < total {
        let report = trainer.train_step()?;
        smoothed = Some(smoothed.map_or(report.loss, |s: f64| 0.98 * s + 0.02 * report.loss));
        bar.set_position(report.step as u64);
        bar.set_message(format!(
            "loss {:.4} (avg {:.4}) |g| {:.2}",
            report.loss,
            smoothed.unwrap_or(report.loss),
            report.grad_norm
        ));
        if bar.is_hidden() && report.step.is_multiple_of(LOG_EVERY) {
            // Not a terminal (a log file): a plain line now and then instead of the bar.
            eprintln!("step {}: loss {:.5} (avg {:.5})", report.step, report.loss, smoothed.unwrap_or(report.loss));
        }
        if report.step.is_multiple_of(every) || report.step == total {
            trainer.save(provenance(&args.config, &config, report.step, initialized_from.clone()))?;
            let line =
                format!("step {}: loss (avg) {:.5}, checkpoint saved", report.step, smoothed.unwrap_or(report.loss));
            // A hidden bar (standard error is a log file) drops what it is asked to print.
            if bar.is_hidden() { eprintln!("{line}") } else { bar.println(line) }
        }
    }
    bar.finish_and_clear();
    if !args.no_export {
        export_torchscript(args.python.as_deref(), &config.out)?;
    }
    eprintln!("done: {} at step {total}", config.out.display());
    Ok(())
}

fn provenance(config_path: &Path, config: &TrainConfig, step: usize, initialized_from: Option<String>) -> Provenance {
    Provenance {
        created_by: format!("diffplan {}", env!("CARGO_PKG_VERSION")),
        torch: runtime::libtorch_version(),
        source: format!("diffplan train --config {}", config_path.display()),
        dataset: Some(config.data.path.display().to_string()),
        train_steps: Some(step as u64),
        seed: Some(config.optimization.seed),
        initialized_from,
    }
}

/// Adds module.pt to the checkpoint with `scripts/torch/diffuser_torch.py export`.
fn export_torchscript(python: Option<&Path>, checkpoint: &Path) -> anyhow::Result<()> {
    let Some(python) = python else {
        bail!("no python for the TorchScript export: set DIFFPLAN_PYTHON (scripts/env.sh does) or pass --no-export");
    };
    let status = Command::new(python)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/torch/diffuser_torch.py"))
        .arg("export")
        .arg(checkpoint)
        .status()
        .with_context(|| format!("running {}", python.display()))?;
    if !status.success() {
        bail!("the TorchScript export of {} failed ({status})", checkpoint.display());
    }
    Ok(())
}
