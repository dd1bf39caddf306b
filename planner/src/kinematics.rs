//! Differentiable forward kinematics of a serial arm of revolute joints, in libtorch, batched over
//! any leading dimensions (`[B, H]` for the configurations of a batch of plans).
//!
//! Link i's frame is its parent's, times the joint's fixed origin, times a rotation about z by
//! the joint's angle: `base_from_link_i = base_from_link_{i−1} · parent_from_joint_i · Rz(q_i)`.
//! The chain is plain numbers (4 × 4 homogeneous transforms) that the task fills from its
//! simulator's description, so the planner knows no particular robot. Every operation is a
//! tensor operation, so gradients flow from positions back to the joint angles (guidance, and
//! the Jacobians that linearise clearance constraints for the projection).

use tch::{Device, Kind, Tensor};

/// A serial chain as numbers: each joint's origin and the tool point, as row-major 4 × 4
/// homogeneous transforms (metres).
#[derive(Debug, Clone, PartialEq)]
pub struct ChainSpec {
    /// Each joint's frame in its parent link's frame at angle 0, base outwards.
    pub parent_from_joint: Vec<[[f64; 4]; 4]>,
    /// The tool point's frame in the last link's frame.
    pub last_from_tool: [[f64; 4]; 4],
}

/// A [`ChainSpec`] on a device, ready to evaluate.
#[derive(Debug)]
pub struct SerialChain {
    /// `[J, 4, 4]`: each joint's origin.
    origins: Tensor,
    /// `[4, 4]`: the tool point in the last link.
    tool: Tensor,
}

impl SerialChain {
    /// The chain of `spec` as `kind` tensors (`Float` for planning, `Double` for checks) on
    /// `device`.
    ///
    /// # Panics
    /// If `spec` has no joint.
    #[must_use]
    pub fn new(spec: &ChainSpec, kind: Kind, device: Device) -> Self {
        assert!(!spec.parent_from_joint.is_empty(), "a chain has at least one joint");
        let flat = |m: &[[f64; 4]; 4]| m.iter().flatten().copied().collect::<Vec<f64>>();
        let origins: Vec<f64> = spec.parent_from_joint.iter().flat_map(flat).collect();
        let joints = spec.parent_from_joint.len() as i64;
        Self {
            origins: Tensor::from_slice(&origins).view([joints, 4, 4]).to_kind(kind).to_device(device),
            tool: Tensor::from_slice(&flat(&spec.last_from_tool)).view([4, 4]).to_kind(kind).to_device(device),
        }
    }

    /// Number of joints J.
    #[must_use]
    pub fn joints(&self) -> i64 {
        self.origins.size()[0]
    }

    /// Each link's frame in the base frame.
    ///
    /// # Shapes
    /// `q`: `[..., J]` (rad) → `[..., J, 4, 4]`.
    pub fn link_frames(&self, q: &Tensor) -> Tensor {
        let mut frames = Vec::with_capacity(self.joints() as usize);
        let mut base_from_link: Option<Tensor> = None;
        for j in 0..self.joints() {
            let local = self.origins.get(j).matmul(&rotation_z(&q.select(-1, j)));
            let frame = match &base_from_link {
                Some(parent) => parent.matmul(&local),
                None => local,
            };
            frames.push(frame.shallow_clone());
            base_from_link = Some(frame);
        }
        Tensor::stack(&frames, -3)
    }

    /// The tool point's frame in the base frame.
    ///
    /// # Shapes
    /// `q`: `[..., J]` (rad) → `[..., 4, 4]`.
    pub fn tool_frame(&self, q: &Tensor) -> Tensor {
        self.link_frames(q).select(-3, self.joints() - 1).matmul(&self.tool)
    }

    /// Points fixed in the links (capsule ends, sphere centres), in the base frame: point p
    /// rides on link `links[p]` (0 for the first moving link) at `local[p]` in that link's frame.
    ///
    /// # Shapes
    /// `q`: `[..., J]`, `local`: `[P, 3]` (metres), `links`: P indices → `[..., P, 3]`.
    pub fn points(&self, q: &Tensor, local: &Tensor, links: &[i64]) -> Tensor {
        let frames = self.link_frames(q);
        let index = Tensor::from_slice(links).to_device(frames.device());
        // [..., P, 4, 4]: each point's link frame.
        let per_point = frames.index_select(-3, &index);
        let rotation = per_point.narrow(-2, 0, 3).narrow(-1, 0, 3);
        let translation = per_point.narrow(-2, 0, 3).select(-1, 3);
        rotation.matmul(&local.to_kind(frames.kind()).unsqueeze(-1)).squeeze_dim(-1) + translation
    }
}

/// Rotations about z by `angle`: `[...]` → `[..., 4, 4]`.
fn rotation_z(angle: &Tensor) -> Tensor {
    let (c, s) = (angle.cos(), angle.sin());
    let (zero, one) = (angle.zeros_like(), angle.ones_like());
    let entries =
        [&c, &(-&s), &zero, &zero, &s, &c, &zero, &zero, &zero, &zero, &one, &zero, &zero, &zero, &zero, &one];
    let mut shape = angle.size();
    shape.extend([4, 4]);
    Tensor::stack(&entries, -1).view(shape.as_slice())
}

#[cfg(test)]
mod tests {
    use std::f64::consts::{FRAC_PI_2, FRAC_PI_4};

    use super::*;

    /// Craig's modified DH transform RotX(α)·TransX(a)·TransZ(d) (the RotZ(θ) of the joint is
    /// the chain's own).
    fn modified_dh(a: f64, d: f64, alpha: f64) -> [[f64; 4]; 4] {
        let (s, c) = alpha.sin_cos();
        [[1.0, 0.0, 0.0, a], [0.0, c, -s, -s * d], [0.0, s, c, c * d], [0.0, 0.0, 0.0, 1.0]]
    }

    /// The Panda from Franka's published modified DH parameters (a, d, α per joint; the flange
    /// 0.107 m along the last z; the tool point turned −π/4 and 0.1034 m further), a description
    /// independent of the URDF the simulator reads.
    fn panda_from_dh() -> ChainSpec {
        let dh = [
            (0.0, 0.333, 0.0),
            (0.0, 0.0, -FRAC_PI_2),
            (0.0, 0.316, FRAC_PI_2),
            (0.0825, 0.0, FRAC_PI_2),
            (-0.0825, 0.384, -FRAC_PI_2),
            (0.0, 0.0, FRAC_PI_2),
            (0.088, 0.0, FRAC_PI_2),
        ];
        let (s, c) = (-FRAC_PI_4).sin_cos();
        ChainSpec {
            parent_from_joint: dh.iter().map(|&(a, d, alpha)| modified_dh(a, d, alpha)).collect(),
            last_from_tool: [[c, -s, 0.0, 0.0], [s, c, 0.0, 0.0], [0.0, 0.0, 1.0, 0.2104], [0.0, 0.0, 0.0, 1.0]],
        }
    }

    /// Reference: the tool point of published fixtures (Pinocchio, PyBullet and MuJoCo on
    /// franka_ros's URDF agree to 3e-8 m), at the zero, ready and a test configuration, to 1e-6 m;
    /// in float32 batched `[B, H] = [1, 3]`, to 1e-5 m.
    #[test]
    fn the_dh_panda_puts_the_tool_where_published_fixtures_do() {
        let q = [
            [0.0; 7],
            [0.0, -FRAC_PI_4, 0.0, -3.0 * FRAC_PI_4, 0.0, FRAC_PI_2, FRAC_PI_4],
            [0.1, -0.5, 0.3, -2.0, 0.2, 1.8, -0.4],
        ];
        let expected = [[0.088, 0.0, 0.8226], [0.306_891, 0.0, 0.486_882], [0.393_817, 0.226_844, 0.571_837]];
        let flat: Vec<f64> = q.iter().flatten().copied().collect();
        for (kind, tolerance) in [(Kind::Double, 1e-6), (Kind::Float, 1e-5)] {
            let chain = SerialChain::new(&panda_from_dh(), kind, Device::Cpu);
            let angles = Tensor::from_slice(&flat).view([1, 3, 7]).to_kind(kind);
            let tool = chain.tool_frame(&angles);
            assert_eq!(tool.size(), [1, 3, 4, 4]);
            let positions: Vec<f64> =
                Vec::try_from(tool.narrow(-2, 0, 3).select(-1, 3).to_kind(Kind::Double).flatten(0, -1))
                    .expect("floats");
            for (got, want) in positions.chunks(3).zip(expected) {
                for (g, w) in got.iter().zip(want) {
                    assert!((g - w).abs() < tolerance, "{kind:?}: tool at {got:?}, published {want:?}");
                }
            }
        }
    }

    /// Reference: central differences of the same function in float64 (step 1e-6 rad).
    #[test]
    fn gradients_of_link_points_match_central_differences() {
        let chain = SerialChain::new(&panda_from_dh(), Kind::Double, Device::Cpu);
        let local =
            Tensor::from_slice(&[0.0, 0.0, 0.1, 0.05, -0.02, 0.0, 0.0, 0.08, -0.06]).view([3, 3]).to_kind(Kind::Double);
        let links = [6, 3, 1];
        let q0 = [0.1, -0.5, 0.3, -2.0, 0.2, 1.8, -0.4];
        let weights =
            Tensor::from_slice(&[0.3, -1.0, 0.7, 0.2, 0.5, -0.4, 1.1, 0.9, -0.6]).view([3, 3]).to_kind(Kind::Double);
        let objective = |q: &Tensor| (chain.points(q, &local, &links) * &weights).sum(Kind::Double);
        let q = Tensor::from_slice(&q0).to_kind(Kind::Double).set_requires_grad(true);
        objective(&q).backward();
        let gradient: Vec<f64> = Vec::try_from(q.grad()).expect("floats");
        for j in 0..7 {
            let shifted = |delta: f64| {
                let mut moved = q0;
                moved[j] += delta;
                objective(&Tensor::from_slice(&moved).to_kind(Kind::Double)).double_value(&[])
            };
            let numeric = (shifted(1e-6) - shifted(-1e-6)) / 2e-6;
            assert!((gradient[j] - numeric).abs() < 1e-7, "joint {j}: autograd {}, differences {numeric}", gradient[j]);
        }
    }

    #[test]
    fn a_point_on_the_first_link_turns_with_the_first_joint_only() {
        // Joint 1 turns about the base's z axis through the origin; a point 0.1 m along the first
        // link's x sits at (0.1 cos q1, 0.1 sin q1, 0.333) whatever the other joints do.
        let chain = SerialChain::new(&panda_from_dh(), Kind::Double, Device::Cpu);
        let q = Tensor::from_slice(&[0.7, 1.0, -1.0, -2.0, 0.5, 1.0, 0.2]).to_kind(Kind::Double);
        let local = Tensor::from_slice(&[0.1, 0.0, 0.0]).view([1, 3]).to_kind(Kind::Double);
        let point: Vec<f64> = Vec::try_from(chain.points(&q, &local, &[0]).flatten(0, -1)).expect("floats");
        let expected = [0.1 * 0.7_f64.cos(), 0.1 * 0.7_f64.sin(), 0.333];
        assert!(point.iter().zip(expected).all(|(a, b)| (a - b).abs() < 1e-12), "{point:?}");
    }
}
