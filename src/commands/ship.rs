//! `diffplan ship`: a trained checkpoint made small for the repository: float16 weights and the
//! manifest, without the training state or the TorchScript export (`diffuser_torch.py export`
//! recreates that).

use std::path::PathBuf;

use anyhow::Context;
use planner::model::Checkpoint;

/// Arguments of `diffplan ship`.
#[derive(Debug, clap::Args)]
pub struct ShipArgs {
    /// The trained checkpoint folder (e.g. runs/maze2d-umaze).
    from: PathBuf,
    /// Where to put the compact copy (e.g. models/maze2d-umaze).
    to: PathBuf,
}

/// Writes the compact copy.
pub fn run(args: &ShipArgs) -> anyhow::Result<()> {
    let checkpoint = Checkpoint::open(&args.from).with_context(|| format!("opening {}", args.from.display()))?;
    checkpoint.save_compact(&args.to).with_context(|| format!("writing {}", args.to.display()))?;
    let size = std::fs::metadata(args.to.join("weights.safetensors")).map_or(0, |m| m.len());
    eprintln!(
        "shipped {} to {} ({:.1} MB of float16 weights)",
        args.from.display(),
        args.to.display(),
        size as f64 / 1e6
    );
    Ok(())
}
