//! The sampler's side of the constraints, on device tensors: each step's clean estimate is
//! projected (best effort, [`Stage::Intermediate`]) and the final plan exactly
//! ([`Stage::Final`]). The projection itself ([`Constraints`]) runs on the host in the user's
//! units, so trajectories go through the normalizer both ways; rows that were already feasible
//! are kept bit for bit.
//!
//! The plan is handed out in f32, and rounding a value that sits exactly on a bound can cross
//! it: by ~1e-7 of the value, which a barrier's gradient or a rate limit's 1/dt magnifies (a
//! velocity limit at dt = 0.01 s sees 1e-5 units/s). So the final projection aims slightly
//! inside every bound ([`final_target`]), and the f32 plan is then checked against the
//! constraints as written.

use std::borrow::Cow;
use std::cell::Cell;

use tch::{Device, Kind, Tensor};

use super::config::ConstraintConfig;
use super::layout::TrajectoryLayout;
use super::project::{FEASIBLE_TOLERANCE, Stage};
use super::report::ProjectionReport;
use super::set::Constraints;
use crate::error::Result;
use crate::model::ModelSpec;
use crate::workspace::Workspace;

/// The constraints as written (intermediate steps, reports) and the final projection's target.
#[derive(Debug, Clone)]
pub struct ConstraintSet {
    /// As written.
    pub written: Constraints,
    /// Slightly inside every bound ([`final_target`]).
    pub target: Constraints,
}

impl ConstraintSet {
    /// Validates `config` for trajectories of `spec` with `dt` seconds between rows.
    pub fn new(config: &ConstraintConfig, spec: &ModelSpec, dt: f64) -> Result<Self> {
        let layout = TrajectoryLayout {
            horizon: spec.horizon,
            action_dim: spec.action_dim,
            observation_dim: spec.observation_dim,
            dt,
        };
        Ok(Self {
            written: Constraints::new(config, layout)?,
            target: Constraints::new(&final_target(config), layout)?,
        })
    }

    /// The set for one request whose arm keeps clear of `workspace`
    /// ([`Constraints::with_workspace`]).
    pub fn with_workspace(&self, workspace: &Workspace) -> Result<Self> {
        Ok(Self {
            written: self.written.with_workspace(workspace.clone())?,
            target: self.target.with_workspace(workspace.clone())?,
        })
    }
}

/// Relative slack of box and half-space bounds: 100 f32 ulps.
const BOUND_SLACK: f64 = 1e-5;
/// Barrier margin added for obstacles, in units of the barrier.
const BARRIER_SLACK: f64 = 1e-4;
/// Clearance margin added, metres (f32 angles move a 1 m lever by ~1e-7 m).
const CLEARANCE_SLACK_M: f64 = 1e-5;
/// Relative slack of velocity limits (f32 rounding of two positions over dt).
const VELOCITY_SLACK: f64 = 1e-3;
/// Relative slack of acceleration limits (three positions over dt²).
const ACCELERATION_SLACK: f64 = 1e-2;

/// `config` with every bound moved inward by a slack that covers rounding the plan to f32.
#[must_use]
pub fn final_target(config: &ConstraintConfig) -> ConstraintConfig {
    let mut target = config.clone();
    target.margin += BARRIER_SLACK;
    if let Some(margin) = &mut target.clearance_margin_m {
        *margin += CLEARANCE_SLACK_M;
    }
    for bounds in target.state_box.iter_mut().chain(&mut target.action_box) {
        for (lower, upper) in bounds.lower.iter_mut().zip(&mut bounds.upper) {
            let slack = (BOUND_SLACK * (1.0 + lower.abs().max(upper.abs()))).min((*upper - *lower) / 4.0);
            *lower += slack;
            *upper -= slack;
        }
    }
    for plane in &mut target.half_space {
        let norm = plane.normal.iter().map(|n| n * n).sum::<f64>().sqrt();
        plane.offset -= BOUND_SLACK * (1.0 + plane.offset.abs()) * norm;
    }
    for limit in &mut target.velocity_limit {
        limit.max.iter_mut().for_each(|m| *m *= 1.0 - VELOCITY_SLACK);
    }
    for limit in &mut target.acceleration_limit {
        limit.max.iter_mut().for_each(|m| *m *= 1.0 - ACCELERATION_SLACK);
    }
    target
}

/// The constraints of one plan with the rows its pins fix, and what the intermediate steps did.
pub struct Projection<'a> {
    constraints: Cow<'a, ConstraintSet>,
    spec: &'a ModelSpec,
    pinned_rows: Vec<usize>,
    /// Largest violation met before projecting, over every intermediate step (user units).
    worst_intermediate: Cell<f64>,
    /// Trajectories an intermediate step had to move.
    moved: Cell<usize>,
}

/// What projection did over a whole plan.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ProjectionStats {
    /// Largest violation of a clean estimate before its intermediate projection, user units.
    pub worst_intermediate: f64,
    /// Clean estimates (trajectory × step) the intermediate projections moved.
    pub moved: usize,
    /// Per candidate, the final projection's report (before and after, per constraint).
    pub reports: Vec<ProjectionReport>,
}

impl<'a> Projection<'a> {
    /// Prepares `constraints` (the planner's, or one request's own) for trajectories of `spec`
    /// whose observations at `pinned_rows` must not move.
    #[must_use]
    pub fn new(constraints: Cow<'a, ConstraintSet>, spec: &'a ModelSpec, pinned_rows: Vec<usize>) -> Self {
        Self { constraints, spec, pinned_rows, worst_intermediate: Cell::new(0.0), moved: Cell::new(0) }
    }

    /// The constraints projected onto.
    #[must_use]
    pub fn constraints(&self) -> &ConstraintSet {
        &self.constraints
    }

    /// Step k's clean estimate projected, best effort (no error while sampling).
    ///
    /// # Shapes
    /// `x0_hat`: `[B, H, A + O]` normalized → same.
    pub fn intermediate(&self, x0_hat: &Tensor, k: usize, steps: usize) -> Result<Tensor> {
        let mut rows = host_trajectories(self.spec, x0_hat)?;
        let mut moved = Vec::with_capacity(rows.len());
        for trajectory in &mut rows {
            let report =
                self.constraints.written.project(trajectory, &self.pinned_rows, Stage::Intermediate { k, steps })?;
            self.worst_intermediate.set(self.worst_intermediate.get().max(report.max_before()));
            moved.push(report.max_before() > FEASIBLE_TOLERANCE);
        }
        let count = moved.iter().filter(|&&m| m).count();
        if count == 0 {
            return Ok(x0_hat.shallow_clone());
        }
        self.moved.set(self.moved.get() + count);
        let projected = self.to_device(&rows, x0_hat);
        let mask = Tensor::from_slice(&moved).to_device(x0_hat.device()).view([-1, 1, 1]);
        Ok(projected.where_self(&mask, x0_hat))
    }

    /// The final plan projected onto [`final_target`]: per trajectory, its values in the user's
    /// units (H·(A + O), actions first) and the report against the constraints as written.
    /// Errors with [`crate::Error::Infeasible`] where a trajectory cannot be made feasible.
    pub fn finish(&self, x: &Tensor) -> Result<(Vec<Vec<f64>>, ProjectionStats)> {
        let mut rows = host_trajectories(self.spec, x)?;
        let mut reports = Vec::with_capacity(rows.len());
        for trajectory in &mut rows {
            let before = self.constraints.written.plan_residuals(trajectory, &self.pinned_rows);
            let report = self.constraints.target.project(trajectory, &self.pinned_rows, Stage::Final)?;
            let after = self.constraints.written.plan_residuals(trajectory, &self.pinned_rows);
            reports.push(ProjectionReport { before, after, method: report.method });
        }
        let stats =
            ProjectionStats { worst_intermediate: self.worst_intermediate.get(), moved: self.moved.get(), reports };
        Ok((rows, stats))
    }

    /// `rows` normalized back onto `like`'s device and kind.
    fn to_device(&self, rows: &[Vec<f64>], like: &Tensor) -> Tensor {
        let flat: Vec<f64> = rows.concat();
        let user = Tensor::from_slice(&flat).view(like.size().as_slice()).to_kind(like.kind()).to_device(like.device());
        self.spec.normalizer.normalize(&user, 0)
    }
}

/// Each trajectory of the normalized batch `x` `[B, H, A + O]` in the data's units, as H·(A + O)
/// values, actions first.
pub fn host_trajectories(spec: &ModelSpec, x: &Tensor) -> Result<Vec<Vec<f64>>> {
    let flat = spec.normalizer.unnormalize(x, 0).to_device(Device::Cpu).to_kind(Kind::Double).contiguous();
    let values = Vec::<f64>::try_from(flat.view([-1]))?;
    Ok(values.chunks(spec.horizon * spec.transition_dim()).map(<[f64]>::to_vec).collect())
}
