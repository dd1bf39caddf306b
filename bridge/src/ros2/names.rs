//! ROS 2 names and the rmw_zenoh data keys built from them: `<domain>/<fully qualified topic
//! without its leading '/'>/<DDS type name>/<type hash>`, e.g.
//! `0/joint_states/sensor_msgs::msg::dds_::JointState_/RIHS01_a13e…260e`.

use super::message::Ros2Message;
use crate::BridgeError;

/// Where a ROS 2 node lives: its domain, namespace and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeName {
    /// The ROS domain id (`ROS_DOMAIN_ID`), 0–232.
    pub domain: u32,
    /// The node's namespace: empty or `/a/b`.
    pub namespace: String,
    /// The node's name.
    pub name: String,
}

/// The largest ROS domain id.
const MAX_DOMAIN: u32 = 232;

impl NodeName {
    /// Checks the parts against ROS 2's naming rules.
    pub fn new(domain: u32, namespace: &str, name: &str) -> Result<Self, BridgeError> {
        if domain > MAX_DOMAIN {
            return Err(BridgeError::Config(format!("ROS domain id {domain} is over {MAX_DOMAIN}")));
        }
        if !namespace.is_empty() && namespace != "/" {
            check_absolute(namespace, "ROS namespace")?;
        }
        check_token(name, "ROS node name")?;
        Ok(Self { domain, namespace: namespace.trim_end_matches('/').to_owned(), name: name.to_owned() })
    }

    /// `topic` resolved in this node's namespace: an absolute name stays, a relative one is put
    /// under the namespace. Refuses private (`~`) and malformed names.
    pub fn resolve(&self, topic: &str) -> Result<String, BridgeError> {
        if topic.starts_with('/') {
            check_absolute(topic, "ROS topic")?;
            Ok(topic.to_owned())
        } else {
            let resolved = format!("{}/{topic}", self.namespace);
            check_absolute(&resolved, "ROS topic")?;
            Ok(resolved)
        }
    }

    /// The rmw_zenoh key that carries messages of type `M` on `topic`.
    pub fn data_key<M: Ros2Message>(&self, topic: &str) -> Result<String, BridgeError> {
        let topic = self.resolve(topic)?;
        Ok(format!("{}/{}/{}/{}", self.domain, &topic[1..], M::dds_type_name(), M::TYPE_HASH))
    }
}

/// Checks `/token/token…`.
fn check_absolute(name: &str, what: &str) -> Result<(), BridgeError> {
    let Some(rest) = name.strip_prefix('/') else {
        return Err(BridgeError::Config(format!("{what} {name:?} must start with '/'")));
    };
    rest.split('/').try_for_each(|token| check_token(token, &format!("{what} {name:?}")))
}

/// Checks one name token: a letter or '_', then letters, digits and '_' (ROS 2's rules; no '~',
/// '{', '}' or Zenoh wildcards).
fn check_token(token: &str, what: &str) -> Result<(), BridgeError> {
    let mut chars = token.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        Ok(())
    } else {
        Err(BridgeError::Config(format!(
            "{what}: {token:?} is not a ROS name (a letter or '_', then letters, digits and '_')"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{JointState, JointTrajectory};
    use super::*;

    #[test]
    fn data_keys_are_rmw_zenohs() {
        // Reference: rmw_zenoh docs/design.md, "0/chatter/std_msgs::msg::dds_::String_/RIHS01_df66…";
        // a namespace /robot1 puts the topic under it.
        let node = NodeName::new(0, "", "diffplan").unwrap();
        assert_eq!(
            node.data_key::<JointState>("/joint_states").unwrap(),
            "0/joint_states/sensor_msgs::msg::dds_::JointState_/\
             RIHS01_a13ee3a330e346c9d87b5aa18d24e11690752bd33a0350f11c5882bc9179260e"
        );
        let node = NodeName::new(7, "/robot1", "diffplan").unwrap();
        assert_eq!(
            node.data_key::<JointTrajectory>("arm_controller/joint_trajectory").unwrap(),
            "7/robot1/arm_controller/joint_trajectory/trajectory_msgs::msg::dds_::JointTrajectory_/\
             RIHS01_179b33eba59d676f6d967ac71fe35e7ca2f64b2f3928f4a018cec115e213796e"
        );
        assert_eq!(node.data_key::<JointState>("/joint_states").unwrap().split('/').nth(1), Some("joint_states"));
    }

    #[test]
    fn malformed_names_are_refused_by_name() {
        let node = NodeName::new(0, "", "diffplan").unwrap();
        for topic in ["/a//b", "/a/", "~/private", "/a/*", "/1abc", ""] {
            assert!(node.data_key::<JointState>(topic).is_err(), "{topic:?} accepted");
        }
        assert!(NodeName::new(233, "", "n").is_err());
        assert!(NodeName::new(0, "robot1", "n").unwrap_err().to_string().contains("must start with '/'"));
    }
}
