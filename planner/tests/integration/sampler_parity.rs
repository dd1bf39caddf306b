//! Samplers against PyTorch: the same network, the same noise tape and the same pins, run by
//! our sampler and by `scripts/torch/sampler_reference.py` (a step-by-step PyTorch loop written
//! from Diffuser's `p_sample_loop` and the DPM-Solver++ paper); every intermediate x_t and
//! x0_hat must agree within 1e-4.

use planner::condition::{Inpainting, Pin};
use planner::driver::sample_sequential;
use planner::driver::step_map::StepMap;
use planner::model::{Model, ModelOutput};
use planner::noise::NoiseTape;
use planner::sampler::{Sampler, SamplerConfig, SamplerKind};
use tch::{Device, Kind, Tensor};

use crate::reference::{Recorder, UNET_HORIZON, max_abs_diff, torch_script, unet_checkpoint};

const BATCH: i64 = 3;

fn pins() -> Vec<Pin> {
    vec![
        Pin { index: 0, observation: vec![1.0, 2.0, 0.5, -1.0] },
        Pin { index: 7, observation: vec![2.5, 1.0, -0.5, 0.0] },
        Pin { index: UNET_HORIZON - 1, observation: vec![3.0, 3.0, 0.0, 0.0] },
    ]
}

fn check(output: ModelOutput, config: &SamplerConfig) {
    let dir = tempfile::tempdir().expect("tempdir");
    let checkpoint = unet_checkpoint(dir.path(), output);
    let model = checkpoint.load_native(Device::Cpu).expect("native model");
    let spec = model.spec().clone();
    let sampler = Sampler::new(config, &spec).expect("sampler");
    let tape = NoiseTape::draw(11, [BATCH, UNET_HORIZON as i64, 6], &sampler, Device::Cpu);
    let inpainting = Inpainting::new(&spec, &pins(), Device::Cpu).expect("pins");
    let mut recorder = Recorder::default();
    let run =
        sample_sequential(&StepMap::new(&model, &sampler, &inpainting), &tape, None, &mut recorder).expect("sampling");

    let steps = sampler.steps();
    let noise: Vec<Tensor> =
        (0..steps).map(|k| tape.step(k).map_or_else(|| tape.initial().zeros_like(), Tensor::copy)).collect();
    let case = dir.path().join("case.safetensors");
    let pins = pins();
    let cond_index = Tensor::from_slice(&pins.iter().map(|p| p.index as i64).collect::<Vec<_>>());
    let observations: Vec<f32> = pins.iter().flat_map(|p| p.observation.iter().copied()).collect();
    let cond_observation = Tensor::from_slice(&observations).view([pins.len() as i64, 4]);
    Tensor::write_safetensors(
        &[
            ("x_T", tape.initial().shallow_clone()),
            ("noise", Tensor::stack(&noise, 0)),
            ("cond_index", cond_index),
            ("cond_observation", cond_observation),
        ],
        &case,
    )
    .expect("write case");
    let out = dir.path().join("out.safetensors");
    let sampler_name = config.kind.name();
    let (steps_arg, eta_arg) = (steps.to_string(), config.eta.to_string());
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "run".as_ref(),
        dir.path().as_os_str(),
        "--case".as_ref(),
        case.as_os_str(),
        "--sampler".as_ref(),
        sampler_name.as_ref(),
        "--steps".as_ref(),
        steps_arg.as_ref(),
        "--eta".as_ref(),
        eta_arg.as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
    ];
    if config.clip_x0 {
        args.push("--clip".as_ref());
    }
    torch_script("sampler_reference.py", &args);
    let reference: std::collections::HashMap<String, Tensor> =
        Tensor::read_safetensors(&out).expect("reference output").into_iter().collect();
    let (xs, x0_hats) = (&reference["xs"], &reference["x0_hats"]);
    assert_eq!(xs.size(), [steps as i64 + 1, BATCH, UNET_HORIZON as i64, 6]);

    let mut worst = 0.0f64;
    for k in 0..steps {
        let x_error = max_abs_diff(&recorder.x_t[k], &xs.get(k as i64));
        let x0_error = max_abs_diff(&recorder.x0_hat[k], &x0_hats.get(k as i64));
        assert!(
            x_error < 1e-4 && x0_error < 1e-4,
            "{config:?} step {k}: x_t off by {x_error:e}, x0_hat by {x0_error:e}"
        );
        worst = worst.max(x_error).max(x0_error);
    }
    let final_error = max_abs_diff(&run.x, &xs.get(steps as i64));
    assert!(final_error < 1e-4, "{config:?}: final trajectory off by {final_error:e}");
    println!("{output:?} {config:?}: worst difference {:e}", worst.max(final_error));
    assert_eq!(run.x.kind(), Kind::Float);
}

fn config(kind: SamplerKind, steps: usize, eta: f64, clip_x0: bool) -> SamplerConfig {
    SamplerConfig { kind, steps: Some(steps), eta, clip_x0 }
}

#[test]
fn ddpm_matches_diffusers_loop_with_inpainting() {
    // Every training step (K = N = 20) with clipping: Diffuser's maze2d p_sample_loop.
    check(ModelOutput::Sample, &config(SamplerKind::Ddpm, 20, 0.0, true));
    check(ModelOutput::Epsilon, &config(SamplerKind::Ddpm, 6, 0.0, false));
}

#[test]
fn ddim_matches_pytorch() {
    check(ModelOutput::Sample, &config(SamplerKind::Ddim, 10, 0.0, false));
    check(ModelOutput::Epsilon, &config(SamplerKind::Ddim, 7, 0.6, true));
}

#[test]
fn dpm_solver_pp_matches_pytorch() {
    check(ModelOutput::Sample, &config(SamplerKind::DpmSolverPp, 10, 0.0, true));
    check(ModelOutput::Epsilon, &config(SamplerKind::DpmSolverPp, 6, 0.0, false));
}
