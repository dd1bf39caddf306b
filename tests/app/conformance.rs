//! `diffplan conformance` against real nodes on loopback: our plan service passes every planner
//! check and every payload it sent validates against the shipped JSON Schemas (checked by the
//! `jsonschema` package from PyPI, an independent validator); our real-time robot and the
//! Python example robot (clients/python/examples) pass every robot check, their states and
//! heartbeats validating too; a robot that does not
//! hold on staleness fails; and a robot whose task no planner serves is told which are served.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use crate::common::{ROOT, Reaper, diffplan, endpoint, fast_task};

/// Runs `diffplan conformance ARGS`, returning its output.
fn conformance(args: &[&str]) -> Output {
    diffplan().arg("conformance").args(args).output().expect("run diffplan conformance")
}

/// `output`'s stdout, with its stderr for failure messages.
fn printed(output: &Output) -> String {
    format!("{}\nstderr:\n{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

fn spawn(command: &mut Command, reaper: &mut Reaper) -> Child {
    let child = command.stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("start a node");
    reaper.watch(&child);
    child
}

fn stop(mut child: Child) {
    child.kill().expect("stop a node");
    child.wait().expect("reap a node");
}

/// How many of the JSON payloads in `dir` (named `<n>-<Type>.json`) validate against
/// docs/schema/<Type>.schema.json, and how many there are.
fn schema_valid(dir: &Path) -> (u64, u64) {
    let python = std::env::var_os("DIFFPLAN_PYTHON").expect("DIFFPLAN_PYTHON (run scripts/test.sh)");
    let script = "import json, pathlib, sys, jsonschema\n\
                  files = sorted(pathlib.Path(sys.argv[1]).glob('*.json'))\n\
                  schema = lambda f: json.load(open(f'{sys.argv[2]}/{f.stem.split(\"-\", 1)[1]}.schema.json'))\n\
                  valid = [jsonschema.Draft202012Validator(schema(f)).is_valid(json.load(open(f))) for f in files]\n\
                  print(sum(valid), len(valid))";
    let output = Command::new(python)
        .args(["-c", script])
        .arg(dir)
        .arg(Path::new(ROOT).join("docs/schema"))
        .output()
        .expect("run python");
    assert!(output.status.success(), "the validator failed: {}", String::from_utf8_lossy(&output.stderr));
    let counts: Vec<u64> =
        String::from_utf8_lossy(&output.stdout).split_whitespace().map(|n| n.parse().expect("a count")).collect();
    (counts[0], counts[1])
}

#[test]
fn our_plan_service_conforms_its_payloads_validate_and_an_unserved_task_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let task = fast_task(dir.path(), 0);
    let endpoint = endpoint();
    let mut reaper = Reaper::default();
    let planner = spawn(
        diffplan()
            .args(["serve", "--id", "planner-c", "--listen", &endpoint, "--namespace", "conf"])
            .arg("--config")
            .arg(&task),
        &mut reaper,
    );
    let payloads = dir.path().join("payloads");
    let checked =
        conformance(&["planner", &endpoint, "--namespace", "conf", "--payloads", payloads.to_str().expect("utf-8")]);
    assert!(checked.status.success(), "{}", printed(&checked));
    let table = String::from_utf8_lossy(&checked.stdout);
    assert!(table.contains("| refuses another task | pass |") && table.contains(" 0 failed"), "{table}");
    let (valid, sent) = schema_valid(&payloads);
    assert!(sent >= 12, "only {sent} payloads kept");
    assert_eq!(valid, sent, "payloads that fail their schema are in {}", payloads.display());

    // A robot of maze2d-large, with only a U-maze planner on the network.
    let robot = diffplan()
        .args(["robot", "--connect", &endpoint, "--namespace", "conf", "--planner-wait-s", "2"])
        .arg("--config")
        .arg(Path::new(ROOT).join("configs/tasks/maze2d-large.toml"))
        .output()
        .expect("run the robot");
    stop(planner);
    let said = String::from_utf8_lossy(&robot.stderr);
    assert!(!robot.status.success(), "a robot without a planner of its task succeeded");
    assert!(said.contains("no planner serves task maze2d-large"), "{said}");
    assert!(said.contains("served: maze2d-umaze (planner-c)"), "{said}");
}

#[test]
fn our_realtime_robot_and_the_python_example_conform_and_one_that_never_holds_fails() {
    let python = std::env::var_os("DIFFPLAN_PYTHON").expect("DIFFPLAN_PYTHON (run scripts/test.sh)");
    let endpoint = endpoint();
    let mut reaper = Reaper::default();
    let router = spawn(diffplan().args(["router", "--listen", &endpoint]), &mut reaper);
    let config = Path::new(ROOT).join("configs/tasks/maze2d-umaze.toml");
    let dir = tempfile::tempdir().expect("tempdir");
    let payloads = |robot: &str| dir.path().join(robot);
    let check = |robot: &str| {
        let kept = payloads(robot);
        let config = config.to_str().expect("utf-8");
        conformance(&[
            "robot",
            &endpoint,
            "--robot",
            robot,
            "--config",
            config,
            "--payloads",
            kept.to_str().expect("utf-8"),
        ])
    };
    // Ours, at a quarter of real speed, so that one U-maze episode (300 steps) outlasts the check.
    let ours = spawn(
        diffplan()
            .args(["robot", "--mode", "realtime", "--speed", "0.25", "--episodes", "2", "--id", "ours"])
            .args(["--connect", &endpoint])
            .arg("--config")
            .arg(&config),
        &mut reaper,
    );
    let checked = check("ours");
    stop(ours);
    assert!(checked.status.success(), "{}", printed(&checked));
    let limits = "| refuses a plan beyond its limits | pass |";
    assert!(String::from_utf8_lossy(&checked.stdout).contains(limits), "{}", printed(&checked));
    let (valid, sent) = schema_valid(&payloads("ours"));
    assert!(sent >= 100, "only {sent} states and heartbeats kept");
    assert_eq!(valid, sent, "payloads that fail their schema are in {}", payloads("ours").display());

    let example = |id: &str, plan_timeout_ms: &str| {
        Command::new(&python)
            .arg(Path::new(ROOT).join("clients/python/examples/streaming_robot.py"))
            .args(["--connect", &endpoint, "--id", id, "--plan-timeout-ms", plan_timeout_ms])
            .env("PYTHONPATH", Path::new(ROOT).join("clients/python/src"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the example robot")
    };
    let python_robot = example("py-robot", "500");
    reaper.watch(&python_robot);
    let checked = check("py-robot");
    stop(python_robot);
    assert!(checked.status.success(), "{}", printed(&checked));
    assert!(String::from_utf8_lossy(&checked.stdout).contains(limits), "{}", printed(&checked));
    let (valid, sent) = schema_valid(&payloads("py-robot"));
    assert_eq!(valid, sent, "payloads that fail their schema are in {}", payloads("py-robot").display());

    // The same robot told to keep executing a plan for 5 s after it stops coming.
    let lingering = example("py-lingering", "5000");
    reaper.watch(&lingering);
    let checked = check("py-lingering");
    stop(lingering);
    stop(router);
    assert!(!checked.status.success(), "a robot that does not hold passed:\n{}", printed(&checked));
    assert!(
        String::from_utf8_lossy(&checked.stdout).contains("| holds on staleness | FAIL |"),
        "{}",
        printed(&checked)
    );
}
