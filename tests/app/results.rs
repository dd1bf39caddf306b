//! Results a user can script: `eval --seed --json` writes every episode, the JSON validates
//! against the shipped schema (checked by the `jsonschema` package from PyPI, an independent
//! validator), its summary agrees with its episodes, and `scripts/plot_eval.py` draws it.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn python() -> std::ffi::OsString {
    std::env::var_os("DIFFPLAN_PYTHON").expect("DIFFPLAN_PYTHON names the venv's python (run scripts/test.sh)")
}

/// Runs `diffplan eval` with `args` and returns the JSON it wrote.
fn eval_json(dir: &Path, name: &str, args: &[&str]) -> (std::path::PathBuf, Value) {
    let path = dir.join(name);
    let output = Command::new(env!("CARGO_BIN_EXE_diffplan"))
        .args(["eval", "--config", &format!("{ROOT}/configs/tasks/maze2d-umaze.toml")])
        .args(args)
        .arg("--json")
        .arg(&path)
        .output()
        .expect("run diffplan");
    assert!(output.status.success(), "eval {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    let value = serde_json::from_str(&std::fs::read_to_string(&path).expect("the JSON file")).expect("JSON");
    (path, value)
}

#[test]
fn eval_json_holds_out_seeds_validates_and_plots() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (planner_path, planner) =
        eval_json(dir.path(), "planner.json", &["--seed", "1000", "--episodes", "20", "--steps", "4"]);
    let (random_path, random) =
        eval_json(dir.path(), "random.json", &["--policy", "random", "--seed", "1000", "--episodes", "20"]);

    for results in [&planner, &random] {
        let episodes = results["episodes"].as_array().expect("episodes");
        assert_eq!(episodes.len(), 20);
        let seeds: Vec<u64> = episodes.iter().map(|e| e["seed"].as_u64().expect("seed")).collect();
        assert_eq!(seeds, (1000..1020).collect::<Vec<u64>>());
        assert_eq!(results["first_seed"], 1000);
        let mean = episodes.iter().map(|e| e["score"].as_f64().expect("score")).sum::<f64>() / 20.0;
        let summary = results["summary"]["score_mean"].as_f64().expect("mean");
        assert!((mean - summary).abs() < 1e-9, "summary {summary} vs the episodes' mean {mean}");
        let reached = episodes.iter().filter(|e| e["reached"] == true).count();
        assert_eq!(results["summary"]["reached"].as_u64(), Some(reached as u64));
        // Maze2D episodes run to the time limit (300 steps on the U-maze).
        assert!(
            episodes.iter().all(|e| e["steps"] == 300),
            "{:?}",
            episodes.iter().map(|e| &e["steps"]).collect::<Vec<_>>()
        );
    }
    let plans: Vec<usize> = planner["episodes"]
        .as_array()
        .expect("episodes")
        .iter()
        .map(|e| e["plan_ms"].as_array().map_or(0, Vec::len))
        .collect();
    assert!(plans.iter().all(|&n| n == 1), "plan once: one latency per episode, got {plans:?}");
    assert_eq!(random["episodes"][0]["plan_ms"].as_array().map(Vec::len), Some(0));

    // The same seeds give the same episodes.
    let (_, again) = eval_json(dir.path(), "again.json", &["--policy", "random", "--seed", "1000", "--episodes", "20"]);
    assert_eq!(again["episodes"], random["episodes"]);

    let schema = format!("{ROOT}/docs/schema/eval-results.schema.json");
    let validate = Command::new(python())
        .args(["-c", "import json, sys, jsonschema; s = json.load(open(sys.argv[1])); [jsonschema.validate(json.load(open(p)), s) for p in sys.argv[2:]]"])
        .arg(&schema)
        .args([&planner_path, &random_path])
        .output()
        .expect("run python");
    assert!(validate.status.success(), "schema validation: {}", String::from_utf8_lossy(&validate.stderr));
    // The validator is not vacuous: a record with a wrong type is refused.
    let mut broken = random.clone();
    broken["episodes"][0]["seed"] = Value::String("zero".into());
    let broken_path = dir.path().join("broken.json");
    std::fs::write(&broken_path, broken.to_string()).expect("write");
    let refused = Command::new(python())
        .args(["-c", "import json, sys, jsonschema; jsonschema.validate(json.load(open(sys.argv[2])), json.load(open(sys.argv[1])))"])
        .arg(&schema)
        .arg(&broken_path)
        .output()
        .expect("run python");
    assert!(!refused.status.success(), "a string seed passed the schema");

    let svg_path = dir.path().join("comparison.svg");
    let plot = Command::new(python())
        .arg(format!("{ROOT}/scripts/plot_eval.py"))
        .args([&planner_path, &random_path])
        .args(["--labels", "planner,random", "--out"])
        .arg(&svg_path)
        .output()
        .expect("run python");
    assert!(plot.status.success(), "plot_eval.py: {}", String::from_utf8_lossy(&plot.stderr));
    let svg = std::fs::read_to_string(&svg_path).expect("svg");
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert_eq!(svg.matches("class=\"mean\"").count(), 2, "one bar per results file");
    assert_eq!(svg.matches("class=\"episode\"").count(), 40, "one dot per episode");
}
