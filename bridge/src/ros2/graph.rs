//! The ROS 2 graph as rmw_zenoh announces it: one liveliness token per node and per publisher
//! or subscription, under the hermetic admin prefix `@ros2_lv`:
//!
//! - node: `@ros2_lv/<domain>/<zid>/<node id>/<node id>/NN/<enclave>/<namespace>/<node>`
//! - entity: `@ros2_lv/<domain>/<zid>/<node id>/<entity id>/<MP|MS>/<enclave>/<namespace>/<node>/<topic>/<type>/<hash>/<qos>`
//!
//! A '/' inside a part is written '%', and an empty part as '%'. `ros2 node list` and `ros2
//! topic list` read these tokens; data flows without them, but the nodes are then invisible.

use super::message::Ros2Message;
use super::names::NodeName;

/// The admin prefix of rmw_zenoh's graph tokens.
pub const GRAPH_PREFIX: &str = "@ros2_lv";

/// What a graph token announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntityKind {
    /// A publisher (`MP`).
    Publisher,
    /// A subscription (`MS`).
    Subscription,
}

impl EntityKind {
    fn code(self) -> &'static str {
        match self {
            Self::Publisher => "MP",
            Self::Subscription => "MS",
        }
    }
}

/// The quality of service of a publisher or subscription: reliable, volatile, keep the last
/// `depth` samples, no deadline, lifespan or liveliness lease (what a joint_trajectory_controller
/// and a joint_state_broadcaster use).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Qos {
    /// Samples kept (history depth).
    pub depth: u32,
}

impl Default for Qos {
    fn default() -> Self {
        Self { depth: 10 }
    }
}

/// rmw_zenoh's default history depth; a field equal to its default is written empty.
const RMW_ZENOH_DEFAULT_DEPTH: u32 = 42;

impl Qos {
    /// `<reliability>:<durability>:<history>,<depth>:<deadline s>,<ns>:<lifespan s>,<ns>:<liveliness>,<lease s>,<ns>`,
    /// each field empty when it equals rmw_zenoh's default (reliable, volatile, keep last 42,
    /// infinite, infinite, automatic, infinite).
    #[must_use]
    pub fn keyexpr(&self) -> String {
        let depth = if self.depth == RMW_ZENOH_DEFAULT_DEPTH { String::new() } else { self.depth.to_string() };
        format!("::,{depth}:,:,:,,")
    }
}

/// A name part as a token writes it: '/' as '%', empty as '%'.
#[must_use]
pub fn mangle(part: &str) -> String {
    if part.is_empty() { "%".to_owned() } else { part.replace('/', "%") }
}

/// The token of node `name` with id `node_id` in the session `zid`.
#[must_use]
pub fn node_token(name: &NodeName, zid: &str, node_id: u64) -> String {
    format!(
        "{GRAPH_PREFIX}/{}/{zid}/{node_id}/{node_id}/NN/{}/{}/{}",
        name.domain,
        mangle(""),
        mangle(&name.namespace),
        mangle(&name.name)
    )
}

/// The token of a publisher or subscription of `M` on the resolved `topic`.
#[must_use]
pub fn entity_token<M: Ros2Message>(
    name: &NodeName,
    zid: &str,
    node_id: u64,
    entity_id: u64,
    kind: EntityKind,
    topic: &str,
    qos: &Qos,
) -> String {
    format!(
        "{GRAPH_PREFIX}/{}/{zid}/{node_id}/{entity_id}/{}/{}/{}/{}/{}/{}/{}/{}",
        name.domain,
        kind.code(),
        mangle(""),
        mangle(&name.namespace),
        mangle(&name.name),
        mangle(topic),
        M::dds_type_name(),
        M::TYPE_HASH,
        qos.keyexpr()
    )
}

/// Whether graph token `token` announces a subscription to `M` on the resolved `topic`.
#[must_use]
pub fn subscribes_to<M: Ros2Message>(token: &str, topic: &str) -> bool {
    let parts: Vec<&str> = token.split('/').collect();
    // @ros2_lv / domain / zid / node id / entity id / kind / enclave / namespace / node / topic / type / hash / qos
    parts.len() == 13
        && parts[5] == EntityKind::Subscription.code()
        && parts[9] == mangle(topic)
        && parts[10] == M::dds_type_name()
        && parts[11] == M::TYPE_HASH
}

#[cfg(test)]
mod tests {
    use super::super::{JointState, JointTrajectory};
    use super::*;

    const ZID: &str = "1234567890abcdef1234567890abcdef";

    #[test]
    fn node_and_entity_tokens_are_rmw_zenohs() {
        let name = NodeName::new(0, "", "diffplan_planner").unwrap();
        assert_eq!(node_token(&name, ZID, 0), format!("@ros2_lv/0/{ZID}/0/0/NN/%/%/diffplan_planner"));
        let publisher = entity_token::<JointTrajectory>(
            &name,
            ZID,
            0,
            1,
            EntityKind::Publisher,
            "/joint_trajectory_controller/joint_trajectory",
            &Qos::default(),
        );
        assert_eq!(
            publisher,
            format!(
                "@ros2_lv/0/{ZID}/0/1/MP/%/%/diffplan_planner/%joint_trajectory_controller%joint_trajectory/\
                 trajectory_msgs::msg::dds_::JointTrajectory_/\
                 RIHS01_179b33eba59d676f6d967ac71fe35e7ca2f64b2f3928f4a018cec115e213796e/::,10:,:,:,,"
            )
        );
        let name = NodeName::new(3, "/robot1", "diffplan_planner").unwrap();
        let subscription =
            entity_token::<JointState>(&name, ZID, 0, 2, EntityKind::Subscription, "/joint_states", &Qos::default());
        assert_eq!(
            subscription,
            format!(
                "@ros2_lv/3/{ZID}/0/2/MS/%/%robot1/diffplan_planner/%joint_states/sensor_msgs::msg::dds_::JointState_/\
                 RIHS01_a13ee3a330e346c9d87b5aa18d24e11690752bd33a0350f11c5882bc9179260e/::,10:,:,:,,"
            )
        );
        assert!(subscribes_to::<JointState>(&subscription, "/joint_states"));
        assert!(!subscribes_to::<JointState>(&subscription, "/other_states"));
        assert!(!subscribes_to::<JointTrajectory>(&subscription, "/joint_states"));
        assert!(!subscribes_to::<JointTrajectory>(&publisher, "/joint_trajectory_controller/joint_trajectory"));
    }
}
