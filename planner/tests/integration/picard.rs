//! Picard iterations against the sequential sampler on the same tape: τ = 0 must reproduce it,
//! τ > 0 must take fewer sweeps than steps and land close.

use planner::condition::{Inpainting, Pin};
use planner::constraints::{ConstraintConfig, ConstraintSet, Projection};
use planner::driver::picard::{PicardConfig, sample_picard};
use planner::driver::step_map::StepMap;
use planner::driver::{DriverRun, sample_sequential};
use planner::guidance::{CostConfig, GuidanceConfig, Guide};
use planner::model::{Denoiser, Model, ModelOutput};
use planner::noise::NoiseTape;
use planner::observer::PicardSweep;
use planner::sampler::{Sampler, SamplerConfig, SamplerKind};
use planner::{DenoisingStep, Observer, PicardStats};
use tch::Device;

use crate::reference::{UNET_HORIZON, max_abs_diff, unet_checkpoint};

/// Counts sweeps.
#[derive(Default)]
struct Sweeps(usize);

impl Observer for Sweeps {
    fn on_step(&mut self, _step: &DenoisingStep<'_>) {}

    fn on_sweep(&mut self, _sweep: &PicardSweep) {
        self.0 += 1;
    }
}

fn pins() -> Vec<Pin> {
    vec![
        Pin { index: 0, observation: vec![1.0, 2.0, 0.5, -1.0] },
        Pin { index: UNET_HORIZON - 1, observation: vec![3.0, 3.0, 0.0, 0.0] },
    ]
}

fn config(kind: SamplerKind, steps: usize, eta: f64) -> SamplerConfig {
    SamplerConfig { steps: Some(steps), eta, clip_x0: true, ..SamplerConfig::new(kind) }
}

/// Sequential and Picard results of `sampler_config` on one tape, and Picard's statistics.
fn both(
    model: &dyn Denoiser,
    sampler_config: &SamplerConfig,
    picard: &PicardConfig,
) -> (tch::Tensor, DriverRun, PicardStats) {
    let sampler = Sampler::new(sampler_config, model.spec()).expect("sampler");
    let inpainting = Inpainting::new(model.spec(), &pins(), Device::Cpu).expect("pins");
    both_on(&StepMap::new(model, &sampler, &inpainting), picard)
}

/// Sequential and Picard results of `map` on one tape, and Picard's statistics.
pub fn both_on(map: &StepMap<'_>, picard: &PicardConfig) -> (tch::Tensor, DriverRun, PicardStats) {
    let tape = NoiseTape::draw(21, [3, UNET_HORIZON as i64, 6], map.sampler(), Device::Cpu);
    let sequential = sample_sequential(map, &tape, None, &mut ()).expect("sequential");
    let mut sweeps = Sweeps::default();
    let run = sample_picard(map, &tape, picard, None, &mut sweeps).expect("picard");
    let stats = run.picard.clone().expect("Picard reports its statistics");
    assert_eq!(sweeps.0, stats.sweeps, "the observer missed sweeps");
    assert_eq!(run.model_calls, stats.sweeps, "one batched model call per sweep");
    (sequential.x, run, stats)
}

#[test]
fn zero_tolerance_reproduces_every_sampler() {
    // Reference: the sequential sampler on the same tape (ParaDiGMS's fixed point).
    let dir = tempfile::tempdir().expect("tempdir");
    for output in [ModelOutput::Sample, ModelOutput::Epsilon] {
        let model =
            unet_checkpoint(&dir.path().join(format!("{output:?}")), output).load_native(Device::Cpu).expect("model");
        for sampler_config in [
            config(SamplerKind::Ddpm, 12, 0.0),
            config(SamplerKind::Ddim, 8, 0.5),
            config(SamplerKind::DpmSolverPp, 8, 0.0),
        ] {
            // A window smaller than K, and one holding every step.
            let steps = sampler_config.steps.expect("steps");
            for window in [3, steps] {
                let picard = PicardConfig { window, tolerance: 0.0, max_sweeps: None, deadline_ms: None };
                let (sequential, run, stats) = both(&model, &sampler_config, &picard);
                let difference = max_abs_diff(&sequential, &run.x);
                assert!(difference < 1e-5, "{output:?} {sampler_config:?} window {window}: off by {difference:e}");
                assert!(stats.converged);
                assert_eq!(stats.sweeps, sampler_config.steps.expect("steps"), "τ = 0 advances one step per sweep");
            }
        }
    }
}

#[test]
fn a_positive_tolerance_needs_fewer_sweeps_and_lands_close() {
    let dir = tempfile::tempdir().expect("tempdir");
    let model = unet_checkpoint(dir.path(), ModelOutput::Sample).load_native(Device::Cpu).expect("model");
    let sampler_config = config(SamplerKind::Ddpm, 20, 0.0);
    let picard = PicardConfig { window: 20, tolerance: 0.1, max_sweeps: None, deadline_ms: None };
    let (sequential, run, stats) = both(&model, &sampler_config, &picard);
    let difference = max_abs_diff(&sequential, &run.x);
    println!("τ = 0.1: {} sweeps, {} evaluations, off by {difference:e}", stats.sweeps, stats.model_evaluations);
    assert!(stats.converged && stats.sweeps < 20, "{} sweeps for 20 steps", stats.sweeps);
    assert!(difference < 0.05, "off by {difference}");
    // A warm start from the converged iterates converges at once.
    let sampler = Sampler::new(&sampler_config, model.spec()).expect("sampler");
    let tape = NoiseTape::draw(21, [3, UNET_HORIZON as i64, 6], &sampler, Device::Cpu);
    let inpainting = Inpainting::new(model.spec(), &pins(), Device::Cpu).expect("pins");
    let map = StepMap::new(&model, &sampler, &inpainting);
    let warm = sample_picard(&map, &tape, &picard, Some(&run.iterates), &mut ()).expect("warm");
    let warm_sweeps = warm.picard.expect("Picard reports its statistics").sweeps;
    assert!(warm_sweeps < stats.sweeps, "warm start took {warm_sweeps} sweeps, cold {}", stats.sweeps);
}

#[test]
fn the_sweep_cap_and_bad_settings_are_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let model = unet_checkpoint(dir.path(), ModelOutput::Sample).load_native(Device::Cpu).expect("model");
    let capped = PicardConfig { window: 5, tolerance: 0.0, max_sweeps: Some(3), deadline_ms: None };
    let (_, _, stats) = both(&model, &config(SamplerKind::Ddim, 10, 0.0), &capped);
    assert!(!stats.converged && stats.sweeps == 3 && stats.model_evaluations == 15);
    // Stopped with the final state in its window, the run still reports a finite residual.
    let stopped = PicardConfig { window: 10, tolerance: 0.1, max_sweeps: Some(1), deadline_ms: None };
    let (_, _, stats) = both(&model, &config(SamplerKind::Ddim, 10, 0.0), &stopped);
    assert!(!stats.converged && stats.residual.is_finite() && stats.residual > 0.0, "residual {}", stats.residual);
    let sampler = Sampler::new(&config(SamplerKind::Ddim, 10, 0.0), model.spec()).expect("sampler");
    let tape = NoiseTape::draw(0, [1, UNET_HORIZON as i64, 6], &sampler, Device::Cpu);
    let inpainting = Inpainting::new(model.spec(), &[], Device::Cpu).expect("no pins");
    let bad = PicardConfig { window: 0, tolerance: 0.1, max_sweeps: None, deadline_ms: None };
    let map = StepMap::new(&model, &sampler, &inpainting);
    let err = sample_picard(&map, &tape, &bad, None, &mut ()).expect_err("window 0").to_string();
    assert!(err.contains("window 0"), "{err}");
}

#[test]
fn zero_tolerance_reproduces_guided_and_projected_sampling() {
    // Reference: the sequential sampler on the same tape and the same step map (guidance before
    // each model call, the clean estimate projected onto a binding state box).
    let dir = tempfile::tempdir().expect("tempdir");
    let model = unet_checkpoint(dir.path(), ModelOutput::Sample).load_native(Device::Cpu).expect("model");
    let spec = model.spec().clone();
    let cost = CostConfig::GoalDistance { dims: vec![0, 1], target: Some(vec![2.0, 2.0]), weight: 1.0 };
    let guidance = GuidanceConfig {
        scale: 0.5,
        n_guide_steps: 2,
        t_stopgrad: 1,
        scale_grad_by_variance: true,
        value_weight: 0.0,
        costs: vec![cost],
    };
    let guide = Guide::new(&guidance, &spec, 0.1, (None, None), None).expect("guidance");
    let constraints: ConstraintConfig =
        toml::from_str("[[state_box]]\ndims = [0, 1]\nlower = [0.8, 1.0]\nupper = [3.2, 3.0]\n").expect("toml");
    let constraints = ConstraintSet::new(&constraints, &spec, 0.1).expect("constraints");
    let projection = Projection::new(std::borrow::Cow::Borrowed(&constraints), &spec, vec![0, UNET_HORIZON - 1]);
    let inpainting = Inpainting::new(&spec, &pins(), Device::Cpu).expect("pins");
    for sampler_config in [
        config(SamplerKind::Ddpm, 10, 0.0),
        config(SamplerKind::Ddim, 8, 0.5),
        config(SamplerKind::DpmSolverPp, 8, 0.0),
    ] {
        let sampler = Sampler::new(&sampler_config, &spec).expect("sampler");
        let map =
            StepMap::new(&model, &sampler, &inpainting).with_guide(Some(&guide)).with_projection(Some(&projection));
        let picard = PicardConfig { window: 4, tolerance: 0.0, max_sweeps: None, deadline_ms: None };
        let (sequential, run, _) = both_on(&map, &picard);
        let difference = max_abs_diff(&sequential, &run.x);
        assert!(difference < 1e-5, "{sampler_config:?}: off by {difference:e}");
        let plain = StepMap::new(&model, &sampler, &inpainting);
        let (unsteered, _, _) = both_on(&plain, &picard);
        assert!(max_abs_diff(&sequential, &unsteered) > 1e-3, "{sampler_config:?}: guidance changed nothing");
    }
}
