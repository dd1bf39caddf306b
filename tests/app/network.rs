//! The robot stack over a real Zenoh network on loopback: planner and robot as separate
//! processes, lockstep scores equal to in-process `eval`, and a Python client that speaks
//! docs/PROTOCOL.md: the package clients/python, installed with pip in a fresh venv.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{
    self, ROOT, Reaper, diffplan, endpoint, fast_task, stderr_lines, streaming_planner, succeed, table_row, wait_for,
};

#[test]
fn lockstep_over_zenoh_scores_exactly_like_in_process_eval() {
    // Reference: `diffplan eval` on the same task and seeds, in one process without Zenoh.
    let dir = tempfile::tempdir().expect("tempdir");
    let task = fast_task(dir.path(), 100);
    // Zenoh's own JSON5 config passes through (multicast off, as the launcher's default).
    let zenoh_config = dir.path().join("zenoh.json5");
    std::fs::write(&zenoh_config, "{ scouting: { multicast: { enabled: false } } }\n").expect("write zenoh config");
    let launch = dir.path().join("launch.toml");
    std::fs::write(
        &launch,
        format!(
            "[network]\nendpoint = \"auto\"\nnamespace = \"lockstep-test\"\nzenoh_config = \"{1}\"\n\n\
             [planner]\nconfig = \"{0}\"\n\n[robot]\nconfig = \"{0}\"\nmode = \"lockstep\"\n",
            task.display(),
            zenoh_config.display()
        ),
    )
    .expect("write launch file");
    let reference = table_row(&succeed(diffplan().arg("eval").arg("--config").arg(&task)));
    for processes in ["separate", "single"] {
        let row = table_row(&succeed(diffplan().arg("launch").arg(&launch).args([
            "--processes",
            processes,
            "--rerun",
            "off",
        ])));
        assert_eq!(row[1], "Planner over Zenoh (lockstep)");
        // Episodes, score ± s.e., goal reached, mean return: identical.
        assert_eq!(row[3..7], reference[3..7], "{processes}: {row:?} vs eval {reference:?}");
        // Three episodes replanning every 100 of 300 steps: 3 plans each, 5 model calls per plan.
        assert_eq!(row[8], "5.0; 5.0", "{processes}: {row:?}");
    }
}

#[test]
fn a_python_client_gets_a_plan_and_bounded_errors_for_garbage_huge_batches_and_hostile_fields() {
    let dir = tempfile::tempdir().expect("tempdir");
    let task = fast_task(dir.path(), 0);
    let endpoint = endpoint();
    let log = std::fs::File::create(dir.path().join("planner.log")).expect("log file");
    let mut planner = diffplan()
        .args(["serve", "--id", "planner-py", "--listen", &endpoint, "--namespace", "pytest"])
        .arg("--config")
        .arg(&task)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start the planner");
    let mut reaper = Reaper::default();
    reaper.watch(&planner);
    let output = common::python(&["tests/python/plan_client.py", &endpoint, "pytest"]);
    planner.kill().expect("stop the planner");
    planner.wait().expect("reap the planner");
    assert!(output.status.success(), "python client: {}", String::from_utf8_lossy(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("one JSON line");
    assert_eq!(report["states"], 128, "the U-maze model's horizon");
    assert_eq!(report["state_dim"], 4);
    assert_eq!(report["start"], serde_json::json!([3.0, 1.0, 0.0, 0.0]), "the start is pinned exactly");
    assert_eq!(report["goal"], serde_json::json!([1.0, 1.0, 0.0, 0.0]), "the goal is pinned exactly");
    assert_eq!(report["planner_id"], "planner-py");
    assert_eq!(report["garbage_code"], "bad_request");
    // Bounded work per request: 10^15 candidates used to abort the planner's allocation.
    assert_eq!(report["huge_batch_code"], "bad_request");
    // A start far outside the maze (issue 21: answered `internal` after a full sampling run).
    assert_eq!(report["far_start_code"], "bad_request");
    assert_eq!(report["served_after_huge_batch"], true, "the planner serves on, the same plan for the same seed");
    // An error quoting a 3 MiB sampler kind was a 6 MiB reply, over the 4 MiB cap.
    assert_eq!(report["echo_code"], "bad_request");
    assert!(report["echo_reply_bytes"].as_u64().expect("bytes") < 4096, "{}", report["echo_reply_bytes"]);
    // A field name with a newline wrote a forged line into the planner's log.
    assert_eq!(report["forged_code"], "bad_request");
    let log = std::fs::read_to_string(dir.path().join("planner.log")).expect("read the log");
    assert!(log.contains("FORGED"), "the rejection is logged: {log}");
    assert!(!log.lines().any(|line| line.starts_with("FORGED")), "a forged log line: {log}");
    // A refusal after decoding (the request's own checks) is logged with its id, code and reason.
    assert!(
        log.lines()
            .any(|line| line.contains("refused request") && line.contains("bad_request") && line.contains("batch")),
        "the huge batch's refusal is not in the log: {log}"
    );
}

#[test]
fn the_python_client_package_installs_in_a_fresh_venv_then_plans_and_streams_against_serve() {
    // Reference: docs/PROTOCOL.md's promise, `pip install clients/python` and plan. The script
    // makes the venv (pip fetches eclipse-zenoh, or takes it from its cache), runs the package's
    // unit tests on the installed copy, then plans by query and by streaming.
    let dir = tempfile::tempdir().expect("tempdir");
    let task = fast_task(dir.path(), 0);
    let endpoint = endpoint();
    let mut planner = diffplan()
        .args(["serve", "--stream", "--id", "planner-pkg", "--listen", &endpoint, "--namespace", "pkgtest"])
        .arg("--config")
        .arg(&task)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the planner");
    let mut reaper = Reaper::default();
    reaper.watch(&planner);
    let venv = dir.path().join("venv");
    let output = Command::new("bash")
        .arg(Path::new(ROOT).join("tests/python/install_client.sh"))
        .arg(&venv)
        .args([&endpoint, "pkgtest"])
        .output()
        .expect("run install_client.sh");
    planner.kill().expect("stop the planner");
    planner.wait().expect("reap the planner");
    assert!(output.status.success(), "install_client.sh: {}", String::from_utf8_lossy(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("one JSON line");
    assert_eq!(report["installed_in_venv"], true, "imported from the fresh venv, not the checkout: {report}");
    assert_eq!(report["dependencies"], serde_json::json!(["eclipse-zenoh"]), "nothing but Zenoh");
    assert_eq!(report["states"], 128, "the U-maze model's horizon");
    assert_eq!(report["state_dim"], 4);
    assert_eq!(report["action_dim"], 2);
    assert_eq!(report["start"], serde_json::json!([3.0, 1.0, 0.0, 0.0]), "the start is pinned exactly");
    assert_eq!(report["goal"], serde_json::json!([1.0, 1.0, 0.0, 0.0]), "the goal is pinned exactly");
    // Maze2D's control period, exactly 0.01 on the wire (not 0.01 as f32 widened: 0.009999999776482582).
    assert_eq!(report["dt"].as_f64(), Some(0.01), "{report}");
    assert_eq!(report["request_id"], "pkg-1");
    assert_eq!(report["planner_id"], "planner-pkg");
    // The robot's state at step 0 of episode 5 brought a plan for that robot, episode and step.
    let streamed = &report["streamed"];
    assert_eq!(streamed["robot_id"], "py-robot");
    assert_eq!(streamed["episode"], 5);
    assert_eq!(streamed["from_step"], 0);
    assert_eq!(streamed["states"], 128);
    assert_eq!(streamed["start"], serde_json::json!([3.0, 1.0, 0.0, 0.0]));
    // Its goal was its position alone (issue 21's finding: every such plan failed); the plan
    // ends there at rest.
    let end: Vec<f64> = serde_json::from_value(streamed["end"].clone()).expect("the streamed plan's end");
    for (got, want) in end.iter().zip([1.0, 1.0, 0.0, 0.0]) {
        assert!((got - want).abs() < 1e-4, "the streamed plan ends at {end:?}");
    }
    // Issue 21's fault: a robot restarted mid-episode (its step back to 0, elsewhere). The
    // plan-once task kept re-sending the plan made from the old start; now the planner drops
    // that stream and plans from where the robot is.
    let restarted = &report["restarted"];
    assert_eq!(restarted["start_before"], serde_json::json!([3.0, 1.0, 0.0, 0.0]), "{report}");
    assert_eq!(restarted["start_after"], serde_json::json!([3.0, 3.0, 0.0, 0.0]), "{report}");
    assert_eq!(restarted["from_step_after"], 0);
}

#[test]
fn eval_spreads_episodes_over_two_workers_behind_a_router_with_unchanged_scores() {
    // Reference: in-process `diffplan eval` on the same task and seeds.
    let dir = tempfile::tempdir().expect("tempdir");
    let task = fast_task(dir.path(), 100);
    let endpoint = endpoint();
    let router = diffplan().args(["router", "--listen", &endpoint]).stderr(Stdio::null()).spawn().expect("router");
    let workers: Vec<Child> = ["w-0", "w-1"]
        .iter()
        .map(|id| {
            diffplan()
                .args(["serve", "--id", id, "--connect", &endpoint, "--namespace", "scaleout"])
                .arg("--config")
                .arg(&task)
                .stderr(Stdio::null())
                .spawn()
                .expect("start a worker")
        })
        .collect();
    let mut reaper = Reaper::default();
    workers.iter().chain([&router]).for_each(|child| reaper.watch(child));
    // Wait until both workers are up: eval uses every worker alive when it starts.
    let deadline = Instant::now() + Duration::from_mins(1);
    let remote = loop {
        let output = succeed(
            diffplan()
                .args(["eval", "--remote", "--episodes", "4", "--connect", &endpoint, "--namespace", "scaleout"])
                .arg("--config")
                .arg(&task)
                .env("RUST_LOG", "diffplan=info"),
        );
        if String::from_utf8_lossy(&output.stderr).contains("over 2 workers") || Instant::now() > deadline {
            break output;
        }
    };
    for mut child in workers.into_iter().chain([router]) {
        child.kill().expect("stop");
        child.wait().expect("reap");
    }
    assert!(String::from_utf8_lossy(&remote.stderr).contains("4 episodes over 2 workers: w-0, w-1"));
    let reference = table_row(&succeed(diffplan().args(["eval", "--episodes", "4"]).arg("--config").arg(&task)));
    let row = table_row(&remote);
    assert_eq!(row[1], "Planner over Zenoh (workers)");
    assert_eq!(row[3..7], reference[3..7], "over two workers {row:?} vs in process {reference:?}");
}

#[test]
fn ctrl_c_stops_a_launch_cleanly_with_the_episodes_completed_so_far() {
    let dir = tempfile::tempdir().expect("tempdir");
    let task = fast_task(dir.path(), 0);
    let launch = dir.path().join("launch.toml");
    std::fs::write(
        &launch,
        format!(
            "processes = \"separate\"\n\n[network]\nnamespace = \"ctrlc-test\"\n\n[planner]\nconfig = \"{0}\"\n\n\
             [robot]\nconfig = \"{0}\"\nmode = \"realtime\"\nepisodes = 100\n",
            task.display()
        ),
    )
    .expect("write launch file");
    // The recording must survive the interruption, readable to its last flushed row.
    let recording = dir.path().join("interrupted.rrd");
    let mut launcher = diffplan()
        .arg("launch")
        .arg(&launch)
        .args(["--rerun", "save"])
        .arg(&recording)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("start the launch");
    let mut reaper = Reaper::default();
    reaper.watch_group(&launcher);
    let lines = stderr_lines(&mut launcher);
    let mut seen = Vec::new();
    wait_for(&lines, |l| l.contains("resumed at step"), Duration::from_mins(1), &mut seen);
    // One 3 s episode completes, the next is interrupted.
    std::thread::sleep(Duration::from_secs(4));
    let interrupted = Instant::now();
    let sent = Command::new("kill").args(["-INT", &launcher.id().to_string()]).status().expect("kill");
    assert!(sent.success());
    wait_for(&lines, |l| l.contains("left out of the table"), Duration::from_secs(20), &mut seen);
    let output = launcher.wait_with_output().expect("the launcher exits");
    assert!(output.status.success(), "launch after Ctrl-C: {}", seen.join("\n"));
    assert!(interrupted.elapsed() < Duration::from_secs(20), "shutting down took {:?}", interrupted.elapsed());
    let row = table_row(&output);
    let episodes: usize = row[3].parse().expect("an episode count");
    assert!((1..100).contains(&episodes), "{row:?}");
    let summary = common::read_recording(&recording);
    let steps = summary["entities"]["/world/robot"]["rows"]["sim_time"].as_u64().expect("robot rows");
    assert!(steps >= 300 * episodes as u64, "{steps} robot rows for {episodes} completed episodes");
}

#[test]
fn a_launch_file_with_an_unknown_key_is_refused_by_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let launch = dir.path().join("launch.toml");
    std::fs::write(&launch, "[network]\nendpont = \"auto\"\n").expect("write");
    let output = diffplan().arg("launch").arg(&launch).output().expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not a launch file") && stderr.contains("endpont"), "{stderr}");
}

#[test]
fn a_robot_told_to_shut_down_mid_episode_says_where_it_stopped_not_done() {
    // Issue 21's finding: after `shutdown` near step 100 the last state claimed `done` at 300.
    let dir = tempfile::tempdir().expect("tempdir");
    let task = fast_task(dir.path(), 0);
    let endpoint = endpoint();
    let namespace = "stoptest";
    let mut robot = diffplan()
        .args(["robot", "--mode", "realtime", "--speed", "0.5", "--episodes", "1", "--rerun", "off"])
        .args(["--listen", &endpoint, "--namespace", namespace])
        .arg("--config")
        .arg(&task)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the robot");
    let mut reaper = Reaper::default();
    reaper.watch(&robot);
    let mut planner = streaming_planner(&task, namespace, &["--connect", &endpoint]);
    reaper.watch(&planner);
    let output = common::python(&["tests/python/stop_robot.py", &endpoint, namespace, "robot-0"]);
    let status = robot.wait().expect("the robot exits on shutdown");
    planner.kill().expect("stop the planner");
    planner.wait().expect("reap the planner");
    assert!(output.status.success(), "stop_robot.py: {}", String::from_utf8_lossy(&output.stderr));
    assert!(status.success(), "{status}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("one JSON line");
    let last = &report["last"];
    assert_eq!(last["mode"], "holding", "{report}");
    let step = last["step"].as_u64().expect("step");
    assert!(step < 300 && step >= report["commanded_at_step"].as_u64().expect("step"), "{report}");
}
