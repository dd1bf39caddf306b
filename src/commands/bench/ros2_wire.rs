//! `diffplan bench wire`, the ROS 2 rows: a plan as the `JointTrajectory` the ROS 2 gateway
//! sends (built from the plan's rows, CDR-encoded, decoded), in process and from a publisher to
//! a subscriber in another Zenoh session, the same way as the native JSON plan beside it.

use std::sync::mpsc;
use std::time::Instant;

use anyhow::Context;
use bridge::message::Plan;
use bridge::ros2::{Attachment, JointTrajectory, NodeName, Ros2Message, Ros2Node, Stamp};
use bridge::zenoh::Wait;
use bridge::{Transport, codec};

use crate::nodes::ros2::trajectory::trajectory_of;

/// Maze2D's joints.
fn joints() -> Vec<String> {
    vec!["x".into(), "y".into()]
}

/// The trajectory of `plan`, as the gateway builds it for a state stamped 1000 s.
fn trajectory(plan: &Plan) -> anyhow::Result<JointTrajectory> {
    let start = Stamp { sec: 1000, nanosec: 0 };
    trajectory_of(&plan.states, plan.dt, &joints(), start, start).context("a trajectory of the plan")
}

/// The payload's size and `samples` times of building, encoding and decoding `plan`'s
/// trajectory, milliseconds.
pub fn codec_ms(plan: &Plan, samples: usize) -> anyhow::Result<(usize, Vec<f64>)> {
    let bytes = trajectory(plan)?.encode().len();
    let mut times = Vec::with_capacity(samples);
    for _ in 0..samples {
        let start = Instant::now();
        JointTrajectory::decode(&trajectory(plan)?.encode())?;
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    Ok((bytes, times))
}

/// `samples` delivery times of `plan`'s trajectory, milliseconds: from its attachment's source
/// timestamp (taken before encoding) to after it is decoded in another session, this machine's
/// clock on both ends, the first 20 left out as warm-up.
pub fn delivery_ms(plan: &Plan, samples: usize, node: &Transport) -> anyhow::Result<Vec<f64>> {
    let sender = node.open()?;
    let receiver = node.open()?;
    let topic = format!("/bench_{}/joint_trajectory", std::process::id());
    let name = |node: &str| NodeName::new(0, "", node);
    let publishing = Ros2Node::new(&sender, name("bench_planner")?)?;
    let mut publisher = publishing.publisher::<JointTrajectory>(&topic)?;
    let (tx, rx) = mpsc::channel();
    let _subscriber = receiver
        .declare_subscriber(publisher.key().to_owned())
        .callback(move |sample| {
            let attachment = sample.attachment().map(|a| Attachment::decode(&a.to_bytes()));
            let decoded = JointTrajectory::decode(&sample.payload().to_bytes());
            let _ = tx.send(match (attachment, decoded) {
                (Some(Ok(attachment)), Ok(_)) => {
                    Ok(i64::try_from(codec::now_ns()).unwrap_or(i64::MAX) - attachment.source_timestamp_ns)
                }
                _ => Err(anyhow::anyhow!("a trajectory arrived without its attachment or undecodable")),
            });
        })
        .wait()
        .map_err(bridge::BridgeError::zenoh)?;
    super::delivery::timed_deliveries(samples, &rx, || Ok(publisher.publish(&trajectory(plan)?)?))
}
