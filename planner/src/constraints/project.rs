//! Projecting a trajectory onto a [`Constraints`] set: the closed-form pass, the check that
//! decides whether it was enough, and the joint QP (`qp.rs`) where it was not. The algorithm is
//! in the module docs of [`super`].

use clarabel::solver::SolverStatus;

use super::obstacle::Scratch;
use super::pointwise::box_violation;
use super::qp;
use super::report::{Method, ProjectionReport, Residual, max_violation};
use super::set::{Constraints, DEFAULT_RELAXED_WEIGHT};
use crate::error::{Error, Result};

/// A violation at or below this counts as satisfied: nothing moves (constraint units).
pub const FEASIBLE_TOLERANCE: f64 = 1e-9;
/// A final projection that leaves a violation above this is an error (constraint units).
pub const FINAL_TOLERANCE: f64 = 1e-6;

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

impl Constraints {
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
        let before = self.plan_residuals(trajectory, pinned_rows);
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
        let after = self.plan_residuals(trajectory, pinned_rows);
        if stage == Stage::Final {
            let worst = after.iter().max_by(|a, b| a.max_violation.total_cmp(&b.max_violation));
            if let Some(worst) = worst.filter(|w| w.max_violation > FINAL_TOLERANCE) {
                return Err(self.infeasible(worst, failure));
            }
        }
        Ok(ProjectionReport { before, after, method })
    }

    /// The error of a final projection that left `worst` violated, with a hint from how the QP
    /// ended (`failure`: the solver's status where a solve failed).
    fn infeasible(&self, worst: &Residual, failure: Option<SolverStatus>) -> Error {
        let hint = match failure {
            Some(status) if self.obstacles.is_empty() && self.clearance.is_none() => format!(
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
        Error::Infeasible { constraint: worst.name.clone(), violation: worst.max_violation, hint }
    }

    /// Whether obstacles are hard at `stage`: always in robust mode and at the end; in relaxed
    /// mode from step `steps − hard_steps` on.
    fn obstacles_hard(&self, stage: Stage) -> bool {
        match (self.relaxed, stage) {
            (Some((_, hard_steps)), Stage::Intermediate { k, steps }) => k + hard_steps >= steps,
            _ => true,
        }
    }

    /// A trajectory of the wrong length, a pinned row outside the horizon, or NaN/∞ values: the
    /// planner passes none of them unless sampling diverged, so each is an [`Error::Internal`].
    fn check_input(&self, trajectory: &[f64], pinned_rows: &[usize]) -> Result<()> {
        let layout = &self.layout;
        let broken = |what: String| Err(Error::Internal { what });
        if trajectory.len() != layout.values() {
            return broken(format!(
                "trajectory: {} values, the constraints were prepared for {} rows of {} (actions, then observations)",
                trajectory.len(),
                layout.horizon,
                layout.row_width()
            ));
        }
        if let Some(&h) = pinned_rows.iter().find(|&&h| h >= layout.horizon) {
            return broken(format!("pinned_rows: row {h} is pinned, the horizon has rows 0..{}", layout.horizon));
        }
        if let Some(i) = trajectory.iter().position(|v| !v.is_finite()) {
            return broken(format!(
                "trajectory: row {}, column {} is {}; only finite trajectories can be projected",
                i / layout.row_width(),
                i % layout.row_width(),
                trajectory[i]
            ));
        }
        Ok(())
    }

    /// A pinned observation that violates a constraint by more than [`FINAL_TOLERANCE`]: no
    /// projection may move it. (A rate window of pinned rows only is not the plan's choice and
    /// is not checked: see [`Constraints::plan_residuals`].)
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
        if let Some(clearance) = &self.clearance {
            let names = clearance.workspace.names();
            for (&h, row) in pinned.iter().zip(clearance.shortfalls(layout, trajectory, pinned)) {
                if let Some((k, &violation)) = row.iter().enumerate().find(|(_, s)| **s > FINAL_TOLERANCE) {
                    return Err(Error::Infeasible {
                        constraint: format!("clearance to {} at pinned row {h}", names[k]),
                        violation,
                        hint: format!(
                            "the arm's {} (row {h}) is {:.3} m from it, closer than clearance_margin_m = {:.3} m; \
                             pinned rows never move: move the robot or the goal away, or lower the margin",
                            if h == 0 { "start" } else { "pinned state (goal or waypoint)" },
                            clearance.margin_m - violation,
                            clearance.margin_m
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    /// The largest violation the projection can act on: pinned observations count only through
    /// rate windows that also hold a free row; obstacles only when hard.
    pub(super) fn free_violation(&self, trajectory: &[f64], pinned: &[usize], hard_obstacles: bool) -> f64 {
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
        if let Some(clearance) = self.clearance.as_ref().filter(|_| hard_obstacles) {
            let free: Vec<usize> = (0..layout.horizon).filter(|h| !pinned.contains(h)).collect();
            for row in clearance.shortfalls(layout, trajectory, &free) {
                worst = row.into_iter().fold(worst, f64::max);
            }
        }
        for limit in self.velocity.iter().chain(&self.acceleration) {
            worst = worst.max(limit.plan_violation(trajectory, layout, pinned));
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
