//! `diffplan bench train`: one training step of Diffuser's Maze2D U-Net in Rust against the same
//! step in PyTorch eager (same network, batch, loss, Adam, clipping and EMA), for the dense
//! horizons of Diffuser's mazes and a jumpy model's strided window.

use std::time::Instant;

use planner::model::Architecture;
use planner::train::d4rl::{D4rlDataset, Table};
use planner::train::{DataConfig, ModelConfig, OptimizationConfig, TrainConfig, Trainer};
use rand::{Rng, SeedableRng};
use tch::Device;

use super::{BenchArgs, WARMUP, json_field, median, python};

/// A training window's shape: rows H and the steps between them.
struct Window {
    name: &'static str,
    horizon: usize,
    stride: usize,
}

/// Diffuser's U-maze and large-maze horizons, and the jumpy large-maze model's window
/// (`configs/train/maze2d-large-jumpy.toml`).
const WINDOWS: &[Window] = &[
    Window { name: "U-maze, dense (H = 128)", horizon: 128, stride: 1 },
    Window { name: "large, dense (H = 384)", horizon: 384, stride: 1 },
    Window { name: "large, jumpy (H = 32, stride 12)", horizon: 32, stride: 12 },
];

/// Maze2D's action and observation widths.
const ACTION_DIM: usize = 2;
const OBSERVATION_DIM: usize = 4;

/// Rows of the random data table the windows are drawn from.
const ROWS: usize = 100_000;

/// Prints the training-step table.
pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let threads = tch::get_num_threads();
    let batch = OptimizationConfig::default().batch_size;
    println!(
        "Training step (batch {batch}, Adam, gradient clipping at 1, EMA every 10 steps), median of {} after \
         {WARMUP} warm-up steps, CPU, {threads} threads, random data of {ROWS} rows.\n",
        args.iters
    );
    println!("| window | PyTorch eager (baseline) | diffplan train | steps per second, diffplan |");
    println!("|---|---|---|---|");
    for window in WINDOWS {
        let dir = tempfile::tempdir()?;
        let mut trainer = Trainer::new(config(window, dir.path()), random_dataset(), Device::Cpu, false)?;
        let mut times = Vec::with_capacity(args.iters);
        for i in 0..WARMUP + args.iters {
            let start = Instant::now();
            trainer.train_step()?;
            if i >= WARMUP {
                times.push(start.elapsed().as_secs_f64() * 1e3);
            }
        }
        let ours = median(times);
        trainer.save(planner::model::Provenance::default())?;
        let (stride, iters, threads) = (window.stride.to_string(), args.iters.to_string(), threads.to_string());
        let out = python(
            args,
            "diffuser_torch.py",
            &[
                "train-bench".as_ref(),
                dir.path().as_os_str(),
                "--stride".as_ref(),
                stride.as_ref(),
                "--action-dim".as_ref(),
                ACTION_DIM.to_string().as_ref(),
                "--iters".as_ref(),
                iters.as_ref(),
                "--threads".as_ref(),
                threads.as_ref(),
            ],
        )?;
        let torch = json_field(&out, "median_ms")?[0];
        println!("| {} | {torch:.1} ms (1.00) | {ours:.1} ms ({:.2}) | {:.1} |", window.name, ours / torch, 1e3 / ours);
    }
    Ok(())
}

/// Diffuser's Maze2D training settings (`OptimizationConfig::default`) on `window`, saving to
/// `out`.
fn config(window: &Window, out: &std::path::Path) -> TrainConfig {
    TrainConfig {
        data: DataConfig {
            path: "random".into(),
            format: planner::train::DataFormat::D4rl,
            observation_keys: None,
            recut_at_goal: None,
            hold_at_end: None,
        },
        model: ModelConfig {
            horizon: window.horizon,
            stride: window.stride,
            diffusion_steps: 256,
            architecture: Architecture::TemporalUnet { dim: 32, dim_mults: vec![1, 4, 8], attention: false },
        },
        optimization: OptimizationConfig::default(),
        value: None,
        out: out.to_owned(),
    }
}

/// One episode of uniform random transitions in [−1, 1].
fn random_dataset() -> D4rlDataset {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let mut table =
        |width: usize| Table { values: (0..ROWS * width).map(|_| rng.gen_range(-1.0..1.0)).collect(), width };
    let (actions, observations) = (table(ACTION_DIM), table(OBSERVATION_DIM));
    D4rlDataset {
        observations,
        actions,
        rewards: vec![0.0; ROWS],
        terminals: vec![false; ROWS],
        timeouts: vec![false; ROWS],
        infos: Vec::new(),
    }
}
