//! An arm's volume and what it must keep clear of, in the arm's base frame (metres): balls riding
//! on its links, the table top under it, and a request's obstacles (balls and axis-aligned
//! boxes). Their clearance is a libtorch function of the joint angles, batched over any leading
//! dimensions and differentiable: the projection linearises it by its Jacobian
//! (`constraints/clearance.rs`) and guidance descends it (`guidance/cost.rs`).
//!
//! The task covers each link's capsules by balls along their axes, at most [`BALL_SPACING_M`]
//! apart, so a capsule's clearance is at least its balls' minus half that spacing. Per obstacle,
//! the clearance of a configuration is a soft minimum over the balls of each ball's signed
//! surface distance `d_i`: `g = −(1/β) log Σ_i exp(−β d_i)` with β = [`SHARPNESS_PER_M`]. It is
//! never above the smallest `d_i` (a plan kept at `g ≥ margin` keeps every ball that far) and at
//! most `ln(n)/β` below it for the `n` balls near the minimum; unlike the hard minimum it is
//! smooth, so its linearisation does not flip between links from one round to the next.

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

use crate::error::{Error, Result};
use crate::kinematics::{ChainSpec, SerialChain};

/// Largest distance between neighbouring balls along a capsule's axis, metres.
pub const BALL_SPACING_M: f64 = 0.02;
/// β of the soft minimum over balls, per metre: 10 balls at one distance read 7.7 mm closer.
pub const SHARPNESS_PER_M: f64 = 300.0;
/// Under a square root, so that its gradient stays finite at 0 (metres²).
const ROOT_FLOOR_M2: f64 = 1e-18;

/// A ball fixed in one link of the chain.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkBall {
    /// The link it rides on: 0 for the first moving link.
    pub link: usize,
    /// Its centre in the link's frame, metres.
    pub center: [f64; 3],
    /// Radius, metres.
    pub radius: f64,
}

/// The plane the arm stands on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TableTop {
    /// Height of the top in the base frame, metres.
    pub z: f64,
    /// Balls of this link and the ones after it keep above the top (the links before it cannot
    /// reach it).
    pub first_link: usize,
    /// The payload's radius against the table, metres, if the payload keeps above it (a
    /// separate keep-out, `table (payload)`): its centres keep this plus the margin above the
    /// top. It may be below the payload's own radius, even negative, for a payload that is put
    /// down on the table (the pick-and-place cube rests with its centre 2 cm up).
    pub payload_radius: Option<f64>,
}

/// An arm as the planner sees it: its chain, where its joint angles are in an observation, its
/// volume as balls, and its table.
#[derive(Debug, Clone, PartialEq)]
pub struct ArmBody {
    /// The kinematic chain.
    pub chain: ChainSpec,
    /// Observation dims of the joint angles, in joint order (rad).
    pub angle_dims: Vec<usize>,
    /// The arm's volume.
    pub balls: Vec<LinkBall>,
    /// What the arm carries or may carry (a grasped object), as balls on its links: they keep
    /// clear of obstacles as the arm's do, but may rest on the table (where the object is picked
    /// up and put down).
    pub payload: Vec<LinkBall>,
    /// The table, if the arm stands on one.
    pub table: Option<TableTop>,
}

impl ArmBody {
    /// Why this body cannot be used for observations of `observation_dim` values, if it cannot.
    #[must_use]
    pub fn problem(&self, observation_dim: usize) -> Option<String> {
        let joints = self.chain.parent_from_joint.len();
        if self.angle_dims.len() != joints {
            return Some(format!("{} angle dims for a chain of {joints} joints", self.angle_dims.len()));
        }
        if let Some(d) = self.angle_dims.iter().find(|&&d| d >= observation_dim) {
            return Some(format!("angle dim {d} is outside the observation's {observation_dim} values"));
        }
        if self.balls.is_empty() {
            return Some("no balls: the arm has no volume to keep clear".into());
        }
        self.balls.iter().chain(&self.payload).enumerate().find_map(|(i, b)| {
            if b.link >= joints {
                Some(format!("ball {i} rides on link {}, the chain has links 0..{joints}", b.link))
            } else if !(b.radius.is_finite() && b.radius > 0.0 && b.center.iter().all(|v| v.is_finite())) {
                Some(format!("ball {i}: radius {} m at {:?} (positive and finite, please)", b.radius, b.center))
            } else {
                None
            }
        })
    }
}

/// A fixed shape near the arm, in its base frame: what a request says the arm must keep clear of.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "shape", rename_all = "snake_case", deny_unknown_fields)]
pub enum WorkspaceObstacle {
    /// A ball.
    Sphere {
        /// Centre, metres.
        center: [f64; 3],
        /// Radius, metres.
        radius: f64,
    },
    /// A box with faces along the base frame's axes.
    Box {
        /// Centre, metres.
        center: [f64; 3],
        /// Half the extent along x, y and z, metres.
        half_extents: [f64; 3],
    },
}

impl WorkspaceObstacle {
    /// Refuses a centre that is not finite or a size that is not a positive number, naming the
    /// field (`field`: where the obstacle is, e.g. `request.obstacles[1]`).
    pub fn validate(&self, field: &str) -> Result<()> {
        let (center, sizes, what) = match self {
            Self::Sphere { center, radius } => (center, vec![*radius], "radius"),
            Self::Box { center, half_extents } => (center, half_extents.to_vec(), "half_extents"),
        };
        let refuse = |name: &str, message: String| Err(Error::Request { field: format!("{field}.{name}"), message });
        if !center.iter().all(|v| v.is_finite()) {
            return refuse("center", format!("{center:?} is not finite; give the centre in metres"));
        }
        if !sizes.iter().all(|v| v.is_finite() && *v > 0.0) {
            return refuse(what, format!("{sizes:?}; sizes are positive metres"));
        }
        Ok(())
    }

    /// Signed distance from the shape's surface to each of `points` (negative inside), metres.
    ///
    /// # Shapes
    /// `points`: `[..., 3]` → `[...]`.
    fn signed_distance(&self, points: &Tensor) -> Tensor {
        let like = |v: &[f64]| Tensor::from_slice(v).to_kind(points.kind()).to_device(points.device());
        match self {
            Self::Sphere { center, radius } => {
                root(&(points - like(center)).square().sum_dim_intlist(-1, false, None)) - *radius
            }
            Self::Box { center, half_extents } => {
                let q = (points - like(center)).abs() - like(half_extents);
                let outside = root(&q.clamp_min(0.0).square().sum_dim_intlist(-1, false, None));
                let inside = q.amax(-1, false).clamp_max(0.0);
                outside + inside
            }
        }
    }
}

/// `√(x + floor)`: the square root with a finite gradient at 0.
fn root(x: &Tensor) -> Tensor {
    (x + ROOT_FLOOR_M2).sqrt()
}

/// The soft minimum over the last dimension (see the module docs).
fn soft_minimum(distances: &Tensor) -> Tensor {
    -(distances * -SHARPNESS_PER_M).logsumexp(-1, false) / SHARPNESS_PER_M
}

/// An arm among one request's obstacles.
#[derive(Debug, Clone, PartialEq)]
pub struct Workspace {
    /// The arm.
    pub body: ArmBody,
    /// The request's obstacles.
    pub obstacles: Vec<WorkspaceObstacle>,
}

/// Clearances and their gradients at some configurations, from [`Workspace::linearise`].
#[derive(Debug, Clone, PartialEq)]
pub struct Linearisation {
    /// Per configuration, per keep-out ([`Workspace::names`] order), the clearance, metres.
    pub values: Vec<Vec<f64>>,
    /// Per configuration, per keep-out, ∂clearance/∂q per joint, metres per radian.
    pub gradients: Vec<Vec<Vec<f64>>>,
}

impl Workspace {
    /// What the arm keeps clear of, in the order of the clearance's last dimension: the
    /// obstacles (`obstacle <i>`), then the table (`table`), then the table under the payload
    /// (`table (payload)`) where the payload keeps above it.
    #[must_use]
    pub fn names(&self) -> Vec<String> {
        let obstacles = (0..self.obstacles.len()).map(|i| format!("obstacle {i}"));
        let table = self.body.table.map(|_| "table".to_owned());
        let under_payload = self.payload_table_radius().map(|_| "table (payload)".to_owned());
        obstacles.chain(table).chain(under_payload).collect()
    }

    /// The payload's radius against the table, if it has a payload that keeps above a table.
    fn payload_table_radius(&self) -> Option<f64> {
        self.body.table.and_then(|t| t.payload_radius).filter(|_| !self.body.payload.is_empty())
    }

    /// The arm's clearance to each keep-out (metres; negative: overlapping).
    ///
    /// # Shapes
    /// `q`: `[..., J]` joint angles (rad) → `[..., K]`, K = `names().len()` (≥ 1).
    ///
    /// # Panics
    /// If there is nothing to keep clear of (no obstacle and no table).
    pub fn clearance(&self, q: &Tensor) -> Tensor {
        let (kind, device) = (q.kind(), q.device());
        // The arm's balls first, then the payload's (which the table ignores).
        let balls: Vec<&LinkBall> = self.body.balls.iter().chain(&self.body.payload).collect();
        let chain = SerialChain::new(&self.body.chain, kind, device);
        let flat = |values: Vec<f64>| Tensor::from_slice(&values).to_kind(kind).to_device(device);
        let centers = flat(balls.iter().flat_map(|b| b.center).collect()).view([-1, 3]);
        let radii = flat(balls.iter().map(|b| b.radius).collect());
        let links: Vec<i64> = balls.iter().map(|b| b.link as i64).collect();
        // [..., P, 3]: every ball's centre in the base frame.
        let points = chain.points(q, &centers, &links);
        let mut columns: Vec<Tensor> =
            self.obstacles.iter().map(|o| soft_minimum(&(o.signed_distance(&points) - &radii))).collect();
        if let Some(table) = self.body.table {
            let near: Vec<i64> =
                (0..self.body.balls.len() as i64).filter(|&i| balls[i as usize].link >= table.first_link).collect();
            let near = Tensor::from_slice(&near).to_device(device);
            let heights = points.index_select(-2, &near).select(-1, 2) - table.z - radii.index_select(0, &near);
            columns.push(soft_minimum(&heights));
        }
        if let (Some(table), Some(radius)) = (self.body.table, self.payload_table_radius()) {
            let carried: Vec<i64> = (self.body.balls.len() as i64..balls.len() as i64).collect();
            let carried = Tensor::from_slice(&carried).to_device(device);
            columns.push(soft_minimum(&(points.index_select(-2, &carried).select(-1, 2) - table.z - radius)));
        }
        assert!(!columns.is_empty(), "a workspace keeps clear of an obstacle or a table");
        Tensor::stack(&columns, -1)
    }

    /// The clearance to each keep-out at each of `configurations` (joint angles, rad) and its
    /// gradient, in float64 on the CPU, by one backward pass over a copy of the configurations
    /// per keep-out (each clearance depends on its own configuration only).
    ///
    /// # Panics
    /// If a configuration does not hold one angle per joint.
    #[must_use]
    pub fn linearise(&self, configurations: &[Vec<f64>]) -> Linearisation {
        let (rows, joints) = (configurations.len(), self.body.angle_dims.len());
        let keep_outs = self.names().len();
        let flat: Vec<f64> = configurations.iter().flatten().copied().collect();
        tch::with_grad(|| {
            let q = Tensor::from_slice(&flat)
                .view([1, rows as i64, joints as i64])
                .repeat([keep_outs as i64, 1, 1])
                .set_requires_grad(true);
            // [K, R, K]: copy k's clearances; only keep-out k's column of copy k is used.
            let all = self.clearance(&q);
            let own = Tensor::stack(&(0..keep_outs as i64).map(|k| all.get(k).select(-1, k)).collect::<Vec<_>>(), 0);
            own.sum(Kind::Double).backward();
            let values = host_values(&own.transpose(0, 1));
            let gradients = host_values(&q.grad().transpose(0, 1));
            Linearisation {
                values: values.chunks(keep_outs).map(<[f64]>::to_vec).collect(),
                gradients: gradients
                    .chunks(keep_outs * joints)
                    .map(|row| row.chunks(joints).map(<[f64]>::to_vec).collect())
                    .collect(),
            }
        })
    }

    /// The clearance to each keep-out at each of `configurations` (joint angles, rad), without
    /// gradients: per configuration, per keep-out, metres.
    ///
    /// # Panics
    /// If a configuration does not hold one angle per joint.
    #[must_use]
    pub fn clearances(&self, configurations: &[Vec<f64>]) -> Vec<Vec<f64>> {
        let joints = self.body.angle_dims.len() as i64;
        let flat: Vec<f64> = configurations.iter().flatten().copied().collect();
        let values = tch::no_grad(|| host_values(&self.clearance(&Tensor::from_slice(&flat).view([-1, joints]))));
        values.chunks(self.names().len()).map(<[f64]>::to_vec).collect()
    }
}

/// A float64 CPU tensor's values, row-major.
fn host_values(tensor: &Tensor) -> Vec<f64> {
    Vec::<f64>::try_from(tensor.contiguous().view([-1])).expect("a float64 CPU tensor converts to f64 values")
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDENTITY: [[f64; 4]; 4] =
        [[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]];

    /// One joint turning about z at the origin, carrying `balls` (radius 0.1 m) at `(x, 0, 0)`,
    /// over a table at z = −0.2 m.
    fn turntable(xs: &[f64]) -> ArmBody {
        ArmBody {
            chain: ChainSpec { parent_from_joint: vec![IDENTITY], last_from_tool: IDENTITY },
            angle_dims: vec![0],
            balls: xs.iter().map(|&x| LinkBall { link: 0, center: [x, 0.0, 0.0], radius: 0.1 }).collect(),
            payload: Vec::new(),
            table: Some(TableTop { z: -0.2, first_link: 0, payload_radius: None }),
        }
    }

    /// Reference: plane geometry. A ball of radius 0.1 at (0.5 cos θ, 0.5 sin θ, 0) is
    /// `|c − o| − 0.3` from a ball of radius 0.2 at o = (0, 1, 0), with the derivative
    /// `(c − o)·c′ / |c − o|`; 0.3 m from the box [0.9, 1.1]³ at θ = 0 (its face at x = 0.9);
    /// 0.1 m above the table. One ball: the soft minimum is the ball's own distance.
    #[test]
    fn one_balls_clearance_and_gradient_are_the_analytic_ones() {
        let workspace = Workspace {
            body: turntable(&[0.5]),
            obstacles: vec![
                WorkspaceObstacle::Sphere { center: [0.0, 1.0, 0.0], radius: 0.2 },
                WorkspaceObstacle::Box { center: [1.0, 0.0, 0.0], half_extents: [0.1, 0.1, 0.1] },
            ],
        };
        assert_eq!(workspace.names(), ["obstacle 0", "obstacle 1", "table"]);
        let angles = [0.0, 0.7, -2.0];
        let linear = workspace.linearise(&angles.map(|a| vec![a]));
        for (i, &theta) in angles.iter().enumerate() {
            let (s, c) = theta.sin_cos();
            let (dx, dy) = (0.5 * c, 0.5 * s - 1.0);
            let distance = dx.hypot(dy);
            let slope = (dx * -0.5 * s + dy * 0.5 * c) / distance;
            assert!((linear.values[i][0] - (distance - 0.3)).abs() < 1e-9, "θ = {theta}: {:?}", linear.values[i]);
            assert!((linear.gradients[i][0][0] - slope).abs() < 1e-9, "θ = {theta}: {:?}", linear.gradients[i]);
            assert!((linear.values[i][2] - 0.1).abs() < 1e-9 && linear.gradients[i][2][0].abs() < 1e-9);
        }
        assert!((linear.values[0][1] - 0.3).abs() < 1e-9, "{:?}", linear.values[0]);
        assert_eq!(workspace.clearances(&[vec![0.7]])[0], linear.values[1]);
    }

    /// Reference: plane geometry. A payload ball (radius 0.05 m at (0.5, 0, −0.3), below the
    /// table at z = −0.2) keeps clear of an obstacle ball at (0.5, 0, −0.6) of radius 0.05 (0.2 m
    /// apart) but is not held off the table: the table's clearance stays the arm ball's 0.1 m.
    /// With a payload radius against the table, the payload's own table keep-out is its centre's
    /// height less that radius.
    #[test]
    fn a_payload_keeps_clear_of_obstacles_but_may_rest_on_the_table() {
        let mut body = turntable(&[0.5]);
        body.payload = vec![LinkBall { link: 0, center: [0.5, 0.0, -0.3], radius: 0.05 }];
        let obstacle = WorkspaceObstacle::Sphere { center: [0.5, 0.0, -0.6], radius: 0.05 };
        let mut workspace = Workspace { body, obstacles: vec![obstacle] };
        let values = &workspace.clearances(&[vec![0.0]])[0];
        assert!((values[0] - 0.2).abs() < 1e-9 && (values[1] - 0.1).abs() < 1e-9, "{values:?}");
        // Its centre at z = −0.3 is 0.1 m under the top: with a radius of −0.01 m, −0.09 m.
        workspace.body.table = workspace.body.table.map(|t| TableTop { payload_radius: Some(-0.01), ..t });
        assert_eq!(workspace.names(), ["obstacle 0", "table", "table (payload)"]);
        let values = &workspace.clearances(&[vec![0.0]])[0];
        assert!((values[1] - 0.1).abs() < 1e-9 && (values[2] - (-0.09)).abs() < 1e-9, "{values:?}");
    }

    /// Reference: the bounds of log-sum-exp, `min − ln(n)/β ≤ g ≤ min`, for balls at
    /// 0.2, 0.5 and 0.8 m along the link, 0.6–0.9 m from a ball obstacle.
    #[test]
    fn the_soft_minimum_is_below_the_nearest_ball_by_at_most_ln_n_over_beta() {
        let obstacle = WorkspaceObstacle::Sphere { center: [0.0, -0.7, 0.0], radius: 0.05 };
        let workspace = Workspace { body: turntable(&[0.2, 0.5, 0.8]), obstacles: vec![obstacle] };
        for theta in [-1.5_f64, -0.3, 0.0, 1.0] {
            let g = workspace.clearances(&[vec![theta]])[0][0];
            let nearest = [0.2, 0.5, 0.8]
                .iter()
                .map(|x| (x * theta.cos()).hypot(x * theta.sin() + 0.7) - 0.15)
                .fold(f64::INFINITY, f64::min);
            assert!(
                g <= nearest + 1e-12 && g >= nearest - 3.0_f64.ln() / SHARPNESS_PER_M,
                "θ = {theta}: {g}, {nearest}"
            );
        }
    }

    #[test]
    fn bodies_and_obstacles_that_cannot_be_used_are_refused_by_name() {
        let mut body = turntable(&[0.5]);
        assert_eq!(body.problem(2), None);
        assert!(body.problem(0).is_some_and(|p| p.contains("angle dim 0")));
        body.balls[0].radius = -0.1;
        assert!(body.problem(2).is_some_and(|p| p.contains("ball 0")));
        body.balls[0] = LinkBall { link: 3, center: [0.0; 3], radius: 0.1 };
        assert!(body.problem(2).is_some_and(|p| p.contains("link 3")));
        let error = WorkspaceObstacle::Sphere { center: [0.0, f64::NAN, 0.0], radius: 0.1 }
            .validate("request.obstacles[2]")
            .expect_err("not finite")
            .to_string();
        assert!(error.contains("request.obstacles[2].center"), "{error}");
        let error = WorkspaceObstacle::Sphere { center: [0.0; 3], radius: -0.1 }
            .validate("request.obstacles[0]")
            .expect_err("negative")
            .to_string();
        assert!(error.contains("request.obstacles[0].radius"), "{error}");
    }
}
