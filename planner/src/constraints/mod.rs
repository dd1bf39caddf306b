//! Hard constraints on one trajectory, projected on the host in the data's (user's) units:
//! boxes on observations and actions, half-spaces, velocity and acceleration limits, and
//! obstacles as barriers (SafeDiffuser, algorithms.md §3).
//!
//! A trajectory is `H` rows of `A + O` values, row-major, actions first ([`Layout`]).
//! [`Constraints::project`] moves it as little as it can onto the constraints:
//! 1. a per-row closed form: boxes are clamped, half-spaces projected along their normal, and
//!    obstacles left by SafeDiffuser's RoS step with the point itself as reference (landing on
//!    `b = margin`, see `obstacle.rs`); ReS's relaxed pull instead at its soft steps;
//! 2. if that leaves every constraint within [`FEASIBLE_TOLERANCE`] and no row needed two convex
//!    corrections, done ([`Method::ClosedForm`]): a single correction onto a superset of the
//!    feasible set that lands inside it is the projection onto the set;
//! 3. otherwise a joint QP (clarabel): `min |y − x|²` over the constrained entries subject to
//!    every box, half-space, velocity and acceleration limit and every nearby obstacle linearised
//!    at the current iterate, re-linearised for up to 10 rounds ([`Method::Qp`], see `qp.rs`).
//!
//! In relaxed mode (ReS) the soft steps pull rows out of obstacles by the slack-relaxed step
//! first; obstacles then take no further part in that projection (neither the check nor the QP).
//!
//! Rows listed as pinned (inpainted start and goal) keep their observations bit for bit; a
//! feasible trajectory is returned unchanged, bit for bit.

mod config;
mod layout;
mod obstacle;
mod pointwise;
mod qp;
mod rates;
mod report;

pub use config::{
    BoxConfig, ConstraintConfig, HalfSpaceConfig, ObstacleConfig, ObstacleMode, ObstacleShape, RateLimitConfig,
};
pub use layout::Layout;
pub use report::{Method, ProjectionReport, Residual};

use crate::error::{Error, Result};
use obstacle::{Obstacle, Scratch};
use pointwise::{Bounds, HalfSpace, box_violation};
use rates::RateLimit;
use report::max_violation;

/// A violation at or below this counts as satisfied: nothing moves (constraint units).
pub const FEASIBLE_TOLERANCE: f64 = 1e-9;
/// A final projection that leaves a violation above this is an error (constraint units).
pub const FINAL_TOLERANCE: f64 = 1e-6;
/// SafeDiffuser's ReS slack weight w.
const DEFAULT_RELAXED_WEIGHT: f64 = 100.0;
/// SafeDiffuser's ReS: the last 10 steps are hard.
const DEFAULT_HARD_STEPS: usize = 10;

/// Where in sampling a projection happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// A sampler step's estimate: best effort, infeasibility is reported, never an error.
    Intermediate {
        /// The sampler step, `0..steps`, counting from the first denoising step.
        k: usize,
        /// The sampler's number of steps.
        steps: usize,
    },
    /// The plan handed out: every constraint within [`FINAL_TOLERANCE`], or an error.
    Final,
}

/// Constraints validated and prepared for one [`Layout`].
#[derive(Debug, Clone)]
pub struct Constraints {
    layout: Layout,
    /// Obstacles keep `b ≥ margin` (units of b).
    margin: f64,
    /// ReS weight w and hard steps; `None` in robust mode.
    relaxed: Option<(f64, usize)>,
    state_boxes: Vec<BoxConfig>,
    action_boxes: Vec<BoxConfig>,
    state_bounds: Bounds,
    action_bounds: Bounds,
    half_spaces: Vec<HalfSpace>,
    velocity: Vec<RateLimit>,
    acceleration: Vec<RateLimit>,
    obstacles: Vec<Obstacle>,
    /// Observation dims any constraint acts on (the QP's columns per row), ascending.
    qp_dims: Vec<usize>,
    /// Dims of the widest obstacle (scratch size).
    widest_obstacle: usize,
}

impl Constraints {
    /// Validates `config` against `layout` ([`ConstraintConfig::validate`]) and prepares it.
    pub fn new(config: &ConstraintConfig, layout: Layout) -> Result<Self> {
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
            .chain(velocity.iter().chain(&acceleration).flat_map(|r| &r.dims))
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
        })
    }

    /// Whether there is no constraint at all (projection is then the identity).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.count() == 0
    }

    /// The layout the constraints were prepared for.
    #[must_use]
    pub fn layout(&self) -> Layout {
        self.layout
    }

    fn count(&self) -> usize {
        self.state_boxes.len()
            + self.action_boxes.len()
            + self.half_spaces.len()
            + self.velocity.len()
            + self.acceleration.len()
            + self.obstacles.len()
    }

    /// Each constraint's residual on `trajectory` (H·(A + O) values, user units), in config
    /// order: state boxes, action boxes, half-spaces, velocity limits, acceleration limits,
    /// obstacles. The trajectory is not changed.
    ///
    /// # Panics
    /// If `trajectory` does not hold `layout.values()` values.
    #[must_use]
    pub fn residuals(&self, trajectory: &[f64]) -> Vec<Residual> {
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
                let worst = limit
                    .windows(layout.horizon)
                    .fold(0.0_f64, |worst, h| worst.max(limit.window_violation(trajectory, layout, h)));
                out.push(plain(format!("{kind}[{i}]"), worst));
            }
        }
        for ob in &self.obstacles {
            let min_barrier = (0..layout.horizon)
                .map(|h| ob.barrier(layout.split_row(trajectory, h).1))
                .fold(f64::INFINITY, f64::min);
            let max_violation = (self.margin - min_barrier).max(0.0);
            out.push(Residual { name: ob.name.clone(), max_violation, min_barrier: Some(min_barrier) });
        }
        out
    }

    /// Projects `trajectory` (H·(A + O) values, user units) in place onto the constraints.
    ///
    /// `pinned_rows`: rows whose observations must not move (the inpainted start and goal);
    /// their actions may. A trajectory within [`FEASIBLE_TOLERANCE`] of every constraint is
    /// left unchanged, bit for bit. At [`Stage::Final`] the result is within
    /// [`FINAL_TOLERANCE`] of every constraint or the call fails with [`Error::Infeasible`]
    /// (the buffer then holds the best effort; a pinned observation that itself violates a
    /// constraint fails before anything moves). At [`Stage::Intermediate`] the result is the
    /// best effort and only malformed input is an error.
    pub fn project(&self, trajectory: &mut [f64], pinned_rows: &[usize], stage: Stage) -> Result<ProjectionReport> {
        self.check_input(trajectory, pinned_rows)?;
        let before = self.residuals(trajectory);
        if max_violation(&before) <= FEASIBLE_TOLERANCE {
            return Ok(ProjectionReport { after: before.clone(), before, method: Method::ClosedForm });
        }
        if stage == Stage::Final {
            self.check_pinned(trajectory, pinned_rows)?;
        }
        let hard_obstacles = self.obstacles_hard(stage);
        let mut scratch = Scratch::new(self.widest_obstacle);
        if !hard_obstacles {
            self.relaxed_pass(trajectory, pinned_rows, &mut scratch);
        }
        let target = trajectory.to_vec();
        let conflict = self.closed_form_pass(trajectory, pinned_rows, hard_obstacles, &mut scratch);
        let (method, failure) =
            if !conflict && self.free_violation(trajectory, pinned_rows, hard_obstacles) <= FEASIBLE_TOLERANCE {
                (Method::ClosedForm, None)
            } else {
                let run = qp::project(self, trajectory, &target, pinned_rows, hard_obstacles);
                (Method::Qp { rounds: run.rounds }, run.failure)
            };
        let after = self.residuals(trajectory);
        if stage == Stage::Final {
            let worst = after.iter().max_by(|a, b| a.max_violation.total_cmp(&b.max_violation));
            if let Some(worst) = worst.filter(|w| w.max_violation > FINAL_TOLERANCE) {
                let hint = match failure {
                    Some(status) if self.obstacles.is_empty() => format!(
                        "no trajectory meets every constraint with the pinned rows fixed (clarabel: {status:?}); \
                         loosen `{}` or the constraints next to it, or move the start/goal",
                        worst.name
                    ),
                    Some(status) => format!(
                        "the joint QP found no way around the obstacles on any side it tried (clarabel: \
                         {status:?}; the search is local); loosen `{}` or the rate limits, or move the start/goal",
                        worst.name
                    ),
                    None => format!(
                        "the sequential QP did not reach it in {} rounds; loosen `{}`, separate the obstacles, \
                         or move the start/goal",
                        qp::MAX_ROUNDS,
                        worst.name
                    ),
                };
                return Err(Error::Infeasible { constraint: worst.name.clone(), violation: worst.max_violation, hint });
            }
        }
        Ok(ProjectionReport { before, after, method })
    }

    /// Whether obstacles are hard at `stage`: always in robust mode and at the end; in relaxed
    /// mode from step `steps − hard_steps` on.
    fn obstacles_hard(&self, stage: Stage) -> bool {
        match (self.relaxed, stage) {
            (Some((_, hard_steps)), Stage::Intermediate { k, steps }) => k + hard_steps >= steps,
            _ => true,
        }
    }

    /// A trajectory of the wrong length, a pinned row outside the horizon, or NaN/∞ values.
    fn check_input(&self, trajectory: &[f64], pinned_rows: &[usize]) -> Result<()> {
        let layout = &self.layout;
        if trajectory.len() != layout.values() {
            return Err(Error::InvalidSpec {
                field: "trajectory".into(),
                message: format!(
                    "{} values, the constraints were prepared for {} rows of {} (actions, then observations)",
                    trajectory.len(),
                    layout.horizon,
                    layout.row_width()
                ),
            });
        }
        if let Some(&h) = pinned_rows.iter().find(|&&h| h >= layout.horizon) {
            return Err(Error::InvalidSpec {
                field: "pinned_rows".into(),
                message: format!("row {h} is pinned, the horizon has rows 0..{}", layout.horizon),
            });
        }
        if let Some(i) = trajectory.iter().position(|v| !v.is_finite()) {
            return Err(Error::InvalidSpec {
                field: "trajectory".into(),
                message: format!(
                    "row {}, column {} is {}; only finite trajectories can be projected",
                    i / layout.row_width(),
                    i % layout.row_width(),
                    trajectory[i]
                ),
            });
        }
        Ok(())
    }

    /// A pinned observation (or a window of pinned rows) that violates a constraint by more
    /// than [`FINAL_TOLERANCE`]: no projection may move it.
    fn check_pinned(&self, trajectory: &[f64], pinned: &[usize]) -> Result<()> {
        let layout = &self.layout;
        let fail = |name: String, violation: f64| Error::Infeasible {
            constraint: name,
            violation,
            hint: "the pinned (inpainted) start or goal itself violates it and pinned observations never move; \
                   move the start/goal or the constraint"
                .into(),
        };
        for &h in pinned {
            let obs = layout.split_row(trajectory, h).1;
            let pointwise = (self.state_boxes.iter().enumerate())
                .map(|(i, b)| (format!("state_box[{i}]"), box_violation(b, obs)))
                .chain(
                    self.half_spaces
                        .iter()
                        .enumerate()
                        .map(|(i, hs)| (format!("half_space[{i}]"), hs.signed_distance(obs))),
                )
                .chain(self.obstacles.iter().map(|ob| (ob.name.clone(), self.margin - ob.barrier(obs))));
            for (name, violation) in pointwise {
                if violation > FINAL_TOLERANCE {
                    return Err(fail(format!("{name} at pinned row {h}"), violation));
                }
            }
        }
        for (kind, limits) in [("velocity_limit", &self.velocity), ("acceleration_limit", &self.acceleration)] {
            for (i, limit) in limits.iter().enumerate() {
                for h in limit.windows(layout.horizon).filter(|h| (*h..=h + limit.order).all(|r| pinned.contains(&r))) {
                    let violation = limit.window_violation(trajectory, layout, h);
                    if violation > FINAL_TOLERANCE {
                        return Err(fail(
                            format!("{kind}[{i}] between pinned rows {h} and {}", h + limit.order),
                            violation,
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// The largest violation the projection can act on: pinned observations count only through
    /// rate windows that also hold a free row; obstacles only when hard.
    fn free_violation(&self, trajectory: &[f64], pinned: &[usize], hard_obstacles: bool) -> f64 {
        let layout = &self.layout;
        let mut worst = 0.0_f64;
        for h in 0..layout.horizon {
            let (actions, obs) = layout.split_row(trajectory, h);
            worst = worst.max(self.action_bounds.violation(actions));
            if pinned.contains(&h) {
                continue;
            }
            worst = worst.max(self.state_bounds.violation(obs));
            for hs in &self.half_spaces {
                worst = worst.max(hs.signed_distance(obs));
            }
            if hard_obstacles {
                for ob in &self.obstacles {
                    worst = worst.max(self.margin - ob.barrier(obs));
                }
            }
        }
        for limit in self.velocity.iter().chain(&self.acceleration) {
            for h in limit.windows(layout.horizon) {
                if !(h..=h + limit.order).all(|r| pinned.contains(&r)) {
                    worst = worst.max(limit.window_violation(trajectory, layout, h));
                }
            }
        }
        worst
    }

    /// ReS's soft pull on every free row (relaxed mode before its hard steps).
    fn relaxed_pass(&self, trajectory: &mut [f64], pinned: &[usize], scratch: &mut Scratch) {
        let weight = self.relaxed.map_or(DEFAULT_RELAXED_WEIGHT, |(w, _)| w);
        for h in (0..self.layout.horizon).filter(|h| !pinned.contains(h)) {
            let obs = self.layout.split_row_mut(trajectory, h).1;
            for ob in &self.obstacles {
                ob.relaxed_step(obs, self.margin, weight, scratch);
            }
        }
    }

    /// The per-row closed forms: action boxes on every row; on free rows the state boxes,
    /// half-spaces and (when hard) obstacles, in that order. Returns whether some row needed
    /// more than one convex correction (boxes, half-spaces), where the sequence is not the
    /// projection onto their intersection.
    fn closed_form_pass(
        &self,
        trajectory: &mut [f64],
        pinned: &[usize],
        hard_obstacles: bool,
        scratch: &mut Scratch,
    ) -> bool {
        let mut conflict = false;
        for h in 0..self.layout.horizon {
            let (actions, obs) = self.layout.split_row_mut(trajectory, h);
            self.action_bounds.clamp(actions);
            if pinned.contains(&h) {
                continue;
            }
            let mut convex_moves = usize::from(self.state_bounds.clamp(obs));
            for hs in &self.half_spaces {
                convex_moves += usize::from(hs.project(obs));
            }
            conflict |= convex_moves > 1;
            if hard_obstacles {
                for ob in &self.obstacles {
                    ob.push_out(obs, self.margin, scratch);
                }
            }
        }
        conflict
    }
}
