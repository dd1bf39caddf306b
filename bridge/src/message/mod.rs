//! The protocol's messages (docs/PROTOCOL.md). Each is a JSON object carried in an envelope
//! `{"v": 2, "type": "<Type>", "stamp_ns": <sender's clock>, "body": {...}}`; bodies reject
//! unknown fields, so a new field means a new protocol version.

mod command;
mod error_reply;
mod heartbeat;
mod model_card;
mod obstacle;
mod plan;
mod plan_request;
mod robot_state;
mod tool_point_goal;

pub use command::{Command, CommandKind};
pub use error_reply::{ErrorCode, ErrorReply};
pub use heartbeat::{Heartbeat, NodeStatus, Role};
pub use model_card::{Component, ExampleRequest, GoalLayout, ModelCard, PlanLimits};
pub use obstacle::{MAX_OBSTACLES, Obstacle};
pub use plan::{ConstraintResidual, Plan, PlanTiming};
pub use plan_request::{PlanRequest, SamplerOptions, Waypoint};
pub use robot_state::{RobotMode, RobotState};
pub use tool_point_goal::ToolPointGoal;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::WireError;

/// The protocol version this build speaks and accepts.
pub const PROTOCOL_VERSION: u64 = 2;

/// A message body: its type name on the wire and its checks beyond the JSON shape.
pub trait Message: Serialize + DeserializeOwned {
    /// The `type` field of its envelope, e.g. `Plan`.
    const TYPE: &'static str;

    /// Checks what JSON cannot: finite numbers, consistent lengths, valid ids.
    fn validate(&self) -> Result<(), WireError>;
}

/// `Err` naming `field` unless every value is finite.
pub(crate) fn check_finite(field: &str, values: &[f32]) -> Result<(), WireError> {
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(i) => Err(WireError::Invalid {
            field: format!("{field}[{i}]"),
            reason: format!("{} is not a finite number", values[i]),
        }),
    }
}

/// `Err` naming `field` unless every row is finite and `width` long (`width` > 0).
pub(crate) fn check_rows(field: &str, rows: &[Vec<f32>], width: usize) -> Result<(), WireError> {
    if width == 0 {
        return Err(WireError::Invalid { field: field.into(), reason: "rows must not be empty".into() });
    }
    for (i, row) in rows.iter().enumerate() {
        if row.len() != width {
            return Err(WireError::Invalid {
                field: format!("{field}[{i}]"),
                reason: format!("has {} values, expected {width} like the first row", row.len()),
            });
        }
        check_finite(&format!("{field}[{i}]"), row)?;
    }
    Ok(())
}

/// `Err` naming `field` unless `id` is a non-empty run of `[A-Za-z0-9_-]` (usable in a key).
pub(crate) fn check_id(field: &str, id: &str) -> Result<(), WireError> {
    crate::keys::check_id(id).map_err(|reason| WireError::Invalid { field: field.into(), reason })
}

/// `Err` naming `field` unless `digest` is `sha256:` and 64 lowercase hex digits.
pub(crate) fn check_digest(field: &str, digest: &str) -> Result<(), WireError> {
    let hex = digest.strip_prefix("sha256:").unwrap_or("");
    if hex.len() == 64 && hex.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)) {
        return Ok(());
    }
    Err(WireError::Invalid {
        field: field.into(),
        reason: format!("{digest:?} is not a digest: `sha256:` and 64 lowercase hex digits"),
    })
}
