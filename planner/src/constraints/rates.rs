//! Limits that couple neighbouring rows: velocity `|Δx|/dt ≤ max` and acceleration
//! `|Δ²x|/dt² ≤ max` per observation dim. They have no per-row projection; the QP
//! ([`super::qp`]) enforces them.

use super::config::RateLimitConfig;
use super::layout::TrajectoryLayout;

/// A velocity (`order` 1) or acceleration (`order` 2) limit.
#[derive(Debug, Clone)]
pub(crate) struct RateLimit {
    /// Indices into the observations.
    pub(crate) dims: Vec<usize>,
    /// Largest rate per dim, units per second^order.
    pub(crate) max: Vec<f64>,
    /// 1: velocity, 2: acceleration.
    pub(crate) order: usize,
}

/// Coefficients of the finite difference of each order over rows `h..=h + order`.
pub(crate) fn stencil(order: usize) -> &'static [f64] {
    if order == 1 { &[-1.0, 1.0] } else { &[1.0, -2.0, 1.0] }
}

impl RateLimit {
    /// From a validated config.
    pub(crate) fn new(config: &RateLimitConfig, order: usize) -> Self {
        Self { dims: config.dims.clone(), max: config.max.clone(), order }
    }

    /// Windows `h..=h + order` of a trajectory of `horizon` rows.
    pub(crate) fn windows(&self, horizon: usize) -> std::ops::Range<usize> {
        0..horizon.saturating_sub(self.order)
    }

    /// Largest excess of the rate over its limit in the window starting at row `h` (0 within),
    /// units per second^order.
    pub(crate) fn window_violation(&self, trajectory: &[f64], layout: &TrajectoryLayout, h: usize) -> f64 {
        let scale = layout.dt.powi(self.order as i32);
        let weights = stencil(self.order);
        self.dims.iter().zip(&self.max).fold(0.0, |worst, (&d, &max)| {
            let difference: f64 =
                weights.iter().enumerate().map(|(i, w)| w * trajectory[layout.obs_index(h + i, d)]).sum();
            worst.max(difference.abs() / scale - max)
        })
    }
}

/// Per observation dim, the tightest limit among `limits` (+∞ where none acts).
pub(crate) fn merged_limits(limits: &[RateLimit], width: usize) -> Vec<f64> {
    let mut max = vec![f64::INFINITY; width];
    for limit in limits {
        for (&d, &m) in limit.dims.iter().zip(&limit.max) {
            max[d] = max[d].min(m);
        }
    }
    max
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // The expected values are exact by construction.
mod tests {
    use super::*;

    // Reference: the second central difference x[h+1] − 2x[h] + x[h−1] over dt².
    #[test]
    fn violations_are_rates_in_units_per_second() {
        let layout = TrajectoryLayout { horizon: 3, action_dim: 1, observation_dim: 1, dt: 0.5 };
        let trajectory = [0.0, 0.0, 0.0, 1.0, 0.0, 3.0];
        let velocity = RateLimit::new(&RateLimitConfig { dims: vec![0], max: vec![1.0] }, 1);
        let acceleration = RateLimit::new(&RateLimitConfig { dims: vec![0], max: vec![2.0] }, 2);
        assert_eq!(velocity.windows(3), 0..2);
        assert_eq!(velocity.window_violation(&trajectory, &layout, 0), 1.0);
        assert_eq!(velocity.window_violation(&trajectory, &layout, 1), 3.0);
        assert_eq!(acceleration.window_violation(&trajectory, &layout, 0), 2.0);
        assert_eq!(merged_limits(&[velocity, acceleration], 2), vec![1.0, f64::INFINITY]);
    }
}
