//! `Heartbeat`: a node's status, published periodically and on every change.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Message, check_digest, check_id};
use crate::WireError;

/// A node's status on `<ns>/robot/<id>/status` or `<ns>/planner/<id>/status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Heartbeat {
    /// The node's id.
    pub node_id: String,
    /// What the node is.
    pub role: Role,
    /// Its status now.
    pub status: NodeStatus,
    /// Why, for anything but `ok` (e.g. `no fresh plan for 250 ms`).
    #[serde(default)]
    pub reason: Option<String>,
    /// The robot's control step (robots only).
    #[serde(default)]
    pub step: Option<u64>,
    /// The task the node plans for or runs.
    #[serde(default)]
    pub task: Option<String>,
    /// A planner's checkpoint digest (`sha256:<64 hex digits>`).
    #[serde(default)]
    pub checkpoint_digest: Option<String>,
    /// Counters since start (`plans_received`, `plans_rejected`, `holds`, `plans_served`, …).
    #[serde(default)]
    pub counters: BTreeMap<String, u64>,
}

/// Kinds of node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A robot or a simulator serving as one.
    Robot,
    /// A plan service.
    Planner,
}

/// A node's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NodeStatus {
    /// Working normally.
    Ok,
    /// A robot holding still (stale or missing plan, or told to hold).
    Holding,
    /// Shutting down.
    Stopping,
}

impl Message for Heartbeat {
    const TYPE: &'static str = "Heartbeat";

    fn validate(&self) -> Result<(), WireError> {
        check_id("heartbeat.node_id", &self.node_id)?;
        if let Some(task) = &self.task {
            check_id("heartbeat.task", task)?;
        }
        if let Some(digest) = &self.checkpoint_digest {
            check_digest("heartbeat.checkpoint_digest", digest)?;
        }
        Ok(())
    }
}
