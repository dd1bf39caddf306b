//! `ErrorReply`: the payload of a plan service's error reply.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Message;
use crate::WireError;

/// Why a plan request was refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorReply {
    /// The request's id, when it could be read.
    #[serde(default)]
    pub request_id: Option<String>,
    /// What kind of failure.
    pub code: ErrorCode,
    /// What went wrong and how to fix it.
    pub message: String,
}

/// Error categories a client can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request could not be decoded or does not fit the model (dimensions, indices).
    BadRequest,
    /// The request's protocol version is not spoken here.
    UnsupportedVersion,
    /// The service's queue is full; try another worker or later.
    Busy,
    /// The request's deadline passed before sampling could start.
    Deadline,
    /// Sampling failed (e.g. the plan diverged); the message says how.
    Internal,
    /// No plan satisfying the task's hard constraints was found; the message names the
    /// constraint and its violation. Nothing violating is ever sent.
    Infeasible,
}

impl ErrorCode {
    /// The snake_case name used on the wire.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::BadRequest => "bad_request",
            Self::UnsupportedVersion => "unsupported_version",
            Self::Busy => "busy",
            Self::Deadline => "deadline",
            Self::Internal => "internal",
            Self::Infeasible => "infeasible",
        }
    }
}

impl Message for ErrorReply {
    const TYPE: &'static str = "Error";

    fn validate(&self) -> Result<(), WireError> {
        Ok(())
    }
}
