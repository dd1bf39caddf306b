//! `diffplan fuzz`, the seeded slice CI runs (docs/RELIABILITY.md has a full run's figures):
//! every decoder of outside bytes gets its inputs, refuses most, accepts some (the mutations do
//! not only break the examples), and never panics.

use crate::common::diffplan;

/// Every decoder the fuzz command knows; a new one is added here and in the docs' table.
const DECODERS: [&str; 16] = [
    "wire-plan",
    "wire-plan-request",
    "wire-robot-state",
    "wire-command",
    "wire-heartbeat",
    "wire-error",
    "wire-model-card",
    "ros2-joint-state",
    "ros2-joint-trajectory",
    "ros2-attachment",
    "task-toml",
    "launch-toml",
    "train-toml",
    "checkpoint-manifest",
    "d4rl-hdf5",
    "d4rl-hdf5-bytes",
];

#[test]
fn a_seeded_slice_of_fuzzing_reaches_every_decoder_without_a_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("fuzz.json");
    let output =
        diffplan().args(["fuzz", "--inputs", "2000", "--seed", "21", "--json"]).arg(&json).output().expect("run");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let outcomes: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(&json).expect("the JSON table")).expect("JSON");
    let names: Vec<&str> = outcomes.iter().map(|o| o["target"].as_str().expect("name")).collect();
    assert_eq!(names, DECODERS);
    for outcome in &outcomes {
        assert_eq!(outcome["inputs"], 2000, "{outcome}");
        assert_eq!(outcome["panics"], 0, "{outcome}");
        let (accepted, refused) = (outcome["accepted"].as_u64(), outcome["refused"].as_u64());
        assert_eq!(accepted.zip(refused).map(|(a, r)| a + r), Some(2000), "{outcome}");
        assert!(accepted > Some(0) && refused > Some(0), "{outcome}");
    }
    let unknown = diffplan().args(["fuzz", "--target", "wire-plans"]).output().expect("run");
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("the decoders are wire-plan,"));
}
