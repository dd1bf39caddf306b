//! The arm as a task drives it: Rapier's arm commanded by joint trajectory points (angles and
//! speeds) within Franka's limits, and the checks of the executed motion that every arm task counts (`Violations`).

use super::arm::Arm;
use super::description::ArmDescription;
use super::interpolation::Interpolation;
use super::limits::{self, JointLimits};

/// What the executed motion of an episode broke so far (counted per physics step for
/// collisions, per control step for the joint limits).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Violations {
    /// Physics steps with the arm (or what it carries) overlapping an obstacle or the table.
    pub collision_steps: usize,
    /// Control steps with a joint beyond its position limits.
    pub position_steps: usize,
    /// Control steps with a joint faster than its speed limit.
    pub speed_steps: usize,
    /// Control steps whose speed change over the step exceeds a joint's acceleration limit.
    pub acceleration_steps: usize,
    /// The smallest clearance seen, metres.
    pub min_clearance_m: f64,
}

impl Violations {
    /// Steps counted under any of the four kinds.
    #[must_use]
    pub fn count(&self) -> usize {
        self.collision_steps + self.position_steps + self.speed_steps + self.acceleration_steps
    }
}

/// Rapier's Panda with its limits and the violations of an episode.
pub struct DrivenArm {
    description: ArmDescription,
    limits: JointLimits,
    arm: Arm,
    /// Seconds per control step.
    dt_secs: f64,
    last_speed: Vec<f64>,
    violations: Violations,
}

impl DrivenArm {
    /// The arm of `description` stepping every `dt_secs` (a multiple of the physics step) with
    /// its servos' target moving between points by `interpolation`, at rest at `q`.
    #[must_use]
    pub fn new(description: ArmDescription, dt_secs: f64, interpolation: Interpolation, q: &[f64]) -> Self {
        let limits = limits::franka_limits(&description);
        let arm = Arm::new(&description, dt_secs).with_interpolation(interpolation);
        let mut driven =
            Self { description, limits, arm, dt_secs, last_speed: Vec::new(), violations: Violations::default() };
        driven.reset(q, f64::INFINITY);
        driven
    }

    /// Puts the arm at rest at `q` and forgets the episode's violations; `clearance_m` is the
    /// clearance there.
    pub fn reset(&mut self, q: &[f64], clearance_m: f64) {
        self.arm.set_configuration(q);
        self.last_speed = vec![0.0; q.len()];
        self.violations = Violations { min_clearance_m: clearance_m, ..Violations::default() };
    }

    /// One control step to the trajectory point `action`: joint angle targets (rad, clamped to
    /// the joint range), then the joint speeds wanted there (rad/s, clamped to the speed limits),
    /// reached from the last point by the arm's interpolation ([`super::Arm::step`]). `clearance(arm, q)`
    /// gives the clearance (metres) of the world to this arm at joint angles `q` and is checked
    /// after every physics step. Whether the step broke anything.
    ///
    /// # Panics
    /// If `action` does not hold an angle and a speed per joint.
    pub fn step(&mut self, action: &[f32], clearance: impl Fn(&ArmDescription, &[f64]) -> f64) -> bool {
        let joints = self.description.joints.len();
        assert_eq!(action.len(), 2 * joints, "an arm's action is an angle and a speed per joint");
        let limits = &self.limits;
        let target: Vec<f64> =
            (0..joints).map(|j| f64::from(action[j]).clamp(limits.lower_rad[j], limits.upper_rad[j])).collect();
        let target_speed: Vec<f64> = (0..joints)
            .map(|j| f64::from(action[joints + j]).clamp(-limits.max_speed_rad_per_s[j], limits.max_speed_rad_per_s[j]))
            .collect();
        let dt = self.dt_secs;
        let before = self.violations.count();
        let mut violations = self.violations;
        let description = &self.description;
        self.arm.step(&target, &target_speed, |q| {
            let clearance = clearance(description, q);
            violations.min_clearance_m = violations.min_clearance_m.min(clearance);
            violations.collision_steps += usize::from(clearance < 0.0);
        });
        let (q, speed) = (self.arm.joint_positions(), self.arm.joint_velocities());
        let beyond =
            |values: &[f64], bound: &dyn Fn(usize, f64) -> bool| values.iter().enumerate().any(|(j, v)| bound(j, *v));
        violations.position_steps +=
            usize::from(beyond(&q, &|j, v| v < limits.lower_rad[j] || v > limits.upper_rad[j]));
        violations.speed_steps += usize::from(beyond(&speed, &|j, v| v.abs() > limits.max_speed_rad_per_s[j]));
        let acceleration: Vec<f64> = speed.iter().zip(&self.last_speed).map(|(v, last)| (v - last) / dt).collect();
        violations.acceleration_steps +=
            usize::from(beyond(&acceleration, &|j, a| a.abs() > limits.max_acceleration_rad_per_s2[j]));
        self.violations = violations;
        self.last_speed = speed;
        violations.count() > before
    }

    /// Joint angles now, rad.
    #[must_use]
    pub fn joint_positions(&self) -> Vec<f64> {
        self.arm.joint_positions()
    }

    /// Joint speeds at the end of the last step, rad/s.
    #[must_use]
    pub fn joint_speeds(&self) -> &[f64] {
        &self.last_speed
    }

    /// The arm's description.
    #[must_use]
    pub fn description(&self) -> &ArmDescription {
        &self.description
    }

    /// Franka's limits of this arm.
    #[must_use]
    pub fn limits(&self) -> &JointLimits {
        &self.limits
    }

    /// What the executed motion broke since the reset.
    #[must_use]
    pub fn violations(&self) -> Violations {
        self.violations
    }
}
