//! Which network a checkpoint holds, with the hyper-parameters that fix its tensor shapes.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{ModelOutput, ModelSpec};

/// The network of a checkpoint (`[architecture]` in `manifest.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Architecture {
    /// Diffuser's temporal U-Net denoiser.
    TemporalUnet {
        /// Base channel width (Diffuser: 32).
        #[serde(default = "default_dim")]
        dim: usize,
        /// Channel multipliers per resolution level (maze2d: [1, 4, 8]; locomotion: [1, 2, 4, 8]).
        dim_mults: Vec<usize>,
        /// Linear attention after every level (Diffuser's halfcheetah; default: false).
        #[serde(default)]
        attention: bool,
    },
    /// Diffuser's value function: the U-Net's down path and an MLP head, one value per trajectory.
    ValueFunction {
        /// Base channel width (Diffuser: 32).
        #[serde(default = "default_dim")]
        dim: usize,
        /// Channel multipliers per resolution level.
        dim_mults: Vec<usize>,
    },
}

fn default_dim() -> usize {
    32
}

impl Architecture {
    /// The `kind` as written in TOML, e.g. `temporal_unet`.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::TemporalUnet { .. } => "temporal_unet",
            Self::ValueFunction { .. } => "value_function",
        }
    }

    /// Checks the architecture against the spec it is meant to serve.
    pub fn validate(&self, spec: &ModelSpec) -> Result<()> {
        let invalid = |field: &str, message: String| Error::Config { field: field.into(), message };
        let (dim, dim_mults) = match self {
            Self::TemporalUnet { dim, dim_mults, .. } | Self::ValueFunction { dim, dim_mults } => (*dim, dim_mults),
        };
        if dim == 0 || dim % 8 != 0 {
            return Err(invalid("architecture.dim", format!("{dim} must be a positive multiple of 8 (GroupNorm(8))")));
        }
        if dim_mults.is_empty() || dim_mults.contains(&0) {
            return Err(invalid("architecture.dim_mults", format!("{dim_mults:?} must be non-empty and positive")));
        }
        match self {
            Self::TemporalUnet { .. } => {
                if spec.output == ModelOutput::Value {
                    return Err(invalid(
                        "spec.output",
                        "a temporal_unet predicts `epsilon` or `sample`, not `value`".into(),
                    ));
                }
                let divisor = 1usize << (dim_mults.len() - 1);
                if !spec.horizon.is_multiple_of(divisor) {
                    return Err(invalid(
                        "spec.horizon",
                        format!(
                            "{} is not divisible by {divisor} = 2^(levels − 1) for dim_mults {dim_mults:?}; \
                             pick a horizon that is a multiple of {divisor}",
                            spec.horizon
                        ),
                    ));
                }
            }
            Self::ValueFunction { dim_mults, .. } => {
                if spec.output != ModelOutput::Value {
                    return Err(invalid("spec.output", "a value_function predicts `value`".into()));
                }
                let mid = dim * dim_mults[dim_mults.len() - 1];
                if mid % 32 != 0 {
                    return Err(invalid(
                        "architecture.dim_mults",
                        format!(
                            "the value head halves the widest level ({mid}) twice and needs GroupNorm(8): use a multiple of 32"
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}
