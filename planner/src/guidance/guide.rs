//! Gradient guidance with Diffuser's knobs (docs/ALGORITHMS.md §1.5).

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

use super::cost::{CostConfig, CostContext, total_cost};
use crate::condition::Inpainting;
use crate::error::{Error, Result};
use crate::model::{ModelSpec, ValueModel};
use crate::workspace::Workspace;

/// Gradient guidance settings (task TOML `[planner.guidance]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuidanceConfig {
    /// Step size of each gradient step, normalized units per unit of objective (Diffuser's
    /// `scale`; 0.1 in its locomotion configs).
    pub scale: f64,
    /// Gradient steps before each model call (Diffuser's `n_guide_steps`, 2).
    #[serde(default = "default_guide_steps")]
    pub n_guide_steps: usize,
    /// No guidance at model timesteps t < t_stopgrad (Diffuser's `t_stopgrad`, 2).
    #[serde(default)]
    pub t_stopgrad: usize,
    /// Multiply the gradient by DDPM's posterior variance of the step (Diffuser's
    /// `scale_grad_by_std`, which since its commit 3d7361c uses the variance).
    #[serde(default = "default_true")]
    pub scale_grad_by_variance: bool,
    /// Weight of the value model's estimate in the objective (> 0 needs a value model).
    #[serde(default)]
    pub value_weight: f64,
    /// Differentiable costs, subtracted from the objective.
    #[serde(default)]
    pub costs: Vec<CostConfig>,
}

fn default_guide_steps() -> usize {
    2
}

fn default_true() -> bool {
    true
}

/// Guidance prepared for one plan: the settings, the request's goal (and an arm's workspace)
/// and the value model.
pub struct Guide<'a> {
    config: &'a GuidanceConfig,
    context: CostContext<'a>,
    spec: &'a ModelSpec,
    value: Option<&'a dyn ValueModel>,
}

impl<'a> Guide<'a> {
    /// Checks `config` against the model and the request (`dt`: seconds between rows; `goal`:
    /// the request's goal observation; `workspace`: the arm among the request's obstacles, if
    /// the robot is an arm) and prepares it.
    pub fn new(
        config: &'a GuidanceConfig,
        spec: &'a ModelSpec,
        dt: f64,
        (goal, workspace): (Option<&'a [f32]>, Option<&'a Workspace>),
        value: Option<&'a dyn ValueModel>,
    ) -> Result<Self> {
        let invalid = |field: &str, message: String| Err(Error::Config { field: format!("guidance.{field}"), message });
        if !(config.scale.is_finite() && config.scale >= 0.0) {
            return invalid("scale", format!("{} must be finite and ≥ 0", config.scale));
        }
        if !(config.value_weight.is_finite() && config.value_weight >= 0.0) {
            return invalid("value_weight", format!("{} must be finite and ≥ 0", config.value_weight));
        }
        if config.value_weight > 0.0 && value.is_none() {
            return invalid("value_weight", "is > 0 but no value model is loaded; set planner.value".into());
        }
        if config.value_weight == 0.0 && config.costs.is_empty() {
            return invalid("costs", "are empty and value_weight is 0: nothing to guide by".into());
        }
        if !(dt.is_finite() && dt > 0.0) {
            return invalid("dt", format!("{dt} s between rows must be > 0"));
        }
        let context =
            CostContext { action_dim: spec.action_dim, observation_dim: spec.observation_dim, dt, goal, workspace };
        for (i, cost) in config.costs.iter().enumerate() {
            cost.validate(i, &context)?;
        }
        Ok(Self { config, context, spec, value })
    }

    /// The objective J of each trajectory: value_weight · V(x, t) − Σ costs in the data's units.
    ///
    /// # Shapes
    /// `x`: `[R, H, A + O]` normalized; `t`: `[R]` int64 → `[R]`.
    pub fn objective(&self, x: &Tensor, t: &Tensor) -> Result<Tensor> {
        let trajectory = self.spec.normalizer.unnormalize_affine(x, 0);
        let mut objective = -total_cost(&self.config.costs, &trajectory, &self.context);
        if let (Some(value), true) = (self.value, self.config.value_weight > 0.0) {
            objective += value.value(x, t)?.to_kind(x.kind()) * self.config.value_weight;
        }
        Ok(objective)
    }

    /// Moves each trajectory up the objective's gradient, `n_guide_steps` times, re-inpainting
    /// after each step. Row r is at model timestep `timesteps[r]` with posterior variance
    /// `variances[r]`; rows below `t_stopgrad` are left alone.
    ///
    /// # Shapes
    /// `x`: `[R, H, A + O]` normalized → same.
    pub fn apply(&self, x: &Tensor, timesteps: &[usize], variances: &[f64], inpainting: &Inpainting) -> Result<Tensor> {
        let factors: Vec<f64> = timesteps
            .iter()
            .zip(variances)
            .map(|(&t, &variance)| {
                let gain = if self.config.scale_grad_by_variance { variance } else { 1.0 };
                if t < self.config.t_stopgrad { 0.0 } else { self.config.scale * gain }
            })
            .collect();
        if self.config.n_guide_steps == 0 || factors.iter().all(|&f| f == 0.0) {
            return Ok(x.shallow_clone());
        }
        let device = x.device();
        let factor = Tensor::from_slice(&factors).to_kind(x.kind()).to_device(device).view([-1, 1, 1]);
        let t: Vec<i64> = timesteps.iter().map(|&t| t as i64).collect();
        let t = Tensor::from_slice(&t).to_device(device);
        let mut guided = x.detach().copy();
        for _ in 0..self.config.n_guide_steps {
            let gradient = tch::with_grad(|| -> Result<Tensor> {
                let input = guided.detach().set_requires_grad(true);
                let objective = self.objective(&input, &t)?;
                let mut gradients = Tensor::run_backward(&[objective.sum(Kind::Double)], &[&input], false, false);
                Ok(gradients.remove(0))
            })?;
            if !bool::try_from(gradient.isfinite().all())? {
                return Err(Error::Config {
                    field: "guidance".into(),
                    message: "the objective's gradient is not finite on this trajectory; lower guidance.scale or \
                              the cost weights (smoothness divides by dt⁴)"
                        .into(),
                });
            }
            guided = (guided + gradient * &factor).detach();
            inpainting.apply(&mut guided);
        }
        Ok(guided)
    }
}
