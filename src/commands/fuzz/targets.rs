//! What `diffplan fuzz` feeds: every decoder of bytes from outside, each with valid examples
//! that the mutations start from. Each target runs the decoder the program itself runs: the wire
//! codec, the ROS 2 codec and the gateway's joint lookup, the task, launch and training files'
//! parse-and-validate, the checkpoint manifest's.

use std::path::Path;

use bridge::codec::{self, MAX_PAYLOAD_BYTES};
use bridge::message::{Command, ErrorReply, Heartbeat, Message, ModelCard, Plan, PlanRequest, RobotState};
use bridge::ros2::{Attachment, Header, JointState, JointTrajectory, JointTrajectoryPoint, Ros2Message, Stamp};
use planner::model::Manifest;
use rand_chacha::ChaCha8Rng;

use crate::nodes::launch_file::LaunchFile;
use crate::task::TaskFile;

/// Decodes one input: `Ok` if accepted, the reason if refused.
pub type Decode = Box<dyn Fn(&[u8]) -> Result<(), String>>;

/// Makes one whole input from the run's random numbers.
pub type Generate = Box<dyn FnMut(&mut ChaCha8Rng) -> anyhow::Result<Vec<u8>>>;

/// One decoder under fuzzing.
pub struct Target {
    /// Its name in the table and for `--target`.
    pub name: &'static str,
    /// Where its inputs come from.
    pub inputs: Inputs,
    /// The decoder.
    pub decode: Decode,
}

/// Where a target's inputs come from.
pub enum Inputs {
    /// Valid examples, each accepted by the decoder, mutated ([`super::mutator::input`]).
    Mutated(Vec<Vec<u8>>),
    /// Made whole, from the run's random numbers.
    Generated(Generate),
}

impl Target {
    fn new(name: &'static str, examples: Vec<Vec<u8>>, decode: impl Fn(&[u8]) -> Result<(), String> + 'static) -> Self {
        Self { name, inputs: Inputs::Mutated(examples), decode: Box::new(decode) }
    }
}

/// The targets whose inputs are mutated examples: the wire's, ROS 2's, the files'.
#[must_use]
pub fn mutated_targets() -> Vec<Target> {
    vec![
        wire::<Plan>("wire-plan", include_bytes!("seeds/Plan.json")),
        wire::<PlanRequest>("wire-plan-request", include_bytes!("seeds/PlanRequest.json")),
        wire::<RobotState>("wire-robot-state", include_bytes!("seeds/RobotState.json")),
        wire::<Command>("wire-command", include_bytes!("seeds/Command.json")),
        wire::<Heartbeat>("wire-heartbeat", include_bytes!("seeds/Heartbeat.json")),
        wire::<ErrorReply>("wire-error", include_bytes!("seeds/Error.json")),
        wire::<ModelCard>("wire-model-card", include_bytes!("seeds/ModelCard.json")),
        Target::new("ros2-joint-state", vec![joint_state().encode()], |bytes| {
            let state = JointState::decode(bytes).map_err(|e| e.to_string())?;
            state.positions_and_velocities(&["x".into(), "y".into()]).map(drop).map_err(|e| e.to_string())
        }),
        Target::new("ros2-joint-trajectory", vec![joint_trajectory().encode()], |bytes| {
            JointTrajectory::decode(bytes).and_then(|t| t.check()).map_err(|e| e.to_string())
        }),
        Target::new("ros2-attachment", vec![attachment().encode().to_vec()], |bytes| {
            Attachment::decode(bytes).map(drop).map_err(|e| e.to_string())
        }),
        text(
            "task-toml",
            &[
                include_str!("../../../configs/tasks/maze2d-umaze.toml"),
                include_str!("../../../configs/tasks/maze2d-umaze-closed-loop.toml"),
                include_str!("../../../configs/tasks/maze2d-umaze-value-guided.toml"),
                include_str!("../../../configs/tasks/maze2d-large-obstacles.toml"),
                include_str!("../../../configs/tasks/multi2d-medium.toml"),
            ],
            |path, text| TaskFile::parse(path, text).map(drop).map_err(|e| format!("{e:#}")),
        ),
        text(
            "launch-toml",
            &[
                include_str!("../../../launch/maze2d-umaze.toml"),
                include_str!("../../../launch/maze2d-umaze-realtime.toml"),
                include_str!("../../../launch/maze2d-umaze-ros2.toml"),
            ],
            |path, text| LaunchFile::parse(path, text).map(drop).map_err(|e| format!("{e:#}")),
        ),
        text(
            "train-toml",
            &[
                include_str!("../../../configs/train/maze2d-umaze.toml"),
                include_str!("../../../configs/train/maze2d-umaze-value.toml"),
            ],
            |path, text| {
                let config: planner::train::TrainConfig =
                    crate::config_file::parse_toml(path, text, "training config").map_err(|e| format!("{e:#}"))?;
                config.validate().map_err(|e| e.to_string())
            },
        ),
        text(
            "checkpoint-manifest",
            &[
                include_str!("../../../models/maze2d-umaze/manifest.toml"),
                include_str!("../../../models/maze2d-umaze-value/manifest.toml"),
            ],
            |path, text| Manifest::parse(path, text).map(drop).map_err(|e| e.to_string()),
        ),
    ]
}

/// The wire codec's decoder of `M`, with one example.
fn wire<M: Message + 'static>(name: &'static str, example: &[u8]) -> Target {
    Target::new(name, vec![example.trim_ascii_end().to_vec()], |bytes| {
        codec::decode::<M>(bytes, MAX_PAYLOAD_BYTES).map(drop).map_err(|e| e.to_string())
    })
}

/// A file read as UTF-8 text (bytes that are not are refused, as reading the file refuses them),
/// then parsed by `parse` as the file `fuzzed.toml`.
fn text(name: &'static str, examples: &[&str], parse: impl Fn(&Path, &str) -> Result<(), String> + 'static) -> Target {
    let examples = examples.iter().map(|e| e.as_bytes().to_vec()).collect();
    Target::new(name, examples, move |bytes| {
        let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"))?;
        parse(Path::new("fuzzed.toml"), text)
    })
}

fn joint_state() -> JointState {
    JointState {
        header: Header { stamp: Stamp::from_nanos(1_764_750_000_123_456_789), frame_id: "base_link".into() },
        name: vec!["y".into(), "x".into()],
        position: vec![1.0, 3.0],
        velocity: vec![0.0, -0.5],
        effort: Vec::new(),
    }
}

fn joint_trajectory() -> JointTrajectory {
    let point = |k: i64| JointTrajectoryPoint {
        positions: vec![3.0 - 0.01 * k as f64, 1.0],
        velocities: vec![-1.0, 0.0],
        accelerations: Vec::new(),
        effort: Vec::new(),
        time_from_start: Stamp::from_nanos(k * 10_000_000),
    };
    JointTrajectory {
        header: Header { stamp: Stamp::from_nanos(1_764_750_000_000_000_000), frame_id: String::new() },
        joint_names: vec!["x".into(), "y".into()],
        points: (1..=3).map(point).collect(),
    }
}

fn attachment() -> Attachment {
    Attachment { sequence: 42, source_timestamp_ns: 1_764_750_000_000_000_000, gid: *b"diffplan-gid-001" }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Mutations start from valid inputs: each target accepts each of its examples.
    #[test]
    fn every_target_accepts_its_examples() {
        for target in mutated_targets() {
            let Inputs::Mutated(examples) = &target.inputs else { continue };
            for example in examples {
                (target.decode)(example).unwrap_or_else(|e| panic!("{}: its example is refused: {e}", target.name));
            }
        }
    }
}
