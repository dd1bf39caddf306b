//! `diffplan collect`: a D4RL-format dataset from a task's scripted expert (for Maze2D, the way
//! D4RL's `generate_maze2d_datasets.py` does it; see `sim::maze2d::collect`).

use std::path::PathBuf;

use anyhow::Context;

use crate::cli::progress;
use crate::task::TaskFile;

/// Arguments of `diffplan collect`.
#[derive(Debug, clap::Args)]
pub struct CollectArgs {
    /// Task config (TOML) whose environment and expert record the data, e.g.
    /// configs/tasks/maze2d-umaze.toml.
    #[arg(long)]
    config: PathBuf,
    /// Number of steps to record (D4RL: 1 000 000).
    #[arg(long, default_value_t = 1_000_000)]
    samples: usize,
    /// Add N(0, 0.5²) noise to the expert's actions (D4RL's `--noisy`).
    #[arg(long)]
    noisy: bool,
    /// Seed of the start, the goals, the waypoint jitter and the action noise.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output HDF5 file.
    #[arg(long)]
    out: PathBuf,
}

/// Collects and writes the dataset.
pub fn run(args: &CollectArgs) -> anyhow::Result<()> {
    let file = TaskFile::read(&args.config)?;
    let bar = progress::bar(args.samples as u64, "steps");
    let dataset = file.task.collect(args.samples, args.noisy, args.seed, &mut || bar.inc(1));
    bar.finish_and_clear();
    dataset.write_hdf5(&args.out).with_context(|| format!("writing {}", args.out.display()))?;
    let ends = dataset.timeouts.iter().filter(|&&t| t).count();
    eprintln!("wrote {} steps to {} ({ends} steps marked in timeouts)", dataset.len(), args.out.display());
    Ok(())
}
