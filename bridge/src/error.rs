//! What can go wrong on the wire.

/// A payload that cannot be accepted. Every decoder returns one of these instead of panicking.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WireError {
    /// The payload is larger than the receiver's cap.
    #[error("payload of {len} bytes exceeds the {max}-byte cap; send fewer or shorter plans")]
    Oversized {
        /// Payload length, bytes.
        len: usize,
        /// The cap, bytes.
        max: usize,
    },
    /// Not UTF-8 JSON of the envelope's shape, or a body that does not match its type.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// The message type, or `envelope`.
        what: String,
        /// The parser's explanation.
        reason: String,
    },
    /// The envelope's protocol version is not the one this build speaks.
    #[error(
        "protocol version {found} is not supported (this build speaks version {supported}); upgrade the older side"
    )]
    UnsupportedVersion {
        /// Version found in the payload.
        found: u64,
        /// Version this build speaks.
        supported: u64,
    },
    /// A message of another type arrived on this key.
    #[error("expected a {expected} message, got {found}")]
    WrongType {
        /// Type the receiver expects.
        expected: &'static str,
        /// Type named in the payload.
        found: String,
    },
    /// Well-formed but meaningless: a non-finite number, ragged rows, an empty plan, a bad id.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The offending field, dotted (`plan.states[3]`).
        field: String,
        /// What is wrong with it and what is expected.
        reason: String,
    },
}

/// A failure of the bridge: the transport, the wire, or the remote side.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    /// Zenoh refused an operation (opening a session, declaring, publishing).
    #[error("zenoh: {0}")]
    Zenoh(String),
    /// A payload could not be encoded or decoded.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// No planner answered the query within its timeout.
    #[error("no planner answered {key} within {timeout_ms} ms; is `diffplan serve` running on this namespace?")]
    NoReply {
        /// The queried key expression.
        key: String,
        /// The timeout used, milliseconds.
        timeout_ms: u64,
    },
    /// No planner of the task came alive within the wait.
    #[error(
        "no planner serves task {task} on namespace {namespace} after {waited_s} s; served: {served}. Start          `diffplan serve --config <a task config of {task}>` on this network"
    )]
    NoPlannerForTask {
        /// The task asked for.
        task: String,
        /// The namespace looked in.
        namespace: String,
        /// Seconds waited.
        waited_s: u64,
        /// The tasks that are served, with their planners (`none` when none is).
        served: String,
    },
    /// A planner answered with a plan for another task than the one asked for.
    #[error("planner {planner} sent a plan for task {got}, not {expected}; refused")]
    WrongTask {
        /// The task asked for.
        expected: String,
        /// The plan's task.
        got: String,
        /// The planner that sent it.
        planner: String,
    },
    /// The planner answered with an error.
    #[error("planner error ({code}): {message}")]
    Remote {
        /// The error code, e.g. `bad_request`.
        code: String,
        /// The planner's explanation.
        message: String,
    },
    /// A configuration value is unusable (an id, a key, an endpoint).
    #[error("{0}")]
    Config(String),
}

impl BridgeError {
    /// Wraps any Zenoh error, keeping its message.
    pub fn zenoh(error: impl std::fmt::Display) -> Self {
        Self::Zenoh(error.to_string())
    }
}
