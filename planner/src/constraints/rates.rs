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
    /// Per dim, the observation dim of its speed: the start's speed bounds the first step
    /// (empty: no such window).
    pub(crate) speed_dims: Vec<usize>,
}

/// `(row, observation dim, coefficient)`: one term of a linear expression in a trajectory.
pub(crate) type Term = (usize, usize, f64);

/// Coefficients of the finite difference of each order over rows `h..=h + order`.
pub(crate) fn stencil(order: usize) -> &'static [f64] {
    if order == 1 { &[-1.0, 1.0] } else { &[1.0, -2.0, 1.0] }
}

impl RateLimit {
    /// From a validated config.
    pub(crate) fn new(config: &RateLimitConfig, order: usize) -> Self {
        Self { dims: config.dims.clone(), max: config.max.clone(), order, speed_dims: config.speed_dims.clone() }
    }

    /// The two windows at the plan's ends, with speed dims: before row 0, the robot arrives at
    /// row 0 moving at its speed, `x[−1] = x[0] − dt·v[0]`; after the last row it holds it,
    /// `x[H] = x[H−1]`. Each as `(h, d, coefficient)` terms of the acceleration times dt², and
    /// the limit times dt², per dim. Empty without speed dims.
    pub(crate) fn boundary_windows(&self, layout: &TrajectoryLayout) -> Vec<(Vec<Term>, f64)> {
        let (horizon, dt) = (layout.horizon, layout.dt);
        if horizon < 2 {
            return Vec::new();
        }
        let dims = self.dims.iter().zip(&self.speed_dims).zip(&self.max);
        dims.flat_map(|((&d, &v), &max)| {
            let bound = max * dt * dt;
            [
                (vec![(1, d, 1.0), (0, d, -1.0), (0, v, -dt)], bound),
                (vec![(horizon - 2, d, 1.0), (horizon - 1, d, -1.0)], bound),
            ]
        })
        .collect()
    }

    /// Largest excess of a boundary window's acceleration over its limit (0 within, and
    /// without speed dims), units per second², over the windows that hold a row of `counted`.
    pub(crate) fn boundary_violation(
        &self,
        trajectory: &[f64],
        layout: &TrajectoryLayout,
        counted: impl Fn(usize) -> bool,
    ) -> f64 {
        let scale = layout.dt * layout.dt;
        (self.boundary_windows(layout).iter()).filter(|(terms, _)| terms.iter().any(|&(h, _, _)| counted(h))).fold(
            0.0,
            |worst, (terms, bound)| {
                let value: f64 = terms.iter().map(|&(h, d, c)| c * trajectory[layout.obs_index(h, d)]).sum();
                worst.max((value.abs() - bound) / scale)
            },
        )
    }

    /// Largest excess of the rate over its limit on a plan whose `pinned` rows were given: over
    /// every window (the boundary windows included) that holds a free row, units per
    /// second^order. A window of pinned rows only is not the plan's choice.
    pub(crate) fn plan_violation(&self, trajectory: &[f64], layout: &TrajectoryLayout, pinned: &[usize]) -> f64 {
        (self.windows(layout.horizon))
            .filter(|h| !(*h..=h + self.order).all(|r| pinned.contains(&r)))
            .fold(self.boundary_violation(trajectory, layout, |h| !pinned.contains(&h)), |worst, h| {
                worst.max(self.window_violation(trajectory, layout, h))
            })
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
        let velocity = RateLimit::new(&RateLimitConfig { dims: vec![0], max: vec![1.0], speed_dims: vec![] }, 1);
        let acceleration = RateLimit::new(&RateLimitConfig { dims: vec![0], max: vec![2.0], speed_dims: vec![] }, 2);
        assert_eq!(velocity.windows(3), 0..2);
        assert_eq!(velocity.window_violation(&trajectory, &layout, 0), 1.0);
        assert_eq!(velocity.window_violation(&trajectory, &layout, 1), 3.0);
        assert_eq!(acceleration.window_violation(&trajectory, &layout, 0), 2.0);
        assert_eq!(merged_limits(&[velocity, acceleration], 2), vec![1.0, f64::INFINITY]);
    }

    // Reference: a robot at x[0] moving at v[0] that is at x[1] one dt later accelerated by
    // (x[1] − x[0] − dt·v[0]) / dt² on average; one that holds x[H−1] after arriving from
    // x[H−2] by −(x[H−1] − x[H−2]) / dt².
    #[test]
    fn the_boundary_windows_measure_the_acceleration_from_the_start_speed_and_to_rest() {
        let layout = TrajectoryLayout { horizon: 3, action_dim: 0, observation_dim: 2, dt: 0.5 };
        // Rows (x, v): from x = 1 at 2 units/s, to x = 3 half a second later: (3 − 1 − 1)/0.25 = 4;
        // then 3 → 3.5 and hold: 0.5/0.25 = 2.
        let trajectory = [1.0, 2.0, 3.0, 0.0, 3.5, 0.0];
        let config = RateLimitConfig { dims: vec![0], max: vec![1.5], speed_dims: vec![1] };
        let limit = RateLimit::new(&config, 2);
        let all = |_: usize| true;
        assert!((limit.boundary_violation(&trajectory, &layout, all) - 2.5).abs() < 1e-12);
        let end_only = limit.boundary_violation(&trajectory, &layout, |h| h == 2);
        assert!((end_only - 0.5).abs() < 1e-12, "{end_only}");
        let without = RateLimit::new(&RateLimitConfig { speed_dims: vec![], ..config }, 2);
        assert_eq!(without.boundary_violation(&trajectory, &layout, all), 0.0);
    }
}
