//! What a projection did: each constraint's residual before and after, and the method used.

use serde::Serialize;

/// How far one constraint is from holding on a trajectory.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Residual {
    /// The constraint, e.g. `state_box[0]`, `velocity_limit[1]`, `obstacle pillar`.
    pub name: String,
    /// Largest violation over the rows (≥ 0; 0 = satisfied), in the constraint's own units:
    /// data units for boxes and half-spaces (distance to the boundary), units per second for
    /// velocity limits, per second² for acceleration limits, units of b for obstacles.
    pub max_violation: f64,
    /// Obstacles: the smallest barrier value b over the rows (SafeDiffuser's safe1/safe2
    /// metric; ≥ margin when satisfied). `None` for the other kinds.
    pub min_barrier: Option<f64>,
}

/// Which path a projection took.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Method {
    /// The per-row closed forms were enough (or nothing needed to move).
    ClosedForm,
    /// The joint QP (clarabel) ran, re-linearising obstacles between rounds.
    Qp {
        /// QP solves.
        rounds: usize,
    },
}

/// Residuals before and after one projection.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProjectionReport {
    /// Each constraint's residual on the input.
    pub before: Vec<Residual>,
    /// Each constraint's residual on the result.
    pub after: Vec<Residual>,
    /// How the result was found.
    pub method: Method,
}

/// The largest violation among `residuals` (0 when there are none).
pub(crate) fn max_violation(residuals: &[Residual]) -> f64 {
    residuals.iter().fold(0.0, |worst, r| worst.max(r.max_violation))
}

impl ProjectionReport {
    /// The largest violation on the input, over every constraint (constraint units).
    #[must_use]
    pub fn max_before(&self) -> f64 {
        max_violation(&self.before)
    }

    /// The largest violation on the result, over every constraint (constraint units).
    #[must_use]
    pub fn max_after(&self) -> f64 {
        max_violation(&self.after)
    }
}
