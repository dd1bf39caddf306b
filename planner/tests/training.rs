//! The training loop on a tiny synthetic dataset: the loss falls, a resumed run is the same
//! run, bit for bit, and a run initialized from a checkpoint starts from its weights.
//!
//! A binary of its own, not a module of `tests/integration/`, with its tests serialized: initial
//! weights come from libtorch's global generator (seeded by the run's seed), which tests running
//! in parallel threads, or other tests of the same process, would share.

use std::path::Path;
use std::sync::Mutex;

use planner::model::{Architecture, Checkpoint, Provenance};
use planner::train::d4rl::{D4rlDataset, Table};
use planner::train::{DataConfig, DataFormat, ModelConfig, OptimizationConfig, TrainConfig, Trainer};
use tch::{Device, Tensor};

/// Episodes of 40 steps of smooth motion: observations (x, y, vx, vy) on a circle whose radius
/// and phase change per episode; actions are the next velocity.
/// Held by every test here, so no two touch libtorch's global generator at once.
static TORCH_RNG: Mutex<()> = Mutex::new(());

fn dataset() -> D4rlDataset {
    let (episodes, length) = (30, 40);
    let (mut observations, mut actions, mut timeouts) = (Vec::new(), Vec::new(), Vec::new());
    for e in 0..episodes {
        let (radius, phase) = (1.0 + 0.05 * e as f32, 0.37 * e as f32);
        for k in 0..length {
            let angle = phase + 0.08 * k as f32;
            let (s, c) = angle.sin_cos();
            observations.extend([radius * c, radius * s, -radius * s, radius * c]);
            actions.extend([-c, -s]);
            timeouts.push(k == length - 1);
        }
    }
    let n = timeouts.len();
    D4rlDataset {
        observations: Table { values: observations, width: 4 },
        actions: Table { values: actions, width: 2 },
        rewards: vec![0.0; n],
        terminals: vec![false; n],
        timeouts,
        infos: Vec::new(),
    }
}

fn config(out: &Path, steps: usize) -> TrainConfig {
    TrainConfig {
        data: DataConfig {
            path: "synthetic.hdf5".into(),
            format: DataFormat::D4rl,
            observation_keys: None,
            recut_at_goal: None,
            hold_at_end: None,
        },
        model: ModelConfig {
            horizon: 8,
            stride: 1,
            diffusion_steps: 10,
            architecture: Architecture::TemporalUnet { dim: 8, dim_mults: vec![1, 2], attention: false },
        },
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
        value: None,
        out: out.to_owned(),
    }
}

#[test]
fn the_loss_falls_on_a_tiny_dataset() {
    let _serial = TORCH_RNG.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut trainer = Trainer::new(config(dir.path(), 300), dataset(), Device::Cpu, false).expect("trainer");
    let losses: Vec<f64> = (0..300).map(|_| trainer.train_step().expect("step").loss).collect();
    let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len() as f64;
    let (first, last) = (mean(&losses[..30]), mean(&losses[270..]));
    println!("mean loss: first 30 steps {first:.4}, last 30 steps {last:.4}");
    assert!(last < 0.5 * first, "the loss did not halve: {first} → {last}");
    let checkpoint = trainer.save(Provenance::default()).expect("save");
    assert_eq!(checkpoint.manifest().spec.horizon, 8);
}

#[test]
fn a_resumed_run_equals_an_uninterrupted_one() {
    let _serial = TORCH_RNG.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let weights = |dir: &Path| -> Vec<(String, Tensor)> {
        let mut all = Tensor::read_safetensors(dir.join("weights.safetensors")).expect("EMA weights");
        all.extend(
            Tensor::read_safetensors(dir.join("training/model-7.safetensors"))
                .expect("model weights")
                .into_iter()
                .map(|(k, v)| (format!("model.{k}"), v)),
        );
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    };
    let straight = tempfile::tempdir().expect("tempdir");
    let mut trainer = Trainer::new(config(straight.path(), 7), dataset(), Device::Cpu, false).expect("trainer");
    for _ in 0..7 {
        trainer.train_step().expect("step");
    }
    trainer.save(Provenance::default()).expect("save");

    let resumed = tempfile::tempdir().expect("tempdir");
    let mut first = Trainer::new(config(resumed.path(), 7), dataset(), Device::Cpu, true).expect("trainer");
    for _ in 0..3 {
        first.train_step().expect("step");
    }
    first.save(Provenance::default()).expect("save");
    drop(first);
    let mut second = Trainer::new(config(resumed.path(), 7), dataset(), Device::Cpu, true).expect("resumed trainer");
    assert_eq!(second.step(), 3);
    for _ in 0..4 {
        second.train_step().expect("step");
    }
    second.save(Provenance::default()).expect("save");

    let (a, b) = (weights(straight.path()), weights(resumed.path()));
    assert_eq!(a.len(), b.len());
    let differing: Vec<String> = a
        .iter()
        .zip(&b)
        .filter(|((_, x), (_, y))| !x.equal(y))
        .map(|((name, x), (_, y))| format!("{name} by {:e}", (x - y).abs().max().double_value(&[])))
        .collect();
    assert!(differing.is_empty(), "after resuming, {} of {} tensors differ: {differing:?}", differing.len(), a.len());
    assert!(Checkpoint::open(resumed.path()).is_ok());
}

#[test]
fn a_run_initialized_from_a_checkpoint_starts_from_its_weights() {
    let _serial = TORCH_RNG.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let source_dir = tempfile::tempdir().expect("tempdir");
    let mut source = Trainer::new(config(source_dir.path(), 5), dataset(), Device::Cpu, false).expect("trainer");
    for _ in 0..5 {
        source.train_step().expect("step");
    }
    let checkpoint = source.save(Provenance::default()).expect("save");

    // Another seed (other random weights) and another horizon: the weights still fit.
    let run_dir = tempfile::tempdir().expect("tempdir");
    let mut longer = config(run_dir.path(), 5);
    longer.model.horizon = 16;
    longer.optimization.seed = 9;
    let mut run = Trainer::new(longer.clone(), dataset(), Device::Cpu, false).expect("trainer");
    run.initialize_from(&checkpoint).expect("same architecture");
    run.save(Provenance::default()).expect("save");
    // Oracle: the source checkpoint's own tensors, for both the EMA and the trained model.
    let mut expected = Tensor::read_safetensors(source_dir.path().join("weights.safetensors")).expect("weights");
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    for file in ["weights.safetensors", "training/model-0.safetensors"] {
        let mut got = Tensor::read_safetensors(run_dir.path().join(file)).expect("weights");
        got.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(got.len(), expected.len(), "{file}");
        for ((name, a), (_, b)) in got.iter().zip(&expected) {
            assert!(a.equal(b), "{file}: {name} is not the source's");
        }
    }
    assert!(run.train_step().expect("a step after initializing").loss.is_finite());
    assert!(run.initialize_from(&checkpoint).is_err(), "initialized a run already under way");

    let mut wider = longer;
    wider.model.architecture = Architecture::TemporalUnet { dim: 16, dim_mults: vec![1, 2], attention: false };
    let mut other = Trainer::new(wider, dataset(), Device::Cpu, false).expect("trainer");
    let error = other.initialize_from(&checkpoint).expect_err("another architecture").to_string();
    assert!(error.contains("same architecture"), "{error}");
}
