//! `trajectory_msgs/msg/JointTrajectory`: what ros2_control's joint_trajectory_controller takes
//! on its `~/joint_trajectory` topic. Each point holds one value per joint, in the order of
//! `joint_names`, and its time after the header's stamp (a zero stamp: after its arrival).

use super::cdr::{CdrReader, CdrWriter};
use super::header::{Header, Stamp};
use super::message::Ros2Message;
use crate::WireError;

/// `trajectory_msgs/msg/JointTrajectoryPoint`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JointTrajectoryPoint {
    /// Joint positions (rad or m).
    pub positions: Vec<f64>,
    /// Joint velocities (rad/s or m/s); empty or one per joint.
    pub velocities: Vec<f64>,
    /// Joint accelerations; empty or one per joint.
    pub accelerations: Vec<f64>,
    /// Joint efforts; empty or one per joint.
    pub effort: Vec<f64>,
    /// When the point is to be reached, after the trajectory's start.
    pub time_from_start: Stamp,
}

/// `trajectory_msgs/msg/JointTrajectory`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JointTrajectory {
    /// The start of the trajectory on the robot's clock, or zero: start on arrival.
    pub header: Header,
    /// The joints, in the order of every point's values.
    pub joint_names: Vec<String>,
    /// The points, in increasing `time_from_start`.
    pub points: Vec<JointTrajectoryPoint>,
}

impl Ros2Message for JointTrajectory {
    const TYPE_NAME: &'static str = "trajectory_msgs/msg/JointTrajectory";
    const TYPE_HASH: &'static str = "RIHS01_179b33eba59d676f6d967ac71fe35e7ca2f64b2f3928f4a018cec115e213796e";

    fn encode(&self) -> Vec<u8> {
        let mut writer = CdrWriter::new();
        self.header.write(&mut writer);
        writer.strings(&self.joint_names);
        writer.length(self.points.len());
        for point in &self.points {
            writer.f64s(&point.positions);
            writer.f64s(&point.velocities);
            writer.f64s(&point.accelerations);
            writer.f64s(&point.effort);
            point.time_from_start.write(&mut writer);
        }
        writer.finish()
    }

    fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let mut reader = CdrReader::new(bytes, "JointTrajectory")?;
        let header = Header::read(&mut reader)?;
        let joint_names = reader.strings("joint_names")?;
        // A point is at least four empty sequences and a duration: 24 bytes.
        let count = reader.length("points", 24)?;
        let points = (0..count)
            .map(|k| {
                Ok(JointTrajectoryPoint {
                    positions: reader.f64s(&format!("points[{k}].positions"))?,
                    velocities: reader.f64s(&format!("points[{k}].velocities"))?,
                    accelerations: reader.f64s(&format!("points[{k}].accelerations"))?,
                    effort: reader.f64s(&format!("points[{k}].effort"))?,
                    time_from_start: Stamp::read(&mut reader, &format!("points[{k}].time_from_start"))?,
                })
            })
            .collect::<Result<Vec<_>, WireError>>()?;
        reader.end()?;
        let trajectory = Self { header, joint_names, points };
        trajectory.check()?;
        Ok(trajectory)
    }
}

impl JointTrajectory {
    /// Refuses what a controller would refuse: values that are not one per joint, non-finite
    /// values, times that do not increase.
    pub fn check(&self) -> Result<(), WireError> {
        let joints = self.joint_names.len();
        let invalid = |field: String, reason: String| WireError::Invalid { field, reason };
        let mut last: Option<Stamp> = None;
        for (k, point) in self.points.iter().enumerate() {
            let fields = [
                ("positions", &point.positions, false),
                ("velocities", &point.velocities, true),
                ("accelerations", &point.accelerations, true),
                ("effort", &point.effort, true),
            ];
            for (name, values, may_be_empty) in fields {
                if values.len() != joints && !(may_be_empty && values.is_empty()) {
                    return Err(invalid(
                        format!("points[{k}].{name}"),
                        format!("{} values for {joints} joints", values.len()),
                    ));
                }
                if let Some(i) = values.iter().position(|v| !v.is_finite()) {
                    return Err(invalid(format!("points[{k}].{name}[{i}]"), "not a finite number".into()));
                }
            }
            if last.is_some_and(|t| point.time_from_start <= t) {
                return Err(invalid(format!("points[{k}].time_from_start"), "not after the point before".into()));
            }
            last = Some(point.time_from_start);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Golden bytes: the same message serialised by the Python `rosbags` package
    /// (`serialize_cdr(msg, 'trajectory_msgs/msg/JointTrajectory')`, ROS 2 Jazzy type store).
    const GOLDEN: &str = "00010000 01000000 02000000 05000000 62617365 00000000 02000000 03000000 6a310000 \
        03000000 6a320000 01000000 02000000 9a9999999999b93f 9a9999999999c93f 00000000 00000000 00000000 \
        00000000 0065cd1d";

    fn golden_message() -> JointTrajectory {
        JointTrajectory {
            header: Header { stamp: Stamp { sec: 1, nanosec: 2 }, frame_id: "base".into() },
            joint_names: vec!["j1".into(), "j2".into()],
            points: vec![JointTrajectoryPoint {
                positions: vec![0.1, 0.2],
                time_from_start: Stamp { sec: 0, nanosec: 500_000_000 },
                ..JointTrajectoryPoint::default()
            }],
        }
    }

    #[test]
    fn encodes_to_the_bytes_rosbags_writes_and_back() {
        let bytes = golden_message().encode();
        assert_eq!(bytes, super::super::from_hex(GOLDEN));
        assert_eq!(bytes.len(), 88);
        assert_eq!(JointTrajectory::decode(&bytes).unwrap(), golden_message());
    }

    #[test]
    fn refuses_ragged_points_and_times_that_do_not_increase() {
        let mut ragged = golden_message();
        ragged.points[0].positions.pop();
        let error = JointTrajectory::decode(&ragged.encode()).unwrap_err();
        assert!(error.to_string().contains("points[0].positions: 1 values for 2 joints"), "{error}");
        let mut twice = golden_message();
        twice.points.push(twice.points[0].clone());
        let error = JointTrajectory::decode(&twice.encode()).unwrap_err();
        assert!(error.to_string().contains("points[1].time_from_start"), "{error}");
    }

    #[test]
    fn every_truncation_of_a_trajectory_is_refused() {
        let bytes = golden_message().encode();
        for len in 0..bytes.len() {
            assert!(JointTrajectory::decode(&bytes[..len]).is_err(), "{len} bytes accepted");
        }
    }
}
