//! What the ball can do in one step and how it stops: the pieces of the safety filter
//! ([`crate::safety`]) that depend on Maze2D's dynamics.

use super::{BALL_MASS, DAMPING, DT, GEAR, MAX_SPEED};

/// Deceleration assumed while braking, m/s²: 80% of what a full action along one axis gives
/// (GEAR / m ≈ 23.9 m/s²), which braking along the velocity always reaches.
const BRAKING: f32 = 0.8 * GEAR / BALL_MASS;

/// The state (x, y, vx, vy) after `action` from `state`, as the simulator computes it away from
/// walls: velocity clipped to ±5 m/s, implicit damping, then p' = p + h v'.
#[must_use]
pub fn free_flight_step(state: &[f32], action: &[f32]) -> Vec<f32> {
    let implicit = 1.0 + DT * DAMPING / BALL_MASS;
    let v: [f32; 2] = std::array::from_fn(|k| {
        let force = action[k].clamp(-1.0, 1.0) * GEAR;
        (state[2 + k].clamp(-MAX_SPEED, MAX_SPEED) + DT * force / BALL_MASS) / implicit
    });
    vec![state[0] + DT * v[0], state[1] + DT * v[1], v[0], v[1]]
}

/// `count` ≥ 2 points evenly along the straight path on which the ball, braking from `state`
/// at 80% of GEAR/m, comes to rest: from its position to where it stops, ‖v‖²/(2a) ahead.
#[must_use]
pub fn braking_points(state: &[f32], count: usize) -> Vec<[f32; 2]> {
    let speed = state[2].hypot(state[3]);
    let reach = if speed > 0.0 { speed / (2.0 * BRAKING) } else { 0.0 };
    (0..count)
        .map(|i| {
            let sigma = i as f32 / (count - 1) as f32;
            [state[0] + sigma * reach * state[2], state[1] + sigma * reach * state[3]]
        })
        .collect()
}

/// The action that brakes hardest from `state`: full force against the velocity.
#[must_use]
pub fn brake(state: &[f32]) -> Vec<f32> {
    let largest = state[2].abs().max(state[3].abs());
    if largest == 0.0 { vec![0.0, 0.0] } else { vec![-state[2] / largest, -state[3] / largest] }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::Env;
    use crate::maze2d::{GoalMode, Layout, Maze2d};

    /// Oracle: the simulator itself, in the open middle of the large maze's row 3.
    #[test]
    fn the_free_flight_step_is_the_simulators_update() {
        let mut env = Maze2d::new(Layout::Large, GoalMode::Fixed);
        env.reset(0);
        env.set_state([3.0, 3.0], [0.5, -0.2]);
        let mut state = env.observation();
        for k in 0..10 {
            let action = [0.7, if k < 5 { -1.0 } else { 0.4 }];
            let predicted = free_flight_step(&state, &action);
            state = env.step(&action).observation;
            for (p, s) in predicted.iter().zip(&state) {
                assert!((p - s).abs() < 1e-5, "step {k}: {predicted:?} vs {state:?}");
            }
        }
    }

    /// Braking at full force from the fastest speed stops within the braking points' reach.
    #[test]
    fn braking_stops_within_the_predicted_reach() {
        let mut state = vec![0.0, 0.0, 4.0, -3.0];
        let points = braking_points(&state, 5);
        let reach = points[4][0].hypot(points[4][1]);
        assert!((points[0][0], points[0][1]) == (0.0, 0.0) && reach > 0.0);
        for _ in 0..200 {
            if state[2].hypot(state[3]) < 1e-3 {
                break;
            }
            state = free_flight_step(&state, &brake(&state));
        }
        let travelled = state[0].hypot(state[1]);
        assert!(travelled <= reach, "travelled {travelled} m, predicted reach {reach} m");
    }
}
