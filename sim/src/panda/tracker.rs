//! Executing a joint-space plan the way a joint trajectory controller does: the step's action is
//! the trajectory point the plan reaches at the end of the step (its next row): the row's joint
//! angles, and as its speed the rate of the planned angles over the step that ends there.
//!
//! That rate is what the projection bounds (the velocity and acceleration limits are on the
//! planned angles' first and second differences, with `speed_dims` tying the first to the robot's
//! speed and the last to rest), so the commanded speeds change from point to point exactly as the
//! plan's constrained accelerations say. The rows' planned speeds (qd) are not used: the
//! projection moves angles without re-deriving them. Past the plan's end the last row is held at
//! zero speed.

use crate::control::Tracker;

/// Aims each step at the next planned row's joint angles at the rate the plan reaches them; past
/// the plan's end, at its last row at rest.
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
        match (plan.get(index), plan.get(index + 1)) {
            (Some(before), Some(row)) => {
                let speed = (0..joints).map(|j| (f64::from(row[j] - before[j]) / self.dt_secs) as f32);
                row[..joints].iter().copied().chain(speed).collect()
            }
            _ => plan.last().map_or_else(|| at_rest(observation), |row| at_rest(row)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_action_is_the_next_row_at_its_rate_and_rest_after_the_end() {
        let plan = vec![vec![0.0, 0.0, 9.0, 9.0], vec![0.1, 0.2, 9.0, 9.0], vec![0.3, 0.6, 9.0, 9.0]];
        let mut tracker = JointTracker { joints: 2, dt_secs: 0.5 };
        // Row 1's speed: (row 1 − row 0) / 0.5 s, not the row's own (9.0).
        let action = tracker.action(&plan, 0, &[0.0; 4]);
        for (got, want) in action.iter().zip([0.1, 0.2, 0.2, 0.4]) {
            assert!((got - want).abs() < 1e-6, "{action:?}");
        }
        let last = tracker.action(&plan, 1, &[0.0; 4]);
        for (got, want) in last.iter().zip([0.3, 0.6, 0.4, 0.8]) {
            assert!((got - want).abs() < 1e-6, "{last:?}");
        }
        assert_eq!(tracker.action(&plan, 2, &[0.0; 4]), [0.3, 0.6, 0.0, 0.0], "past the end: the last row at rest");
        assert_eq!(tracker.action(&[], 0, &[0.5, 0.6, 7.0, 7.0]), [0.5, 0.6, 0.0, 0.0], "no plan: hold where it is");
    }
}
