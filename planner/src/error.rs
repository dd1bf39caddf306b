//! The planner's one error type. Every variant names the thing that is wrong and, where there
//! is one, the fix, and says whose fault it is: the caller's request ([`Error::Request`]), the
//! files and configs the planner was built from ([`Error::Config`] and the checkpoint and
//! dataset variants), or the planner itself ([`Error::Internal`]).
//!
//! On the wire (the bridge's `ErrorCode`): `Request` → `bad_request`; `Infeasible` →
//! `infeasible`; `Internal`, `Torch` and `Diverged` → `internal`. A served planner has
//! validated its configs and checkpoint when it loaded, so a `Config` error (or a checkpoint or
//! dataset error) while planning is the deployment's fault: `internal`.

use std::path::PathBuf;

/// Everything that can go wrong while loading a model or turning noise into a plan.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file of a checkpoint could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// `manifest.toml` is not valid TOML or does not fit the manifest schema.
    #[error("{path}: malformed manifest: {message}")]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// The checkpoint was written by a newer or older diffplan with another manifest layout.
    #[error(
        "{path}: manifest format_version {found}, this diffplan reads {expected}; \
         re-export the checkpoint with this version"
    )]
    FormatVersion {
        /// The manifest file.
        path: PathBuf,
        /// The version in the file.
        found: u32,
        /// The version this build reads.
        expected: u32,
    },
    /// The caller's plan request is wrong: anything validated from a
    /// [`crate::PlanRequest`] (observation width, NaN, a pin outside the horizon, too many steps,
    /// η for a sampler other than DDIM, the batch size, Picard and soft-decoding settings, a
    /// warm start of the wrong length). On the wire: `bad_request`.
    #[error("invalid {field}: {message}")]
    Request {
        /// Dotted name of the field, e.g. `sampler.steps`.
        field: String,
        /// What is wrong and what would be right.
        message: String,
    },
    /// A field of a spec, checkpoint manifest, sampler, guidance, constraint or training config,
    /// or of a dataset's shape, has a value that cannot work. On the wire: `internal` (the
    /// server's own files are at fault, not the request).
    #[error("invalid {field}: {message}")]
    Config {
        /// Dotted name of the field, e.g. `spec.horizon`, `constraints.obstacle[0].dims`.
        field: String,
        /// What is wrong and what would be right.
        message: String,
    },
    /// An invariant the planner keeps for its own calls failed: reached through
    /// [`crate::Planner::plan`] it is a bug in the planner, never the caller's fault; from a
    /// direct call of a lower-level API (`Denoiser::predict`, `Constraints::project`,
    /// `Sampler::step`) the call broke that API's documented contract. On the wire: `internal`.
    #[error("internal error: {what}")]
    Internal {
        /// What broke, with the values involved.
        what: String,
    },
    /// A tensor the architecture needs is not in the weights file.
    #[error(
        "{path}: missing tensor `{name}`; the weights do not belong to this architecture \
         (check [architecture] and [spec] in manifest.toml)"
    )]
    MissingTensor {
        /// The weights file.
        path: PathBuf,
        /// Name of the absent tensor.
        name: String,
    },
    /// The weights file holds tensors the architecture does not have.
    #[error(
        "{path}: unexpected tensors {names:?}; the weights belong to another architecture \
         (check dim_mults and attention in manifest.toml)"
    )]
    UnexpectedTensors {
        /// The weights file.
        path: PathBuf,
        /// The first few unexpected names.
        names: Vec<String>,
    },
    /// A tensor's shape differs from what the spec implies.
    #[error(
        "{path}: tensor `{name}` has shape {found:?}, the spec implies {expected:?} \
         (check action_dim, observation_dim, horizon and dim_mults in manifest.toml)"
    )]
    ShapeMismatch {
        /// The weights file or the module.
        path: PathBuf,
        /// Name of the tensor.
        name: String,
        /// Shape found.
        found: Vec<i64>,
        /// Shape implied by the spec.
        expected: Vec<i64>,
    },
    /// A tensor is stored in another dtype than float32.
    #[error("{path}: tensor `{name}` is {found}, expected float32 (or float16); convert the weights to float32")]
    WrongDtype {
        /// The weights file.
        path: PathBuf,
        /// Name of the tensor.
        name: String,
        /// The dtype found, as libtorch names it.
        found: String,
    },
    /// A weight (or a probe output) holds NaN or infinity.
    #[error("{path}: tensor `{name}` contains NaN or infinite values; the checkpoint is corrupt or diverged")]
    NonFinite {
        /// The weights file or module.
        path: PathBuf,
        /// Name of the tensor.
        name: String,
    },
    /// Sampling produced NaN or infinity: the plan is withheld rather than returned wrong.
    #[error("{what} contains NaN or infinite values after {steps} steps of {sampler}; {hint}")]
    Diverged {
        /// What went bad: the trajectory, or the values.
        what: String,
        /// Steps that ran.
        steps: usize,
        /// The sampler's name.
        sampler: String,
        /// What to check.
        hint: String,
    },
    /// Hard constraints that the plan cannot meet: a pinned start/goal that violates one, or a
    /// final projection that left a violation.
    #[error("constraint `{constraint}` cannot be met: violated by {violation:.3e} (its own units); {hint}")]
    Infeasible {
        /// The constraint as residuals name it (`obstacle pillar`, `velocity_limit[0]`), with the
        /// row where a pinned row is to blame.
        constraint: String,
        /// Its largest violation, in the constraint's units (see `constraints::Residual`).
        violation: f64,
        /// What to change.
        hint: String,
    },
    /// A dataset file is missing, unreadable or inconsistent.
    #[error("{path}: {message}")]
    Dataset {
        /// The dataset file.
        path: PathBuf,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A checkpoint of another program (a jannerm/diffuser `state_*.pt`) or its config cannot
    /// be imported.
    #[error("{path}: {message}")]
    Import {
        /// The file being imported.
        path: PathBuf,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A call into libtorch failed.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
}

impl Error {
    /// The same error with `prefix.` in front of the field of a [`Error::Request`] or
    /// [`Error::Config`], for a caller that embeds the config under a key of its own:
    /// `within("planner")` turns `constraints.obstacle[0].dims` into
    /// `planner.constraints.obstacle[0].dims`. Other variants are returned unchanged.
    #[must_use]
    pub fn within(self, prefix: &str) -> Self {
        match self {
            Self::Request { field, message } => Self::Request { field: format!("{prefix}.{field}"), message },
            Self::Config { field, message } => Self::Config { field: format!("{prefix}.{field}"), message },
            other => other,
        }
    }
}

/// Short for `Result<T, planner::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn within_prefixes_the_field_of_request_and_config_errors_only() {
        let config = Error::Config { field: "constraints.obstacle[0].dims".into(), message: "empty".into() };
        assert_eq!(config.within("planner").to_string(), "invalid planner.constraints.obstacle[0].dims: empty");
        let request = Error::Request { field: "sampler.steps".into(), message: "0".into() };
        assert!(matches!(request.within("plan"), Error::Request { field, .. } if field == "plan.sampler.steps"));
        let internal = Error::Internal { what: "x_t: shape [1]".into() };
        assert_eq!(internal.within("planner").to_string(), "internal error: x_t: shape [1]");
    }
}
