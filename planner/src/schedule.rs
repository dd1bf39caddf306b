//! Noise schedules of the forward process, as configured in a model's spec.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Which β schedule the model was trained with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ScheduleSpec {
    /// Nichol & Dhariwal's cosine schedule as Diffuser uses it: ᾱ(u) ∝ cos²(((u+s)/(1+s))·π/2),
    /// β clipped to at most 0.999.
    Cosine {
        /// Offset s (default: 0.008).
        #[serde(default = "default_cosine_offset")]
        s: f64,
    },
    /// β linear from `beta_start` to `beta_end` over the training steps (DDPM).
    Linear {
        /// First β (DDPM: 1e-4).
        beta_start: f64,
        /// Last β (DDPM: 0.02).
        beta_end: f64,
    },
}

fn default_cosine_offset() -> f64 {
    0.008
}

impl Default for ScheduleSpec {
    fn default() -> Self {
        Self::Cosine { s: default_cosine_offset() }
    }
}

impl ScheduleSpec {
    /// Checks that the parameters describe a valid schedule.
    pub fn validate(&self) -> Result<()> {
        match *self {
            Self::Cosine { s } if !(s.is_finite() && s > 0.0) => Err(Error::InvalidSpec {
                field: "spec.schedule.s".into(),
                message: format!("{s} must be a positive number (Diffuser uses 0.008)"),
            }),
            Self::Linear { beta_start, beta_end }
                if !(0.0 < beta_start && beta_start <= beta_end && beta_end < 1.0) =>
            {
                Err(Error::InvalidSpec {
                    field: "spec.schedule".into(),
                    message: format!("linear betas {beta_start}..{beta_end} must satisfy 0 < start <= end < 1"),
                })
            }
            _ => Ok(()),
        }
    }
}
