//! `diffplan import diffuser`: a run of jannerm/diffuser (its `state_<epoch>.pt` and the config
//! pickles beside it) as a diffplan checkpoint folder, with the normalizer Diffuser would
//! recompute from the same dataset. The file is read without Python and nothing in it is run.

use std::path::PathBuf;

use anyhow::Context;
use planner::import::diffuser::{DiffuserCheckpoint, Overrides, WeightSet};
use planner::import::diffuser_data::{DiffuserData, diffuser_normalizer};
use planner::model::{Checkpoint, ModelOutput, Provenance};
use planner::runtime;
use planner::train::d4rl::D4rlDataset;
use sim::maze2d::Layout;

/// Arguments of `diffplan import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    #[command(subcommand)]
    source: Source,
}

#[derive(Debug, clap::Subcommand)]
enum Source {
    /// A jannerm/diffuser checkpoint (`state_<epoch>.pt`).
    Diffuser(DiffuserArgs),
}

/// Arguments of `diffplan import diffuser`.
#[derive(Debug, clap::Args)]
struct DiffuserArgs {
    /// The checkpoint, e.g. logs/maze2d-umaze-v1/diffusion/H128_T64/state_1960000.pt. The
    /// run's model_config.pkl, diffusion_config.pkl and dataset_config.pkl are read from the
    /// same folder when they are there.
    checkpoint: PathBuf,
    /// The D4RL-format dataset (HDF5) the model was trained on. Diffuser keeps no normalizer
    /// in its checkpoints; it refits one to this data, and so does the import.
    #[arg(long)]
    dataset: PathBuf,
    /// The checkpoint folder to write.
    #[arg(long)]
    out: PathBuf,
    /// Maze2D: the target (x, y metres) at which Diffuser re-cut the dataset's episodes
    /// (`maze2d_set_terminals`). Default: the target of the maze dataset_config.pkl names
    /// (umaze 1,1; medium 6,6; large 7,9).
    #[arg(long, value_delimiter = ',', num_args = 1)]
    recut_at_goal: Option<Vec<f32>>,
    /// What the network predicts. Default: diffusion_config.pkl's `predict_epsilon`; needed
    /// without that file (Diffuser's Maze2D configs: `sample`).
    #[arg(long, value_enum)]
    predict: Option<Predict>,
    /// The normalizer, without dataset_config.pkl (Maze2D: limits; locomotion: gaussian).
    #[arg(long, value_enum)]
    normalizer: Option<NormalizerArg>,
    /// Import the raw training weights instead of the moving average Diffuser plans with.
    #[arg(long)]
    raw_weights: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Predict {
    /// The noise (`predict_epsilon=True`).
    Epsilon,
    /// The clean trajectory (`predict_epsilon=False`).
    Sample,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum NormalizerArg {
    /// `LimitsNormalizer`: min and max to [−1, 1].
    Limits,
    /// `GaussianNormalizer`: mean and standard deviation.
    Gaussian,
}

/// Runs the import.
pub fn run(args: &ImportArgs) -> anyhow::Result<()> {
    match &args.source {
        Source::Diffuser(args) => diffuser(args),
    }
}

fn diffuser(args: &DiffuserArgs) -> anyhow::Result<()> {
    let dataset = D4rlDataset::read_hdf5(&args.dataset)?;
    let overrides = Overrides {
        output: args.predict.map(|p| match p {
            Predict::Epsilon => ModelOutput::Epsilon,
            Predict::Sample => ModelOutput::Sample,
        }),
        action_dim: Some(dataset.actions.width),
    };
    let set = if args.raw_weights { WeightSet::Model } else { WeightSet::Ema };
    let checkpoint = DiffuserCheckpoint::read(&args.checkpoint, set, &overrides)?;
    anyhow::ensure!(
        checkpoint.transition_dim == dataset.actions.width + dataset.observations.width,
        "{}: the model's transitions are {} wide, the dataset's {} actions + {} observations are not; \
         give the dataset the model was trained on",
        args.dataset.display(),
        checkpoint.transition_dim,
        dataset.actions.width,
        dataset.observations.width
    );
    let data = data_cut(args, &checkpoint)?;
    let normalizer = diffuser_normalizer(&dataset, data)
        .with_context(|| format!("fitting Diffuser's normalizer to {}", args.dataset.display()))?;
    let (step, summary) = (checkpoint.step, summary(&checkpoint, data));
    let native = checkpoint.into_model(normalizer, tch::Device::Cpu)?;
    let provenance = Provenance {
        created_by: format!("diffplan {}", env!("CARGO_PKG_VERSION")),
        torch: runtime::libtorch_version(),
        source: format!("diffplan import diffuser {} ({} weights)", args.checkpoint.display(), set.key()),
        dataset: Some(args.dataset.display().to_string()),
        train_steps: step,
        seed: None,
        initialized_from: None,
    };
    Checkpoint::save(&args.out, &native, provenance).with_context(|| format!("writing {}", args.out.display()))?;
    let step = step.map(|s| format!(", step {s}")).unwrap_or_default();
    eprintln!("imported {} ({} weights{step}) into {}", args.checkpoint.display(), set.key(), args.out.display());
    eprintln!("{summary}");
    Ok(())
}

/// How Diffuser cut the dataset before fitting its normalizer: from the flags, else from
/// dataset_config.pkl.
fn data_cut(args: &DiffuserArgs, checkpoint: &DiffuserCheckpoint) -> anyhow::Result<DiffuserData> {
    let maze = checkpoint
        .env
        .as_deref()
        .and_then(|env| env.strip_prefix("maze2d-"))
        .and_then(|rest| Layout::from_name(rest.split('-').next().unwrap_or_default()));
    if let Some(goal) = &args.recut_at_goal {
        let [x, y] = goal[..] else {
            anyhow::bail!("--recut-at-goal takes two numbers, x,y in metres, not {goal:?}");
        };
        return Ok(DiffuserData::Maze2d { goal: [x, y] });
    }
    if let Some(layout) = maze {
        let (i, j) = layout.goal_cell();
        return Ok(DiffuserData::Maze2d { goal: [i as f32, j as f32] });
    }
    let gaussian = match (args.normalizer, checkpoint.normalizer.as_deref()) {
        (Some(flag), _) => flag == NormalizerArg::Gaussian,
        (None, Some("GaussianNormalizer")) => true,
        (None, Some("LimitsNormalizer")) => false,
        (None, Some(other)) => anyhow::bail!(
            "dataset_config.pkl names the normalizer {other}; diffplan imports LimitsNormalizer and GaussianNormalizer"
        ),
        (None, None) => anyhow::bail!(
            "dataset_config.pkl is not beside the checkpoint, so how Diffuser normalized the data is unknown: \
             give --recut-at-goal X,Y for a Maze2D model (the maze's target), or --normalizer limits|gaussian"
        ),
    };
    Ok(DiffuserData::Other { gaussian })
}

/// What was imported, for the terminal, with the sampler settings that reproduce Diffuser's.
fn summary(checkpoint: &DiffuserCheckpoint, data: DiffuserData) -> String {
    let data = match data {
        DiffuserData::Maze2d { goal } => format!("limits over Maze2D episodes re-cut at ({}, {})", goal[0], goal[1]),
        DiffuserData::Other { gaussian: true } => "gaussian".into(),
        DiffuserData::Other { gaussian: false } => "limits".into(),
    };
    let checked =
        if checkpoint.checked.is_empty() { "no config pickles found".into() } else { checkpoint.checked.join(", ") };
    format!(
        "  network: {:?}\n  horizon {}, actions {}, observations {}, N = {}, predicts {:?}\n  normalizer: {data}\n  \
         checked against the configs: {checked}\n  Diffuser's own sampler: [planner.sampler] kind = \"ddpm\", steps = {}, clip_x0 = {}",
        checkpoint.architecture,
        checkpoint.horizon,
        checkpoint.action_dim,
        checkpoint.transition_dim - checkpoint.action_dim,
        checkpoint.diffusion_steps,
        checkpoint.output,
        checkpoint.diffusion_steps,
        checkpoint.clip_denoised.unwrap_or(true),
    )
}
