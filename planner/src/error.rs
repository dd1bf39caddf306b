//! The planner's one error type. Every variant names the thing that is wrong and, where there
//! is one, the fix.

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
    /// A field of a spec or config has a value that cannot work.
    #[error("invalid {field}: {message}")]
    InvalidSpec {
        /// Dotted name of the field, e.g. `spec.horizon`.
        field: String,
        /// What is wrong and what would be right.
        message: String,
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
    /// A call into libtorch failed.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
}

/// Short for `Result<T, planner::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
