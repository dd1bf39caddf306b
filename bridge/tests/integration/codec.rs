//! Property tests of the wire codec (docs/PROTOCOL.md): decoders never panic on garbage and name
//! what is wrong; f32 values survive a round trip bit for bit.

use bridge::WireError;
use bridge::codec::{self, MAX_PAYLOAD_BYTES};
use bridge::message::{
    Command, Component, ErrorReply, ExampleRequest, GoalLayout, Heartbeat, ModelCard, Plan, PlanLimits, PlanRequest,
    PlanTiming, RobotMode, RobotState, SamplerOptions,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A checkpoint digest of the right form (shared with the other tests).
pub(crate) const DIGEST: &str = "sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

/// The task of the test doubles.
pub(crate) const TASK: &str = "point-2d";

fn plan(states: Vec<Vec<f32>>) -> Plan {
    let actions = states.iter().map(|s| vec![s[0], s[1]]).collect();
    Plan {
        plan_id: "p-1".into(),
        request_id: Some("r".into()),
        planner_id: "planner-0".into(),
        task: TASK.into(),
        checkpoint_digest: DIGEST.into(),
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
        task: Some(TASK.into()),
        episode: 0,
        step: 5,
        time_s: 0.05,
        observation: vec![1.0, 1.0, 0.0, 0.0],
        goal: Some(vec![3.0, 1.0, 0.0, 0.0]),
        goal_tool_point: None,
        joint_names: None,
        obstacles: Vec::new(),
        mode: RobotMode::Running,
    }
}

/// The model card of planner `planner_id` for task `task`: a 2-D point, (x, y, vx, vy), 8 rows
/// (shared with the other tests).
pub(crate) fn card(planner_id: &str, task: &str) -> ModelCard {
    let component = |name: &str, unit: &str| Component { name: name.into(), unit: unit.into(), low: None, high: None };
    let bounded = |name: &str| Component { low: Some(-1.0), high: Some(1.0), ..component(name, "1") };
    ModelCard {
        planner_id: planner_id.into(),
        protocol_version: bridge::message::PROTOCOL_VERSION,
        task: task.into(),
        task_label: format!("{task} (test double)"),
        checkpoint: "models/none".into(),
        checkpoint_digest: DIGEST.into(),
        horizon: 8,
        diffusion_steps: 20,
        dt: 0.01,
        observation: vec![component("x", "m"), component("y", "m"), component("vx", "m/s"), component("vy", "m/s")],
        action: vec![bounded("ax"), bounded("ay")],
        goal: GoalLayout {
            width: 4,
            components: ["x", "y", "vx", "vy"].map(String::from).to_vec(),
            row: 7,
            note: "(x, y, 0, 0)".into(),
        },
        sampler: SamplerOptions { kind: "ddim".into(), steps: Some(10), eta: None },
        limits: PlanLimits { max_batch: 64, max_steps: 20, max_payload_bytes: MAX_PAYLOAD_BYTES as u64 },
        constraints: Vec::new(),
        replan_every: 0,
        streaming: false,
        example: ExampleRequest { observation: vec![0.0; 4], goal: vec![1.0, 1.0, 0.0, 0.0] },
    }
}

/// Every decoder, applied to one payload; none may panic.
fn decode_all(payload: &[u8]) -> [bool; 7] {
    [
        codec::decode::<Plan>(payload, MAX_PAYLOAD_BYTES).is_ok(),
        codec::decode::<PlanRequest>(payload, MAX_PAYLOAD_BYTES).is_ok(),
        codec::decode::<RobotState>(payload, MAX_PAYLOAD_BYTES).is_ok(),
        codec::decode::<Command>(payload, MAX_PAYLOAD_BYTES).is_ok(),
        codec::decode::<Heartbeat>(payload, MAX_PAYLOAD_BYTES).is_ok(),
        codec::decode::<ErrorReply>(payload, MAX_PAYLOAD_BYTES).is_ok(),
        codec::decode::<ModelCard>(payload, MAX_PAYLOAD_BYTES).is_ok(),
    ]
}

#[test]
fn random_bytes_are_rejected_without_panicking() {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    for _ in 0..2000 {
        let len = rng.gen_range(0..512);
        let bytes: Vec<u8> = (0..len).map(|_| rng.r#gen()).collect();
        assert_eq!(decode_all(&bytes), [false; 7], "random bytes accepted: {bytes:?}");
    }
}

/// Flips a bit of, deletes or inserts one byte of `bytes`; says whether its length changed.
pub(crate) fn mutate(rng: &mut ChaCha8Rng, bytes: &mut Vec<u8>) -> bool {
    let at = rng.gen_range(0..bytes.len());
    match rng.gen_range(0..3) {
        0 => {
            bytes[at] ^= 1 << rng.gen_range(0..8);
            false
        }
        1 => {
            bytes.remove(at);
            true
        }
        _ => {
            bytes.insert(at, rng.r#gen());
            true
        }
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
        mutate(&mut rng, &mut bytes);
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
        codec::decode::<RobotState>(text.replacen("\"v\":2", "\"v\":3", 1).as_bytes(), MAX_PAYLOAD_BYTES),
        Err(WireError::UnsupportedVersion { found: 3, supported: 2 })
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
    let mut undigested = plan(vec![vec![0.0; 4]; 3]);
    undigested.checkpoint_digest = DIGEST.to_uppercase().replace("SHA256", "sha256");
    match codec::encode(&undigested) {
        Err(WireError::Invalid { field, .. }) => assert_eq!(field, "plan.checkpoint_digest"),
        other => panic!("a plan with an upper-case digest encoded: {other:?}"),
    }
    let mut taskless = plan(vec![vec![0.0; 4]; 3]);
    taskless.task = "maze/2d".into();
    assert!(codec::encode(&taskless).is_err(), "a plan whose task is not an id encoded");
    let mut card = card("planner-0", TASK);
    card.goal.row = card.horizon;
    match codec::encode(&card) {
        Err(WireError::Invalid { field, .. }) => assert_eq!(field, "model_card.goal"),
        other => panic!("a card whose goal row is past its plan encoded: {other:?}"),
    }
}

#[test]
fn encodings_name_type_and_version() {
    assert_eq!(codec::encoding_of::<Plan>(), "application/json;diffplan/Plan/2");
    assert_eq!(codec::encoding_of::<PlanRequest>(), "application/json;diffplan/PlanRequest/2");
    assert_eq!(codec::encoding_of::<ModelCard>(), "application/json;diffplan/ModelCard/2");
}
