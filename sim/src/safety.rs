//! A safety filter on the commanded action: the discrete-time control-barrier-function (CBF)
//! condition h(x') ≥ (1 − γ) h(x) for every barrier h of the task (Agrawal & Sreenath, RSS 2017;
//! Zeng, Zhang & Sreenath, ACC 2021), with x' the state one step after the action. A set where
//! every h ≥ 0 is then never left: each step may close at most the fraction γ of the remaining
//! margin.
//!
//! The filter returns the action nearest the nominal one that satisfies every condition:
//! min ‖u − u_nom‖² subject to the conditions and the action bounds. The conditions are
//! linearised at the current iterate (central differences of h(x'(u))), the quadratic program
//! over the resulting half-spaces and the bound box is solved by Dykstra's alternating
//! projections (exact for convex sets, and small here: one half-space per barrier), and the
//! answer is checked against the conditions themselves. Up to four rounds re-linearise
//! where the check fails. When no round yields an action that passes, no safe action was found
//! near the nominal one: the filter returns the task's braking action and says so.

use crate::control::{Interventions, Tracker};

/// Rounds of linearise, solve, check.
const ROUNDS: usize = 4;
/// Dykstra iterations per round.
const PROJECTIONS: usize = 200;
/// Finite-difference step of the linearisation, action units.
const STEP: f32 = 1e-3;
/// A condition counts as active (linearised) when its slack is below this.
const ACTIVE_SLACK: f64 = 1e-3;

/// What the filter did to one action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intervention {
    /// The nominal action satisfies every condition and is returned as it is.
    None,
    /// The action was changed to the nearest one found that satisfies every condition.
    Adjusted,
    /// No action near the nominal one satisfies every condition: the braking action is
    /// returned.
    Brake,
}

/// The safety filter of one robot: its CBF rate and action bounds.
#[derive(Debug, Clone, Copy)]
pub struct SafetyFilter {
    /// γ ∈ (0, 1]: the fraction of the barrier's value one step may consume (default 0.2).
    pub gamma: f64,
    /// Every action component lies in [−bound, bound] (default 1).
    pub bound: f32,
}

impl Default for SafetyFilter {
    fn default() -> Self {
        Self { gamma: 0.2, bound: 1.0 }
    }
}

/// What the filter needs to know of the robot: one step of its dynamics and its barriers.
pub trait SafetyModel {
    /// The state after applying `action` in `state` for one step.
    fn predict(&self, state: &[f32], action: &[f32]) -> Vec<f32>;
    /// The barrier values h_j(state), ≥ 0 where the state is safe.
    fn barriers(&self, state: &[f32]) -> Vec<f64>;
    /// The action to fall back on in `state` when no admissible action is found: the robot's
    /// best way to stop.
    fn brake(&self, state: &[f32]) -> Vec<f32>;
}

impl SafetyFilter {
    /// The slack of every condition for `action` in `state`, whose barrier values are `now`.
    fn slack(&self, model: &dyn SafetyModel, state: &[f32], action: &[f32], now: &[f64]) -> Vec<f64> {
        let next = model.barriers(&model.predict(state, action));
        next.iter().zip(now).map(|(h_next, h)| h_next - (1.0 - self.gamma) * h).collect()
    }

    /// Whether `action` satisfies every condition in `state` (barrier values `now`).
    #[must_use]
    pub fn admits(&self, model: &dyn SafetyModel, state: &[f32], action: &[f32], now: &[f64]) -> bool {
        self.slack(model, state, action, now).iter().all(|&s| s >= 0.0)
    }

    /// The action to apply instead of `nominal` in `state`, and what was done.
    pub fn filter(&self, model: &dyn SafetyModel, state: &[f32], nominal: &[f32]) -> (Vec<f32>, Intervention) {
        let nominal: Vec<f32> = nominal.iter().map(|u| u.clamp(-self.bound, self.bound)).collect();
        let now = model.barriers(state);
        if self.admits(model, state, &nominal, &now) {
            return (nominal, Intervention::None);
        }
        let mut at = nominal.clone();
        for _ in 0..ROUNDS {
            let slack = self.slack(model, state, &at, &now);
            let jacobian = self.jacobian(model, state, &at, &now);
            let half_spaces: Vec<(Vec<f64>, f64)> = slack
                .iter()
                .enumerate()
                .filter(|(_, s)| **s < ACTIVE_SLACK)
                .map(|(j, &s)| {
                    let gradient: Vec<f64> = jacobian.iter().map(|column| column[j]).collect();
                    // s + g·(u − at) ≥ ACTIVE_SLACK, as g·u ≥ offset.
                    let offset =
                        ACTIVE_SLACK - s + gradient.iter().zip(&at).map(|(g, a)| g * f64::from(*a)).sum::<f64>();
                    (gradient, offset)
                })
                .collect();
            at = self.project(&nominal, &half_spaces);
            if self.admits(model, state, &at, &now) {
                return (at, Intervention::Adjusted);
            }
        }
        (model.brake(state), Intervention::Brake)
    }

    /// ∂ slack / ∂u_k at `at` for every action component k (the outer index) and every
    /// condition, by central differences: two slack evaluations per component, shared by all
    /// conditions.
    fn jacobian(&self, model: &dyn SafetyModel, state: &[f32], at: &[f32], now: &[f64]) -> Vec<Vec<f64>> {
        (0..at.len())
            .map(|k| {
                let mut up = at.to_vec();
                let mut down = at.to_vec();
                up[k] += STEP;
                down[k] -= STEP;
                let (a, b) = (self.slack(model, state, &up, now), self.slack(model, state, &down, now));
                a.iter().zip(&b).map(|(a, b)| (a - b) / (2.0 * f64::from(STEP))).collect()
            })
            .collect()
    }

    /// The point of {u : g·u ≥ offset for each half-space, |u_k| ≤ bound} nearest `target`, by
    /// Dykstra's alternating projections.
    fn project(&self, target: &[f32], half_spaces: &[(Vec<f64>, f64)]) -> Vec<f32> {
        let n = target.len();
        let bound = f64::from(self.bound);
        let mut x: Vec<f64> = target.iter().map(|&u| f64::from(u)).collect();
        // One correction per set: the half-spaces, then the box.
        let mut corrections = vec![vec![0.0; n]; half_spaces.len() + 1];
        for _ in 0..PROJECTIONS {
            for (set, correction) in corrections.iter_mut().enumerate() {
                let y: Vec<f64> = x.iter().zip(correction.iter()).map(|(a, c)| a + c).collect();
                let projected: Vec<f64> = match half_spaces.get(set) {
                    Some((g, offset)) => {
                        let norm = g.iter().map(|v| v * v).sum::<f64>();
                        let excess = offset - g.iter().zip(&y).map(|(a, b)| a * b).sum::<f64>();
                        if excess > 0.0 && norm > 0.0 {
                            y.iter().zip(g).map(|(v, gk)| v + excess / norm * gk).collect()
                        } else {
                            y.clone()
                        }
                    }
                    None => y.iter().map(|v| v.clamp(-bound, bound)).collect(),
                };
                for k in 0..n {
                    correction[k] = y[k] - projected[k];
                }
                x = projected;
            }
        }
        x.iter().map(|&v| v as f32).collect()
    }
}

/// A tracker whose every action passes the safety filter, counting what the filter did.
pub struct FilteredTracker<M> {
    /// The tracker whose actions are filtered.
    pub inner: Box<dyn Tracker>,
    /// The filter.
    pub filter: SafetyFilter,
    /// The robot's dynamics and barriers.
    pub model: M,
    /// What the filter has done so far.
    counts: Interventions,
}

impl<M: SafetyModel> FilteredTracker<M> {
    /// `inner`'s actions, filtered by `filter` with `model`.
    #[must_use]
    pub fn new(inner: Box<dyn Tracker>, filter: SafetyFilter, model: M) -> Self {
        Self { inner, filter, model, counts: Interventions::default() }
    }
}

impl<M: SafetyModel> Tracker for FilteredTracker<M> {
    fn action(&mut self, plan: &[Vec<f32>], index: usize, observation: &[f32]) -> Vec<f32> {
        let nominal = self.inner.action(plan, index, observation);
        let (action, intervention) = self.filter.filter(&self.model, observation, &nominal);
        match intervention {
            Intervention::None => {}
            Intervention::Adjusted => self.counts.adjusted += 1,
            Intervention::Brake => self.counts.braked += 1,
        }
        action
    }

    fn interventions(&self) -> Interventions {
        self.counts
    }
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::maze2d::{Stop, free_flight_step};

    /// A disc of radius 0.3 m at the origin, seen through the braking points: the barrier
    /// b(p) = |p|²/0.09 − 1, the planner's circle.
    struct Disc;

    impl SafetyModel for Disc {
        fn predict(&self, state: &[f32], action: &[f32]) -> Vec<f32> {
            free_flight_step(state, action)
        }

        fn barriers(&self, state: &[f32]) -> Vec<f64> {
            let b = |p: [f32; 2]| f64::from(p[0] * p[0] + p[1] * p[1]) / 0.09 - 1.0;
            vec![Stop::Straight.path(state, 4).into_iter().map(b).fold(f64::INFINITY, f64::min)]
        }

        fn brake(&self, state: &[f32]) -> Vec<f32> {
            Stop::Straight.action(state)
        }
    }

    /// Property: whatever the state and the nominal action, the filter returns an action that
    /// satisfies its barrier condition h(x') ≥ (1 − γ) h(x) and lies in the bounds, or says it
    /// found none and brakes.
    #[test]
    fn the_filter_never_returns_an_action_that_breaks_its_condition() {
        let filter = SafetyFilter::default();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut adjusted = 0;
        for _ in 0..2000 {
            let state: Vec<f32> = vec![
                rng.gen_range(-1.5..1.5),
                rng.gen_range(-1.5..1.5),
                rng.gen_range(-5.0..5.0),
                rng.gen_range(-5.0..5.0),
            ];
            let nominal = [rng.gen_range(-1.5..1.5), rng.gen_range(-1.5..1.5)];
            let now = Disc.barriers(&state);
            let (action, intervention) = filter.filter(&Disc, &state, &nominal);
            assert!(action.iter().all(|u| u.abs() <= 1.0), "{action:?}");
            match intervention {
                Intervention::Brake => assert_eq!(action, Disc.brake(&state)),
                _ => assert!(filter.admits(&Disc, &state, &action, &now), "{state:?} {nominal:?} → {action:?}"),
            }
            adjusted += usize::from(intervention == Intervention::Adjusted);
        }
        assert!(adjusted >= 50, "the property was hardly exercised: {adjusted} adjusted actions");
    }

    /// A safe nominal action passes unchanged; one that drives into the disc is changed to one
    /// that keeps the barrier condition.
    #[test]
    fn the_filter_keeps_safe_actions_and_changes_unsafe_ones() {
        let filter = SafetyFilter::default();
        let away = vec![1.0, 0.0, 1.0, 0.0];
        assert_eq!(filter.filter(&Disc, &away, &[1.0, 0.0]), (vec![1.0, 0.0], Intervention::None));
        // 0.5 m from the disc's edge, 3 m/s towards its centre, pushing on at full force: the
        // braking path's end moves 0.07 m closer in one step, more than γ allows.
        let towards = vec![0.8, 0.0, -3.0, 0.0];
        let (action, intervention) = filter.filter(&Disc, &towards, &[-1.0, 0.0]);
        assert_eq!(intervention, Intervention::Adjusted, "{action:?}");
        assert!(filter.admits(&Disc, &towards, &action, &Disc.barriers(&towards)));
    }
}
