//! DDIM step with η (Song, Meng & Ermon 2021, eq. 12):
//! x_next = √ᾱ_next·x0_hat + √(1 − ᾱ_next − σ²)·eps_hat + σ·z,
//! σ = η·√((1 − ᾱ_next)/(1 − ᾱ_t))·√(1 − ᾱ_t/ᾱ_next), eps_hat = (x_t − √ᾱ_t·x0_hat)/√(1 − ᾱ_t).

use super::StepCoefficients;
use crate::schedule::Schedule;

/// Coefficients of the step from `t` to `next` (`None`: the clean end, ᾱ = 1), with eps_hat
/// written out in terms of x_t and x0_hat so the step is one affine map.
pub(super) fn coefficients(schedule: &Schedule, t: usize, next: Option<usize>, eta: f64) -> StepCoefficients {
    let abar = schedule.alphas_cumprod[t];
    let abar_next = next.map_or(1.0, |n| schedule.alphas_cumprod[n]);
    let sigma = eta * ((1.0 - abar_next) / (1.0 - abar)).sqrt() * (1.0 - abar / abar_next).sqrt();
    let eps_scale = (1.0 - abar_next - sigma * sigma).max(0.0).sqrt();
    let x_t = eps_scale / (1.0 - abar).sqrt();
    StepCoefficients { x_t, x0_hat: abar_next.sqrt() - x_t * abar.sqrt(), x0_prev: 0.0, noise: sigma }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::ScheduleSpec;

    #[test]
    fn eta_one_is_the_ddpm_posterior() {
        // Reference: Song et al. 2021 §4.1: η = 1 makes the generative process DDPM's, i.e.
        // Diffuser's posterior mean coefficients and standard deviation.
        let schedule = Schedule::new(&ScheduleSpec::default(), 64).expect("schedule");
        for t in 1..64 {
            let c = coefficients(&schedule, t, Some(t - 1), 1.0);
            assert!((c.x0_hat - schedule.posterior_mean_coef1[t]).abs() < 1e-9, "t = {t}");
            assert!((c.x_t - schedule.posterior_mean_coef2[t]).abs() < 1e-9, "t = {t}");
            assert!((c.noise - schedule.posterior_variance[t].sqrt()).abs() < 1e-9, "t = {t}");
        }
    }

    #[test]
    fn eta_zero_keeps_the_noise_direction() {
        // x_t = √ᾱ_t x0 + √(1 − ᾱ_t) ε maps to √ᾱ_next x0 + √(1 − ᾱ_next) ε with x0_hat = x0.
        let schedule = Schedule::new(&ScheduleSpec::default(), 20).expect("schedule");
        let (t, next, x0, eps) = (15, 7, 0.3, -1.2);
        let c = coefficients(&schedule, t, Some(next), 0.0);
        let x_t = schedule.alpha(t) * x0 + schedule.sigma(t) * eps;
        let want = schedule.alpha(next) * x0 + schedule.sigma(next) * eps;
        assert!((c.x_t * x_t + c.x0_hat * x0 - want).abs() < 1e-12);
        assert!(c.noise.abs() < f64::MIN_POSITIVE);
    }
}
