//! `import::diffuser` against Diffuser itself: `scripts/torch/diffuser_checkpoint.py` writes a
//! run in exactly jannerm/diffuser's format (a `state_*.pt` of GaussianDiffusion state dicts with
//! the maze2d branch's key names, its config pickles, a D4RL-format dataset) plus the normalizer
//! Diffuser's own data pipeline fits, re-implemented in numpy; then it runs Diffuser's
//! `p_sample_loop` on the checkpoint's own buffers and EMA weights. The import must agree with
//! both: the normalizer within float32 rounding, the plan within 1e-4 on the same noise.

use std::collections::HashMap;
use std::path::Path;

use planner::condition::{Inpainting, Pin};
use planner::driver::sample_sequential;
use planner::driver::step_map::StepMap;
use planner::import::diffuser::{DiffuserCheckpoint, Overrides, WeightSet};
use planner::import::diffuser_data::{DiffuserData, diffuser_normalizer};
use planner::model::{Architecture, Model, ModelOutput, Normalizer};
use planner::noise::NoiseTape;
use planner::sampler::{Sampler, SamplerConfig, SamplerKind};
use planner::train::d4rl::D4rlDataset;
use tch::{Device, Tensor};

use crate::reference::{max_abs_diff, torch_script};

const HORIZON: usize = 16;
const STEPS: usize = 20;
const BATCH: i64 = 2;
/// The key the broken checkpoint gets wrong (one output channel too many).
const BROKEN: &str = "downs.1.1.blocks.0.block.0.weight";

fn write_run(dir: &Path) {
    torch_script(
        "diffuser_checkpoint.py",
        &["write".as_ref(), "--out".as_ref(), dir.as_os_str(), "--break".as_ref(), BROKEN.as_ref()],
    );
}

/// Diffuser's normalizer as the oracle fitted it.
fn reference_normalizer(dir: &Path) -> (Vec<f64>, Vec<f64>) {
    let text = std::fs::read_to_string(dir.join("normalizer.json")).expect("normalizer.json");
    let json: HashMap<String, Vec<f64>> = serde_json::from_str(&text).expect("json");
    (json["min"].clone(), json["max"].clone())
}

#[test]
fn a_diffuser_run_imports_with_its_normalizer_and_plans_like_diffusers_loop() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_run(dir.path());
    let dataset = D4rlDataset::read_hdf5(&dir.path().join("dataset.hdf5")).expect("dataset");
    let overrides = Overrides { output: None, action_dim: Some(dataset.actions.width) };
    let checkpoint = DiffuserCheckpoint::read(&dir.path().join("run/state_1200.pt"), WeightSet::Ema, &overrides)
        .expect("a Diffuser checkpoint reads");
    assert_eq!(
        checkpoint.architecture,
        Architecture::TemporalUnet { dim: 32, dim_mults: vec![1, 2], attention: false }
    );
    assert_eq!((checkpoint.horizon, checkpoint.action_dim, checkpoint.transition_dim), (HORIZON, 2, 6));
    assert_eq!(
        (checkpoint.diffusion_steps, checkpoint.output, checkpoint.step),
        (STEPS, ModelOutput::Sample, Some(1200))
    );
    assert_eq!(checkpoint.env.as_deref(), Some("maze2d-umaze-v1"));
    assert!(checkpoint.checked.iter().any(|c| c == "model_config.pkl:dim_mults"), "{:?}", checkpoint.checked);

    let normalizer = diffuser_normalizer(&dataset, DiffuserData::Maze2d { goal: [1.0, 1.0] }).expect("normalizer");
    let (min, max) = reference_normalizer(dir.path());
    let Normalizer::Limits { min: got_min, max: got_max } = &normalizer else { panic!("expected limits") };
    for (got, want) in got_min.iter().chain(got_max).zip(min.iter().chain(&max)) {
        assert!((got - want).abs() < 1e-6, "normalizer {got} vs Diffuser's {want}");
    }

    let model = checkpoint.into_model(normalizer, Device::Cpu).expect("weights load");
    let spec = model.spec().clone();
    let sampler =
        Sampler::new(&SamplerConfig { kind: SamplerKind::Ddpm, steps: Some(STEPS), eta: 0.0, clip_x0: true }, &spec)
            .expect("sampler");
    let tape = NoiseTape::draw(5, [BATCH, HORIZON as i64, 6], &sampler, Device::Cpu);
    let pins = [
        Pin { index: 0, observation: vec![2.5, 3.0, 0.5, -1.0] },
        Pin { index: HORIZON - 1, observation: vec![1.0, 1.0, 0.0, 0.0] },
    ];
    let inpainting = Inpainting::new(&spec, &pins, Device::Cpu).expect("pins");
    let run = sample_sequential(&StepMap::new(&model, &sampler, &inpainting), &tape, None, &mut ()).expect("sampling");

    let noise: Vec<Tensor> =
        (0..STEPS).map(|k| tape.step(k).map_or_else(|| tape.initial().zeros_like(), Tensor::copy)).collect();
    let observations: Vec<f32> = pins.iter().flat_map(|p| p.observation.iter().copied()).collect();
    let case = dir.path().join("case.safetensors");
    Tensor::write_safetensors(
        &[
            ("x_T", tape.initial().shallow_clone()),
            ("noise", Tensor::stack(&noise, 0)),
            ("cond_index", Tensor::from_slice(&[0i64, HORIZON as i64 - 1])),
            ("cond_observation", Tensor::from_slice(&observations).view([2, 4])),
        ],
        &case,
    )
    .expect("case");
    let out = dir.path().join("diffuser.safetensors");
    torch_script(
        "diffuser_checkpoint.py",
        &[
            "sample".as_ref(),
            dir.path().as_os_str(),
            "--case".as_ref(),
            case.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
        ],
    );
    let reference: HashMap<String, Tensor> = Tensor::read_safetensors(&out).expect("output").into_iter().collect();
    let error = max_abs_diff(&run.x, &reference["x_0"]);
    assert!(error < 1e-4, "the imported model's DDPM plan differs from Diffuser's p_sample_loop by {error:e}");
    println!("Diffuser import: plan within {error:e} of Diffuser's loop");
}

#[test]
fn the_raw_weights_are_the_other_set() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_run(dir.path());
    let path = dir.path().join("run/state_1200.pt");
    let overrides = Overrides { output: None, action_dim: Some(2) };
    let normalizer = Normalizer::Limits { min: vec![-1.0; 6], max: vec![1.0; 6] };
    let x = Tensor::randn([1, HORIZON as i64, 6], (tch::Kind::Float, Device::Cpu));
    let t = Tensor::from_slice(&[3i64]);
    let outputs: Vec<Tensor> = [WeightSet::Ema, WeightSet::Model]
        .into_iter()
        .map(|set| {
            let checkpoint = DiffuserCheckpoint::read(&path, set, &overrides).expect("reads");
            checkpoint.into_model(normalizer.clone(), Device::Cpu).expect("loads").forward(&x, &t)
        })
        .collect();
    assert!(max_abs_diff(&outputs[0], &outputs[1]) > 1e-3, "ema and model gave the same network");
}

#[test]
fn a_wrong_shape_or_a_missing_setting_is_refused_by_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_run(dir.path());
    let overrides = Overrides { output: None, action_dim: Some(2) };
    let normalizer = Normalizer::Limits { min: vec![-1.0; 6], max: vec![1.0; 6] };
    let broken = DiffuserCheckpoint::read(&dir.path().join("run/state_broken.pt"), WeightSet::Ema, &overrides)
        .and_then(|c| c.into_model(normalizer, Device::Cpu));
    let message = broken.err().map(|e| e.to_string()).unwrap_or_default();
    // downs.1.1's first convolution maps 64 to 64 channels with kernel 5.
    assert!(
        message.contains(&format!("model.{BROKEN}"))
            && message.contains("[65, 64, 5]")
            && message.contains("[64, 64, 5]"),
        "{message}"
    );

    // Without diffusion_config.pkl nothing says what the network predicts.
    std::fs::remove_file(dir.path().join("run/diffusion_config.pkl")).expect("remove");
    let unknown = DiffuserCheckpoint::read(&dir.path().join("run/state_1200.pt"), WeightSet::Ema, &overrides);
    let message = unknown.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("--predict sample"), "{message}");
    let told = Overrides { output: Some(ModelOutput::Sample), action_dim: Some(2) };
    assert!(DiffuserCheckpoint::read(&dir.path().join("run/state_1200.pt"), WeightSet::Ema, &told).is_ok());

    // A config pickle that is not a Config is refused by its file name.
    std::fs::write(dir.path().join("run/model_config.pkl"), b"\x80\x04N.").expect("write");
    let refused = DiffuserCheckpoint::read(&dir.path().join("run/state_1200.pt"), WeightSet::Ema, &told);
    let message = refused.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        message.contains("model_config.pkl") && message.contains("not a pickled diffuser.utils.Config"),
        "{message}"
    );

    // Not a torch.save archive at all.
    let text = dir.path().join("run/state_text.pt");
    std::fs::write(&text, "not a checkpoint").expect("write");
    let message =
        DiffuserCheckpoint::read(&text, WeightSet::Ema, &told).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("not a zip archive"), "{message}");
}
