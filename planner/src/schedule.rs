//! Noise schedules of the forward process: the spec in a model's manifest, and the discrete
//! quantities computed from it (Diffuser's `GaussianDiffusion` buffers, docs/ALGORITHMS.md §1.4),
//! with the continuous view (α_t, σ_t, λ_t) that DPM-Solver++ needs.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Which β schedule the model was trained with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ScheduleSpec {
    /// Nichol & Dhariwal's cosine schedule as Diffuser uses it: ᾱ(u) ∝ cos²(((u+s)/(1+s))·π/2),
    /// β clipped to at most 0.999.
    Cosine {
        /// Offset s (default: 0.008).
        #[serde(default = "default_cosine_offset")]
        s: f64,
    },
    /// β linear from `beta_start` to `beta_end` over the training steps (DDPM).
    Linear {
        /// First β (DDPM: 1e-4).
        beta_start: f64,
        /// Last β (DDPM: 0.02).
        beta_end: f64,
    },
}

fn default_cosine_offset() -> f64 {
    0.008
}

impl Default for ScheduleSpec {
    fn default() -> Self {
        Self::Cosine { s: default_cosine_offset() }
    }
}

impl ScheduleSpec {
    /// Checks that the parameters describe a valid schedule.
    pub fn validate(&self) -> Result<()> {
        match *self {
            Self::Cosine { s } if !(s.is_finite() && s > 0.0) => Err(Error::Config {
                field: "spec.schedule.s".into(),
                message: format!("{s} must be a positive number (Diffuser uses 0.008)"),
            }),
            Self::Linear { beta_start, beta_end }
                if !(0.0 < beta_start && beta_start <= beta_end && beta_end < 1.0) =>
            {
                Err(Error::Config {
                    field: "spec.schedule".into(),
                    message: format!("linear betas {beta_start}..{beta_end} must satisfy 0 < start <= end < 1"),
                })
            }
            _ => Ok(()),
        }
    }
}

/// Lower bound of the posterior variance before its logarithm (Diffuser: 1e-20).
pub(crate) const MIN_POSTERIOR_VARIANCE: f64 = 1e-20;
/// Largest β of the cosine schedule (Diffuser clips the last, ≈ 1, to this).
const MAX_COSINE_BETA: f64 = 0.999;

/// All per-timestep quantities of a discrete schedule with `N` training steps, in f64.
/// Index `t` runs over the model's timesteps `0..N`.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// β_t.
    pub betas: Vec<f64>,
    /// ᾱ_t = ∏_{s ≤ t} (1 − β_s).
    pub alphas_cumprod: Vec<f64>,
    /// ᾱ_{t−1}, with ᾱ_{−1} = 1.
    pub alphas_cumprod_prev: Vec<f64>,
    /// Posterior variance β̃_t = β_t (1 − ᾱ_{t−1}) / (1 − ᾱ_t).
    pub posterior_variance: Vec<f64>,
    /// log max(β̃_t, 1e-20).
    pub posterior_log_variance_clipped: Vec<f64>,
    /// Coefficient of x̂0 in the posterior mean: β_t √ᾱ_{t−1} / (1 − ᾱ_t).
    pub posterior_mean_coef1: Vec<f64>,
    /// Coefficient of x_t in the posterior mean: (1 − ᾱ_{t−1}) √α_t / (1 − ᾱ_t).
    pub posterior_mean_coef2: Vec<f64>,
}

impl Schedule {
    /// Computes the schedule of `spec` over `diffusion_steps` training steps.
    pub fn new(spec: &ScheduleSpec, diffusion_steps: usize) -> Result<Self> {
        spec.validate()?;
        if diffusion_steps == 0 {
            return Err(Error::Config { field: "spec.diffusion_steps".into(), message: "must be at least 1".into() });
        }
        let n = diffusion_steps;
        let betas: Vec<f64> = match *spec {
            // ᾱ(i) = f(i/N)/f(0), f(u) = cos²(((u + s)/(1 + s))·π/2); β_i = 1 − ᾱ(i+1)/ᾱ(i).
            ScheduleSpec::Cosine { s } => {
                let f =
                    |i: usize| (((i as f64 / n as f64) + s) / (1.0 + s) * std::f64::consts::FRAC_PI_2).cos().powi(2);
                (0..n).map(|i| (1.0 - f(i + 1) / f(i)).clamp(0.0, MAX_COSINE_BETA)).collect()
            }
            ScheduleSpec::Linear { beta_start, beta_end } if n == 1 => vec![f64::midpoint(beta_start, beta_end)],
            ScheduleSpec::Linear { beta_start, beta_end } => {
                (0..n).map(|i| beta_start + (beta_end - beta_start) * i as f64 / (n - 1) as f64).collect()
            }
        };
        let alphas_cumprod: Vec<f64> = betas
            .iter()
            .scan(1.0, |product, beta| {
                *product *= 1.0 - beta;
                Some(*product)
            })
            .collect();
        let alphas_cumprod_prev: Vec<f64> =
            std::iter::once(1.0).chain(alphas_cumprod[..n - 1].iter().copied()).collect();
        let mut schedule = Self {
            betas,
            alphas_cumprod,
            alphas_cumprod_prev,
            posterior_variance: Vec::with_capacity(n),
            posterior_log_variance_clipped: Vec::with_capacity(n),
            posterior_mean_coef1: Vec::with_capacity(n),
            posterior_mean_coef2: Vec::with_capacity(n),
        };
        for t in 0..n {
            let (beta, abar, abar_prev) =
                (schedule.betas[t], schedule.alphas_cumprod[t], schedule.alphas_cumprod_prev[t]);
            let variance = beta * (1.0 - abar_prev) / (1.0 - abar);
            schedule.posterior_variance.push(variance);
            schedule.posterior_log_variance_clipped.push(variance.max(MIN_POSTERIOR_VARIANCE).ln());
            schedule.posterior_mean_coef1.push(beta * abar_prev.sqrt() / (1.0 - abar));
            schedule.posterior_mean_coef2.push((1.0 - abar_prev) * (1.0 - beta).sqrt() / (1.0 - abar));
        }
        Ok(schedule)
    }

    /// Number N of training steps.
    #[must_use]
    pub fn len(&self) -> usize {
        self.betas.len()
    }

    /// Whether the schedule has no steps (never true for a constructed schedule).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.betas.is_empty()
    }

    /// α_t = √ᾱ_t, the signal scale of the continuous view (x_t = α_t x0 + σ_t ε).
    #[must_use]
    pub fn alpha(&self, t: usize) -> f64 {
        self.alphas_cumprod[t].sqrt()
    }

    /// σ_t = √(1 − ᾱ_t), the noise scale of the continuous view.
    #[must_use]
    pub fn sigma(&self, t: usize) -> f64 {
        (1.0 - self.alphas_cumprod[t]).sqrt()
    }

    /// λ_t = log α_t − log σ_t, the half log-SNR that DPM-Solver++ steps in.
    #[must_use]
    pub fn lambda(&self, t: usize) -> f64 {
        self.alpha(t).ln() - self.sigma(t).ln()
    }

    /// `steps` timesteps for a sampler that skips steps, in the order they are denoised.
    ///
    /// Spacing: evenly spaced over `[0, N − 1]`, both ends included, rounded to the nearest
    /// integer: t_k = round((N − 1)·(K − 1 − k)/(K − 1)) for k = 0..K. So the first step is
    /// always the fully noised N − 1 and the last always 0; K = N gives every step, and K = 1
    /// gives only N − 1.
    pub fn timesteps(&self, steps: usize) -> Result<Vec<usize>> {
        let n = self.len();
        if steps == 0 || steps > n {
            return Err(Error::Request {
                field: "sampler.steps".into(),
                message: format!("{steps} steps requested; the model was trained with {n}, so use 1..={n}"),
            });
        }
        if steps == 1 {
            return Ok(vec![n - 1]);
        }
        Ok((0..steps)
            .map(|k| ((n - 1) as f64 * (steps - 1 - k) as f64 / (steps - 1) as f64).round() as usize)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a - b).abs() <= tolerance * (1.0 + b.abs())
    }

    #[test]
    fn cosine_cumulative_product_equals_the_closed_form() {
        // Reference: Nichol & Dhariwal, ᾱ_t = f((t + 1)/N)/f(0) where no β was clipped.
        let schedule = Schedule::new(&ScheduleSpec::default(), 64).expect("schedule");
        let f = |u: f64| ((u + 0.008) / 1.008 * std::f64::consts::FRAC_PI_2).cos().powi(2);
        for t in 0..63 {
            let want = f((t + 1) as f64 / 64.0) / f(0.0);
            assert!(close(schedule.alphas_cumprod[t], want, 1e-12), "t = {t}");
        }
        // The last β is ≈ 1 and is clipped to 0.999 (Diffuser).
        assert!((schedule.betas[63] - 0.999).abs() < 1e-15);
    }

    #[test]
    fn linear_betas_run_from_start_to_end() {
        let schedule = Schedule::new(&ScheduleSpec::Linear { beta_start: 1e-4, beta_end: 0.02 }, 5).expect("schedule");
        for (got, want) in schedule.betas.iter().zip([1e-4, 0.005_075, 0.010_05, 0.015_025, 0.02]) {
            assert!(close(*got, want, 1e-12), "{got} vs {want}");
        }
    }

    #[test]
    fn posterior_mean_reproduces_x0_and_xt_exactly() {
        // Identity of the Gaussian posterior q(x_{t−1} | x_t, x0): if x_t = √ᾱ_t x0 (no noise),
        // the posterior mean is √ᾱ_{t−1} x0, i.e. coef1 + coef2·√ᾱ_t = √ᾱ_{t−1}.
        let schedule = Schedule::new(&ScheduleSpec::default(), 20).expect("schedule");
        for t in 0..20 {
            let mean =
                schedule.posterior_mean_coef1[t] + schedule.posterior_mean_coef2[t] * schedule.alphas_cumprod[t].sqrt();
            assert!(close(mean, schedule.alphas_cumprod_prev[t].sqrt(), 1e-12), "t = {t}");
        }
        assert!(schedule.posterior_variance[0].abs() < f64::MIN_POSITIVE, "t = 0 has no posterior noise");
        assert!((schedule.posterior_log_variance_clipped[0] - 1e-20f64.ln()).abs() < 1e-9);
    }

    #[test]
    fn continuous_view_is_consistent() {
        let schedule = Schedule::new(&ScheduleSpec::default(), 256).expect("schedule");
        for t in 0..256 {
            assert!(close(schedule.alpha(t).powi(2) + schedule.sigma(t).powi(2), 1.0, 1e-12));
        }
        // λ falls strictly as noise grows.
        assert!((1..256).all(|t| schedule.lambda(t) < schedule.lambda(t - 1)));
    }

    #[test]
    fn timesteps_span_both_ends_evenly() {
        let schedule = Schedule::new(&ScheduleSpec::default(), 64).expect("schedule");
        assert_eq!(schedule.timesteps(64).expect("all"), (0..64).rev().collect::<Vec<_>>());
        assert_eq!(schedule.timesteps(4).expect("4"), vec![63, 42, 21, 0]);
        assert_eq!(schedule.timesteps(1).expect("1"), vec![63]);
        let ten = schedule.timesteps(10).expect("10");
        assert_eq!((ten[0], ten[9], ten.len()), (63, 0, 10));
        assert!(ten.windows(2).all(|w| w[0] > w[1]));
        assert!(schedule.timesteps(65).unwrap_err().to_string().contains("1..=64"));
        assert!(schedule.timesteps(0).is_err());
    }
}
