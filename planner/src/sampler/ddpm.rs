//! DDPM ancestral step: Diffuser's posterior step (docs/ALGORITHMS.md §1.4), generalised to
//! skipped steps by treating ᾱ_t / ᾱ_next as one step's 1 − β.

use super::StepCoefficients;
use crate::schedule::{MIN_POSTERIOR_VARIANCE, Schedule};

/// Coefficients of the step from timestep `t` to `next` (`None`: the clean end, ᾱ = 1):
/// mean = coef1·x0_hat + coef2·x_t, noise scale √β̃ with β̃ = β (1 − ᾱ_next)/(1 − ᾱ_t),
/// β = 1 − ᾱ_t/ᾱ_next. With `next = t − 1` these are Diffuser's buffers; the step into the clean
/// end returns x0_hat with no noise.
pub(super) fn coefficients(schedule: &Schedule, t: usize, next: Option<usize>) -> StepCoefficients {
    let abar = schedule.alphas_cumprod[t];
    let abar_next = next.map_or(1.0, |n| schedule.alphas_cumprod[n]);
    let beta = 1.0 - abar / abar_next;
    let variance = beta * (1.0 - abar_next) / (1.0 - abar);
    StepCoefficients {
        x_t: (1.0 - abar_next) * (1.0 - beta).sqrt() / (1.0 - abar),
        x0_hat: beta * abar_next.sqrt() / (1.0 - abar),
        x0_prev: 0.0,
        noise: if next.is_some() { (0.5 * variance.max(MIN_POSTERIOR_VARIANCE).ln()).exp() } else { 0.0 },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::ScheduleSpec;

    #[test]
    fn every_step_equals_diffusers_posterior_buffers() {
        // Reference: Diffuser's GaussianDiffusion buffers (posterior_mean_coef1/2 and
        // exp(½·posterior_log_variance_clipped)), computed independently in Schedule::new.
        let schedule = Schedule::new(&ScheduleSpec::default(), 20).expect("schedule");
        for t in 0..20 {
            let c = coefficients(&schedule, t, t.checked_sub(1));
            assert!((c.x0_hat - schedule.posterior_mean_coef1[t]).abs() < 1e-12, "t = {t}");
            assert!((c.x_t - schedule.posterior_mean_coef2[t]).abs() < 1e-12, "t = {t}");
            let std = (0.5 * schedule.posterior_log_variance_clipped[t]).exp();
            let want_noise = if t == 0 { 0.0 } else { std };
            assert!((c.noise - want_noise).abs() < 1e-12, "t = {t}");
        }
    }
}
