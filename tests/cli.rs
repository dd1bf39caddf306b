//! `diffplan plan` end to end: the binary on a checkpoint saved by the planner crate.

use std::path::Path;
use std::process::{Command, Output};

use planner::model::{Architecture, Checkpoint, ModelOutput, ModelSpec, NativeModel, Normalizer, Provenance};
use planner::schedule::ScheduleSpec;
use serde_json::Value;
use tch::Device;

const HORIZON: usize = 64;

/// A freshly initialised U-Net checkpoint (A = 2, O = 4, H = 64, N = 20) in `dir`.
fn checkpoint(dir: &Path) {
    let spec = ModelSpec {
        horizon: HORIZON,
        action_dim: 2,
        observation_dim: 4,
        output: ModelOutput::Sample,
        diffusion_steps: 20,
        schedule: ScheduleSpec::default(),
        normalizer: Normalizer::Limits {
            min: vec![-1.0, -1.0, 0.0, 0.0, -5.0, -5.0],
            max: vec![1.0, 1.0, 4.0, 4.0, 5.0, 5.0],
        },
    };
    let architecture = Architecture::TemporalUnet { dim: 16, dim_mults: vec![1, 2], attention: false };
    let model = NativeModel::new(spec, architecture, Device::Cpu).expect("model");
    Checkpoint::save(dir, &model, Provenance::default()).expect("save");
}

fn diffplan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_diffplan")).args(args).output().expect("run diffplan")
}

fn plan_json(args: &[&str]) -> Value {
    let output = diffplan(args);
    assert!(output.status.success(), "diffplan {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("one JSON document")
}

#[test]
fn plan_prints_candidates_that_start_at_the_start_and_repeat_with_the_seed() {
    let dir = tempfile::tempdir().expect("tempdir");
    checkpoint(dir.path());
    let checkpoint = dir.path().to_str().expect("utf-8 path");
    let args = [
        "plan",
        "--checkpoint",
        checkpoint,
        "--start",
        "1,2,0.5,-1",
        "--goal",
        "3,1,0,0",
        "--waypoint",
        "10:2,2,0,0",
        "--sampler",
        "ddim",
        "--steps",
        "6",
        "--batch",
        "3",
        "--seed",
        "9",
        "--threads",
        "1",
    ];
    let first = plan_json(&args);
    let candidates = first["plan"]["candidates"].as_array().expect("candidates");
    assert_eq!(candidates.len(), 3);
    for candidate in candidates {
        let states = candidate["states"].as_array().expect("states");
        assert_eq!(states.len(), HORIZON);
        assert_eq!(states[0], serde_json::json!([1.0, 2.0, 0.5, -1.0]));
        assert_eq!(states[10], serde_json::json!([2.0, 2.0, 0.0, 0.0]));
        assert_eq!(states[HORIZON - 1], serde_json::json!([3.0, 1.0, 0.0, 0.0]));
    }
    assert_eq!(first["plan"]["stats"]["model_calls"], 6);
    assert_eq!(first["plan"]["stats"]["timesteps"], serde_json::json!([19, 15, 11, 8, 4, 0]));
    assert_eq!(first["request"]["sampler"]["kind"], "ddim");
    // A second process with the same seed prints the same trajectories.
    assert_eq!(plan_json(&args)["plan"]["candidates"], first["plan"]["candidates"]);
}

#[test]
fn a_request_file_is_read_and_flags_override_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    checkpoint(dir.path());
    let checkpoint = dir.path().to_str().expect("utf-8 path");
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/requests/example.toml");
    let json = plan_json(&["plan", "--checkpoint", checkpoint, "--request", example, "--steps", "5", "--seed", "2"]);
    assert_eq!(json["request"]["sampler"]["kind"], "dpm_solver_pp", "kind comes from the file");
    assert_eq!(json["request"]["sampler"]["steps"], 5, "--steps overrides the file");
    assert_eq!(json["request"]["seed"], 2);
    assert_eq!(json["plan"]["candidates"].as_array().expect("candidates").len(), 4);
    assert_eq!(json["plan"]["candidates"][0]["states"][32], serde_json::json!([2.0, 2.0, 0.0, 0.0]));
}

#[test]
fn bad_input_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    checkpoint(dir.path());
    let checkpoint = dir.path().to_str().expect("utf-8 path");
    let bad_request = dir.path().join("bad.toml");
    std::fs::write(&bad_request, "observation = [1.0, 2.0]\nspeed = 3\n[sampler]\nkind = \"ddim\"\n").expect("write");
    let refuse = |args: &[&str], needle: &str| {
        let output = diffplan(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success() && stderr.contains(needle), "{args:?}: {needle:?} not in {stderr}");
        assert!(output.stdout.is_empty(), "{args:?} printed a plan");
    };
    refuse(&["plan", "--checkpoint", checkpoint], "--start");
    refuse(&["plan", "--checkpoint", "/nonexistent/ckpt", "--start", "0,0,0,0"], "/nonexistent/ckpt/manifest.toml");
    refuse(&["plan", "--checkpoint", checkpoint, "--start", "0,0,0"], "has 3 values, the model's observations have 4");
    refuse(&["plan", "--checkpoint", checkpoint, "--start", "0,0,0,0", "--waypoint", "7=1,2"], "INDEX:v1,v2");
    refuse(
        &["plan", "--checkpoint", checkpoint, "--request", bad_request.to_str().expect("utf-8")],
        "unknown field `speed`",
    );
    refuse(&["plan", "--checkpoint", checkpoint, "--start", "0,0,0,0", "--steps", "50"], "use 1..=20");
    refuse(&["plan", "--checkpoint", checkpoint, "--start", "0,0,0,0", "--device", "gpu"], "cpu, cuda or cuda:N");
}
