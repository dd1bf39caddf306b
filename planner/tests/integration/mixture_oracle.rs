//! Samplers against the analytic oracle: a Gaussian-mixture denoiser with the exact E[x0 | x_t]
//! (planner::model::GaussianMixture). A correct sampler's samples have the mixture's mean and
//! covariance, up to Monte-Carlo error (≈ 0.004 with 20 000 samples here) and its
//! discretization error.

use planner::condition::Inpainting;
use planner::driver::sample_sequential;
use planner::driver::step_map::StepMap;
use planner::model::{Component, GaussianMixture, ModelOutput, ModelSpec};
use planner::noise::NoiseTape;
use planner::sampler::{Sampler, SamplerConfig, SamplerKind};
use tch::{Device, Kind, Tensor};

use crate::reference::spec;

const SAMPLES: i64 = 20_000;

/// The means of the mixture's two components.
fn component_means() -> [Vec<f64>; 2] {
    [(0..8).map(|i| 0.7 * f64::from(i).cos()).collect(), (0..8).map(|i| -0.6 * (f64::from(i) + 1.0).sin()).collect()]
}

/// A two-mode mixture over trajectories of H = 4 steps, A = 1, O = 1 (8 dimensions).
fn mixture(output: ModelOutput) -> GaussianMixture {
    let spec = ModelSpec { horizon: 4, ..spec(4, 1, 1, output) };
    let dim = 8;
    let [first, second] = component_means();
    let components = vec![
        Component { weight: 0.35, mean: first, variance: (0..dim).map(|i| 0.02 + 0.01 * i as f64).collect() },
        Component { weight: 0.65, mean: second, variance: vec![0.05; dim] },
    ];
    GaussianMixture::new(spec, components, Device::Cpu).expect("mixture")
}

/// Samples `SAMPLES` trajectories with `config`, flattened to `[SAMPLES, 8]`.
fn sample(model: &GaussianMixture, config: &SamplerConfig, seed: u64) -> Tensor {
    let sampler = Sampler::new(config, planner::model::Model::spec(model)).expect("sampler");
    let tape = NoiseTape::draw(seed, [SAMPLES, 4, 2], &sampler, Device::Cpu);
    let nothing_pinned = Inpainting::new(planner::model::Model::spec(model), &[], Device::Cpu).expect("no pins");
    let run =
        sample_sequential(&StepMap::new(model, &sampler, &nothing_pinned), &tape, None, &mut ()).expect("sampling");
    assert_eq!(run.model_calls, sampler.steps());
    run.x.flatten(1, -1)
}

/// Largest absolute error of the sample mean and of the sample covariance against the mixture's.
fn moment_errors(model: &GaussianMixture, x: &Tensor) -> (f64, f64) {
    let x = x.to_kind(Kind::Double);
    let mean = x.mean_dim(0, false, Kind::Double);
    let centered = &x - &mean;
    let covariance = centered.transpose(0, 1).matmul(&centered) / (SAMPLES - 1) as f64;
    let want_mean = Tensor::from_slice(&model.mean());
    let want_covariance = Tensor::from_slice(&model.covariance().concat()).view([8, 8]);
    let max_abs = |t: Tensor| t.abs().max().double_value(&[]);
    (max_abs(mean - want_mean), max_abs(covariance - want_covariance))
}

fn config(kind: SamplerKind, steps: usize, eta: f64) -> SamplerConfig {
    SamplerConfig { steps: Some(steps), eta, ..SamplerConfig::new(kind) }
}

#[test]
fn every_sampler_reproduces_the_mixture_mean_and_covariance() {
    // Tolerances: mean 0.02 and covariance 0.02 (Monte-Carlo standard errors ≈ 0.004 and ≈ 0.003,
    // plus each sampler's discretization error at its step count).
    for output in [ModelOutput::Sample, ModelOutput::Epsilon] {
        let model = mixture(output);
        for config in [
            config(SamplerKind::Ddpm, 64, 0.0),
            config(SamplerKind::Ddim, 64, 0.0),
            config(SamplerKind::Ddim, 64, 0.5),
            config(SamplerKind::DpmSolverPp, 20, 0.0),
        ] {
            let (mean_error, covariance_error) = moment_errors(&model, &sample(&model, &config, 1));
            println!("{output:?} {config:?}: mean {mean_error:.4}, covariance {covariance_error:.4}");
            assert!(
                mean_error < 0.02 && covariance_error < 0.02,
                "{output:?} {config:?}: mean {mean_error}, cov {covariance_error}"
            );
        }
    }
}

#[test]
fn dpm_solver_pp_is_closer_to_the_target_than_ddim_at_10_to_20_steps() {
    let model = mixture(ModelOutput::Sample);
    for steps in [10, 15, 20] {
        let total = |kind| {
            let (m, c) = moment_errors(&model, &sample(&model, &config(kind, steps, 0.0), 2));
            m + c
        };
        let (ddim, dpm) = (total(SamplerKind::Ddim), total(SamplerKind::DpmSolverPp));
        println!("{steps} steps: DDIM error {ddim:.4}, DPM-Solver++ error {dpm:.4}");
        assert!(dpm < ddim, "{steps} steps: DPM-Solver++ {dpm} is not closer than DDIM {ddim}");
    }
}

#[test]
fn deterministic_samplers_read_only_the_initial_noise() {
    let model = mixture(ModelOutput::Epsilon);
    for kind in [SamplerKind::Ddim, SamplerKind::DpmSolverPp] {
        let config = config(kind, 12, 0.0);
        let sampler = Sampler::new(&config, planner::model::Model::spec(&model)).expect("sampler");
        assert!((0..12).all(|k| !sampler.needs_noise(k)), "{kind:?} asks for per-step noise");
        assert!(sample(&model, &config, 5).equal(&sample(&model, &config, 5)), "{kind:?} is not deterministic");
    }
    // DDPM draws fresh noise at every step but the last.
    let sampler = Sampler::new(&config(SamplerKind::Ddpm, 12, 0.0), planner::model::Model::spec(&model)).expect("ddpm");
    assert_eq!((0..12).filter(|&k| sampler.needs_noise(k)).count(), 11);
}

/// SDEdit's partial re-noising (`sample_sequential` with a renoised start) against the mixture:
/// started from the mean of the lighter component and renoised to a low noise level, samples stay
/// in that component; renoised from the first step, they forget the start and the component's
/// share is its weight, 0.35 (Monte-Carlo standard error ≈ 0.003). The run makes K − k0 model
/// calls.
#[test]
fn a_renoised_start_keeps_its_mode_at_low_noise_and_forgets_it_at_full_noise() {
    let model = mixture(ModelOutput::Sample);
    let config = config(SamplerKind::Ddpm, 64, 0.0);
    let spec = planner::model::Model::spec(&model);
    let sampler = Sampler::new(&config, spec).expect("sampler");
    let tape = NoiseTape::draw(5, [SAMPLES, 4, 2], &sampler, Device::Cpu);
    let nothing_pinned = Inpainting::new(spec, &[], Device::Cpu).expect("no pins");
    let map = StepMap::new(&model, &sampler, &nothing_pinned);
    let means = component_means().map(|m| Tensor::from_slice(&m).to_kind(Kind::Float));
    let start = means[0].view([1, 4, 2]).expand([SAMPLES, 4, 2], false);
    let share_in_first = |from_step: usize| {
        let run = sample_sequential(&map, &tape, Some((&start, from_step)), &mut ()).expect("sampling");
        assert_eq!(run.model_calls, 64 - from_step);
        let x = run.x.flatten(1, -1);
        let distance = |m: &Tensor| (&x - m).square().sum_dim_intlist(1, false, Kind::Float);
        distance(&means[0]).lt_tensor(&distance(&means[1])).to_kind(Kind::Double).mean(Kind::Double).double_value(&[])
    };
    let late = share_in_first(48);
    let full = share_in_first(0);
    println!("share in the start's component: renoised at step 48 of 64: {late:.4}; at step 0: {full:.4}");
    assert!(late > 0.99, "{late}");
    assert!((full - 0.35).abs() < 0.02, "{full}");
    let refused = sample_sequential(&map, &tape, Some((&start, 64)), &mut ()).expect_err("past the last step");
    assert!(refused.to_string().contains("step 64 of 64"), "{refused}");
}
