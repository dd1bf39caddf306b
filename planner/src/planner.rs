//! The facade: one call from a request in the robot's units to ranked plans in the robot's
//! units. Everything between stays on the model's device.

use std::time::Instant;

use tch::{Kind, Tensor};

use crate::condition::{Inpainting, Pin};
use crate::error::{Error, Result};
use crate::model::{DENOISER_OUTPUTS, Denoiser, ModelSpec, ValueModel, check_output};
use crate::noise::NoiseTape;
use crate::observer::Observer;
use crate::picard::sample_picard;
use crate::plan::PicardStats;
use crate::plan::{Candidate, Plan, SamplerStats, Timings};
use crate::request::PlanRequest;
use crate::sampler::{Sampler, sample_sequential};

/// A denoiser, optionally with a value model that ranks its candidates.
pub struct Planner {
    denoiser: Box<dyn Denoiser>,
    value_model: Option<Box<dyn ValueModel>>,
}

impl Planner {
    /// A planner sampling from `denoiser`.
    pub fn new(denoiser: Box<dyn Denoiser>) -> Result<Self> {
        check_output(denoiser.spec(), DENOISER_OUTPUTS, "denoiser")?;
        Ok(Self { denoiser, value_model: None })
    }

    /// Adds a value model that scores each candidate at t = 0 and ranks them, best first.
    /// It must share the denoiser's shapes, normalizer and device, or its values would score
    /// a different space.
    pub fn with_value_model(mut self, value_model: Box<dyn ValueModel>) -> Result<Self> {
        let (d, v) = (self.denoiser.spec(), value_model.spec());
        let mismatch = |what: &str, message: String| {
            Err(Error::InvalidSpec {
                field: format!("value model {what}"),
                message: format!("{message}; train or export the value model for the denoiser's dataset"),
            })
        };
        if (d.horizon, d.action_dim, d.observation_dim) != (v.horizon, v.action_dim, v.observation_dim) {
            return mismatch(
                "shape",
                format!(
                    "(H, A, O) = ({}, {}, {}), the denoiser's is ({}, {}, {})",
                    v.horizon, v.action_dim, v.observation_dim, d.horizon, d.action_dim, d.observation_dim
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

    /// The denoiser's spec.
    #[must_use]
    pub fn spec(&self) -> &ModelSpec {
        self.denoiser.spec()
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

    /// [`Planner::plan_observed`] for receding-horizon replanning with Picard: starts the
    /// iteration from `warm_start` (the iterates of an earlier plan, usually moved along the
    /// horizon by [`crate::picard::shift_iterates`]) and also returns this plan's iterates (empty
    /// for sequential sampling).
    pub fn plan_warm(
        &self,
        request: &PlanRequest,
        warm_start: Option<&[Tensor]>,
        observer: &mut dyn Observer,
    ) -> Result<(Plan, Vec<Tensor>)> {
        let started = Instant::now();
        let spec = self.denoiser.spec();
        let device = self.denoiser.device();
        if request.batch_size == 0 {
            return Err(Error::InvalidSpec {
                field: "request.batch_size".into(),
                message: "must be at least 1".into(),
            });
        }
        let pins = request.pins(spec);
        let inpainting = Inpainting::new(spec, &pins, device)?;
        let sampler = Sampler::new(&request.sampler, spec)?;
        let shape = [request.batch_size as i64, spec.horizon as i64, spec.transition_dim() as i64];
        let tape = NoiseTape::draw(request.seed, shape, &sampler, device);
        let denoiser = self.denoiser.as_ref();
        let (x, model_time, model_calls, picard, iterates) = match &request.picard {
            None => {
                let run = sample_sequential(denoiser, &sampler, &tape, &inpainting, observer)?;
                (run.x, run.model_time, run.model_calls, None, Vec::new())
            }
            Some(config) => {
                let run = sample_picard(denoiser, &sampler, &tape, &inpainting, config, warm_start, observer)?;
                let stats = PicardStats {
                    sweeps: run.sweeps,
                    model_evaluations: run.model_evaluations,
                    residual: run.residual,
                    converged: run.converged,
                };
                (run.x, run.model_time, run.sweeps, Some(stats), run.iterates)
            }
        };
        let diverged = |what: &str| Error::Diverged {
            what: what.into(),
            steps: sampler.steps(),
            sampler: sampler.config().kind.name().into(),
            hint: "the model or its inputs are broken: run `diffplan doctor`, check the checkpoint's \
                   normalizer against the request, or set clip_x0"
                .into(),
        };
        if !bool::try_from(x.isfinite().all())? {
            return Err(diverged("the sampled trajectory"));
        }

        let value_started = Instant::now();
        let values = match &self.value_model {
            Some(value_model) => {
                let _no_grad = tch::no_grad_guard();
                let t = Tensor::zeros([shape[0]], (Kind::Int64, device));
                let values = Vec::<f32>::try_from(value_model.value(&x, &t)?.to_kind(Kind::Float))?;
                if values.iter().any(|v| !v.is_finite()) {
                    return Err(diverged("the value model's output"));
                }
                Some(values)
            }
            None => None,
        };
        let value_ms = value_started.elapsed().as_secs_f64() * 1e3;

        let mut candidates = unnormalized_candidates(spec, &x, &pins, values.as_deref())?;
        if values.is_some() {
            candidates.sort_by(|a, b| b.value.partial_cmp(&a.value).unwrap_or(std::cmp::Ordering::Equal));
        }
        let plan = Plan {
            candidates,
            timings: Timings {
                total_ms: started.elapsed().as_secs_f64() * 1e3,
                model_ms: model_time.as_secs_f64() * 1e3,
                value_ms,
            },
            stats: SamplerStats {
                sampler: sampler.config().kind,
                timesteps: sampler.timesteps().to_vec(),
                model_calls,
                picard,
                seed: request.seed,
                device: self.device_name(),
            },
        };
        Ok((plan, iterates))
    }
}

/// Splits the normalized batch `x` `[B, H, A + O]` into candidates in the data's units, with
/// pinned observations set to the requested values exactly (normalizing and back would round).
fn unnormalized_candidates(
    spec: &ModelSpec,
    x: &Tensor,
    pins: &[Pin],
    values: Option<&[f32]>,
) -> Result<Vec<Candidate>> {
    let (a, o) = (spec.action_dim, spec.observation_dim);
    let host = |t: Tensor| Vec::<f32>::try_from(t.to_device(tch::Device::Cpu).contiguous().view([-1]));
    let actions = host(spec.normalizer.unnormalize(&x.narrow(2, 0, a as i64), 0))?;
    let states = host(spec.normalizer.unnormalize(&x.narrow(2, a as i64, o as i64), a))?;
    let batch = x.size()[0] as usize;
    Ok((0..batch)
        .map(|b| {
            let rows = |flat: &[f32], width: usize| -> Vec<Vec<f32>> {
                flat[b * spec.horizon * width..(b + 1) * spec.horizon * width]
                    .chunks(width.max(1))
                    .map(<[f32]>::to_vec)
                    .collect()
            };
            let mut states = rows(&states, o);
            for pin in pins {
                states[pin.index].clone_from(&pin.observation);
            }
            let actions = if a == 0 { vec![Vec::new(); spec.horizon] } else { rows(&actions, a) };
            Candidate { batch_index: b, value: values.map(|v| v[b]), states, actions }
        })
        .collect())
}
