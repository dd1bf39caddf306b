//! An analytic denoiser: trajectories drawn from a Gaussian mixture with diagonal covariances,
//! for which E[x0 | x_t] is known in closed form. It is the samplers' test oracle: a sampler
//! driven by it must reproduce the mixture's mean and covariance.
//!
//! With x_t = α_t x0 + σ_t ε and x0 ~ Σ_m π_m N(μ_m, diag(s_m²)), component m gives
//! x_t ~ N(α_t μ_m, diag(v_m)), v_m = α_t² s_m² + σ_t², and
//! E[x0 | x_t] = Σ_m w_m(x_t) (μ_m + α_t s_m²/v_m (x_t − α_t μ_m)), w_m ∝ π_m N(x_t; α_t μ_m, v_m).

use tch::{Device, Kind, Tensor};

use crate::error::{Error, Result};
use crate::model::{DENOISER_OUTPUTS, Denoiser, Model, ModelOutput, ModelSpec, check_inputs, check_output};
use crate::schedule::Schedule;

/// One mixture component over flattened trajectories of `H·(A + O)` values, in normalized units.
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    /// Mixture weight π_m (the weights are normalized to sum to 1).
    pub weight: f64,
    /// Mean μ_m.
    pub mean: Vec<f64>,
    /// Per-dimension variance s_m².
    pub variance: Vec<f64>,
}

/// The exact denoiser of a Gaussian mixture under the spec's schedule, computed in f64.
#[derive(Debug)]
pub struct GaussianMixture {
    spec: ModelSpec,
    device: Device,
    components: Vec<Component>,
    log_weights: Tensor,
    means: Tensor,
    variances: Tensor,
    alphas: Tensor,
    sigmas: Tensor,
}

impl GaussianMixture {
    /// The mixture of `components` as an ε- or x0-predicting denoiser with `spec`.
    pub fn new(spec: ModelSpec, components: Vec<Component>, device: Device) -> Result<Self> {
        spec.validate()?;
        check_output(&spec, DENOISER_OUTPUTS, "Gaussian-mixture denoiser")?;
        let dim = spec.horizon * spec.transition_dim();
        let invalid = |message: String| Error::Config { field: "mixture".into(), message };
        if components.is_empty() {
            return Err(invalid("needs at least one component".into()));
        }
        for (m, c) in components.iter().enumerate() {
            if c.mean.len() != dim || c.variance.len() != dim {
                return Err(invalid(format!("component {m} must have {dim} means and variances (H·(A + O))")));
            }
            if !(c.weight.is_finite() && c.weight > 0.0) || c.variance.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
                return Err(invalid(format!("component {m} needs a positive weight and positive variances")));
            }
        }
        let total: f64 = components.iter().map(|c| c.weight).sum();
        let f64s = |v: Vec<f64>, rows: usize| Tensor::from_slice(&v).to_device(device).view([rows as i64, -1]);
        let m = components.len();
        let log_weights = f64s(components.iter().map(|c| (c.weight / total).ln()).collect(), 1).view([m as i64]);
        let means = f64s(components.iter().flat_map(|c| c.mean.clone()).collect(), m);
        let variances = f64s(components.iter().flat_map(|c| c.variance.clone()).collect(), m);
        let schedule = Schedule::new(&spec.schedule, spec.diffusion_steps)?;
        let n = schedule.len();
        let alphas = f64s((0..n).map(|t| schedule.alpha(t)).collect(), n).view([n as i64]);
        let sigmas = f64s((0..n).map(|t| schedule.sigma(t)).collect(), n).view([n as i64]);
        Ok(Self { spec, device, components, log_weights, means, variances, alphas, sigmas })
    }

    /// The mixture's mean, Σ π_m μ_m.
    #[must_use]
    pub fn mean(&self) -> Vec<f64> {
        let total: f64 = self.components.iter().map(|c| c.weight).sum();
        let dim = self.components[0].mean.len();
        (0..dim).map(|i| self.components.iter().map(|c| c.weight / total * c.mean[i]).sum()).collect()
    }

    /// The mixture's covariance, Σ π_m (diag(s_m²) + μ_m μ_mᵀ) − mean meanᵀ, row-major `D × D`.
    #[must_use]
    pub fn covariance(&self) -> Vec<Vec<f64>> {
        let total: f64 = self.components.iter().map(|c| c.weight).sum();
        let mean = self.mean();
        let dim = mean.len();
        (0..dim)
            .map(|i| {
                (0..dim)
                    .map(|j| {
                        let second: f64 = self
                            .components
                            .iter()
                            .map(|c| {
                                let diagonal = if i == j { c.variance[i] } else { 0.0 };
                                c.weight / total * (diagonal + c.mean[i] * c.mean[j])
                            })
                            .sum();
                        second - mean[i] * mean[j]
                    })
                    .collect()
            })
            .collect()
    }

    /// E[x0 | x_t] for flattened `x` `[B, D]` and steps `t` `[B]`, in f64.
    fn posterior_mean(&self, x: &Tensor, t: &Tensor) -> (Tensor, Tensor, Tensor) {
        let alpha = self.alphas.index_select(0, t).view([-1, 1, 1]);
        let sigma = self.sigmas.index_select(0, t).view([-1, 1, 1]);
        let variance = &alpha * &alpha * self.variances.unsqueeze(0) + &sigma * &sigma;
        let residual = x.unsqueeze(1) - &alpha * self.means.unsqueeze(0);
        let log_likelihood =
            (residual.square() / &variance + variance.log()).sum_dim_intlist(-1, false, Kind::Double) * -0.5;
        let responsibilities = (log_likelihood + self.log_weights.unsqueeze(0)).softmax(-1, Kind::Double);
        let component_means = self.means.unsqueeze(0) + &alpha * self.variances.unsqueeze(0) / variance * residual;
        let x0 = (responsibilities.unsqueeze(-1) * component_means).sum_dim_intlist(1, false, Kind::Double);
        (x0, alpha.view([-1, 1]), sigma.view([-1, 1]))
    }
}

impl Model for GaussianMixture {
    fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    fn device(&self) -> Device {
        self.device
    }
}

impl Denoiser for GaussianMixture {
    fn predict(&self, x_t: &Tensor, t: &Tensor) -> Result<Tensor> {
        check_inputs(&self.spec, self.device, x_t, t)?;
        let x = x_t.flatten(1, -1).to_kind(Kind::Double);
        let (x0, alpha, sigma) = self.posterior_mean(&x, t);
        let output = match self.spec.output {
            ModelOutput::Epsilon => (x - alpha * x0) / sigma,
            ModelOutput::Sample | ModelOutput::Value => x0,
        };
        Ok(output.to_kind(Kind::Float).view_as(x_t))
    }
}
