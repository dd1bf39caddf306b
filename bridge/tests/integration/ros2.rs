//! The ROS 2 adapter's decoders fuzzed as the JSON codec's are (random payloads, mutated valid
//! ones), and its node over real Zenoh sessions: what a subscription passes on and what it
//! rejects.

use std::time::{Duration, Instant};

use bridge::ros2::{
    Attachment, Header, JointState, JointTrajectory, JointTrajectoryPoint, NodeName, Ros2Message, Ros2Node, Stamp,
};
use bridge::zenoh::Wait;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::codec::mutate;
use crate::link::endpoints;

fn trajectory() -> JointTrajectory {
    JointTrajectory {
        header: Header { stamp: Stamp { sec: 1000, nanosec: 5 }, frame_id: "base".into() },
        joint_names: vec!["x".into(), "y".into()],
        points: (1..6)
            .map(|k| JointTrajectoryPoint {
                positions: vec![0.1 * f64::from(k), 2.0],
                velocities: vec![0.5, -0.5],
                time_from_start: Stamp::from_nanos(i64::from(k) * 10_000_000),
                ..JointTrajectoryPoint::default()
            })
            .collect(),
    }
}

fn joint_state() -> JointState {
    JointState {
        header: Header { stamp: Stamp { sec: 1000, nanosec: 0 }, frame_id: String::new() },
        name: vec!["x".into(), "y".into()],
        position: vec![3.0, 1.0],
        velocity: vec![0.25, 0.0],
        effort: vec![],
    }
}

/// Decodes `bytes` as each type; whatever is accepted must encode and decode to itself, and a
/// trajectory must pass its own checks.
fn decode_all(bytes: &[u8]) -> [bool; 3] {
    let trajectory = JointTrajectory::decode(bytes);
    if let Ok(t) = &trajectory {
        t.check().expect("an accepted trajectory passes its checks");
        assert_eq!(JointTrajectory::decode(&t.encode()).as_ref(), Ok(t));
    }
    let state = JointState::decode(bytes);
    if let Ok(s) = &state {
        assert_eq!(JointState::decode(&s.encode()).as_ref(), Ok(s));
    }
    [trajectory.is_ok(), state.is_ok(), Attachment::decode(bytes).is_ok()]
}

#[test]
fn random_payloads_are_rejected_without_panicking() {
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    let mut accepted = [0; 3];
    for trial in 0..20_000 {
        let len = rng.gen_range(0..256);
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.r#gen()).collect();
        // Half of them behind a valid CDR header, so the decoders get past it.
        if trial % 2 == 0 && bytes.len() >= 4 {
            bytes[..4].copy_from_slice(&[0, 1, 0, 0]);
        }
        for (count, ok) in accepted.iter_mut().zip(decode_all(&bytes)) {
            *count += usize::from(ok);
        }
    }
    // Random bytes almost never form a message with strings that end in their only NUL.
    assert!(accepted[0] + accepted[1] < 20, "{accepted:?} of 20000 random payloads accepted");
}

#[test]
fn mutated_valid_messages_never_panic_and_structural_damage_is_caught() {
    // Reference: valid encodings; each mutation flips, deletes or inserts one byte.
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for (valid, name) in [(trajectory().encode(), "JointTrajectory"), (joint_state().encode(), "JointState")] {
        let (mut rejected, mut resized, trials) = (0, 0, 20_000);
        for _ in 0..trials {
            let mut bytes = valid.clone();
            resized += usize::from(mutate(&mut rng, &mut bytes));
            let decoded = decode_all(&bytes);
            if !decoded[usize::from(name == "JointState")] {
                rejected += 1;
            }
        }
        // A flip inside a number stays a valid message; a byte deleted or inserted shifts every
        // field after it, which the alignment and length checks catch but for trailing padding.
        assert!(rejected * 10 > resized * 8, "{name}: {rejected} of {trials} mutations rejected ({resized} resized)");
    }
}

#[test]
fn a_subscription_passes_valid_samples_on_and_counts_what_it_rejects() {
    let (router, peer) = endpoints();
    let _router = router.open().expect("router");
    let (sender, receiver) = (peer.open().expect("sender"), peer.open().expect("receiver"));
    let publishing = Ros2Node::new(&sender, NodeName::new(0, "", "sender").unwrap()).expect("node");
    let mut publisher = publishing.publisher::<JointState>("/joint_states").expect("publisher");
    let listening = Ros2Node::new(&receiver, NodeName::new(0, "", "receiver").unwrap()).expect("node");
    let mut subscription = listening.subscription::<JointState>("/joint_states", 16).expect("subscription");
    std::thread::sleep(Duration::from_millis(500));
    let key = publisher.key().to_owned();
    let valid_attachment = Attachment { sequence: 9, source_timestamp_ns: 1, gid: [7; 16] }.encode().to_vec();
    sender.put(&key, joint_state().encode()).wait().expect("no attachment");
    sender.put(&key, joint_state().encode()).attachment(vec![0u8; 32]).wait().expect("short attachment");
    sender.put(&key, vec![0u8; 5 << 20]).attachment(valid_attachment.clone()).wait().expect("5 MiB");
    sender.put(&key, vec![0, 1, 0, 0, 9]).attachment(valid_attachment).wait().expect("not CDR");
    publisher.publish(&joint_state()).expect("valid");
    publisher.publish(&joint_state()).expect("valid");
    let began = Instant::now();
    let mut received = Vec::new();
    // The publisher's samples travel at a higher priority than the session's puts, so the valid
    // ones may arrive first: wait for all six.
    while (received.len() < 2 || subscription.rejected() < 4) && began.elapsed() < Duration::from_secs(10) {
        received.extend(subscription.drain());
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(received.len(), 2, "the two valid states");
    assert_eq!(received[0].message, joint_state());
    assert_eq!(
        received.iter().map(|r| r.attachment.sequence).collect::<Vec<_>>(),
        vec![1, 2],
        "sequence numbers from 1"
    );
    assert_eq!(received[0].attachment.gid, received[1].attachment.gid);
    assert_eq!(subscription.rejected(), 4, "no attachment, 32 bytes, oversized, not CDR");
}
