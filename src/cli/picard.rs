//! The Picard flags of `plan` and `eval`.

use planner::driver::picard::DEFAULT_TOLERANCE;

use crate::task::picard::{PicardWindow, TaskPicard};

/// The Picard flags of `plan` and `eval`.
#[derive(Debug, Clone, clap::Args)]
pub struct PicardArgs {
    /// Sample by Picard iterations with this window (states per batched model call), or `auto`:
    /// measure once per device, model and request shape (cached) and pick Picard or sequential.
    #[arg(long = "picard-window", id = "picard_window", value_name = "P|auto")]
    pub window: Option<PicardWindow>,
    /// Picard tolerance τ (default: the request's, else 0.1).
    #[arg(long = "picard-tolerance", requires = "picard_window")]
    pub tolerance: Option<f64>,
    /// Stop after this many sweeps and return the current iterate, marked not converged.
    #[arg(long = "picard-max-sweeps", requires = "picard_window")]
    pub max_sweeps: Option<usize>,
    /// Stop after the sweep that crosses this many milliseconds, marked not converged.
    #[arg(long = "picard-deadline-ms", requires = "picard_window")]
    pub deadline_ms: Option<f64>,
}

impl PicardArgs {
    /// The settings the flags ask for (`None` without `--picard-window`); the tolerance falls
    /// back to `tolerance`, then 0.1.
    #[must_use]
    pub fn settings(&self, tolerance: Option<f64>) -> Option<TaskPicard> {
        self.window.map(|window| TaskPicard {
            window,
            tolerance: self.tolerance.or(tolerance).unwrap_or(DEFAULT_TOLERANCE),
            max_sweeps: self.max_sweeps,
            deadline_ms: self.deadline_ms,
        })
    }
}
