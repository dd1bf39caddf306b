//! DPM-Solver++ 2M in data prediction (Lu et al. 2022; docs/ALGORITHMS.md §4.2), stepping in
//! λ = log α − log σ between the model's own integer timesteps.
//!
//! Timestep convention: the model is only ever evaluated at the training timesteps
//! `Schedule::timesteps(K)` and fed that integer step, i.e. `dpm_solver_pytorch`'s
//! `(t − 1/N)·N` for a model trained with N steps, never the 1000-scaled time. The first step is
//! first order (DPM-Solver++ 1 = DDIM η = 0), the middle ones second order with the previous
//! x0_hat as history, and the last one goes from timestep 0 to the clean end (σ = 0, λ = ∞),
//! where both orders reduce to x_next = x0_hat; so K steps cost exactly K model calls.

use super::StepCoefficients;
use crate::schedule::Schedule;

/// Coefficients of the step from `t` to `next` (`None`: the clean end) given the timestep of
/// the previous model call (`None` on the first step).
pub(super) fn coefficients(
    schedule: &Schedule,
    t: usize,
    next: Option<usize>,
    previous: Option<usize>,
) -> StepCoefficients {
    let Some(next) = next else {
        return StepCoefficients { x_t: 0.0, x0_hat: 1.0, x0_prev: 0.0, noise: 0.0 };
    };
    let h = schedule.lambda(next) - schedule.lambda(t);
    // α_next (1 − e^{−h}) = −α_next φ1 with φ1 = e^{−h} − 1.
    let weight = -schedule.alpha(next) * (-h).exp_m1();
    let x_t = schedule.sigma(next) / schedule.sigma(t);
    match previous {
        None => StepCoefficients { x_t, x0_hat: weight, x0_prev: 0.0, noise: 0.0 },
        Some(previous) => {
            // D1 = (x0_hat − x0_prev)/r0 enters with weight ½: x0_hat·(1 + 1/(2r0)) − x0_prev/(2r0).
            let r0 = (schedule.lambda(t) - schedule.lambda(previous)) / h;
            let correction = 0.5 / r0;
            StepCoefficients { x_t, x0_hat: weight * (1.0 + correction), x0_prev: -weight * correction, noise: 0.0 }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::ScheduleSpec;

    #[test]
    fn first_order_step_is_ddim_with_eta_zero() {
        // Reference: Lu et al. 2022, DPM-Solver++(1) is DDIM (docs/ALGORITHMS.md §4.2).
        let schedule = Schedule::new(&ScheduleSpec::default(), 64).expect("schedule");
        let dpm = coefficients(&schedule, 63, Some(50), None);
        let ddim = super::super::ddim::coefficients(&schedule, 63, Some(50), 0.0);
        assert!((dpm.x_t - ddim.x_t).abs() < 1e-12 && (dpm.x0_hat - ddim.x0_hat).abs() < 1e-12);
    }

    /// One step's error against the exact solution of the data-prediction ODE
    /// x(λ) = σ(λ)·[x_s/σ_s + ∫_{λ_s}^{λ} e^{λ'} x0(λ') dλ'] for x0(λ) = a + b(λ − λ_s).
    fn local_error(schedule: &Schedule, previous: usize, t: usize, next: usize, (a, b): (f64, f64)) -> f64 {
        let (lp, ls, ln) = (schedule.lambda(previous), schedule.lambda(t), schedule.lambda(next));
        let x0 = |lambda: f64| a + b * (lambda - ls);
        let x_t = 0.4;
        let integral = a * (ln.exp() - ls.exp()) + b * ((ln - ls - 1.0) * ln.exp() + ls.exp());
        let exact = schedule.sigma(next) * (x_t / schedule.sigma(t) + integral);
        let c = coefficients(schedule, t, Some(next), Some(previous));
        (c.x_t * x_t + c.x0_hat * x0(ls) + c.x0_prev * x0(lp) - exact).abs()
    }

    #[test]
    fn second_order_step_has_third_order_local_error() {
        // Reference: the closed-form solution of the ODE above (Lu et al. 2022, eq. 9).
        // Constant x0 is integrated exactly; for x0 linear in λ, halving the step divides the
        // local error by ≈ 2³, as a second-order multistep method must.
        let schedule =
            Schedule::new(&ScheduleSpec::Linear { beta_start: 1e-4, beta_end: 0.02 }, 1000).expect("schedule");
        assert!(local_error(&schedule, 540, 500, 460, (0.7, 0.0)) < 1e-12);
        let coarse = local_error(&schedule, 540, 500, 460, (0.7, 0.25));
        let fine = local_error(&schedule, 520, 500, 480, (0.7, 0.25));
        let ratio = coarse / fine;
        assert!((6.0..10.0).contains(&ratio), "error ratio {ratio} (coarse {coarse:e}, fine {fine:e})");
    }
}
