//! The `Planner` facade: reproducibility, exact pins, ranking by value, and clear errors.

use planner::condition::Pin;
use planner::model::{Architecture, Checkpoint, Model, ModelOutput, ModelSpec};
use planner::model::{Denoiser, ValueModel};
use planner::sampler::{SamplerConfig, SamplerKind};
use planner::workspace::WorkspaceObstacle;
use planner::{PlanRequest, Planner};
use tch::{Device, Kind, Tensor};

use crate::reference::{Recorder, UNET_HORIZON, export_reference, unet_checkpoint, unet_normalizer, write_manifest};

fn request(kind: SamplerKind, steps: usize) -> PlanRequest {
    PlanRequest {
        goal: Some(vec![3.0, 3.0, 0.0, 0.0]),
        waypoints: vec![Pin { index: 7, observation: vec![2.5, 1.0, -0.5, 0.0] }],
        batch_size: 4,
        seed: 3,
        ..PlanRequest::new(vec![1.0, 2.0, 0.5, -1.0], SamplerConfig { steps: Some(steps), ..SamplerConfig::new(kind) })
    }
}

fn unet_planner(dir: &std::path::Path) -> Planner {
    let model = unet_checkpoint(dir, ModelOutput::Sample).load_native(Device::Cpu).expect("model");
    Planner::new(Box::new(model)).expect("planner")
}

#[test]
fn the_same_seed_gives_the_same_plan() {
    let dir = tempfile::tempdir().expect("tempdir");
    let planner = unet_planner(dir.path());
    for (kind, steps) in [(SamplerKind::Ddpm, 20), (SamplerKind::Ddim, 8), (SamplerKind::DpmSolverPp, 8)] {
        let first = planner.plan(&request(kind, steps)).expect("plan");
        let again = planner.plan(&request(kind, steps)).expect("plan");
        assert_eq!(first.candidates, again.candidates, "{kind:?}: same seed, different plan");
        assert_eq!(first.stats, again.stats);
        let other = planner.plan(&PlanRequest { seed: 4, ..request(kind, steps) }).expect("plan");
        assert_ne!(first.candidates, other.candidates, "{kind:?}: the seed is ignored");
        assert_eq!(first.stats.model_calls, steps);
        assert!(first.timings.model_ms > 0.0 && first.timings.model_ms <= first.timings.total_ms);
    }
}

#[test]
fn pinned_observations_equal_the_request_exactly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let planner = unet_planner(dir.path());
    let request = request(SamplerKind::Ddpm, 20);
    let mut recorder = Recorder::default();
    let plan = planner.plan_observed(&request, &mut recorder).expect("plan");
    assert_eq!(plan.candidates.len(), 4);
    let goal = request.goal.clone().expect("goal");
    for candidate in &plan.candidates {
        assert_eq!(candidate.states.len(), UNET_HORIZON);
        assert_eq!(candidate.actions[0].len(), 2);
        assert_eq!(candidate.states[0], request.observation);
        assert_eq!(candidate.states[7], request.waypoints[0].observation);
        assert_eq!(candidate.states[UNET_HORIZON - 1], goal);
    }
    // In normalized space the pins hold at every step the model sees, not only at the end.
    let normalizer = unet_normalizer();
    for (index, observation) in [(0, &request.observation), (UNET_HORIZON - 1, &goal)] {
        let want = normalizer.normalize(&Tensor::from_slice(observation), 2);
        for (k, x_t) in recorder.x_t.iter().enumerate() {
            for b in 0..4 {
                assert!(x_t.get(b).get(index as i64).narrow(0, 2, 4).equal(&want), "step {k}, row {b}, index {index}");
            }
        }
    }
}

#[test]
fn a_value_model_ranks_the_candidates_best_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let planner = unet_planner(dir.path());
    let value_dir = dir.path().join("value");
    export_reference(
        &value_dir,
        &["--arch", "value", "--transition", "6", "--horizon", "16", "--mults", "1,2", "--steps", "20"],
    );
    let spec = ModelSpec { output: ModelOutput::Value, ..unet_spec(dir.path()) };
    write_manifest(&value_dir, spec, Architecture::ValueFunction { dim: 32, dim_mults: vec![1, 2] });
    let value_model = Checkpoint::open(&value_dir).expect("value checkpoint").load_native(Device::Cpu).expect("value");
    // Clipped, so the limits normalizer's clamp on the way out changes nothing and the
    // re-normalized candidate is the trajectory the value model scored.
    let mut request = PlanRequest { batch_size: 6, ..request(SamplerKind::DpmSolverPp, 10) };
    request.sampler.clip_x0 = true;
    let unranked = planner.plan(&request).expect("plan");

    let reference = Checkpoint::open(&value_dir).expect("value checkpoint").load_native(Device::Cpu).expect("value");
    let planner = planner.with_value_model(Box::new(value_model)).expect("matching value model");
    let plan = planner.plan(&request).expect("plan");
    let values: Vec<f32> = plan.candidates.iter().map(|c| c.value.expect("value")).collect();
    assert!(values.windows(2).all(|w| w[0] >= w[1]), "not best first: {values:?}");
    let mut order: Vec<usize> = plan.candidates.iter().map(|c| c.batch_index).collect();
    order.sort_unstable();
    assert_eq!(order, (0..6).collect::<Vec<_>>(), "every candidate once");
    for candidate in &plan.candidates {
        // The ranking does not change the trajectories, only their order.
        assert_eq!(candidate.states, unranked.candidates[candidate.batch_index].states);
        // Reference: the value network run separately on the re-normalized candidate.
        let rows: Vec<f32> =
            candidate.actions.iter().zip(&candidate.states).flat_map(|(a, s)| a.iter().chain(s).copied()).collect();
        let x = unet_normalizer().normalize(&Tensor::from_slice(&rows).view([1, 16, 6]), 0);
        let want = tch::no_grad(|| reference.value(&x, &Tensor::zeros([1], (Kind::Int64, Device::Cpu))))
            .expect("value")
            .double_value(&[0]);
        let got = f64::from(candidate.value.expect("value"));
        assert!((got - want).abs() < 1e-4 * (1.0 + want.abs()), "value {got} vs {want}");
    }
}

#[test]
fn a_jumpy_model_samples_every_kth_step_and_hands_out_every_step() {
    // Reference: the same network read as a dense model (stride 1), asked for the same plan in
    // rows. A stride of 4 must sample exactly those rows and hand them out 4 steps apart, with
    // the steps between them on the straight line from one row to the next.
    let dir = tempfile::tempdir().expect("tempdir");
    let dense = unet_planner(dir.path());
    let manifest = Checkpoint::open(dir.path()).expect("checkpoint").manifest().clone();
    write_manifest(dir.path(), ModelSpec { stride: 4, ..manifest.spec.clone() }, manifest.architecture.clone());
    let jumpy_model = Checkpoint::open(dir.path()).expect("jumpy checkpoint").load_native(Device::Cpu).expect("model");
    let jumpy = Planner::new(Box::new(jumpy_model)).expect("planner");
    let mut by_rows = request(SamplerKind::DpmSolverPp, 8);
    by_rows.arrival = Some(12);
    let by_steps = PlanRequest {
        arrival: Some(4 * 12 + 3),
        waypoints: vec![Pin { index: 4 * 7, ..by_rows.waypoints[0].clone() }],
        ..by_rows.clone()
    };
    let (rows, steps) = (dense.plan(&by_rows).expect("dense plan"), jumpy.plan(&by_steps).expect("jumpy plan"));
    for (row, step) in rows.candidates.iter().zip(&steps.candidates) {
        assert_eq!(step.states.len(), 4 * (UNET_HORIZON - 1) + 1);
        for i in 0..UNET_HORIZON {
            assert_eq!(step.states[4 * i], row.states[i], "row {i}");
            assert_eq!(step.actions[4 * i], row.actions[i], "row {i}");
        }
        for (i, j) in [(3, 1), (9, 2), (14, 3)] {
            let (a, b) = (&row.states[i], &row.states[i + 1]);
            let want: Vec<f32> = a.iter().zip(b).map(|(a, b)| a + j as f32 / 4.0 * (b - a)).collect();
            assert_eq!(step.states[4 * i + j], want, "step {}", 4 * i + j);
        }
        // The goal, due by step 51, holds from row 12 (step 48) on.
        assert!(step.states[48..].iter().all(|s| s == by_rows.goal.as_ref().expect("goal")));
    }
    let refuse = |request: PlanRequest, needle: &str| {
        let err = jumpy.plan(&request).expect_err("bad request accepted").to_string();
        assert!(err.contains(needle), "{needle:?} not in {err:?}");
    };
    let off_row = vec![Pin { index: 5, ..by_rows.waypoints[0].clone() }];
    refuse(PlanRequest { waypoints: off_row, ..by_steps.clone() }, "pin a multiple of 4");
    refuse(PlanRequest { arrival: Some(61), ..by_steps }, "past the plan's last step 60");
}

fn unet_spec(dir: &std::path::Path) -> ModelSpec {
    Checkpoint::open(dir).expect("unet checkpoint").manifest().spec.clone()
}

#[test]
fn bad_requests_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let planner = unet_planner(dir.path());
    let refuse = |request: PlanRequest, needle: &str| {
        let err = planner.plan(&request).expect_err("bad request accepted").to_string();
        assert!(err.contains(needle), "{needle:?} not in {err:?}");
    };
    let good = request(SamplerKind::Ddim, 4);
    refuse(PlanRequest { observation: vec![0.0; 3], ..good.clone() }, "pinned at index 0 has 3 values");
    refuse(PlanRequest { goal: Some(vec![0.0, f32::NAN, 0.0, 0.0]), ..good.clone() }, "index 15, dimension 1, is NaN");
    refuse(PlanRequest { batch_size: 0, ..good.clone() }, "batch_size");
    refuse(
        PlanRequest { waypoints: vec![Pin { index: 16, observation: vec![0.0; 4] }], ..good.clone() },
        "the horizon is 16",
    );
    let sampler = |steps, eta, kind| SamplerConfig { steps: Some(steps), eta, ..SamplerConfig::new(kind) };
    refuse(PlanRequest { sampler: sampler(21, 0.0, SamplerKind::Ddim), ..good.clone() }, "use 1..=20");
    refuse(PlanRequest { sampler: sampler(4, 0.5, SamplerKind::Ddpm), ..good.clone() }, "only ddim takes eta");
    refuse(PlanRequest { sampler: sampler(4, 1.5, SamplerKind::Ddim), ..good.clone() }, "must lie in [0, 1]");
    // Obstacles that nothing would keep the plan clear of, and ones that are not shapes.
    let ball = WorkspaceObstacle::Sphere { center: [0.5, 0.0, 0.3], radius: 0.1 };
    refuse(PlanRequest { obstacles: vec![ball], ..good.clone() }, "its plans would run through them");
    let flat = WorkspaceObstacle::Box { center: [0.5, 0.0, 0.3], half_extents: [0.1, 0.0, 0.1] };
    refuse(PlanRequest { obstacles: vec![ball, flat], ..good }, "request.obstacles[1].half_extents");
}

/// A broken network (test double): its prediction is NaN.
struct NanDenoiser(ModelSpec);

impl Model for NanDenoiser {
    fn spec(&self) -> &ModelSpec {
        &self.0
    }

    fn device(&self) -> Device {
        Device::Cpu
    }
}

impl Denoiser for NanDenoiser {
    fn predict(&self, x_t: &Tensor, _t: &Tensor) -> planner::Result<Tensor> {
        Ok(x_t.full_like(f64::NAN))
    }
}

#[test]
fn a_diverged_plan_is_withheld_and_a_mismatched_value_model_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let planner = unet_planner(dir.path());
    let spec = unet_spec(dir.path());
    let broken = Planner::new(Box::new(NanDenoiser(spec.clone()))).expect("planner");
    let err = broken.plan(&request(SamplerKind::Ddim, 4)).expect_err("NaN plan returned").to_string();
    assert!(err.contains("NaN") && err.contains("4 steps of ddim"), "{err}");

    let other = ModelSpec { horizon: 32, output: ModelOutput::Value, ..spec.clone() };
    let err =
        planner.with_value_model(Box::new(OtherHorizonValue(other))).err().expect("mismatch accepted").to_string();
    assert!(err.contains("(H, stride, A, O) = (32, 1, 2, 4)"), "{err}");
    // Same rows, another stride: its rows are other steps, so it is refused as well.
    let jumpy = ModelSpec { stride: 4, output: ModelOutput::Value, ..spec.clone() };
    let dense = Planner::new(Box::new(NanDenoiser(spec))).expect("planner");
    let err = dense.with_value_model(Box::new(OtherHorizonValue(jumpy))).err().expect("mismatch accepted").to_string();
    assert!(err.contains("(H, stride, A, O) = (16, 4, 2, 4)"), "{err}");
}

/// A value model of another horizon (test double).
struct OtherHorizonValue(ModelSpec);

impl Model for OtherHorizonValue {
    fn spec(&self) -> &ModelSpec {
        &self.0
    }

    fn device(&self) -> Device {
        Device::Cpu
    }
}

impl ValueModel for OtherHorizonValue {
    fn value(&self, x_t: &Tensor, _t: &Tensor) -> planner::Result<Tensor> {
        Ok(x_t.sum_dim_intlist(&[1i64, 2][..], false, Kind::Float))
    }
}
