//! Gradient and derivative-free guidance: cost gradients against finite differences, Diffuser's
//! guided step against its formula, and the planner's reward ranking and soft decoding.

use planner::condition::{Inpainting, Pin};
use planner::guidance::{CostConfig, GuidanceConfig, Guide, Reward, SoftDecodingConfig};
use planner::model::{Architecture, Checkpoint, Component, GaussianMixture, Model, ModelOutput, ModelSpec, ValueModel};
use planner::sampler::{SamplerConfig, SamplerKind};
use planner::{PlanRequest, Planner};
use tch::{Device, Kind, Tensor};

use crate::reference::{UNET_HORIZON, export_reference, unet_checkpoint, unet_normalizer, write_manifest};

/// Seconds between rows in these tests.
const DT: f64 = 0.1;

fn spec(horizon: usize) -> ModelSpec {
    ModelSpec {
        horizon,
        stride: 1,
        action_dim: 2,
        observation_dim: 4,
        output: ModelOutput::Sample,
        diffusion_steps: 20,
        schedule: planner::schedule::ScheduleSpec::default(),
        normalizer: unet_normalizer(),
    }
}

fn guidance(costs: Vec<CostConfig>) -> GuidanceConfig {
    GuidanceConfig {
        scale: 1.0,
        n_guide_steps: 1,
        t_stopgrad: 0,
        scale_grad_by_variance: false,
        value_weight: 0.0,
        costs,
    }
}

/// One of each cost kind, each active somewhere on a random trajectory.
fn every_cost() -> Vec<CostConfig> {
    vec![
        CostConfig::GoalDistance { dims: vec![0, 1], target: None, weight: 0.7 },
        CostConfig::ObstacleClearance {
            dims: vec![0, 1],
            center: vec![2.0, 2.0],
            radii: vec![1.5, 1.0],
            power: 4,
            clearance: 0.5,
            weight: 2.0,
        },
        CostConfig::Smoothness { dims: vec![2, 3], weight: 1e-3 },
        CostConfig::JointLimitMargin {
            dims: vec![0, 1],
            actions: true,
            lower: vec![-0.5, -0.4],
            upper: vec![0.5, 0.3],
            margin: 0.1,
            weight: 3.0,
        },
    ]
}

/// The gradient of `guide`'s objective summed over rows, by autograd.
fn autograd(guide: &Guide<'_>, x: &Tensor, t: &Tensor) -> Tensor {
    let input = x.detach().set_requires_grad(true);
    let objective = guide.objective(&input, t).expect("objective").sum(Kind::Double);
    Tensor::run_backward(&[objective], &[&input], false, false).remove(0)
}

#[test]
fn every_cost_gradient_matches_central_finite_differences() {
    // Reference: (J(x + h·e) − J(x − h·e)) / 2h in double precision, through the normalizer.
    let spec = spec(6);
    let goal = [3.0f32, 1.0, 0.0, 0.0];
    tch::manual_seed(5);
    let x = (Tensor::randn([2, 6, 6], (Kind::Double, Device::Cpu)) * 1.5).set_requires_grad(false);
    let t = Tensor::zeros([2], (Kind::Int64, Device::Cpu));
    for cost in every_cost() {
        let config = guidance(vec![cost.clone()]);
        let guide = Guide::new(&config, &spec, DT, (Some(&goal), None), None).expect("valid guidance");
        let gradient = autograd(&guide, &x, &t);
        let objective = |x: &Tensor| guide.objective(x, &t).expect("objective").sum(Kind::Double).double_value(&[]);
        let h = 1e-6;
        let scale = gradient.abs().max().double_value(&[]);
        assert!(scale > 0.0, "{cost:?} is inactive on the test trajectory");
        for flat in (0..72).step_by(5) {
            let index = [flat / 36, (flat / 6) % 6, flat % 6];
            let bumped = |delta: f64| {
                let y = x.copy();
                let _ = y.get(index[0]).get(index[1]).get(index[2]).fill_(x.double_value(&index) + delta);
                objective(&y)
            };
            let numeric = (bumped(h) - bumped(-h)) / (2.0 * h);
            let analytic = gradient.double_value(&index);
            assert!(
                (numeric - analytic).abs() < 1e-6 * scale.max(1.0),
                "{cost:?} at {index:?}: {analytic} vs {numeric}"
            );
        }
    }
}

#[test]
fn a_guided_step_is_scale_times_variance_times_gradient_and_keeps_the_pins() {
    // Reference: Diffuser's n_step_guided_p_sample, x ← x + scale·σ²_t·∇J, re-inpainted,
    // nothing below t_stopgrad.
    let spec = spec(UNET_HORIZON);
    let goal = [3.0f32, 1.0, 0.0, 0.0];
    let config = GuidanceConfig {
        scale: 0.3,
        n_guide_steps: 1,
        t_stopgrad: 2,
        scale_grad_by_variance: true,
        value_weight: 0.0,
        costs: every_cost(),
    };
    let guide = Guide::new(&config, &spec, DT, (Some(&goal), None), None).expect("valid guidance");
    let pins = [Pin { index: 0, observation: vec![1.0, 2.0, 0.5, -1.0] }];
    let inpainting = Inpainting::new(&spec, &pins, Device::Cpu).expect("pins");
    tch::manual_seed(3);
    let mut x = Tensor::randn([2, UNET_HORIZON as i64, 6], (Kind::Float, Device::Cpu));
    inpainting.apply(&mut x);
    let (timesteps, variances) = ([7, 1], [0.04, 0.5]);
    let guided = guide.apply(&x, &timesteps, &variances, &inpainting).expect("guided");
    let t = Tensor::from_slice(&[7i64, 1]);
    let mut want = (x.get(0) + autograd(&guide, &x, &t).get(0) * (0.3 * 0.04)).unsqueeze(0);
    inpainting.apply(&mut want);
    let off = (guided.get(0) - want.get(0)).abs().max().double_value(&[]);
    assert!(off < 1e-6, "guided row 0 off by {off}");
    assert!(guided.get(1).equal(&x.get(1)), "t = 1 < t_stopgrad was moved");
    assert!(guided.get(0).get(0).narrow(0, 2, 4).equal(&x.get(0).get(0).narrow(0, 2, 4)), "the pin moved");
}

#[test]
fn the_value_gradient_matches_finite_differences() {
    // Reference: central differences of the value network itself (float32, h = 1e-2).
    let dir = tempfile::tempdir().expect("tempdir");
    let value = value_model(dir.path());
    let spec = value.spec().clone();
    let config = GuidanceConfig { value_weight: 1.0, ..guidance(Vec::new()) };
    let guide = Guide::new(&config, &spec, DT, (None, None), Some(&value)).expect("value guidance");
    tch::manual_seed(9);
    let x = Tensor::randn([1, UNET_HORIZON as i64, 6], (Kind::Float, Device::Cpu));
    let t = Tensor::from_slice(&[4i64]);
    let gradient = autograd(&guide, &x, &t);
    let scale = gradient.abs().max().double_value(&[]);
    let h = 1e-2;
    for flat in (0..96).step_by(7) {
        let index = [0, flat / 6, flat % 6];
        let bumped = |delta: f64| {
            let y = x.copy();
            let _ = y.get(0).get(index[1]).get(index[2]).fill_(x.double_value(&index) + delta);
            tch::no_grad(|| value.value(&y, &t)).expect("value").double_value(&[0])
        };
        let numeric = (bumped(h) - bumped(-h)) / (2.0 * h);
        let analytic = gradient.double_value(&index);
        assert!((numeric - analytic).abs() < 2e-3 * scale.max(1e-3), "at {index:?}: {analytic} vs {numeric}");
    }
}

fn value_model(dir: &std::path::Path) -> planner::model::NativeModel {
    export_reference(
        dir,
        &["--arch", "value", "--transition", "6", "--horizon", "16", "--mults", "1,2", "--steps", "20"],
    );
    let spec = ModelSpec { output: ModelOutput::Value, ..spec(UNET_HORIZON) };
    write_manifest(dir, spec, Architecture::ValueFunction { dim: 32, dim_mults: vec![1, 2] });
    Checkpoint::open(dir).expect("value checkpoint").load_native(Device::Cpu).expect("value")
}

fn unet_planner(dir: &std::path::Path) -> Planner {
    let model = unet_checkpoint(dir, ModelOutput::Sample).load_native(Device::Cpu).expect("model");
    Planner::new(Box::new(model)).expect("planner")
}

fn request(kind: SamplerKind, batch_size: usize) -> PlanRequest {
    let sampler = SamplerConfig { steps: Some(12), clip_x0: true, ..SamplerConfig::new(kind) };
    PlanRequest {
        goal: Some(vec![3.0, 3.0, 0.0, 0.0]),
        batch_size,
        seed: 11,
        ..PlanRequest::new(vec![1.0, 2.0, 0.5, -1.0], sampler)
    }
}

/// The mean over the plan of observation 0: a reward with an obvious direction.
struct HighFirstObservation;

impl Reward for HighFirstObservation {
    fn reward(&self, states: &[Vec<f32>], _actions: &[Vec<f32>]) -> f64 {
        states.iter().map(|s| f64::from(s[0])).sum::<f64>() / states.len() as f64
    }

    fn name(&self) -> String {
        "high first observation".into()
    }
}

/// Two equally likely modes of trajectories (H = 4, A = 1, O = 1): every value near +0.5 or
/// every value near −0.5. The denoiser is exact (E[x0 | x_t] in closed form), so what guidance
/// does to the samples is guidance's doing alone.
fn two_modes() -> Planner {
    let spec = crate::reference::spec(4, 1, 1, ModelOutput::Sample);
    let mode = |sign: f64| Component { weight: 0.5, mean: vec![sign * 0.5; 8], variance: vec![0.01; 8] };
    let mixture = GaussianMixture::new(spec, vec![mode(1.0), mode(-1.0)], Device::Cpu).expect("mixture");
    Planner::new(Box::new(mixture)).expect("planner")
}

/// Share of 64 plans from the two-mode planner whose free states lie in the upper mode.
fn upper_share(planner: &Planner, request: &PlanRequest) -> f64 {
    let plan = planner.plan(request).expect("plan");
    let upper = plan.candidates.iter().filter(|c| c.states[1..].iter().map(|s| s[0]).sum::<f32>() > 0.0).count();
    upper as f64 / plan.candidates.len() as f64
}

fn two_mode_request() -> PlanRequest {
    let sampler = SamplerConfig { steps: Some(32), ..SamplerConfig::new(SamplerKind::Ddpm) };
    PlanRequest { batch_size: 64, seed: 3, ..PlanRequest::new(vec![0.0], sampler) }
}

#[test]
fn guidance_moves_samples_to_the_mode_its_cost_prefers() {
    // Reference: the exact denoiser of a two-mode mixture; unguided, about half the samples
    // fall in each mode (binomial, 64 draws); a goal cost at +0.5 must tip them upwards.
    let cost = CostConfig::GoalDistance { dims: vec![0], target: Some(vec![0.5]), weight: 1.0 };
    let config = GuidanceConfig { scale: 0.5, n_guide_steps: 2, ..guidance(vec![cost]) };
    let plain = upper_share(&two_modes(), &two_mode_request());
    let guided = upper_share(&two_modes().with_guidance(config, DT).expect("guidance"), &two_mode_request());
    assert!((0.3..=0.7).contains(&plain), "unguided share {plain}");
    assert!(guided > 0.9, "guided share {guided} (unguided {plain})");
}

#[test]
fn a_reward_ranks_the_candidates_without_changing_them() {
    // Best-of-N: the same trajectories as the unranked plan, sorted by the reward.
    let dir = tempfile::tempdir().expect("tempdir");
    let unranked = unet_planner(dir.path()).plan(&request(SamplerKind::DpmSolverPp, 6)).expect("plan");
    let planner = unet_planner(dir.path()).with_reward(Box::new(HighFirstObservation));
    let plan = planner.plan(&request(SamplerKind::DpmSolverPp, 6)).expect("plan");
    let rewards: Vec<f64> = plan.candidates.iter().map(|c| c.reward.expect("reward")).collect();
    assert!(rewards.windows(2).all(|w| w[0] >= w[1]), "not best first: {rewards:?}");
    for candidate in &plan.candidates {
        assert_eq!(candidate.states, unranked.candidates[candidate.batch_index].states);
        let want = HighFirstObservation.reward(&candidate.states, &candidate.actions);
        assert!((candidate.reward.expect("reward") - want).abs() < 1e-12);
    }
}

#[test]
fn soft_decoding_with_one_candidate_is_plain_sampling_and_more_candidates_raise_the_reward() {
    // Reference: M = 1 is the sequential sampler on the same tape (SVDD's degenerate case); with
    // the exact two-mode denoiser, choosing among 4 noises by a reward favouring the upper mode
    // must tip the samples upwards.
    let dir = tempfile::tempdir().expect("tempdir");
    let planner = unet_planner(dir.path()).with_reward(Box::new(HighFirstObservation));
    let plain = planner.plan(&request(SamplerKind::Ddpm, 8)).expect("plan");
    let soft = |candidates: usize| PlanRequest {
        soft_decoding: Some(SoftDecodingConfig { candidates, temperature: 0.0 }),
        ..request(SamplerKind::Ddpm, 8)
    };
    let one = planner.plan(&soft(1)).expect("plan");
    assert_eq!(one.candidates, plain.candidates, "M = 1 must reproduce plain sampling");
    let four = planner.plan(&soft(4)).expect("plan");
    assert_eq!(four.stats.model_calls, 12, "still one batched call per step");
    assert_eq!(planner.plan(&soft(4)).expect("plan").candidates, four.candidates, "same seed, same plan");
    let err = planner
        .plan(&PlanRequest {
            soft_decoding: Some(SoftDecodingConfig { candidates: 4, temperature: 0.0 }),
            ..request(SamplerKind::DpmSolverPp, 2)
        })
        .expect_err("deterministic sampler")
        .to_string();
    assert!(err.contains("adds no noise"), "{err}");

    let modes = two_modes().with_reward(Box::new(HighFirstObservation));
    let plain = upper_share(&modes, &two_mode_request());
    let request = PlanRequest {
        soft_decoding: Some(SoftDecodingConfig { candidates: 4, temperature: 0.0 }),
        ..two_mode_request()
    };
    let soft = upper_share(&modes, &request);
    assert!(soft > 0.9, "soft decoding share {soft} (plain {plain})");
}

#[test]
fn bad_guidance_is_refused_with_the_field() {
    let spec = spec(UNET_HORIZON);
    let check = |config: GuidanceConfig, goal: Option<&[f32]>, needle: &str| {
        let err = Guide::new(&config, &spec, DT, (goal, None), None).err().expect("accepted").to_string();
        assert!(err.contains(needle), "{err}");
    };
    let goal: &[f32] = &[0.0; 4];
    check(guidance(Vec::new()), Some(goal), "nothing to guide by");
    check(GuidanceConfig { value_weight: 1.0, ..guidance(Vec::new()) }, Some(goal), "no value model");
    check(guidance(vec![CostConfig::Smoothness { dims: vec![4], weight: 1.0 }]), Some(goal), "costs[0].dims");
    check(
        guidance(vec![CostConfig::GoalDistance { dims: vec![0], target: None, weight: 1.0 }]),
        None,
        "request has no goal",
    );
    let odd = CostConfig::ObstacleClearance {
        dims: vec![0, 1],
        center: vec![0.0, 0.0],
        radii: vec![1.0, 1.0],
        power: 3,
        clearance: 0.0,
        weight: 1.0,
    };
    check(guidance(vec![odd]), Some(goal), "costs[0].power");
    let unknown = toml::from_str::<GuidanceConfig>("scale = 1.0\nsteps = 3\n").expect_err("unknown key").to_string();
    assert!(unknown.contains("steps"), "{unknown}");
}
