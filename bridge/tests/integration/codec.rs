//! Property tests of the wire codec (docs/PROTOCOL.md): decoders never panic on garbage and name
//! what is wrong; f32 values survive a round trip bit for bit.

use bridge::WireError;
use bridge::codec::{self, MAX_PAYLOAD_BYTES};
use bridge::message::{Command, ErrorReply, Heartbeat, Plan, PlanRequest, PlanTiming, RobotMode, RobotState};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn plan(states: Vec<Vec<f32>>) -> Plan {
    let actions = states.iter().map(|s| vec![s[0], s[1]]).collect();
    Plan {
        plan_id: "p-1".into(),
        request_id: Some("r".into()),
        planner_id: "planner-0".into(),
        robot_id: Some("robot-0".into()),
        episode: 3,
        from_step: 7,
        dt: 0.01,
        states,
        actions,
        valid_steps: Some(128),
        value: None,
        constraints: Vec::new(),
        timing: PlanTiming { queue_ms: 0.1, sample_ms: 80.0, model_ms: 70.0 },
        model_calls: 20,
        seed: 42,
    }
}

/// A valid robot state (shared with the schema tests).
pub(crate) fn state() -> RobotState {
    RobotState {
        robot_id: "robot-0".into(),
        episode: 0,
        step: 5,
        time_s: 0.05,
        observation: vec![1.0, 1.0, 0.0, 0.0],
        goal: Some(vec![3.0, 1.0, 0.0, 0.0]),
        joint_names: None,
        mode: RobotMode::Running,
    }
}

/// Every decoder, applied to one payload; none may panic.
fn decode_all(payload: &[u8]) -> [bool; 6] {
    [
        codec::decode::<Plan>(payload, MAX_PAYLOAD_BYTES).is_ok(),
        codec::decode::<PlanRequest>(payload, MAX_PAYLOAD_BYTES).is_ok(),
        codec::decode::<RobotState>(payload, MAX_PAYLOAD_BYTES).is_ok(),
        codec::decode::<Command>(payload, MAX_PAYLOAD_BYTES).is_ok(),
        codec::decode::<Heartbeat>(payload, MAX_PAYLOAD_BYTES).is_ok(),
        codec::decode::<ErrorReply>(payload, MAX_PAYLOAD_BYTES).is_ok(),
    ]
}

#[test]
fn random_bytes_are_rejected_without_panicking() {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    for _ in 0..2000 {
        let len = rng.gen_range(0..512);
        let bytes: Vec<u8> = (0..len).map(|_| rng.r#gen()).collect();
        assert_eq!(decode_all(&bytes), [false; 6], "random bytes accepted: {bytes:?}");
    }
}

#[test]
fn mutated_valid_payloads_never_panic_and_corruption_is_mostly_caught() {
    // Reference: a valid encoding; each mutation flips, deletes or inserts one byte.
    let valid = codec::encode(&plan(vec![vec![1.0, 2.0, 0.5, -0.5]; 4])).expect("valid plan");
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut rejected = 0;
    let trials = 3000;
    for _ in 0..trials {
        let mut bytes = valid.clone();
        let at = rng.gen_range(0..bytes.len());
        match rng.gen_range(0..3) {
            0 => bytes[at] ^= 1 << rng.gen_range(0..8),
            1 => {
                bytes.remove(at);
            }
            _ => bytes.insert(at, rng.r#gen()),
        }
        let decoded = decode_all(&bytes);
        // Whatever is accepted as a plan must still be a valid plan (finite, consistent).
        if let Ok(plan) = codec::decode::<Plan>(&bytes, MAX_PAYLOAD_BYTES) {
            assert!(plan.body.states.iter().flatten().all(|v| v.is_finite()));
            assert_eq!(plan.body.states.len(), plan.body.actions.len());
        }
        if !decoded[0] {
            rejected += 1;
        }
    }
    // Digit changes inside numbers stay valid JSON; everything structural must be caught.
    assert!(rejected * 2 > trials, "only {rejected} of {trials} corruptions rejected");
}

#[test]
fn f32_values_round_trip_bit_for_bit() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let mut rows = Vec::new();
    while rows.len() < 500 {
        let row: Vec<f32> = (0..4).map(|_| f32::from_bits(rng.r#gen())).collect();
        if row.iter().all(|v| v.is_finite()) {
            rows.push(row);
        }
    }
    rows.push(vec![f32::MIN_POSITIVE, f32::MAX, -0.0, 1e-45]);
    let sent = plan(rows);
    let received = codec::decode::<Plan>(&codec::encode(&sent).expect("finite"), MAX_PAYLOAD_BYTES).expect("decodes");
    for (a, b) in sent.states.iter().flatten().zip(received.body.states.iter().flatten()) {
        assert_eq!(a.to_bits(), b.to_bits(), "{a:e} came back as {b:e}");
    }
}

#[test]
fn each_failure_names_its_cause() {
    let good = codec::encode(&state()).expect("valid state");
    let text = String::from_utf8(good.clone()).expect("JSON is UTF-8");
    assert!(matches!(codec::decode::<RobotState>(&good, 10), Err(WireError::Oversized { max: 10, .. })));
    assert!(matches!(
        codec::decode::<RobotState>(text.replacen("\"v\":1", "\"v\":2", 1).as_bytes(), MAX_PAYLOAD_BYTES),
        Err(WireError::UnsupportedVersion { found: 2, supported: 1 })
    ));
    assert!(matches!(
        codec::decode::<Plan>(&good, MAX_PAYLOAD_BYTES),
        Err(WireError::WrongType { expected: "Plan", .. })
    ));
    let unknown = text.replacen("\"robot_id\"", "\"speed\":1,\"robot_id\"", 1);
    match codec::decode::<RobotState>(unknown.as_bytes(), MAX_PAYLOAD_BYTES) {
        Err(WireError::Malformed { reason, .. }) => assert!(reason.contains("speed"), "{reason}"),
        other => panic!("unknown field accepted: {other:?}"),
    }
    let bad_id = text.replacen("robot-0", "robot/0", 1);
    assert!(matches!(
        codec::decode::<RobotState>(bad_id.as_bytes(), MAX_PAYLOAD_BYTES),
        Err(WireError::Invalid { field, .. }) if field == "robot_state.robot_id"
    ));
}

#[test]
fn nothing_invalid_is_sent() {
    let mut nan = state();
    nan.observation[2] = f32::NAN;
    match codec::encode(&nan) {
        Err(WireError::Invalid { field, .. }) => assert_eq!(field, "robot_state.observation[2]"),
        other => panic!("NaN state encoded: {other:?}"),
    }
    let mut ragged = plan(vec![vec![0.0; 4]; 3]);
    ragged.states[2].pop();
    match codec::encode(&ragged) {
        Err(WireError::Invalid { field, .. }) => assert_eq!(field, "plan.states[2]"),
        other => panic!("ragged plan encoded: {other:?}"),
    }
    let mut short = plan(vec![vec![0.0; 4]; 3]);
    short.actions.pop();
    assert!(codec::encode(&short).is_err(), "plan with fewer actions than states encoded");
}

#[test]
fn encodings_name_type_and_version() {
    assert_eq!(codec::encoding_of::<Plan>(), "application/json;diffplan/Plan/1");
    assert_eq!(codec::encoding_of::<PlanRequest>(), "application/json;diffplan/PlanRequest/1");
}
