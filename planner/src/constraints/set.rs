//! The constraint set: a [`ConstraintConfig`] validated against a [`TrajectoryLayout`] and
//! prepared (bounds merged per dim, obstacles and rate limits built, the QP's columns chosen),
//! and each constraint's residual on a trajectory. Projecting onto it is `project.rs`.

use super::clearance::ArmClearance;
use super::config::{BoxConfig, ConstraintConfig, ObstacleMode};
use super::layout::TrajectoryLayout;
use super::obstacle::Obstacle;
use super::pointwise::{Bounds, HalfSpace, box_violation};
use super::rates::RateLimit;
use super::report::Residual;
use crate::error::{Error, Result};
use crate::workspace::Workspace;

/// SafeDiffuser's ReS slack weight w.
pub(super) const DEFAULT_RELAXED_WEIGHT: f64 = 100.0;
/// SafeDiffuser's ReS: the last 10 steps are hard.
const DEFAULT_HARD_STEPS: usize = 10;

/// Constraints validated and prepared for one [`TrajectoryLayout`].
#[derive(Debug, Clone)]
pub struct Constraints {
    pub(super) layout: TrajectoryLayout,
    /// Obstacles keep `b ≥ margin` (units of b).
    pub(super) margin: f64,
    /// ReS weight w and hard steps; `None` in robust mode.
    pub(super) relaxed: Option<(f64, usize)>,
    pub(super) state_boxes: Vec<BoxConfig>,
    pub(super) action_boxes: Vec<BoxConfig>,
    pub(super) state_bounds: Bounds,
    pub(super) action_bounds: Bounds,
    pub(super) half_spaces: Vec<HalfSpace>,
    pub(super) velocity: Vec<RateLimit>,
    pub(super) acceleration: Vec<RateLimit>,
    pub(super) obstacles: Vec<Obstacle>,
    /// Observation dims any constraint acts on (the QP's columns per row), ascending.
    pub(super) qp_dims: Vec<usize>,
    /// Dims of the widest obstacle (scratch size).
    pub(super) widest_obstacle: usize,
    /// Config's `clearance_margin_m`, metres.
    clearance_margin_m: Option<f64>,
    /// The arm kept clear of one request's workspace ([`Constraints::with_workspace`]).
    pub(super) clearance: Option<ArmClearance>,
}

impl Constraints {
    /// Validates `config` against `layout` ([`ConstraintConfig::validate`]) and prepares it.
    pub fn new(config: &ConstraintConfig, layout: TrajectoryLayout) -> Result<Self> {
        config.validate(&layout)?;
        let relaxed = match config.obstacle_mode {
            ObstacleMode::Robust => None,
            ObstacleMode::Relaxed => Some((
                config.relaxed_weight.unwrap_or(DEFAULT_RELAXED_WEIGHT),
                config.hard_steps.unwrap_or(DEFAULT_HARD_STEPS),
            )),
        };
        let state_bounds = Bounds::new(&config.state_box, layout.observation_dim);
        let half_spaces: Vec<HalfSpace> = config.half_space.iter().map(HalfSpace::new).collect();
        let velocity: Vec<RateLimit> = config.velocity_limit.iter().map(|c| RateLimit::new(c, 1)).collect();
        let acceleration: Vec<RateLimit> = config.acceleration_limit.iter().map(|c| RateLimit::new(c, 2)).collect();
        let obstacles: Vec<Obstacle> = config.obstacle.iter().enumerate().map(|(i, c)| Obstacle::new(c, i)).collect();
        let mut qp_dims: Vec<usize> = state_bounds
            .dims
            .iter()
            .chain(half_spaces.iter().flat_map(|h| &h.dims))
            .chain(velocity.iter().chain(&acceleration).flat_map(|r| r.dims.iter().chain(&r.speed_dims)))
            .chain(obstacles.iter().flat_map(|o| &o.dims))
            .copied()
            .collect();
        qp_dims.sort_unstable();
        qp_dims.dedup();
        Ok(Self {
            layout,
            margin: config.margin,
            relaxed,
            state_boxes: config.state_box.clone(),
            action_boxes: config.action_box.clone(),
            action_bounds: Bounds::new(&config.action_box, layout.action_dim),
            state_bounds,
            half_spaces,
            velocity,
            acceleration,
            widest_obstacle: obstacles.iter().map(|o| o.dims.len()).max().unwrap_or(0),
            obstacles,
            qp_dims,
            clearance_margin_m: config.clearance_margin_m,
            clearance: None,
        })
    }

    /// Whether the config keeps an arm clear of a workspace (`clearance_margin_m`).
    #[must_use]
    pub fn keeps_clearance(&self) -> bool {
        self.clearance_margin_m.is_some()
    }

    /// These constraints for one request: the arm of `workspace` also keeps
    /// `clearance_margin_m` from its obstacles and table on every row. Refused where the config
    /// has no clearance margin, or the arm's angles are not in the observations.
    pub fn with_workspace(&self, workspace: Workspace) -> Result<Self> {
        let Some(margin_m) = self.clearance_margin_m else {
            return Err(Error::Config {
                field: "constraints.clearance_margin_m".into(),
                message: "absent, so plans would ignore the arm's obstacles; set it (metres)".into(),
            });
        };
        if let Some(problem) = workspace.body.problem(self.layout.observation_dim) {
            return Err(Error::Config { field: "arm body".into(), message: problem });
        }
        let mut with = self.clone();
        with.qp_dims.extend(&workspace.body.angle_dims);
        with.qp_dims.sort_unstable();
        with.qp_dims.dedup();
        with.clearance = Some(ArmClearance { workspace, margin_m });
        Ok(with)
    }

    /// Whether there is no constraint at all (projection is then the identity).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.count() == 0
    }

    /// The layout the constraints were prepared for.
    #[must_use]
    pub fn layout(&self) -> TrajectoryLayout {
        self.layout
    }

    fn count(&self) -> usize {
        self.state_boxes.len()
            + self.action_boxes.len()
            + self.half_spaces.len()
            + self.velocity.len()
            + self.acceleration.len()
            + self.obstacles.len()
            + self.clearance.as_ref().map_or(0, |c| c.workspace.names().len())
    }

    /// Each constraint's residual on `trajectory` (H·(A + O) values, user units), in config
    /// order: state boxes, action boxes, half-spaces, velocity limits, acceleration limits,
    /// obstacles, then the arm's clearances. The trajectory is not changed.
    ///
    /// # Panics
    /// If `trajectory` does not hold `layout.values()` values.
    #[must_use]
    pub fn residuals(&self, trajectory: &[f64]) -> Vec<Residual> {
        self.plan_residuals(trajectory, &[])
    }

    /// [`Constraints::residuals`] of a plan whose observations at `pinned` rows were given
    /// (start, goal, a real-time robot's frozen prefix): a rate window made of pinned rows only
    /// is left out. The plan chose none of its values, and the robot is already executing them.
    ///
    /// # Panics
    /// If `trajectory` does not hold `layout.values()` values.
    #[must_use]
    pub fn plan_residuals(&self, trajectory: &[f64], pinned: &[usize]) -> Vec<Residual> {
        assert_eq!(trajectory.len(), self.layout.values(), "trajectory length does not match the constraints' layout");
        let layout = &self.layout;
        let over_rows = |f: &dyn Fn(&[f64], &[f64]) -> f64| {
            (0..layout.horizon).fold(0.0_f64, |worst, h| {
                let (actions, obs) = layout.split_row(trajectory, h);
                worst.max(f(actions, obs))
            })
        };
        let plain = |name: String, max_violation: f64| Residual { name, max_violation, min_barrier: None };
        let mut out = Vec::with_capacity(self.count());
        for (i, b) in self.state_boxes.iter().enumerate() {
            out.push(plain(format!("state_box[{i}]"), over_rows(&|_, obs| box_violation(b, obs))));
        }
        for (i, b) in self.action_boxes.iter().enumerate() {
            out.push(plain(format!("action_box[{i}]"), over_rows(&|actions, _| box_violation(b, actions))));
        }
        for (i, hs) in self.half_spaces.iter().enumerate() {
            out.push(plain(format!("half_space[{i}]"), over_rows(&|_, obs| hs.signed_distance(obs))));
        }
        for (kind, limits) in [("velocity_limit", &self.velocity), ("acceleration_limit", &self.acceleration)] {
            for (i, limit) in limits.iter().enumerate() {
                out.push(plain(format!("{kind}[{i}]"), limit.plan_violation(trajectory, layout, pinned)));
            }
        }
        for ob in &self.obstacles {
            let min_barrier = (0..layout.horizon)
                .map(|h| ob.barrier(layout.split_row(trajectory, h).1))
                .fold(f64::INFINITY, f64::min);
            let max_violation = (self.margin - min_barrier).max(0.0);
            out.push(Residual { name: ob.name.clone(), max_violation, min_barrier: Some(min_barrier) });
        }
        if let Some(clearance) = &self.clearance {
            out.extend(clearance.residuals(layout, trajectory));
        }
        out
    }
}
