//! Where the values of one trajectory lie in its flat, row-major buffer.

use crate::error::{Error, Result};

/// The shape of one trajectory: `horizon` rows of `action_dim + observation_dim` values,
/// row-major, actions first and observations after them (Diffuser's layout), in the data's units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrajectoryLayout {
    /// H: rows of the trajectory (≥ 1).
    pub horizon: usize,
    /// A: action values at the start of each row.
    pub action_dim: usize,
    /// O: observation values after the actions in each row.
    pub observation_dim: usize,
    /// Seconds between consecutive rows (> 0); velocity and acceleration limits divide by it.
    pub dt: f64,
}

impl TrajectoryLayout {
    /// Values per row, A + O.
    #[must_use]
    pub fn row_width(&self) -> usize {
        self.action_dim + self.observation_dim
    }

    /// Values of one trajectory, H · (A + O).
    #[must_use]
    pub fn values(&self) -> usize {
        self.horizon * self.row_width()
    }

    /// Index of observation `d` of row `h` in the flat buffer.
    pub(crate) fn obs_index(&self, h: usize, d: usize) -> usize {
        h * self.row_width() + self.action_dim + d
    }

    /// Row `h`'s actions and observations.
    pub(crate) fn split_row<'a>(&self, trajectory: &'a [f64], h: usize) -> (&'a [f64], &'a [f64]) {
        let w = self.row_width();
        trajectory[h * w..(h + 1) * w].split_at(self.action_dim)
    }

    /// Row `h`'s actions and observations, mutable.
    pub(crate) fn split_row_mut<'a>(&self, trajectory: &'a mut [f64], h: usize) -> (&'a mut [f64], &'a mut [f64]) {
        let w = self.row_width();
        trajectory[h * w..(h + 1) * w].split_at_mut(self.action_dim)
    }

    /// Rejects an empty horizon and a `dt` that is not a positive number of seconds.
    pub(crate) fn validate(&self) -> Result<()> {
        if self.horizon == 0 {
            return Err(Error::Config {
                field: "layout.horizon".into(),
                message: "0 rows; a trajectory needs at least one row".into(),
            });
        }
        if !(self.dt.is_finite() && self.dt > 0.0) {
            return Err(Error::Config {
                field: "layout.dt".into(),
                message: format!("{} s; the time between rows must be a positive number of seconds", self.dt),
            });
        }
        Ok(())
    }
}
