//! Training Diffuser's value function: its targets are the discounted returns to the end of each
//! (re-cut) episode, its loss falls, its checkpoint pairs with a denoiser trained on the same
//! data, and a malformed config is refused with the field's name.
//!
//! A binary of its own, not a module of `tests/integration/`, with its tests serialized: initial
//! weights come from libtorch's global generator (seeded by the run's seed), which tests running
//! in parallel threads, or other tests of the same process, would share.

use std::path::Path;
use std::sync::Mutex;

use planner::Planner;
use planner::model::{Architecture, Checkpoint, ModelOutput, Provenance, ValueModel};
use planner::train::d4rl::{D4rlDataset, Table};
use planner::train::{
    DataConfig, DataFormat, ModelConfig, OptimizationConfig, TrainConfig, Trainer, ValueConfig, Windows,
};
use tch::{Device, Kind, Tensor};

/// Held by every test here, so no two touch libtorch's global generator at once.
static TORCH_RNG: Mutex<()> = Mutex::new(());

/// Episodes of 40 steps of smooth motion: observations (x, y, vx, vy) on a circle whose radius
/// and phase change per episode; actions are the next velocity; the reward is 1 + x, so the
/// return depends on where the episode goes.
fn circles() -> D4rlDataset {
    let (episodes, length) = (30, 40);
    let (mut observations, mut actions, mut rewards, mut timeouts) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for e in 0..episodes {
        let (radius, phase) = (1.0 + 0.05 * e as f32, 0.37 * e as f32);
        for k in 0..length {
            let angle = phase + 0.08 * k as f32;
            let (s, c) = angle.sin_cos();
            observations.extend([radius * c, radius * s, -radius * s, radius * c]);
            actions.extend([-c, -s]);
            rewards.push(1.0 + radius * c);
            timeouts.push(k == length - 1);
        }
    }
    let n = timeouts.len();
    D4rlDataset {
        observations: Table { values: observations, width: 4 },
        actions: Table { values: actions, width: 2 },
        rewards,
        terminals: vec![false; n],
        timeouts,
        infos: Vec::new(),
    }
}

/// A run on [`circles`] with H = 8, N = 10: a value model if `discount` is set, else a denoiser.
fn config(out: &Path, steps: usize, discount: Option<f64>) -> TrainConfig {
    let architecture = match discount {
        Some(_) => Architecture::ValueFunction { dim: 8, dim_mults: vec![1, 4] },
        None => Architecture::TemporalUnet { dim: 8, dim_mults: vec![1, 2], attention: false },
    };
    TrainConfig {
        data: DataConfig {
            path: "synthetic.hdf5".into(),
            format: DataFormat::D4rl,
            observation_keys: None,
            recut_at_goal: None,
            hold_at_end: None,
        },
        model: ModelConfig { horizon: 8, stride: 1, diffusion_steps: 10, architecture },
        optimization: OptimizationConfig {
            steps,
            batch_size: 16,
            learning_rate: 2e-3,
            ema_every: 2,
            ema_start: 4,
            checkpoint_every: 3,
            seed: 5,
            ..OptimizationConfig::default()
        },
        value: discount.map(|discount| ValueConfig { discount }),
        out: out.to_owned(),
    }
}

#[test]
fn targets_are_the_discounted_returns_to_the_end_of_each_recut_episode() {
    // Eight steps at x = 3, 2, 0.2, 0.1, 2, 0.3, 0.2, 3 with the goal at the origin: at_goal =
    // F F T T F T T F, so the re-cut ends episodes after steps 3 and 6 (the file's own timeout
    // at step 1 is replaced): episodes 0..=3, 4..=6, 7..=7. With H = 2 the windows start at
    // 0, 1 (first episode) and 4 (second); the third is too short.
    let xs = [3.0f32, 2.0, 0.2, 0.1, 2.0, 0.3, 0.2, 3.0];
    let rewards = [0.5f32, -1.0, 2.0, 1.0, 0.25, 3.0, 1.0, 7.0];
    let n = xs.len();
    let mut dataset = D4rlDataset {
        observations: Table { values: xs.iter().flat_map(|&x| [x, 0.0, 0.0, 0.0]).collect(), width: 4 },
        actions: Table { values: vec![0.0; 2 * n], width: 2 },
        rewards: rewards.to_vec(),
        terminals: vec![false; n],
        timeouts: (0..n).map(|i| i == 1).collect(),
        infos: Vec::new(),
    };
    let gamma = 0.9;
    let mut config = config(Path::new("unused"), 0, Some(gamma));
    config.data.recut_at_goal = Some([0.0, 0.0]);
    config.model.horizon = 2;
    let windows = Windows::new(&config, &mut dataset).expect("windows");
    assert_eq!(windows.starts, vec![0, 1, 4]);

    // Reference: Σ_{t=s}^{T} γ^{t−s} r_t with T the last step of the window's episode.
    let closed_form =
        |s: usize, last: usize| -> f64 { (s..=last).map(|t| gamma.powi((t - s) as i32) * f64::from(rewards[t])).sum() };
    let want = [closed_form(0, 3), closed_form(1, 3), closed_form(4, 6)];
    let got = windows.targets.expect("a value config has targets");
    assert_eq!(got.len(), want.len());
    for (i, (got, want)) in got.iter().zip(want).enumerate() {
        assert!((f64::from(*got) - want).abs() < 1e-6, "window {i}: {got} ≠ {want}");
    }
    // γ = 1 sums the rewards: window 4 gets 0.25 + 3 + 1.
    config.value = Some(ValueConfig { discount: 1.0 });
    let undiscounted = Windows::new(&config, &mut dataset).expect("windows");
    let sum = undiscounted.targets.expect("targets")[2];
    assert!((sum - 4.25).abs() < 1e-6, "{sum}");
    // A denoiser gets the same windows and no targets.
    config.value = None;
    config.model.architecture = Architecture::TemporalUnet { dim: 8, dim_mults: vec![1], attention: false };
    let denoiser = Windows::new(&config, &mut dataset).expect("windows");
    assert_eq!((denoiser.starts, denoiser.targets), (vec![0, 1, 4], None));
}

#[test]
fn the_value_loss_falls_and_the_checkpoint_pairs_with_the_denoiser() {
    let _serial = TORCH_RNG.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = tempfile::tempdir().expect("tempdir");
    let (value_dir, denoiser_dir) = (dir.path().join("value"), dir.path().join("denoiser"));
    let mut trainer = Trainer::new(config(&value_dir, 200, Some(0.9)), circles(), Device::Cpu, false).expect("trainer");
    let losses: Vec<f64> = (0..200).map(|_| trainer.train_step().expect("step").loss).collect();
    let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len() as f64;
    let (first, last) = (mean(&losses[..30]), mean(&losses[170..]));
    println!("mean value loss: first 30 steps {first:.4}, last 30 steps {last:.4}");
    assert!(last < 0.5 * first, "the loss did not halve: {first} → {last}");
    trainer.save(Provenance::default()).expect("save");

    let mut denoiser = Trainer::new(config(&denoiser_dir, 2, None), circles(), Device::Cpu, false).expect("trainer");
    denoiser.train_step().expect("step");
    denoiser.save(Provenance::default()).expect("save");

    let value = Checkpoint::open(&value_dir).expect("value checkpoint");
    assert_eq!(value.manifest().spec.output, ModelOutput::Value);
    let value = value.load_native(Device::Cpu).expect("value model");
    let x = Tensor::zeros([3, 8, 6], (Kind::Float, Device::Cpu));
    let t = Tensor::zeros([3], (Kind::Int64, Device::Cpu));
    assert_eq!(value.value(&x, &t).expect("values").size(), [3]);
    let denoiser =
        Checkpoint::open(&denoiser_dir).expect("denoiser checkpoint").load_native(Device::Cpu).expect("load");
    Planner::new(Box::new(denoiser))
        .expect("planner")
        .with_value_model(Box::new(value))
        .expect("the value model pairs with the denoiser of the same data");
}

#[test]
fn a_malformed_value_config_names_the_field() {
    let base = "out = \"runs/x\"\n[data]\npath = \"data/x.hdf5\"\n[model]\nhorizon = 32\ndiffusion_steps = 8\n";
    let value_net = "[model.architecture]\nkind = \"value_function\"\ndim_mults = [1, 4]\n";
    let unet = "[model.architecture]\nkind = \"temporal_unet\"\ndim_mults = [1, 4]\n";
    let error = |toml_text: String| -> String {
        match toml::from_str::<TrainConfig>(&toml_text) {
            Err(e) => e.to_string(),
            Ok(config) => config.validate().expect_err("a malformed config validated").to_string(),
        }
    };
    let cases = [
        (format!("{base}{value_net}"), "value.discount"),
        (format!("{base}{value_net}[value]\n"), "missing field `discount`"),
        (format!("{base}{value_net}[value]\ndiscount = 0.99\nhorizon = 3\n"), "unknown field `horizon`"),
        (format!("{base}{value_net}[value]\ndiscount = 1.5\n"), "value.discount"),
        (format!("{base}{value_net}[value]\ndiscount = 0.0\n"), "value.discount"),
        (format!("{base}{unet}[value]\ndiscount = 0.99\n"), "invalid value:"),
    ];
    for (text, needle) in cases {
        let message = error(text.clone());
        assert!(message.contains(needle), "{needle:?} not in {message:?} for\n{text}");
    }
    let good: TrainConfig = toml::from_str(&format!("{base}{value_net}[value]\ndiscount = 0.99\n")).expect("parses");
    good.validate().expect("a value config with a discount is valid");
    assert_eq!(good.value, Some(ValueConfig { discount: 0.99 }));
}
