//! `Command`: an operator's instruction to a robot.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Message, check_id};
use crate::WireError;

/// An instruction on `<ns>/robot/<id>/cmd`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Command {
    /// The robot addressed.
    pub robot_id: String,
    /// What to do.
    pub command: CommandKind,
}

/// The instructions a robot obeys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CommandKind {
    /// Hold still until `resume`, whatever plans arrive.
    Hold,
    /// Execute plans again.
    Resume,
    /// Finish the current step, report and exit.
    Shutdown,
}

impl Message for Command {
    const TYPE: &'static str = "Command";

    fn validate(&self) -> Result<(), WireError> {
        check_id("command.robot_id", &self.robot_id)
    }
}
