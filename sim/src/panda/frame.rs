//! Rigid transforms in f64 for the arm's kinematics, independent of Rapier's f32 types so that
//! the two can be checked against each other.

/// A rigid transform `p ↦ R p + t`: the pose of a child frame in its parent (metres).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    /// Rotation matrix, row-major: the child's axes as columns in the parent.
    pub rotation: [[f64; 3]; 3],
    /// The child's origin in the parent, metres.
    pub translation: [f64; 3],
}

impl Frame {
    /// The identity transform.
    pub const IDENTITY: Self =
        Self { rotation: [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], translation: [0.0; 3] };

    /// A URDF `<origin xyz rpy>`: translation `xyz`, rotation Rz(yaw)·Ry(pitch)·Rx(roll) about
    /// the parent's fixed axes (radians).
    #[must_use]
    pub fn from_xyz_rpy(xyz: [f64; 3], rpy: [f64; 3]) -> Self {
        let [roll, pitch, yaw] = rpy;
        let (sr, cr) = roll.sin_cos();
        let (sp, cp) = pitch.sin_cos();
        let (sy, cy) = yaw.sin_cos();
        let rotation = [
            [cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
            [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
            [-sp, cp * sr, cp * cr],
        ];
        Self { rotation, translation: xyz }
    }

    /// A rotation by `angle` radians about z.
    #[must_use]
    pub fn rot_z(angle: f64) -> Self {
        let (s, c) = angle.sin_cos();
        Self { rotation: [[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]], translation: [0.0; 3] }
    }

    /// The composition `self · child`: `child` expressed in `self`'s parent.
    #[must_use]
    pub fn then(&self, child: &Self) -> Self {
        let mut rotation = [[0.0; 3]; 3];
        for (i, row) in rotation.iter_mut().enumerate() {
            for (j, value) in row.iter_mut().enumerate() {
                *value = (0..3).map(|k| self.rotation[i][k] * child.rotation[k][j]).sum();
            }
        }
        Self { rotation, translation: self.apply(child.translation) }
    }

    /// A point of the child frame in the parent, metres.
    #[must_use]
    pub fn apply(&self, point: [f64; 3]) -> [f64; 3] {
        let (r, t) = (&self.rotation, &self.translation);
        std::array::from_fn(|i| r[i][0] * point[0] + r[i][1] * point[1] + r[i][2] * point[2] + t[i])
    }

    /// A direction of the child frame in the parent.
    #[must_use]
    pub fn rotate(&self, direction: [f64; 3]) -> [f64; 3] {
        let r = &self.rotation;
        std::array::from_fn(|i| r[i][0] * direction[0] + r[i][1] * direction[1] + r[i][2] * direction[2])
    }

    /// The rotation as a unit quaternion `[w, x, y, z]` with `w ≥ 0` (Shepperd's method).
    #[must_use]
    pub fn quaternion(&self) -> [f64; 4] {
        let r = &self.rotation;
        let trace = r[0][0] + r[1][1] + r[2][2];
        let q = if trace > 0.0 {
            let s = (trace + 1.0).sqrt() * 2.0;
            [0.25 * s, (r[2][1] - r[1][2]) / s, (r[0][2] - r[2][0]) / s, (r[1][0] - r[0][1]) / s]
        } else if r[0][0] > r[1][1] && r[0][0] > r[2][2] {
            let s = (1.0 + r[0][0] - r[1][1] - r[2][2]).sqrt() * 2.0;
            [(r[2][1] - r[1][2]) / s, 0.25 * s, (r[0][1] + r[1][0]) / s, (r[0][2] + r[2][0]) / s]
        } else if r[1][1] > r[2][2] {
            let s = (1.0 + r[1][1] - r[0][0] - r[2][2]).sqrt() * 2.0;
            [(r[0][2] - r[2][0]) / s, (r[0][1] + r[1][0]) / s, 0.25 * s, (r[1][2] + r[2][1]) / s]
        } else {
            let s = (1.0 + r[2][2] - r[0][0] - r[1][1]).sqrt() * 2.0;
            [(r[1][0] - r[0][1]) / s, (r[0][2] + r[2][0]) / s, (r[1][2] + r[2][1]) / s, 0.25 * s]
        };
        if q[0] < 0.0 { q.map(|v| -v) } else { q }
    }
}

#[cfg(test)]
mod tests {
    use std::f64::consts::FRAC_PI_2;

    use super::*;

    fn close(a: &[f64], b: &[f64], tolerance: f64) -> bool {
        a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tolerance)
    }

    #[test]
    fn rpy_is_yaw_after_pitch_after_roll_about_fixed_axes() {
        // Reference: URDF's convention, R = Rz(y)·Ry(p)·Rx(r). Roll π/2 turns y into z; a
        // following yaw π/2 (about the fixed z) leaves that z alone and turns x into y.
        let frame = Frame::from_xyz_rpy([0.0; 3], [FRAC_PI_2, 0.0, FRAC_PI_2]);
        assert!(close(&frame.rotate([0.0, 1.0, 0.0]), &[0.0, 0.0, 1.0], 1e-15));
        assert!(close(&frame.rotate([1.0, 0.0, 0.0]), &[0.0, 1.0, 0.0], 1e-15));
    }

    #[test]
    fn composition_applies_the_child_first() {
        let parent = Frame::from_xyz_rpy([1.0, 0.0, 0.0], [0.0, 0.0, FRAC_PI_2]);
        let child = Frame::from_xyz_rpy([0.0, 2.0, 0.0], [0.0; 3]);
        let point = [0.5, 0.0, 0.0];
        assert!(close(&parent.then(&child).apply(point), &parent.apply(child.apply(point)), 1e-15));
        assert!(close(&parent.then(&child).translation, &[-1.0, 0.0, 0.0], 1e-15));
    }

    #[test]
    fn the_quaternion_rotates_like_the_matrix() {
        // Reference: v' = q v q*, written out for a unit quaternion.
        for rpy in [[0.3, -1.2, 2.9], [3.1, 0.1, -0.4], [0.0, 0.0, 3.0], [1.5, 1.5, 1.5]] {
            let frame = Frame::from_xyz_rpy([0.0; 3], rpy);
            let [w, x, y, z] = frame.quaternion();
            assert!(w >= 0.0 && (w * w + x * x + y * y + z * z - 1.0).abs() < 1e-12);
            let v = [0.2, -0.7, 1.3];
            let u = [x, y, z];
            let cross = |a: [f64; 3], b: [f64; 3]| {
                [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
            };
            let t = cross(u, v).map(|c| 2.0 * c);
            let ut = cross(u, t);
            let rotated: Vec<f64> = (0..3).map(|i| v[i] + w * t[i] + ut[i]).collect();
            assert!(close(&rotated, &frame.rotate(v), 1e-12), "{rpy:?}");
        }
    }
}
