//! A tracker that keeps the ball on its plan: time-indexed tracking at the plan's pace with
//! feed-forward from the planned states, and time scaling when the ball lags.
//!
//! Diffuser's controller `u = Δp + Δv` ([`super::track`]) is a PD law with Kp = Kd = GEAR/m ≈
//! 23.9 s⁻² and no feed-forward: its position errors decay with a time constant of about 1 s, so
//! the ball falls behind a fast plan and cuts the chord through what the plan goes around. Here:
//!
//! - **Feed-forward.** The step's force is the inverse of the simulator's update. With implicit
//!   damping, v' = (v + h F/m)/(1 + h b/m) (the module docs of [`super`]), so the force that takes
//!   the planned velocity v*ᵢ to v*ᵢ₊₁ is F = (m/h)(v*ᵢ₊₁ − v*ᵢ) + b v*ᵢ₊₁, and u_ff = F / GEAR. On a
//!   plan the simulator itself could have produced, from a state on it, u_ff alone reproduces the
//!   plan (the tests' oracle). The planned velocities are used as they are: differencing the
//!   planned positions instead amplifies the plan's row-to-row jitter into saturated, chattering
//!   actions (measured: 34.2 against 108.6 on the U-maze obstacle task, 20 episodes).
//! - **Feedback** on what the plan does not explain, the error from the reference now:
//!   u = u_ff + kp (p*ᵢ − p) + kd (v*ᵢ − v), clipped to [−1, 1]. kp = 8, kd = 1 (action units per metre, per m/s) put the error dynamics' poles
//!   near 19 s⁻¹ (ω = √(GEAR·kp/m) ≈ 13.8 rad/s, ζ ≈ 0.8) instead of 1 s⁻¹.
//! - **Time scaling.** The reference runs on its own clock, a fractional plan index that
//!   advances by r ∈ [0, 1] per step: r = 1 while the position error is below `slow_from_m`,
//!   falling linearly to 0 at `stop_at_m`. The reference velocity is scaled by r too, so a lagging
//!   ball is led along the plan's path more slowly, never across it. Past the plan's end the
//!   reference is the last planned position at rest.

use super::{BALL_MASS, DAMPING, DT, GEAR};
use crate::control::Tracker;

/// Time-indexed tracking with feed-forward and time scaling (see the module docs).
#[derive(Debug, Clone)]
pub struct FeedForwardTracker {
    /// Position gain, action units per metre (default 8).
    pub kp: f32,
    /// Velocity gain, action units per m/s (default 1).
    pub kd: f32,
    /// Position error below which the plan's clock runs at full speed, metres (default 0.05).
    pub slow_from_m: f32,
    /// Position error at which the plan's clock stops, metres (default 0.25).
    pub stop_at_m: f32,
    /// Where the reference is on the current plan.
    reference: Option<Reference>,
}

/// The reference's place on a plan.
#[derive(Debug, Clone)]
struct Reference {
    /// The plan: its length and first row tell it from the next one.
    plan: (usize, Vec<f32>),
    /// Fractional plan index.
    clock: f32,
}

impl Default for FeedForwardTracker {
    fn default() -> Self {
        Self { kp: 8.0, kd: 1.0, slow_from_m: 0.05, stop_at_m: 0.25, reference: None }
    }
}

impl FeedForwardTracker {
    /// The clock rate for a position error of `error_m` metres.
    fn rate(&self, error_m: f32) -> f32 {
        (1.0 - (error_m - self.slow_from_m) / (self.stop_at_m - self.slow_from_m)).clamp(0.0, 1.0)
    }
}

/// The planned position at fractional index `at`: linear between rows, the last row's past the
/// end.
fn position_at(plan: &[Vec<f32>], at: f32) -> [f32; 2] {
    let last = plan.len() - 1;
    if at >= last as f32 {
        return [plan[last][0], plan[last][1]];
    }
    let i = at.floor() as usize;
    let w = at - i as f32;
    std::array::from_fn(|k| plan[i][k] + w * (plan[i + 1][k] - plan[i][k]))
}

/// The planned velocity at fractional index `at`: linear between rows, zero past the end.
fn velocity_at(plan: &[Vec<f32>], at: f32) -> [f32; 2] {
    let last = plan.len() - 1;
    if at > last as f32 {
        return [0.0, 0.0];
    }
    let i = (at.floor() as usize).min(last);
    let j = (i + 1).min(last);
    let w = at - i as f32;
    std::array::from_fn(|k| plan[i][2 + k] + w * (plan[j][2 + k] - plan[i][2 + k]))
}

/// The action that changes the velocity from `from` to `to` in one step, per axis.
fn feed_forward(from: [f32; 2], to: [f32; 2]) -> [f32; 2] {
    std::array::from_fn(|k| (BALL_MASS / DT * (to[k] - from[k]) + DAMPING * to[k]) / GEAR)
}

impl Tracker for FeedForwardTracker {
    fn action(&mut self, plan: &[Vec<f32>], index: usize, observation: &[f32]) -> Vec<f32> {
        if plan.is_empty() {
            return vec![0.0, 0.0];
        }
        let id = (plan.len(), plan[0].clone());
        let clock = match self.reference.take() {
            Some(reference) if reference.plan == id => reference.clock,
            _ => index as f32,
        };
        let p_now = position_at(plan, clock);
        let rate = self.rate((p_now[0] - observation[0]).hypot(p_now[1] - observation[1]));
        let v_now = velocity_at(plan, clock).map(|v| v * rate);
        let v_next = velocity_at(plan, clock + rate).map(|v| v * rate);
        let u_ff = feed_forward(v_now, v_next);
        self.reference = Some(Reference { plan: id, clock: clock + rate });
        (0..2)
            .map(|k| {
                let feedback = self.kp * (p_now[k] - observation[k]) + self.kd * (v_now[k] - observation[2 + k]);
                (u_ff[k] + feedback).clamp(-1.0, 1.0)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::Env;
    use crate::maze2d::{GoalMode, Layout, Maze2d};

    /// Oracle: the simulator's own update. A plan recorded from the simulator under actions
    /// within [−1, 1] is tracked from its first state by the feed-forward alone: the tracker
    /// returns the recorded actions and the ball retraces the plan.
    #[test]
    fn the_feed_forward_inverts_the_simulators_update() {
        let mut env = Maze2d::new(Layout::Large, GoalMode::Fixed);
        env.reset(0);
        // The middle of the large maze's open row 3, far from walls for these 12 steps.
        env.set_state([3.0, 3.0], [0.0, 0.2]);
        let actions: Vec<[f32; 2]> = (0..12).map(|k| [0.3, if k < 6 { 0.8 } else { -0.9 }]).collect();
        let mut plan = vec![env.observation()];
        plan.extend(actions.iter().map(|a| env.step(a).observation));
        env.set_state([3.0, 3.0], [0.0, 0.2]);
        let mut tracker = FeedForwardTracker::default();
        let mut observation = env.observation();
        for (i, recorded) in actions.iter().enumerate() {
            let action = tracker.action(&plan, i, &observation);
            for k in 0..2 {
                assert!((action[k] - recorded[k]).abs() < 2e-3, "step {i}: {action:?} vs {recorded:?}");
            }
            observation = env.step(&action).observation;
            for (k, (x, y)) in observation.iter().zip(&plan[i + 1]).enumerate() {
                assert!((x - y).abs() < 1e-4, "step {i}, component {k}: {observation:?} vs {:?}", plan[i + 1]);
            }
        }
    }

    /// A ball far behind its reference is led along the plan at a slower pace, not pulled
    /// across: the clock stops at `stop_at_m` and runs at full speed below `slow_from_m`.
    #[test]
    fn the_plans_clock_slows_and_stops_as_the_ball_lags() {
        let tracker = FeedForwardTracker::default();
        assert!((tracker.rate(0.0) - 1.0).abs() < f32::EPSILON);
        assert!((tracker.rate(0.15) - 0.5).abs() < 1e-6);
        assert!(tracker.rate(0.3).abs() < f32::EPSILON);
        // Stuck 0.5 m away: the reference does not move on along the plan.
        let plan: Vec<Vec<f32>> = (0..10).map(|i| vec![i as f32 * 0.1, 0.0, 10.0, 0.0]).collect();
        let mut tracker = FeedForwardTracker::default();
        for i in 0..5 {
            tracker.action(&plan, i, &[-0.5, 0.0, 0.0, 0.0]);
        }
        assert_eq!(tracker.reference.as_ref().map(|r| r.clock), Some(0.0));
    }
}
