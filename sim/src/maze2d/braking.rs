//! What the ball can do in one step and how it stops: the pieces of the safety filter
//! ([`crate::safety`]) that depend on Maze2D's dynamics.

use super::{BALL_MASS, DAMPING, DT, GEAR, MAX_SPEED};

/// Deceleration assumed while braking, m/s²: 80% of what a full action along one axis gives
/// (GEAR / m ≈ 23.9 m/s²), which braking along the velocity always reaches.
const BRAKING: f32 = 0.8 * GEAR / BALL_MASS;

/// Sideways acceleration of a turning stop, m/s²: 60% of GEAR / m, so that with [`BRAKING`]
/// the acceleration's length is GEAR / m and both action components stay within [−1, 1]
/// whatever the heading.
const TURNING: f32 = 0.6 * GEAR / BALL_MASS;

/// How the ball comes to rest: braking along its velocity, the same while turning to its left
/// or to its right. Each is a feedback law of the velocity alone, so from any state on its
/// path the same law continues the same path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Decelerate at a = 0.8 GEAR/m along the velocity: a straight line of length ‖v‖²/(2a).
    Straight,
    /// Decelerate at a = 0.8 GEAR/m while accelerating at 0.6 GEAR/m to the left of the
    /// velocity: a spiral of the same length, the heading turning by 0.75·ln(‖v₀‖/‖v‖).
    Left,
    /// The mirror image of [`Stop::Left`].
    Right,
}

impl Stop {
    /// Every way of stopping.
    pub const ALL: [Self; 3] = [Self::Straight, Self::Left, Self::Right];

    /// Sideways acceleration to the left of the velocity, m/s².
    fn sideways(self) -> f32 {
        match self {
            Self::Straight => 0.0,
            Self::Left => TURNING,
            Self::Right => -TURNING,
        }
    }

    /// `segments` + 1 points on the path to rest from `state`, from its position, equally far
    /// apart along the path. The speed falls linearly in time, so equal path lengths are equal
    /// steps of ‖v‖²; each segment is walked at the heading of its middle.
    #[must_use]
    pub fn path(self, state: &[f32], segments: usize) -> Vec<[f32; 2]> {
        let speed = state[2].hypot(state[3]);
        let mut at = [state[0], state[1]];
        let mut points = vec![at];
        if speed == 0.0 {
            return vec![at; segments + 1];
        }
        let heading = state[3].atan2(state[2]);
        let length = speed * speed / (2.0 * BRAKING) / segments as f32;
        let turn_rate = self.sideways() / BRAKING;
        for i in 0..segments {
            let middle = (1.0 - (i as f32 + 0.5) / segments as f32).sqrt();
            let angle = heading - turn_rate * middle.ln();
            at = [at[0] + length * angle.cos(), at[1] + length * angle.sin()];
            points.push(at);
        }
        points
    }

    /// The action of this stop's law in `state`.
    #[must_use]
    pub fn action(self, state: &[f32]) -> Vec<f32> {
        let speed = state[2].hypot(state[3]);
        if speed == 0.0 {
            return vec![0.0, 0.0];
        }
        let (along, left) = ([state[2] / speed, state[3] / speed], [-state[3] / speed, state[2] / speed]);
        (0..2).map(|k| (-BRAKING * along[k] + self.sideways() * left[k]) * BALL_MASS / GEAR).collect()
    }
}

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

    /// Oracle: the simulator's own update. Each stop's law, applied step by step from 4 m/s,
    /// keeps the ball within 3 cm of the path predicted for it and brings it to rest within
    /// 5 cm of the path's end (short of it: the simulator's damping and its step, which moves
    /// at the new velocity, shorten the stop).
    #[test]
    fn each_stops_law_follows_its_predicted_path_to_rest() {
        for stop in Stop::ALL {
            let start = vec![1.0, -2.0, 3.2, 2.4];
            let path = stop.path(&start, 400);
            let mut state = start.clone();
            for _ in 0..100 {
                if state[2].hypot(state[3]) < 0.3 {
                    break;
                }
                state = free_flight_step(&state, &stop.action(&state));
                let off = path.iter().map(|p| (p[0] - state[0]).hypot(p[1] - state[1])).fold(f32::INFINITY, f32::min);
                assert!(off < 0.03, "{stop:?}: {off} m off the path at {state:?}");
            }
            let end = path[400];
            let miss = (end[0] - state[0]).hypot(end[1] - state[1]);
            assert!(miss < 0.05, "{stop:?}: rests {miss} m from the path's end");
        }
    }

    /// The turning stops do turn: their ends lie on either side of the straight one's, the
    /// heading changing by more than 45°, and every law's action lies within the bounds.
    #[test]
    fn the_turning_stops_end_on_either_side_of_the_straight_one() {
        let state = vec![0.0, 0.0, 4.0, 0.0];
        let ends: Vec<[f32; 2]> = Stop::ALL.iter().map(|stop| stop.path(&state, 64)[64]).collect();
        assert!(ends[0][1].abs() < 1e-6 && ends[1][1] > 0.1 && ends[2][1] < -0.1, "{ends:?}");
        assert!((ends[1][1] + ends[2][1]).abs() < 1e-5, "mirror images: {ends:?}");
        for stop in Stop::ALL {
            for heading in 0..16 {
                let angle = heading as f32 * std::f32::consts::PI / 8.0;
                let action = stop.action(&[0.0, 0.0, 3.0 * angle.cos(), 3.0 * angle.sin()]);
                assert!(action.iter().all(|u| u.abs() <= 1.0), "{stop:?} at {angle}: {action:?}");
            }
        }
    }
}
