//! How well a task's hard constraints held, reported apart from the score: on the plans as
//! returned (by construction ≤ 1e-6 when the planner enforces them) and on the paths the robot
//! actually executed (tracking can cut corners a plan respects). With `eval --unconstrained` the
//! same checks measure an unconstrained planner against the same constraints.

use std::fmt::Write;

use planner::Candidate;
use planner::constraints::{ConstraintConfig, Constraints, Layout};

use crate::episode::EpisodeOutcome;

/// Violations at or below this count as satisfied (the planner's own tolerance).
const TOLERANCE: f64 = 1e-6;

/// The task's constraints, prepared for plans of the model's horizon.
pub struct ConstraintCheck {
    config: ConstraintConfig,
    plans: Constraints,
    dt: f64,
}

impl ConstraintCheck {
    /// Checks `config` for plans of `horizon` rows of 2 actions and 4 observations (Maze2D).
    pub fn new(config: &ConstraintConfig, horizon: usize, dt: f64) -> anyhow::Result<Self> {
        let plans = Constraints::new(config, maze_layout(horizon, dt))?;
        Ok(Self { config: config.clone(), plans, dt })
    }

    /// The largest violation of any constraint by `candidate` as handed out.
    #[must_use]
    pub fn plan_violation(&self, candidate: &Candidate) -> f64 {
        self.plans.residuals(&candidate.transitions()).iter().map(|r| r.max_violation).fold(0.0, f64::max)
    }

    /// Per constraint, its largest violation on the executed `path` and, for obstacles, the
    /// smallest barrier value (SafeDiffuser's safe1/safe2).
    fn path_residuals(&self, path: &[Vec<f32>]) -> anyhow::Result<Vec<planner::constraints::Residual>> {
        let checker = Constraints::new(&self.config, maze_layout(path.len(), self.dt))?;
        let rows: Vec<f64> = path.iter().flatten().map(|&v| f64::from(v)).collect();
        Ok(checker.residuals(&rows))
    }

    /// Prints the constraint table of `outcomes` under the score table.
    pub fn print(&self, outcomes: &[EpisodeOutcome]) -> anyhow::Result<()> {
        let plans_ok = outcomes
            .iter()
            .filter(|o| o.infeasible_plans == 0 && o.plan_violation.is_some_and(|v| v <= TOLERANCE))
            .count();
        let refused: usize = outcomes.iter().map(|o| o.infeasible_plans).sum();
        let worst_plan = outcomes.iter().filter_map(|o| o.plan_violation).fold(0.0, f64::max);
        let mut header = String::from(
            "| episodes whose plans all satisfy | plans refused as infeasible | worst plan violation | executed paths violating |",
        );
        let mut rule = String::from("|---|---|---|---|");
        let mut per_constraint: Vec<(String, f64, Option<f64>)> = Vec::new();
        let mut paths_violating = 0;
        for outcome in outcomes.iter().filter(|o| !o.path.is_empty()) {
            let residuals = self.path_residuals(&outcome.path)?;
            paths_violating += usize::from(residuals.iter().any(|r| r.max_violation > TOLERANCE));
            if per_constraint.is_empty() {
                per_constraint = residuals.iter().map(|r| (r.name.clone(), 0.0, None)).collect();
            }
            for (entry, r) in per_constraint.iter_mut().zip(&residuals) {
                entry.1 = f64::max(entry.1, r.max_violation);
                entry.2 = match (entry.2, r.min_barrier) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
        }
        let mut row = format!(
            "| {plans_ok}/{} | {refused} | {worst_plan:.1e} | {paths_violating}/{} |",
            outcomes.len(),
            outcomes.iter().filter(|o| !o.path.is_empty()).count()
        );
        for (name, worst, min_barrier) in &per_constraint {
            let barrier = if min_barrier.is_some() { " (min b)" } else { "" };
            let _ = write!(header, " {name}: worst on path{barrier} |");
            rule.push_str("---|");
            let _ = match min_barrier {
                Some(b) => write!(row, " {worst:.3} ({b:.3}) |"),
                None => write!(row, " {worst:.3} |"),
            };
        }
        println!("\n{header}\n{rule}\n{row}");
        Ok(())
    }
}

/// Maze2D's trajectory layout: `horizon` rows of (force x, force y, x, y, vx, vy).
fn maze_layout(horizon: usize, dt: f64) -> Layout {
    Layout { horizon, action_dim: 2, observation_dim: 4, dt }
}
