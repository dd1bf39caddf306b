//! Differentiable costs on a trajectory in the data's units, declared in the task config and
//! weighted into the guidance objective. Each is a libtorch expression, so autograd gives its
//! gradient (tested against finite differences).

use serde::{Deserialize, Serialize};
use tch::Tensor;

use crate::constraints::barrier;
use crate::error::{Error, Result};
use crate::workspace::Workspace;

/// One cost term. `dims` index the observations, except where a term says otherwise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum CostConfig {
    /// Mean over the horizon of |p_h − target|² (units²): a plan that gets there sooner costs
    /// less. Without `target`, the request's goal (its `dims`).
    GoalDistance {
        /// Observation dimensions of p.
        dims: Vec<usize>,
        /// The target, one value per dim; absent: the request's goal.
        #[serde(default)]
        target: Option<Vec<f64>>,
        /// Weight in the objective.
        weight: f64,
    },
    /// Σ_h max(0, clearance − b(p_h))² with the obstacle's barrier
    /// b(p) = Σ_i |(p_i − c_i)/r_i|^power − 1 (0 on its boundary, > 0 outside), the
    /// constraints' own superellipse barrier.
    ObstacleClearance {
        /// Observation dimensions of p.
        dims: Vec<usize>,
        /// Centre c, data units.
        center: Vec<f64>,
        /// Half-widths r (> 0), data units.
        radii: Vec<f64>,
        /// Even exponent ≥ 2 (2: ellipse, 4: SafeDiffuser's rounded square).
        #[serde(default = "default_power")]
        power: u32,
        /// Barrier value below which the cost starts (0: only inside).
        #[serde(default)]
        clearance: f64,
        /// Weight in the objective.
        weight: f64,
    },
    /// Mean over the horizon of |p_{h+1} − 2p_h + p_{h−1}|² / dt⁴ (finite-difference
    /// acceleration squared, (units/s²)²).
    Smoothness {
        /// Observation dimensions of p.
        dims: Vec<usize>,
        /// Weight in the objective.
        weight: f64,
    },
    /// Σ_h Σ_k max(0, margin − g_k(q_h))² (m²): an arm's clearance `g_k` to each keep-out (the
    /// request's obstacles, the table) at each row's joint angles, the soft minimum over the
    /// arm's balls of `crate::workspace`. Pushes every part of the arm `margin_m` clear; an arm's
    /// planner only.
    ArmClearance {
        /// Clearance below which the cost starts, metres.
        margin_m: f64,
        /// Weight in the objective.
        weight: f64,
    },
    /// Σ max(0, lower + margin − x)² + max(0, x − upper + margin)² over every row: keeps
    /// joints `margin` inside their limits.
    JointLimitMargin {
        /// Dimensions of x: observations, or actions with `actions = true`.
        dims: Vec<usize>,
        /// Whether `dims` index the actions.
        #[serde(default)]
        actions: bool,
        /// Lower limits, one per dim.
        lower: Vec<f64>,
        /// Upper limits, one per dim.
        upper: Vec<f64>,
        /// Distance from the limits where the cost starts, data units.
        margin: f64,
        /// Weight in the objective.
        weight: f64,
    },
}

fn default_power() -> u32 {
    2
}

/// What a cost needs to know beyond the trajectory.
#[derive(Debug, Clone, Copy)]
pub struct CostContext<'a> {
    /// Action dimension A (observations start at column A).
    pub action_dim: usize,
    /// Observation dimension O.
    pub observation_dim: usize,
    /// Seconds between rows.
    pub dt: f64,
    /// The request's goal observation, if it has one.
    pub goal: Option<&'a [f32]>,
    /// The arm and the request's obstacles, if the robot is an arm.
    pub workspace: Option<&'a Workspace>,
}

impl CostConfig {
    /// Checks dims, lengths and numbers against `context`; `index` names the term in errors.
    pub fn validate(&self, index: usize, context: &CostContext<'_>) -> Result<()> {
        let field = |name: &str| format!("guidance.costs[{index}].{name}");
        let invalid = |name: &str, message: String| Err(Error::Config { field: field(name), message });
        let weight = self.weight();
        if !(weight.is_finite() && weight >= 0.0) {
            return invalid("weight", format!("{weight} must be finite and ≥ 0"));
        }
        let (dims, width, part) = match self {
            Self::ArmClearance { .. } if context.workspace.is_none() => {
                return invalid(
                    "kind",
                    "arm_clearance needs an arm, and this robot is not one; remove the term".into(),
                );
            }
            Self::ArmClearance { margin_m, .. } if !margin_m.is_finite() => {
                return invalid("margin_m", format!("{margin_m} must be a finite number of metres"));
            }
            Self::ArmClearance { .. } => return Ok(()),
            Self::JointLimitMargin { dims, actions: true, .. } => (dims, context.action_dim, "actions"),
            Self::GoalDistance { dims, .. }
            | Self::ObstacleClearance { dims, .. }
            | Self::Smoothness { dims, .. }
            | Self::JointLimitMargin { dims, .. } => (dims, context.observation_dim, "observations"),
        };
        if dims.is_empty() {
            return invalid("dims", "is empty; name at least one dimension".into());
        }
        if let Some(&d) = dims.iter().find(|&&d| d >= width) {
            return invalid("dims", format!("dimension {d} does not exist: the {part} have {width}"));
        }
        let lengths: Vec<(&str, &Vec<f64>)> = match self {
            Self::GoalDistance { target: Some(target), .. } => vec![("target", target)],
            Self::GoalDistance { target: None, .. } => {
                if context.goal.is_none() {
                    // The task's guidance is fine; this request left out the goal it needs.
                    let message = "is absent and the request has no goal; give a target".into();
                    return Err(Error::Request { field: field("target"), message });
                }
                vec![]
            }
            Self::ObstacleClearance { center, radii, .. } => vec![("center", center), ("radii", radii)],
            Self::Smoothness { .. } | Self::ArmClearance { .. } => vec![],
            Self::JointLimitMargin { lower, upper, .. } => vec![("lower", lower), ("upper", upper)],
        };
        for (name, values) in lengths {
            if values.len() != dims.len() {
                return invalid(name, format!("has {} values for {} dims", values.len(), dims.len()));
            }
            if values.iter().any(|v| !v.is_finite()) {
                return invalid(name, "must be finite".into());
            }
        }
        match self {
            Self::ObstacleClearance { radii, power, clearance, .. } => {
                if radii.iter().any(|&r| r <= 0.0) {
                    return invalid("radii", "must all be > 0".into());
                }
                if *power < 2 || !power.is_multiple_of(2) {
                    return invalid("power", format!("{power} must be an even integer ≥ 2 (2: ellipse, 4: square)"));
                }
                if !clearance.is_finite() {
                    return invalid("clearance", "must be finite".into());
                }
            }
            Self::JointLimitMargin { lower, upper, margin, .. } => {
                if let Some(i) = (0..lower.len()).find(|&i| lower[i] + 2.0 * margin.max(0.0) > upper[i]) {
                    return invalid(
                        "upper",
                        format!("dim {}: {} − margins is below lower {}", dims[i], upper[i], lower[i]),
                    );
                }
                if !margin.is_finite() {
                    return invalid("margin", "must be finite".into());
                }
            }
            Self::GoalDistance { .. } | Self::Smoothness { .. } | Self::ArmClearance { .. } => {}
        }
        Ok(())
    }

    /// The term's weight.
    #[must_use]
    pub fn weight(&self) -> f64 {
        match self {
            Self::GoalDistance { weight, .. }
            | Self::ObstacleClearance { weight, .. }
            | Self::Smoothness { weight, .. }
            | Self::JointLimitMargin { weight, .. }
            | Self::ArmClearance { weight, .. } => *weight,
        }
    }

    /// The weighted cost of each trajectory.
    ///
    /// # Shapes
    /// `trajectory`: `[R, H, A + O]` in the data's units → `[R]`, same kind and device.
    pub fn evaluate(&self, trajectory: &Tensor, context: &CostContext<'_>) -> Tensor {
        let constant =
            |values: &[f64]| Tensor::from_slice(values).to_kind(trajectory.kind()).to_device(trajectory.device());
        let columns = |dims: &[usize], first: usize| {
            let index: Vec<i64> = dims.iter().map(|&d| (first + d) as i64).collect();
            trajectory.index_select(2, &Tensor::from_slice(&index).to_device(trajectory.device()))
        };
        let sum_rows = |per_row: Tensor| per_row.sum_dim_intlist(&[1i64][..], false, trajectory.kind());
        let cost = match self {
            Self::GoalDistance { dims, target, .. } => {
                let target: Vec<f64> = target.clone().unwrap_or_else(|| {
                    let goal = context.goal.unwrap_or_default();
                    dims.iter().map(|&d| f64::from(goal[d])).collect()
                });
                (columns(dims, context.action_dim) - constant(&target))
                    .square()
                    .sum_dim_intlist(&[2i64][..], false, trajectory.kind())
                    .mean_dim(&[1i64][..], false, trajectory.kind())
            }
            Self::ObstacleClearance { dims, center, radii, power, clearance, .. } => {
                let p = columns(dims, context.action_dim);
                let barrier = barrier::superellipse(&p, &constant(center), &constant(radii), i64::from(*power));
                sum_rows((-barrier + *clearance).relu().square())
            }
            Self::Smoothness { dims, .. } => {
                let p = columns(dims, context.action_dim);
                let horizon = p.size()[1];
                if horizon < 3 {
                    return Tensor::zeros([p.size()[0]], (trajectory.kind(), trajectory.device()));
                }
                let acceleration = (p.narrow(1, 2, horizon - 2) - p.narrow(1, 1, horizon - 2) * 2.0
                    + p.narrow(1, 0, horizon - 2))
                    / (context.dt * context.dt);
                acceleration.square().sum_dim_intlist(&[2i64][..], false, trajectory.kind()).mean_dim(
                    &[1i64][..],
                    false,
                    trajectory.kind(),
                )
            }
            Self::ArmClearance { margin_m, .. } => {
                let Some(workspace) = context.workspace else {
                    return Tensor::zeros([trajectory.size()[0]], (trajectory.kind(), trajectory.device()));
                };
                let angles = columns(&workspace.body.angle_dims, context.action_dim);
                let shortfall = (-workspace.clearance(&angles) + *margin_m).relu().square();
                sum_rows(shortfall.sum_dim_intlist(&[2i64][..], false, trajectory.kind()))
            }
            Self::JointLimitMargin { dims, actions, lower, upper, margin, .. } => {
                let x = columns(dims, if *actions { 0 } else { context.action_dim });
                let below = (-&x + constant(lower) + *margin).relu().square();
                let above = (x - constant(upper) + *margin).relu().square();
                sum_rows((below + above).sum_dim_intlist(&[2i64][..], false, trajectory.kind()))
            }
        };
        cost * self.weight()
    }
}

/// Sums `costs` on each trajectory.
///
/// # Shapes
/// `trajectory`: `[R, H, A + O]` in the data's units → `[R]`.
pub fn total_cost(costs: &[CostConfig], trajectory: &Tensor, context: &CostContext<'_>) -> Tensor {
    let zero = Tensor::zeros([trajectory.size()[0]], (trajectory.kind(), trajectory.device()));
    costs.iter().fold(zero, |sum, cost| sum + cost.evaluate(trajectory, context))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn goal_distance_is_the_mean_squared_distance() {
        // Reference: the definition, by hand for a 2-row trajectory.
        let x = Tensor::from_slice(&[0.0f64, 1.0, 2.0, 3.0, 4.0, 5.0]).view([1, 2, 3]);
        let context = CostContext { action_dim: 1, observation_dim: 2, dt: 0.1, goal: None, workspace: None };
        let cost = CostConfig::GoalDistance { dims: vec![0, 1], target: Some(vec![1.0, 1.0]), weight: 2.0 };
        // rows (1, 2) and (4, 5): distances² 1 and 25, mean 13, weight 2.
        let value = cost.evaluate(&x, &context).double_value(&[0]);
        assert!((value - 26.0).abs() < 1e-12, "{value}");
        assert_eq!(Kind::Double, cost.evaluate(&x.to_device(Device::Cpu), &context).kind());
    }

    /// Reference: plane geometry and central differences. One joint turning about z carries a
    /// ball of radius 0.1 m at 0.5 m; a ball obstacle of radius 0.1 m sits at (0, 0.6, 0), so the
    /// clearance at angle θ is |(0.5 cos θ, 0.5 sin θ) − (0, 0.6)| − 0.2 (no table: one ball,
    /// one keep-out, the soft minimum is the distance itself).
    #[test]
    fn arm_clearance_is_the_squared_shortfall_of_the_clearance() {
        use crate::kinematics::ChainSpec;
        use crate::workspace::{ArmBody, LinkBall, WorkspaceObstacle};
        let identity = [[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]];
        let workspace = Workspace {
            body: ArmBody {
                chain: ChainSpec { parent_from_joint: vec![identity], last_from_tool: identity },
                angle_dims: vec![0],
                balls: vec![LinkBall { link: 0, center: [0.5, 0.0, 0.0], radius: 0.1 }],
                payload: Vec::new(),
                table: None,
            },
            obstacles: vec![WorkspaceObstacle::Sphere { center: [0.0, 0.6, 0.0], radius: 0.1 }],
        };
        let context =
            CostContext { action_dim: 1, observation_dim: 1, dt: 0.1, goal: None, workspace: Some(&workspace) };
        let cost = CostConfig::ArmClearance { margin_m: 0.3, weight: 2.0 };
        assert!(cost.validate(0, &context).is_ok());
        let clearance = |theta: f64| (0.5 * theta.cos()).hypot(0.5 * theta.sin() - 0.6) - 0.2;
        let angles = [1.2, 0.1];
        let expected: f64 = 2.0 * angles.iter().map(|&a| (0.3 - clearance(a)).max(0.0).powi(2)).sum::<f64>();
        let x = Tensor::from_slice(&[0.0, angles[0], 0.0, angles[1]]).view([1, 2, 2]).set_requires_grad(true);
        let value = cost.evaluate(&x, &context);
        assert!((value.double_value(&[0]) - expected).abs() < 1e-9, "{value:?} vs {expected}");
        value.sum(Kind::Double).backward();
        let gradient: Vec<f64> = Vec::try_from(x.grad().view([-1])).expect("floats");
        for (i, &a) in angles.iter().enumerate() {
            let shortfall = |t: f64| 2.0 * (0.3 - clearance(t)).max(0.0).powi(2);
            let numeric = (shortfall(a + 1e-6) - shortfall(a - 1e-6)) / 2e-6;
            assert!((gradient[2 * i + 1] - numeric).abs() < 1e-6, "row {i}: {} vs {numeric}", gradient[2 * i + 1]);
            assert!(gradient[2 * i].abs() < 1e-15, "the action column does not move the arm");
        }
        let no_arm = CostContext { workspace: None, ..context };
        let error = cost.validate(3, &no_arm).expect_err("not an arm").to_string();
        assert!(error.contains("guidance.costs[3].kind"), "{error}");
    }
}
