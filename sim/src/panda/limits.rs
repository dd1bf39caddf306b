//! Franka's official joint limits for the Panda. A URDF carries position, speed and torque
//! limits but no acceleration or jerk limits, so those come from Franka's table
//! (frankaemika/docs, `control-parameters-joint-panda.csv`: the limits a motion must respect or
//! the robot aborts it).

use super::description::ArmDescription;

/// Per-joint limits an executed trajectory must respect.
#[derive(Debug, Clone, PartialEq)]
pub struct JointLimits {
    /// Lowest angle per joint, rad.
    pub lower_rad: Vec<f64>,
    /// Highest angle per joint, rad.
    pub upper_rad: Vec<f64>,
    /// Speed per joint, rad/s.
    pub max_speed_rad_per_s: Vec<f64>,
    /// Acceleration per joint, rad/s².
    pub max_acceleration_rad_per_s2: Vec<f64>,
    /// Torque per joint, N·m.
    pub max_torque_nm: Vec<f64>,
}

/// Franka's acceleration limits, joints 1–7, rad/s².
const FRANKA_MAX_ACCELERATION_RAD_PER_S2: [f64; 7] = [15.0, 7.5, 10.0, 12.5, 15.0, 20.0, 20.0];

/// The limits of `arm` (a Panda description): positions, speeds and torques from its URDF,
/// accelerations from Franka's table.
///
/// # Panics
/// If `arm` does not have the Panda's seven joints.
#[must_use]
pub fn franka_limits(arm: &ArmDescription) -> JointLimits {
    assert_eq!(arm.joints.len(), FRANKA_MAX_ACCELERATION_RAD_PER_S2.len(), "a Panda has seven joints");
    let each = |f: fn(&super::ArmJoint) -> f64| arm.joints.iter().map(f).collect();
    JointLimits {
        lower_rad: each(|j| j.lower_rad),
        upper_rad: each(|j| j.upper_rad),
        max_speed_rad_per_s: each(|j| j.max_speed_rad_per_s),
        max_acceleration_rad_per_s2: FRANKA_MAX_ACCELERATION_RAD_PER_S2.to_vec(),
        max_torque_nm: each(|j| j.max_torque_nm),
    }
}

#[cfg(test)]
mod tests {
    use super::super::franka_panda;
    use super::*;

    /// Reference: Franka's official table (frankaemika/docs, control-parameters-joint-panda.csv):
    /// q_min, q_max (rad), q̇_max (rad/s), τ_max (N·m) of joints 1–7. The committed URDF must
    /// state the same.
    #[test]
    fn the_urdf_states_frankas_official_limits() {
        let limits = franka_limits(&franka_panda());
        let lower = [-2.8973, -1.7628, -2.8973, -3.0718, -2.8973, -0.0175, -2.8973];
        let upper = [2.8973, 1.7628, 2.8973, -0.0698, 2.8973, 3.7525, 2.8973];
        let speed = [2.1750, 2.1750, 2.1750, 2.1750, 2.6100, 2.6100, 2.6100];
        let torque = [87.0, 87.0, 87.0, 87.0, 12.0, 12.0, 12.0];
        assert_eq!(limits.lower_rad, lower);
        assert_eq!(limits.upper_rad, upper);
        assert_eq!(limits.max_speed_rad_per_s, speed);
        assert_eq!(limits.max_torque_nm, torque);
    }
}
