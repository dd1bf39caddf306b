//! Executing a joint-space plan the way a joint trajectory controller does: the step's action is
//! the trajectory point the plan reaches at the end of the step (its next row): the row's joint
//! angles and the speed there, which the servos follow along a cubic over the step
//! ([`super::CubicSegment`]).
//!
//! A waypoint's speed is the central difference of the planned angles around it (the
//! Catmull-Rom choice), not the row's planned speed: the projection moves angles (to clear an
//! obstacle, say) without re-deriving the speeds, and a cubic whose end speeds disagree with the
//! angles' rate overshoots between rows. The plan's last row, and everything past it, is held at
//! zero speed.

use crate::control::Tracker;

/// Aims each step at the next planned row's joint angles and central-difference speed; past the
/// plan's end, at its last row at rest.
#[derive(Debug, Clone, Copy)]
pub struct JointTracker {
    /// Joints of the arm: a row's first `joints` values are its angles.
    pub joints: usize,
    /// Seconds between rows.
    pub dt_secs: f64,
}

impl Tracker for JointTracker {
    fn action(&mut self, plan: &[Vec<f32>], index: usize, observation: &[f32]) -> Vec<f32> {
        let joints = self.joints;
        let at_rest = |row: &[f32]| row[..joints].iter().copied().chain(std::iter::repeat_n(0.0, joints)).collect();
        match (plan.get(index), plan.get(index + 1), plan.get(index + 2)) {
            (Some(before), Some(row), Some(after)) => {
                let speed = (0..joints).map(|j| ((after[j] - before[j]) as f64 / (2.0 * self.dt_secs)) as f32);
                row[..joints].iter().copied().chain(speed).collect()
            }
            _ => plan.get(index + 1).or_else(|| plan.last()).map_or_else(|| at_rest(observation), |row| at_rest(row)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_action_is_the_next_row_with_its_central_difference_speed_and_rest_at_the_end() {
        let plan = vec![vec![0.0, 0.0, 9.0, 9.0], vec![0.1, 0.2, 9.0, 9.0], vec![0.3, 0.6, 9.0, 9.0]];
        let mut tracker = JointTracker { joints: 2, dt_secs: 0.5 };
        // Row 1's speed: (row 2 − row 0) / (2 · 0.5 s), not the row's own (9.0).
        let action = tracker.action(&plan, 0, &[0.0; 4]);
        for (got, want) in action.iter().zip([0.1, 0.2, 0.3, 0.6]) {
            assert!((got - want).abs() < 1e-6, "{action:?}");
        }
        assert_eq!(tracker.action(&plan, 1, &[0.0; 4]), [0.3, 0.6, 0.0, 0.0], "the last row at rest");
        assert_eq!(tracker.action(&plan, 5, &[0.0; 4]), [0.3, 0.6, 0.0, 0.0], "past the end: the last row at rest");
        assert_eq!(tracker.action(&[], 0, &[0.5, 0.6, 7.0, 7.0]), [0.5, 0.6, 0.0, 0.0], "no plan: hold where it is");
    }
}
