//! `sensor_msgs/msg/JointState`: what a ROS 2 robot publishes about its joints (ros2_control's
//! joint_state_broadcaster on `/joint_states`). Names and values go together by index; a robot
//! may list its joints in any order and leave velocities or efforts empty.

use super::cdr::{CdrReader, CdrWriter};
use super::header::Header;
use super::message::Ros2Message;
use crate::WireError;

/// `sensor_msgs/msg/JointState`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JointState {
    /// When the joints were read, on the robot's clock.
    pub header: Header,
    /// The joints, in the order of the values.
    pub name: Vec<String>,
    /// Positions (rad or m), one per joint.
    pub position: Vec<f64>,
    /// Velocities (rad/s or m/s): one per joint, or empty.
    pub velocity: Vec<f64>,
    /// Efforts (N·m or N): one per joint, or empty.
    pub effort: Vec<f64>,
}

impl Ros2Message for JointState {
    const TYPE_NAME: &'static str = "sensor_msgs/msg/JointState";
    const TYPE_HASH: &'static str = "RIHS01_a13ee3a330e346c9d87b5aa18d24e11690752bd33a0350f11c5882bc9179260e";

    fn encode(&self) -> Vec<u8> {
        let mut writer = CdrWriter::new();
        self.header.write(&mut writer);
        writer.strings(&self.name);
        writer.f64s(&self.position);
        writer.f64s(&self.velocity);
        writer.f64s(&self.effort);
        writer.finish()
    }

    fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let mut reader = CdrReader::new(bytes, "JointState")?;
        let state = Self {
            header: Header::read(&mut reader)?,
            name: reader.strings("name")?,
            position: reader.f64s("position")?,
            velocity: reader.f64s("velocity")?,
            effort: reader.f64s("effort")?,
        };
        reader.end()?;
        Ok(state)
    }
}

impl JointState {
    /// The positions and velocities of `joints`, in that order, whatever the message's own
    /// order: refuses a missing joint, missing velocities and non-finite values by name.
    pub fn positions_and_velocities(&self, joints: &[String]) -> Result<(Vec<f64>, Vec<f64>), WireError> {
        let invalid =
            |field: &str, reason: String| WireError::Invalid { field: format!("joint_state.{field}"), reason };
        if self.position.len() != self.name.len() {
            return Err(invalid("position", format!("{} values for {} names", self.position.len(), self.name.len())));
        }
        if self.velocity.len() != self.name.len() {
            return Err(invalid(
                "velocity",
                format!(
                    "{} values for {} names; the planner needs every joint's velocity",
                    self.velocity.len(),
                    self.name.len()
                ),
            ));
        }
        let mut positions = Vec::with_capacity(joints.len());
        let mut velocities = Vec::with_capacity(joints.len());
        for joint in joints {
            let i = self.name.iter().position(|n| n == joint).ok_or_else(|| {
                invalid("name", format!("joint {joint:?} is missing (the message names {:?})", self.name))
            })?;
            for (field, value) in [("position", self.position[i]), ("velocity", self.velocity[i])] {
                if !value.is_finite() {
                    return Err(invalid(field, format!("joint {joint:?}: {value} is not a finite number")));
                }
            }
            positions.push(self.position[i]);
            velocities.push(self.velocity[i]);
        }
        Ok((positions, velocities))
    }
}

#[cfg(test)]
mod tests {
    use super::super::header::Stamp;
    use super::*;

    /// Golden bytes: the same message serialised by the Python `rosbags` package
    /// (`serialize_cdr(msg, 'sensor_msgs/msg/JointState')`, ROS 2 Jazzy type store).
    const GOLDEN: &str = "0001000005000000060000000100000000000000020000000200000078000000020000007900000002000000\
        000000000000f83f000000000000044002000000000000009a9999999999b93f9a9999999999c9bf00000000";

    fn golden_message() -> JointState {
        JointState {
            header: Header { stamp: Stamp { sec: 5, nanosec: 6 }, frame_id: String::new() },
            name: vec!["x".into(), "y".into()],
            position: vec![1.5, 2.5],
            velocity: vec![0.1, -0.2],
            effort: vec![],
        }
    }

    #[test]
    fn encodes_to_the_bytes_rosbags_writes_and_back() {
        let bytes = golden_message().encode();
        assert_eq!(bytes, super::super::from_hex(GOLDEN));
        assert_eq!(bytes.len(), 88);
        assert_eq!(JointState::decode(&bytes).unwrap(), golden_message());
    }

    #[test]
    fn picks_the_joints_by_name_and_names_what_is_missing() {
        let state = golden_message();
        let (p, v) = state.positions_and_velocities(&["y".into(), "x".into()]).unwrap();
        assert_eq!((p, v), (vec![2.5, 1.5], vec![-0.2, 0.1]));
        let error = state.positions_and_velocities(&["z".into()]).unwrap_err();
        assert!(error.to_string().contains("joint \"z\" is missing"), "{error}");
        let error = JointState { velocity: vec![], ..state }.positions_and_velocities(&["x".into()]).unwrap_err();
        assert!(error.to_string().contains("needs every joint's velocity"), "{error}");
    }
}
