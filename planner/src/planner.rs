//! The facade: one call from a request in the robot's units to ranked plans in the robot's
//! units. Everything between stays on the model's device.

use std::borrow::Cow;
use std::time::Instant;

use tch::{Kind, Tensor};

use crate::condition::{Inpainting, Pin};
use crate::constraints::{ConstraintConfig, ConstraintSet, FINAL_TOLERANCE, Projection, host_trajectories};
use crate::driver::step_map::StepMap;
use crate::driver::{self, DriverChoice, DriverRun, WarmStart};
use crate::error::{Error, Result};
use crate::guidance::{GuidanceConfig, Guide, Reward};
use crate::jumpy::upsample;
use crate::model::{DENOISER_OUTPUTS, Denoiser, ModelSpec, ValueModel, check_output};
use crate::noise::NoiseTape;
use crate::observer::Observer;
use crate::plan::{Candidate, Plan, SamplerStats, Timings};
use crate::request::PlanRequest;
use crate::sampler::Sampler;
use crate::workspace::{ArmBody, Workspace};

/// A denoiser, optionally with a value model, gradient guidance, hard constraints and a reward.
pub struct Planner {
    denoiser: Box<dyn Denoiser>,
    value_model: Option<Box<dyn ValueModel>>,
    /// Guidance settings and the seconds between rows its costs use.
    guidance: Option<(GuidanceConfig, f64)>,
    constraints: Option<ConstraintSet>,
    reward: Option<Box<dyn Reward>>,
    /// The robot's arm, if it is one: what requests' obstacles are kept clear of.
    arm: Option<ArmBody>,
}

impl Planner {
    /// A planner sampling from `denoiser`.
    pub fn new(denoiser: Box<dyn Denoiser>) -> Result<Self> {
        check_output(denoiser.spec(), DENOISER_OUTPUTS, "denoiser")?;
        Ok(Self { denoiser, value_model: None, guidance: None, constraints: None, reward: None, arm: None })
    }

    /// Adds gradient guidance (`dt`: seconds per environment step; the costs see rows
    /// `stride` steps apart, [`ModelSpec::stride`]). Add the value model
    /// and the arm first if the guidance uses them. A goal-distance cost without a target takes each
    /// request's goal, so such a request must have one.
    pub fn with_guidance(mut self, config: GuidanceConfig, dt: f64) -> Result<Self> {
        let spec = self.denoiser.spec();
        let dt = dt * spec.stride as f64;
        let any_goal = vec![0.0; spec.observation_dim];
        let workspace = self.arm.clone().map(|body| Workspace { body, obstacles: Vec::new() });
        Guide::new(&config, spec, dt, (Some(&any_goal), workspace.as_ref()), self.value_model.as_deref())?;
        self.guidance = Some((config, dt));
        Ok(self)
    }

    /// The robot is an arm with `body`: a clearance margin in the constraints (and an
    /// `arm_clearance` guidance cost) keeps it clear of its table and of each request's
    /// obstacles. Add it before the guidance and the constraints.
    pub fn with_arm(mut self, body: ArmBody) -> Result<Self> {
        if let Some(problem) = body.problem(self.denoiser.spec().observation_dim) {
            return Err(Error::Config { field: "arm body".into(), message: problem });
        }
        self.arm = Some(body);
        Ok(self)
    }

    /// Adds hard constraints (`dt`: seconds per environment step; rate limits hold between rows
    /// `stride` steps apart): every step's clean
    /// estimate is projected onto them, and every returned plan satisfies them within 1e-6 or
    /// the plan fails with [`Error::Infeasible`]. A clearance margin needs the arm first
    /// ([`Planner::with_arm`]).
    pub fn with_constraints(mut self, config: &ConstraintConfig, dt: f64) -> Result<Self> {
        if config.clearance_margin_m.is_some() && self.arm.is_none() {
            return Err(Error::Config {
                field: "constraints.clearance_margin_m".into(),
                message: "the robot is not an arm (no kinematic chain), so there is nothing to keep clear; remove it"
                    .into(),
            });
        }
        let spec = self.denoiser.spec();
        self.constraints = Some(ConstraintSet::new(config, spec, dt * spec.stride as f64)?);
        Ok(self)
    }

    /// Adds a reward that scores every candidate and ranks them, best first (best-of-N), and
    /// that soft decoding chooses by.
    #[must_use]
    pub fn with_reward(mut self, reward: Box<dyn Reward>) -> Self {
        self.reward = Some(reward);
        self
    }

    /// Adds a value model that scores each candidate at t = 0 and ranks them, best first.
    /// It must share the denoiser's shapes, normalizer and device, or its values would score
    /// a different space.
    pub fn with_value_model(mut self, value_model: Box<dyn ValueModel>) -> Result<Self> {
        let (d, v) = (self.denoiser.spec(), value_model.spec());
        let mismatch = |what: &str, message: String| {
            Err(Error::Config {
                field: format!("value model {what}"),
                message: format!("{message}; train or export the value model for the denoiser's dataset"),
            })
        };
        let shape = |s: &ModelSpec| (s.horizon, s.stride, s.action_dim, s.observation_dim);
        if shape(d) != shape(v) {
            return mismatch(
                "shape",
                format!(
                    "(H, stride, A, O) = {:?}, the denoiser's is {:?} (a value model scores the denoiser's rows)",
                    shape(v),
                    shape(d)
                ),
            );
        }
        if d.normalizer != v.normalizer {
            return mismatch("normalizer", "differs from the denoiser's".into());
        }
        if self.denoiser.device() != value_model.device() {
            return mismatch(
                "device",
                format!("{:?}, the denoiser is on {:?}", value_model.device(), self.denoiser.device()),
            );
        }
        self.value_model = Some(value_model);
        Ok(self)
    }

    /// Whether plans keep the arm clear of a request's obstacles: an arm, and constraints with a
    /// clearance margin or an `arm_clearance` guidance cost. A request with obstacles is refused
    /// otherwise.
    #[must_use]
    pub fn keeps_clearance(&self) -> bool {
        let constrained = self.constraints.as_ref().is_some_and(|c| c.written.keeps_clearance());
        let guided = self.guidance.as_ref().is_some_and(|(config, _)| {
            config.costs.iter().any(|c| matches!(c, crate::guidance::CostConfig::ArmClearance { .. }))
        });
        self.arm.is_some() && (constrained || guided)
    }

    /// The denoiser's spec.
    #[must_use]
    pub fn spec(&self) -> &ModelSpec {
        self.denoiser.spec()
    }

    /// The denoiser, for measurements such as Picard's batch-cost curve.
    #[must_use]
    pub fn denoiser(&self) -> &dyn Denoiser {
        self.denoiser.as_ref()
    }

    /// Where the denoiser runs, as text (`Cpu`, `Cuda(0)`).
    #[must_use]
    pub fn device_name(&self) -> String {
        format!("{:?}", self.denoiser.device())
    }

    /// Samples `request.batch_size` candidate plans.
    pub fn plan(&self, request: &PlanRequest) -> Result<Plan> {
        self.plan_observed(request, &mut ())
    }

    /// [`Planner::plan`], showing every denoising step to `observer`.
    pub fn plan_observed(&self, request: &PlanRequest, observer: &mut dyn Observer) -> Result<Plan> {
        self.plan_warm(request, None, observer).map(|(plan, _)| plan)
    }

    /// [`Planner::plan_observed`] for replanning: starts from `warm_start` (Picard's iterates
    /// or a renoised trajectory of an earlier plan, usually moved along the horizon by
    /// [`crate::driver::picard::shift_iterates`]) and also returns the driver's run, whose final
    /// trajectory and iterates can start the next plan.
    ///
    /// Three phases: `prepare` (the request checked, the step map built), [`driver::run`],
    /// `finish` (divergence check, value scoring, final projection, ranking).
    pub fn plan_warm(
        &self,
        request: &PlanRequest,
        warm_start: Option<WarmStart<'_>>,
        observer: &mut dyn Observer,
    ) -> Result<(Plan, DriverRun)> {
        let started = Instant::now();
        let workspace = self.workspace(request)?;
        let prepared = self.prepare(request, workspace.as_ref())?;
        let map = StepMap::new(self.denoiser.as_ref(), &prepared.sampler, &prepared.inpainting)
            .with_guide(prepared.guide.as_ref())
            .with_projection(prepared.projection.as_ref());
        let choice = DriverChoice {
            picard: request.picard.as_ref(),
            warm_start,
            soft_decoding: request.soft_decoding.as_ref(),
            seed: request.seed,
        };
        let score = |estimates: &Tensor| self.score(estimates);
        let run = driver::run(&map, &prepared.tape, choice, &score, observer)?;
        let plan = self.finish(request, &prepared, &run, started)?;
        Ok((plan, run))
    }

    /// The arm among `request`'s obstacles, if the robot is an arm. Obstacles that nothing would
    /// keep the plan clear of (neither a clearance margin nor an `arm_clearance` cost) are
    /// refused, and so are obstacles that are not shapes.
    fn workspace(&self, request: &PlanRequest) -> Result<Option<Workspace>> {
        for (i, obstacle) in request.obstacles.iter().enumerate() {
            obstacle.validate(&format!("request.obstacles[{i}]"))?;
        }
        if !request.obstacles.is_empty() && !self.keeps_clearance() {
            return Err(Error::Request {
                field: "request.obstacles".into(),
                message: "this planner keeps no clearance from obstacles (an arm's planner with \
                          [planner.constraints] clearance_margin_m or an arm_clearance guidance cost does), so \
                          its plans would run through them"
                    .into(),
            });
        }
        Ok(self.arm.clone().map(|body| Workspace { body, obstacles: request.obstacles.clone() }))
    }

    /// Checks `request` and prepares what its step map needs: the pins, the sampler and its
    /// noise tape, the guide and the projection (with `workspace`, the arm among the request's
    /// obstacles).
    fn prepare<'a>(&'a self, request: &'a PlanRequest, workspace: Option<&'a Workspace>) -> Result<Prepared<'a>> {
        let spec = self.denoiser.spec();
        let device = self.denoiser.device();
        check_drivers(request)?;
        let pins = request.pins(spec)?;
        let inpainting = Inpainting::new(spec, &pins, device)?;
        let sampler = Sampler::new(&request.sampler, spec)?;
        let shape = [request.batch_size as i64, spec.horizon as i64, spec.transition_dim() as i64];
        let tape = NoiseTape::draw(request.seed, shape, &sampler, device);
        let guide = match &self.guidance {
            Some((config, dt)) => {
                Some(Guide::new(config, spec, *dt, (request.goal.as_deref(), workspace), self.value_model.as_deref())?)
            }
            None => None,
        };
        let pinned = pins.iter().map(|p| p.index).collect();
        let projection = self.constraint_set(workspace)?.map(|set| Projection::new(set, spec, pinned));
        Ok(Prepared { pins, inpainting, sampler, tape, guide, projection })
    }

    /// The constraints of one request: the planner's, with the arm kept clear of `workspace`
    /// (the request's obstacles and the table) where the planner keeps a clearance.
    fn constraint_set(&self, workspace: Option<&Workspace>) -> Result<Option<Cow<'_, ConstraintSet>>> {
        Ok(match (&self.constraints, workspace) {
            (Some(set), Some(workspace)) if set.written.keeps_clearance() => {
                Some(Cow::Owned(set.with_workspace(workspace)?))
            }
            (set, _) => set.as_ref().map(Cow::Borrowed),
        })
    }

    /// The plan from the driver's `run`: checked for divergence, scored by the value model,
    /// projected one last time, and its candidates assembled and ranked.
    fn finish(
        &self,
        request: &PlanRequest,
        prepared: &Prepared<'_>,
        run: &DriverRun,
        started: Instant,
    ) -> Result<Plan> {
        let sampler = &prepared.sampler;
        if !bool::try_from(run.x.isfinite().all())? {
            return Err(diverged(sampler, "the sampled trajectory"));
        }
        let value_started = Instant::now();
        let values = self.values(&run.x, sampler)?;
        let value_ms = value_started.elapsed().as_secs_f64() * 1e3;
        let (trajectories, projection) = match &prepared.projection {
            Some(projection) => {
                let (rows, stats) = projection.finish(&run.x)?;
                (rows, Some(stats))
            }
            None => (host_trajectories(self.denoiser.spec(), &run.x)?, None),
        };
        Ok(Plan {
            candidates: self.ranked(
                &trajectories,
                values.as_deref(),
                &prepared.pins,
                prepared.projection.as_ref().map(Projection::constraints),
            )?,
            timings: Timings {
                total_ms: started.elapsed().as_secs_f64() * 1e3,
                model_ms: run.model_time.as_secs_f64() * 1e3,
                value_ms,
            },
            stats: SamplerStats {
                sampler: sampler.config().kind,
                timesteps: sampler.timesteps().to_vec(),
                model_calls: run.model_calls,
                picard: run.picard.clone(),
                seed: request.seed,
                device: self.device_name(),
            },
            projection,
        })
    }

    /// The value model's estimate of each trajectory of `x`, if there is a value model.
    fn values(&self, x: &Tensor, sampler: &Sampler) -> Result<Option<Vec<f64>>> {
        let Some(value_model) = &self.value_model else { return Ok(None) };
        let values = score_by_value(value_model.as_ref(), x)?;
        if values.iter().any(|v| !v.is_finite()) {
            return Err(diverged(sampler, "the value model's output"));
        }
        Ok(Some(values))
    }

    /// The candidates of `trajectories` (data units) with their `values`: ranked by reward if
    /// there is one, else by value if there are values, else in batch order.
    fn ranked(
        &self,
        trajectories: &[Vec<f64>],
        values: Option<&[f64]>,
        pins: &[Pin],
        constraints: Option<&ConstraintSet>,
    ) -> Result<Vec<Candidate>> {
        let mut candidates = Vec::with_capacity(trajectories.len());
        for (b, trajectory) in trajectories.iter().enumerate() {
            let mut candidate = self.candidate(b, trajectory, pins, constraints)?;
            candidate.value = values.map(|v| v[b] as f32);
            candidates.push(candidate);
        }
        if self.reward.is_some() {
            candidates.sort_by(|a, b| b.reward.partial_cmp(&a.reward).unwrap_or(std::cmp::Ordering::Equal));
        } else if values.is_some() {
            candidates.sort_by(|a, b| b.value.partial_cmp(&a.value).unwrap_or(std::cmp::Ordering::Equal));
        }
        Ok(candidates)
    }

    /// Scores of candidate clean estimates for soft decoding: the reward if one is set, else the
    /// value model at t = 0.
    fn score(&self, estimates: &Tensor) -> Result<Vec<f64>> {
        if let Some(reward) = &self.reward {
            let spec = self.denoiser.spec();
            return Ok(host_trajectories(spec, estimates)?
                .iter()
                .map(|trajectory| {
                    let (states, actions) = split_rows(spec, trajectory);
                    reward.reward(&upsample(&states, spec.stride), &upsample(&actions, spec.stride))
                })
                .collect());
        }
        match &self.value_model {
            Some(value_model) => score_by_value(value_model.as_ref(), estimates),
            None => Err(Error::Request {
                field: "soft_decoding".into(),
                message: "needs a reward or a value model to choose by; set planner.reward or planner.value".into(),
            }),
        }
    }

    /// Candidate `b` from its trajectory in the data's units: pinned observations set to the
    /// requested values exactly (normalizing and back would round), with `constraints` a check
    /// that the f32 rows handed out still satisfy every one, then a row for every environment
    /// step ([`upsample`], for a jumpy model) and its reward.
    fn candidate(
        &self,
        b: usize,
        trajectory: &[f64],
        pins: &[Pin],
        constraints: Option<&ConstraintSet>,
    ) -> Result<Candidate> {
        let spec = self.denoiser.spec();
        let (mut states, actions) = split_rows(spec, trajectory);
        for pin in pins {
            states[pin.index].clone_from(&pin.observation);
        }
        let mut candidate =
            Candidate { batch_index: b, value: None, reward: None, constraints: Vec::new(), states, actions };
        if let Some(constraints) = constraints {
            let pinned: Vec<usize> = pins.iter().map(|p| p.index).collect();
            let residuals = constraints.written.plan_residuals(&candidate.transitions(), &pinned);
            if let Some(worst) = residuals.iter().find(|r| r.max_violation > FINAL_TOLERANCE) {
                return Err(Error::Infeasible {
                    constraint: worst.name.clone(),
                    violation: worst.max_violation,
                    hint: format!(
                        "candidate {b} violates it after rounding to f32; loosen the constraint by {:.1e}",
                        worst.max_violation
                    ),
                });
            }
            candidate.constraints = residuals;
        }
        candidate.states = upsample(&candidate.states, spec.stride);
        candidate.actions = upsample(&candidate.actions, spec.stride);
        candidate.reward = self.reward.as_ref().map(|reward| reward.reward(&candidate.states, &candidate.actions));
        Ok(candidate)
    }
}

/// What `Planner::prepare` makes of one request, for its step map and for `Planner::finish`.
struct Prepared<'a> {
    pins: Vec<Pin>,
    inpainting: Inpainting,
    sampler: Sampler,
    tape: NoiseTape,
    guide: Option<Guide<'a>>,
    projection: Option<Projection<'a>>,
}

/// The error of a plan whose `what` holds NaN or infinity after `sampler`'s steps.
fn diverged(sampler: &Sampler, what: &str) -> Error {
    Error::Diverged {
        what: what.into(),
        steps: sampler.steps(),
        sampler: sampler.config().kind.name().into(),
        hint: "the model or its inputs are broken: run `diffplan doctor`, check the checkpoint's \
               normalizer against the request, or set clip_x0"
            .into(),
    }
}

/// Errors unless the request asks for at most one driver and at least one candidate.
fn check_drivers(request: &PlanRequest) -> Result<()> {
    let invalid = |field: &str, message: &str| Err(Error::Request { field: field.into(), message: message.into() });
    if request.batch_size == 0 {
        return invalid("request.batch_size", "must be at least 1");
    }
    if request.picard.is_some() && request.soft_decoding.is_some() {
        return invalid("request.soft_decoding", "cannot run with Picard iterations; choose one of them");
    }
    Ok(())
}

/// The value model's estimate of each trajectory of `x` at t = 0.
///
/// # Shapes
/// `x`: `[B, H, A + O]` normalized → B values.
fn score_by_value(value_model: &dyn ValueModel, x: &Tensor) -> Result<Vec<f64>> {
    let _no_grad = tch::no_grad_guard();
    let t = Tensor::zeros([x.size()[0]], (Kind::Int64, x.device()));
    Ok(Vec::<f64>::try_from(value_model.value(x, &t)?.to_kind(Kind::Double).to_device(tch::Device::Cpu))?)
}

/// One trajectory's H·(A + O) values as H state rows and H action rows, in f32.
fn split_rows(spec: &ModelSpec, trajectory: &[f64]) -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
    let a = spec.action_dim;
    let rows = trajectory.chunks(spec.transition_dim());
    let to_f32 = |values: &[f64]| values.iter().map(|&v| v as f32).collect::<Vec<f32>>();
    rows.map(|row| (to_f32(&row[a..]), to_f32(&row[..a]))).unzip()
}
