//! Forward kinematics in f64: link frames, the tool point and the collision capsules (also as
//! scene shapes, for drawing) at given joint angles. Each moving link's frame is its parent's, times the joint's origin, times a
//! rotation about z by the joint's angle (URDF's chain, `base_from_link_i =
//! base_from_link_{i−1} · parent_from_joint_i · Rz(q_i)`).

use super::description::{ArmDescription, Capsule};
use super::frame::Frame;
use crate::env::{Geometry, SceneShape};

impl ArmDescription {
    /// Each moving link's frame in the base link's frame at joint angles `q` (rad, one per
    /// joint): index `i` is the link joint `i` moves.
    ///
    /// # Panics
    /// If `q` does not hold one angle per joint.
    #[must_use]
    pub fn link_frames(&self, q: &[f64]) -> Vec<Frame> {
        assert_eq!(q.len(), self.joints.len(), "one angle per joint");
        let mut base_from_link = Frame::IDENTITY;
        self.joints
            .iter()
            .zip(q)
            .map(|(joint, &angle)| {
                base_from_link = base_from_link.then(&joint.parent_from_joint).then(&Frame::rot_z(angle));
                base_from_link
            })
            .collect()
    }

    /// The tool point's frame in the base link's frame at joint angles `q` (rad).
    #[must_use]
    pub fn tool_frame(&self, q: &[f64]) -> Frame {
        self.tool_of(&self.link_frames(q))
    }

    /// The tool point's frame in the base link's frame, given the link frames
    /// ([`ArmDescription::link_frames`]) of a configuration.
    #[must_use]
    pub fn tool_of(&self, link_frames: &[Frame]) -> Frame {
        link_frames.last().map_or(Frame::IDENTITY, |last| last.then(&self.last_from_tool))
    }

    /// Every collision capsule in the base link's frame at joint angles `q` (rad), with the
    /// index of its link in [`ArmDescription::links`] (0 is the base).
    #[must_use]
    pub fn capsules_in_base(&self, q: &[f64]) -> Vec<(usize, Capsule)> {
        let frames: Vec<Frame> = std::iter::once(Frame::IDENTITY).chain(self.link_frames(q)).collect();
        self.links
            .iter()
            .zip(&frames)
            .enumerate()
            .flat_map(|(index, (link, frame))| {
                link.capsules
                    .iter()
                    .map(move |c| (index, Capsule { a: frame.apply(c.a), b: frame.apply(c.b), radius: c.radius }))
            })
            .collect()
    }

    /// The arm's capsules at joint angles `q` (rad) as scene shapes labelled `arm`, base frame.
    #[must_use]
    pub fn arm_shapes(&self, q: &[f64]) -> Vec<SceneShape> {
        let point = |p: [f64; 3]| p.map(|v| v as f32);
        (self.capsules_in_base(q).into_iter())
            .map(|(_, capsule)| SceneShape {
                label: "arm",
                center: point(std::array::from_fn(|i| 0.5 * (capsule.a[i] + capsule.b[i]))),
                geometry: Geometry::Capsule {
                    half_axis: point(std::array::from_fn(|i| 0.5 * (capsule.b[i] - capsule.a[i]))),
                    radius: capsule.radius as f32,
                },
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::franka_panda;

    /// Reference: the flange and tool point of manipulation fixtures computed by Pinocchio,
    /// PyBullet and MuJoCo from franka_ros's URDF (they agree to 3e-8 m), and Franka's modified
    /// DH parameters. Values to 1e-6 m as published.
    #[test]
    fn the_panda_tool_point_matches_published_fixtures() {
        let arm = franka_panda();
        let quarter = std::f64::consts::FRAC_PI_4;
        let cases: [([f64; 7], [f64; 3], [f64; 4]); 3] = [
            ([0.0; 7], [0.088, 0.0, 0.8226], [0.0, 0.923_880, 0.382_683, 0.0]),
            (
                [0.0, -quarter, 0.0, -3.0 * quarter, 0.0, 2.0 * quarter, quarter],
                [0.306_891, 0.0, 0.486_882],
                [0.0, 1.0, 0.0, 0.0],
            ),
            (
                [0.1, -0.5, 0.3, -2.0, 0.2, 1.8, -0.4],
                [0.393_817, 0.226_844, 0.571_837],
                [0.028_877, 0.706_196, 0.693_497, 0.139_694],
            ),
        ];
        for (q, position, quaternion) in cases {
            let tool = arm.tool_frame(&q);
            for (got, want) in tool.translation.iter().zip(position) {
                assert!((got - want).abs() < 1e-6, "q {q:?}: tool at {:?}, published {position:?}", tool.translation);
            }
            // q and −q are the same rotation; the fixtures' w ≥ 0 except where w = 0.
            let got = tool.quaternion();
            let sign = if got.iter().zip(quaternion).map(|(a, b)| a * b).sum::<f64>() < 0.0 { -1.0 } else { 1.0 };
            for (g, w) in got.iter().zip(quaternion) {
                assert!((sign * g - w).abs() < 1e-6, "q {q:?}: tool rotation {got:?}, published {quaternion:?}");
            }
        }
    }
}
