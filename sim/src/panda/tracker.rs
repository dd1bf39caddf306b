//! Executing a joint-space plan the way a joint trajectory controller does: the step's action is
//! the joint angles the plan reaches at the end of the step (its next row), which the servos
//! approach by interpolating over the step.

use crate::control::Tracker;

/// Aims each step at the next planned row's joint angles; past the plan's end, at its last row.
#[derive(Debug, Clone, Copy)]
pub struct JointTracker {
    /// Joints of the arm: a row's first `joints` values are its angles.
    pub joints: usize,
}

impl Tracker for JointTracker {
    fn action(&mut self, plan: &[Vec<f32>], index: usize, observation: &[f32]) -> Vec<f32> {
        match plan.get(index + 1).or_else(|| plan.last()) {
            Some(row) => row[..self.joints].to_vec(),
            None => observation[..self.joints].to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_action_is_the_next_rows_angles_and_the_last_row_after_the_end() {
        let plan = vec![vec![0.0, 0.0, 9.0, 9.0], vec![0.1, 0.2, 9.0, 9.0], vec![0.3, 0.4, 9.0, 9.0]];
        let mut tracker = JointTracker { joints: 2 };
        assert_eq!(tracker.action(&plan, 0, &[0.0; 4]), [0.1, 0.2]);
        assert_eq!(tracker.action(&plan, 5, &[0.0; 4]), [0.3, 0.4]);
        assert_eq!(tracker.action(&[], 0, &[0.5, 0.6, 0.0, 0.0]), [0.5, 0.6]);
    }
}
