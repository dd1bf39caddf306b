//! The wire's JSON Schemas (docs/schema/<Type>.schema.json) against the codec: they are the ones
//! the message types generate; every payload the codec encodes validates (checked by the
//! `jsonschema` package from PyPI, an independent validator); and shape errors that the decoder
//! refuses (an unknown field, a wrong type, a negative count, a missing field, another version
//! or type) the schema refuses too.

use std::path::Path;
use std::process::Command as Process;

use bridge::codec::{self, MAX_PAYLOAD_BYTES};
use bridge::message::{
    Command, CommandKind, ErrorCode, ErrorReply, Heartbeat, ModelCard, NodeStatus, Obstacle, Plan, PlanRequest,
    PlanTiming, RobotState, Role, SamplerOptions, Waypoint,
};
use bridge::schema::message_schemas;
use serde_json::{Value, json};

use crate::codec::{DIGEST, TASK, card, state};

const DOCS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/schema");

fn samples() -> Vec<(&'static str, Vec<u8>)> {
    let state = state();
    let request = PlanRequest {
        request_id: "r-1".into(),
        robot_id: Some("robot-0".into()),
        task: Some(TASK.into()),
        episode: 4,
        from_step: 5,
        observation: vec![1.0, 1.0, 0.0, 0.0],
        goal: Some(vec![3.0, 1.0, 0.0, 0.0]),
        goal_tool_point: None,
        arrival: Some(100),
        waypoints: vec![Waypoint { index: 3, state: vec![2.0, 1.0, 0.0, 0.0] }],
        obstacles: vec![Obstacle::Sphere { center: [0.5, 0.0, 0.3], radius: 0.1 }],
        sampler: Some(SamplerOptions { kind: "ddim".into(), steps: Some(10), eta: Some(0.5) }),
        seed: 7,
        batch_size: Some(4),
        deadline_ms: None,
    };
    let plan = Plan {
        plan_id: "p-1".into(),
        request_id: Some("r-1".into()),
        planner_id: "planner-0".into(),
        task: TASK.into(),
        checkpoint_digest: DIGEST.into(),
        robot_id: None,
        episode: 4,
        from_step: 5,
        dt: 0.01,
        states: vec![vec![1.0, 1.0, 0.0, 0.0], vec![1.5, 1.0, 0.1, 0.0]],
        actions: vec![vec![0.5, 0.0], vec![0.0, 0.0]],
        valid_steps: Some(13),
        value: None,
        constraints: Vec::new(),
        timing: PlanTiming { queue_ms: 0.1, sample_ms: 80.0, model_ms: 70.0 },
        model_calls: 20,
        seed: 7,
    };
    let error = ErrorReply { request_id: None, code: ErrorCode::BadRequest, message: "no".into() };
    let command = Command { robot_id: "robot-0".into(), command: CommandKind::Hold };
    let heartbeat = Heartbeat {
        node_id: "planner-0".into(),
        role: Role::Planner,
        status: NodeStatus::Ok,
        reason: None,
        step: Some(3),
        task: Some(TASK.into()),
        checkpoint_digest: Some(DIGEST.into()),
        counters: [("plans_served".to_owned(), 2)].into_iter().collect(),
    };
    vec![
        ("RobotState", codec::encode(&state).expect("encode")),
        ("PlanRequest", codec::encode(&request).expect("encode")),
        ("Plan", codec::encode(&plan).expect("encode")),
        ("Error", codec::encode(&error).expect("encode")),
        ("Command", codec::encode(&command).expect("encode")),
        ("Heartbeat", codec::encode(&heartbeat).expect("encode")),
        ("ModelCard", codec::encode(&card("planner-0", TASK)).expect("encode")),
    ]
}

/// Whether each `(type, payload)` validates against the shipped schema of its type.
fn validates(payloads: &[(&str, Value)]) -> Vec<bool> {
    let python = std::env::var_os("DIFFPLAN_PYTHON").expect("DIFFPLAN_PYTHON (run scripts/test.sh)");
    let script = "import json, sys, jsonschema\n\
                  cases = json.load(sys.stdin)\n\
                  print(json.dumps([jsonschema.Draft202012Validator(json.load(open(f'{sys.argv[1]}/{t}.schema.json'))).is_valid(p) for t, p in cases]))";
    let mut child = Process::new(python)
        .args(["-c", script, DOCS])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run python");
    let cases: Vec<Value> = payloads.iter().map(|(t, p)| json!([t, p])).collect();
    serde_json::to_writer(child.stdin.take().expect("stdin"), &cases).expect("write cases");
    let output = child.wait_with_output().expect("python finishes");
    assert!(output.status.success(), "the validator failed");
    serde_json::from_slice(&output.stdout).expect("a list of booleans")
}

/// Whether the codec decodes `payload` as a `kind` message.
fn decodes(kind: &str, payload: &Value) -> bool {
    let bytes = payload.to_string().into_bytes();
    match kind {
        "RobotState" => codec::decode::<RobotState>(&bytes, MAX_PAYLOAD_BYTES).is_ok(),
        "PlanRequest" => codec::decode::<PlanRequest>(&bytes, MAX_PAYLOAD_BYTES).is_ok(),
        "Plan" => codec::decode::<Plan>(&bytes, MAX_PAYLOAD_BYTES).is_ok(),
        "Error" => codec::decode::<ErrorReply>(&bytes, MAX_PAYLOAD_BYTES).is_ok(),
        "Command" => codec::decode::<Command>(&bytes, MAX_PAYLOAD_BYTES).is_ok(),
        "ModelCard" => codec::decode::<ModelCard>(&bytes, MAX_PAYLOAD_BYTES).is_ok(),
        _ => codec::decode::<Heartbeat>(&bytes, MAX_PAYLOAD_BYTES).is_ok(),
    }
}

#[test]
fn the_shipped_schemas_are_the_ones_the_types_generate() {
    for (kind, schema) in message_schemas() {
        let path = Path::new(DOCS).join(format!("{kind}.schema.json"));
        let generated = serde_json::to_string_pretty(&schema).expect("json") + "\n";
        if std::env::var_os("DIFFPLAN_BLESS").is_some() {
            std::fs::write(&path, &generated).expect("write the schema");
        }
        let shipped = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            shipped == generated,
            "{} is stale; regenerate: DIFFPLAN_BLESS=1 cargo test --release --locked -p bridge --test integration schema",
            path.display()
        );
    }
}

#[test]
fn encoded_payloads_validate_and_shape_errors_are_refused_by_schema_and_decoder_alike() {
    let valid: Vec<(&str, Value)> =
        samples().into_iter().map(|(kind, bytes)| (kind, serde_json::from_slice(&bytes).expect("json"))).collect();
    assert_eq!(validates(&valid), vec![true; valid.len()], "an encoded payload failed its schema");
    // Omitted optional fields mean the same as null.
    let mut omitted = valid[1].1.clone();
    for field in
        ["robot_id", "task", "episode", "from_step", "goal", "arrival", "sampler", "seed", "batch_size", "deadline_ms"]
    {
        omitted["body"].as_object_mut().expect("body").remove(field);
    }
    assert!(decodes("PlanRequest", &omitted));
    assert_eq!(validates(&[("PlanRequest", omitted)]), vec![true]);

    let broken = |kind: &str, edit: &dyn Fn(&mut Value)| -> (String, Value) {
        let mut payload = valid.iter().find(|(k, _)| *k == kind).expect("sample").1.clone();
        edit(&mut payload);
        (kind.to_owned(), payload)
    };
    let cases = [
        broken("PlanRequest", &|p| p["body"]["colour"] = json!("red")),
        broken("PlanRequest", &|p| p["body"]["seed"] = json!("seven")),
        broken("PlanRequest", &|p| p["body"]["episode"] = json!(-1)),
        broken("PlanRequest", &|p| {
            p["body"].as_object_mut().expect("body").remove("observation");
        }),
        broken("RobotState", &|p| p["body"]["mode"] = json!("flying")),
        broken("Plan", &|p| p["body"]["states"] = json!([[1.0, "x"]])),
        broken("Plan", &|p| p["v"] = json!(1)),
        broken("Plan", &|p| {
            p["body"].as_object_mut().expect("body").remove("task");
        }),
        broken("ModelCard", &|p| p["body"]["horizon"] = json!(-8)),
        broken("ModelCard", &|p| p["body"]["goal"]["side"] = json!("left")),
        broken("Command", &|p| p["type"] = json!("Plan")),
        broken("Heartbeat", &|p| p["extra"] = json!(1)),
        broken("Error", &|p| p["body"]["code"] = json!("teapot")),
    ];
    for (kind, payload) in &cases {
        assert!(!decodes(kind, payload), "the decoder took {payload}");
    }
    let cases: Vec<(&str, Value)> = cases.iter().map(|(k, p)| (k.as_str(), p.clone())).collect();
    let verdicts = validates(&cases);
    for ((kind, payload), valid) in cases.iter().zip(verdicts) {
        assert!(!valid, "the {kind} schema took what the decoder refuses: {payload}");
    }
}
