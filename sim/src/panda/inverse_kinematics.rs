//! Inverse kinematics: joint angles that put the tool point at a position, optionally with the
//! tool pointing straight down (a top grasp).
//!
//! Damped least squares (Levenberg–Marquardt with a fixed damping λ): Δq = Jᵀ (J Jᵀ + λ² I)⁻¹ e,
//! with e the position error (and, pointing down, the x and y components of the tool's z axis,
//! which are 0 exactly when it points along −z), clamped to the joint limits after every step.
//! The Jacobian is analytic: joint i turns about its frame's z axis zᵢ through its origin oᵢ, so
//! its column is zᵢ × (p − oᵢ) for the position and zᵢ × a for the tool axis a. A search that
//! stalls restarts from a seeded random configuration.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::description::ArmDescription;

use crate::tool_goal::ToolGoal;

/// Damping λ of the least-squares step (metres).
const DAMPING: f64 = 0.05;
/// Steps per attempt.
const STEPS_PER_ATTEMPT: usize = 200;
/// Attempts (the first from `seed_q`, then random restarts).
const ATTEMPTS: usize = 20;

impl ArmDescription {
    /// Joint angles within the limits that put the tool point within `tolerance_m` of `goal`
    /// (and its axis within `tolerance_m` of straight down, when asked), starting from `seed_q`;
    /// restarts are drawn from `rng_seed`. `None` when no attempt gets there.
    #[must_use]
    pub fn inverse_kinematics(
        &self,
        goal: &ToolGoal,
        seed_q: &[f64],
        tolerance_m: f64,
        rng_seed: u64,
    ) -> Option<Vec<f64>> {
        let mut rng = ChaCha8Rng::seed_from_u64(rng_seed);
        let mut q = self.clamp(seed_q);
        for _ in 0..ATTEMPTS {
            for _ in 0..STEPS_PER_ATTEMPT {
                let (error, jacobian, axis) = self.goal_error(goal, &q);
                // The axis terms vanish pointing up as well as down; only down counts.
                let upright = !goal.pointing_down || axis[2] < 0.0;
                if upright && error.iter().all(|e| e.abs() <= tolerance_m / 3.0_f64.sqrt()) {
                    return Some(q);
                }
                let step = damped_least_squares(&jacobian, &error, DAMPING);
                q = self.clamp(&q.iter().zip(&step).map(|(a, d)| a + d).collect::<Vec<_>>());
            }
            q = self.joints.iter().map(|j| rng.gen_range(j.lower_rad..j.upper_rad)).collect();
        }
        None
    }

    /// `q` with every angle clamped into its joint's limits.
    #[must_use]
    pub fn clamp(&self, q: &[f64]) -> Vec<f64> {
        self.joints.iter().zip(q).map(|(j, a)| a.clamp(j.lower_rad, j.upper_rad)).collect()
    }

    /// The error still to close at `q`, its Jacobian (rows: error components; columns: joints),
    /// and the tool's z axis in the base frame.
    fn goal_error(&self, goal: &ToolGoal, q: &[f64]) -> (Vec<f64>, Vec<Vec<f64>>, [f64; 3]) {
        let frames = self.link_frames(q);
        let tool = self.tool_of(&frames);
        let p = tool.translation;
        let mut error: Vec<f64> = (0..3).map(|i| goal.position[i] - p[i]).collect();
        let mut jacobian: Vec<Vec<f64>> = (0..3).map(|_| Vec::with_capacity(q.len())).collect();
        let axis = tool.rotate([0.0, 0.0, 1.0]);
        if goal.pointing_down {
            error.extend([-axis[0], -axis[1]]);
            jacobian.extend([Vec::with_capacity(q.len()), Vec::with_capacity(q.len())]);
        }
        for frame in &frames {
            let z = frame.rotate([0.0, 0.0, 1.0]);
            let lever: [f64; 3] = std::array::from_fn(|i| p[i] - frame.translation[i]);
            let moves = cross(z, lever);
            for (row, value) in jacobian.iter_mut().zip(moves) {
                row.push(value);
            }
            if goal.pointing_down {
                let turns = cross(z, axis);
                jacobian[3].push(turns[0]);
                jacobian[4].push(turns[1]);
            }
        }
        (error, jacobian, axis)
    }
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}

/// Jᵀ (J Jᵀ + λ² I)⁻¹ e for an m × n Jacobian with m ≤ 5 (Gaussian elimination with pivoting on
/// the small m × m system, which λ > 0 keeps positive definite).
fn damped_least_squares(jacobian: &[Vec<f64>], error: &[f64], damping: f64) -> Vec<f64> {
    let m = jacobian.len();
    let n = jacobian.first().map_or(0, Vec::len);
    let mut system: Vec<Vec<f64>> = (0..m)
        .map(|i| {
            let mut row: Vec<f64> = (0..m).map(|j| (0..n).map(|k| jacobian[i][k] * jacobian[j][k]).sum()).collect();
            row[i] += damping * damping;
            row.push(error[i]);
            row
        })
        .collect();
    for column in 0..m {
        let pivot =
            (column..m).max_by(|a, b| system[*a][column].abs().total_cmp(&system[*b][column].abs())).unwrap_or(column);
        system.swap(column, pivot);
        let pivot_row = system[column].clone();
        for (row, values) in system.iter_mut().enumerate() {
            if row != column {
                let factor = values[column] / pivot_row[column];
                for (value, pivot) in values[column..].iter_mut().zip(&pivot_row[column..]) {
                    *value -= factor * pivot;
                }
            }
        }
    }
    let y: Vec<f64> = (0..m).map(|i| system[i][m] / system[i][i]).collect();
    (0..n).map(|k| (0..m).map(|i| jacobian[i][k] * y[i]).sum()).collect()
}

#[cfg(test)]
mod tests {
    use super::super::franka_panda;
    use super::*;

    /// Reference: forward kinematics (checked against MuJoCo). Goals are tool points of random
    /// configurations, so each is reachable; the solution must reach it within the tolerance and
    /// stay within the limits.
    #[test]
    fn inverse_kinematics_reaches_the_tool_points_of_random_configurations() {
        let arm = franka_panda();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let ready = [0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.785];
        for case in 0..50 {
            let target: Vec<f64> = arm.joints.iter().map(|j| rng.gen_range(j.lower_rad..j.upper_rad)).collect();
            let goal = ToolGoal { position: arm.tool_frame(&target).translation, pointing_down: false };
            let q = arm
                .inverse_kinematics(&goal, &ready, 1e-4, case)
                .unwrap_or_else(|| panic!("no solution for {target:?}"));
            let reached = arm.tool_frame(&q).translation;
            let gap = (0..3).map(|i| (reached[i] - goal.position[i]).powi(2)).sum::<f64>().sqrt();
            assert!(gap <= 1e-4, "case {case}: {gap} m off");
            assert_eq!(arm.clamp(&q), q, "case {case}: outside the limits");
        }
    }

    #[test]
    fn pointing_down_turns_the_tool_axis_to_minus_z() {
        let arm = franka_panda();
        let ready = [0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.785];
        for position in [[0.5, 0.0, 0.2], [0.4, 0.3, 0.1], [0.3, -0.4, 0.35]] {
            let goal = ToolGoal { position, pointing_down: true };
            let q = arm
                .inverse_kinematics(&goal, &ready, 1e-4, 0)
                .unwrap_or_else(|| panic!("no solution for {position:?}"));
            let axis = arm.tool_frame(&q).rotate([0.0, 0.0, 1.0]);
            assert!(axis[2] < -0.999_999, "{position:?}: tool axis {axis:?}");
        }
    }

    #[test]
    fn a_point_out_of_reach_has_no_solution() {
        let arm = franka_panda();
        let goal = ToolGoal { position: [1.5, 0.0, 0.3], pointing_down: false };
        assert_eq!(arm.inverse_kinematics(&goal, &[0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.785], 1e-4, 0), None);
    }
}
