//! The main job's Rerun recording, read back with the Python rerun-sdk of the same version
//! (tests/python/read_recording.py): the entities and timelines of docs/TELEMETRY.md, with the
//! counts one episode must produce.

use std::path::Path;
use std::process::Command;

use crate::common;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Launches one lockstep episode of the task file `config` on `namespace`, recording to a file
/// in `dir`, and returns what tests/python/read_recording.py reads back from it.
fn launch_and_read(dir: &Path, config: &Path, namespace: &str) -> serde_json::Value {
    let launch = dir.join("launch.toml");
    std::fs::write(
        &launch,
        format!(
            "[network]\nnamespace = \"{namespace}\"\n\n[planner]\nconfig = \"{0}\"\n\n[robot]\nconfig = \"{0}\"\nepisodes = 1\n",
            config.display()
        ),
    )
    .expect("launch");
    let recording = dir.join("run.rrd");
    let output = Command::new(env!("CARGO_BIN_EXE_diffplan"))
        .arg("launch")
        .arg(&launch)
        .arg("--rerun")
        .arg("save")
        .arg(&recording)
        .output()
        .expect("run the launch");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    common::read_recording(&recording)
}

#[test]
fn a_launched_episode_is_recorded_with_every_documented_entity() {
    let dir = tempfile::tempdir().expect("tempdir");
    // U-maze, 5-step DPM-Solver++, replanning every 100 of 300 steps: 3 plans.
    let task = dir.path().join("task.toml");
    std::fs::write(
        &task,
        format!(
            "[env]\nlayout = \"umaze\"\ngoals = \"fixed\"\n\n[planner]\ncheckpoint = \"{ROOT}/models/maze2d-umaze\"\n\
             replan_every = 100\n\n[planner.sampler]\nkind = \"dpm_solver_pp\"\nsteps = 5\nclip_x0 = true\n"
        ),
    )
    .expect("task");
    let summary = launch_and_read(dir.path(), &task, "telemetry-test");
    assert_eq!(summary["application_id"], "diffplan");
    assert_eq!(summary["blueprints"], 1, "the default layout travels with the recording");
    let entities = &summary["entities"];
    let rows = |entity: &str, timeline: &str| -> u64 {
        entities[entity]["rows"][timeline].as_u64().unwrap_or_else(|| panic!("{entity} on {timeline}: {entities}"))
    };
    assert!(entities["/world/scene/walls"]["static_rows"].as_u64() >= Some(1), "{entities}");
    // 300 steps of 10 ms.
    assert_eq!(rows("/world/robot", "sim_time"), 300);
    assert_eq!(rows("/metrics/robot/reward", "sim_time"), 300);
    assert_eq!(rows("/metrics/robot/tracking_error", "sim_time"), 300);
    assert_eq!(rows("/world/executed", "sim_time"), 30, "the path every 10 steps");
    assert_eq!(rows("/world/goal", "episode"), 1);
    // Three plans, each with its latency and model calls, on the `plan` timeline.
    assert_eq!(rows("/world/plan", "plan"), 3);
    assert_eq!(rows("/metrics/plan/latency_ms", "plan"), 3);
    assert_eq!(rows("/metrics/plan/model_calls", "plan"), 3);
    assert_eq!(rows("/metrics/plan/model_ms", "plan"), 3);
    // Their denoising: 5 steps each of x0_hat and x_t, scrubbable on `denoise_step`.
    assert_eq!(rows("/world/denoise/x0_hat", "denoise_step"), 15);
    assert_eq!(rows("/world/denoise/x_t", "denoise_step"), 15);
    assert_eq!(rows("/world/denoise/x0_hat", "plan"), 15);
    assert_eq!(rows("/world/denoise/candidates", "plan"), 3, "the batch each plan was chosen from");
    // The episode's start and its three adopted plans.
    assert!(rows("/events", "sim_time") >= 4);
    let components = entities["/world/plan"]["components"].as_array().expect("components");
    assert!(components.iter().any(|c| c == "LineStrips3D:strips"), "{components:?}");
}

#[test]
fn picard_sweeps_are_recorded_per_plan() {
    // One plan by Picard iterations over K = 5 steps: between 1 and K sweeps (ParaDiGMS never
    // needs more sweeps than steps).
    let dir = tempfile::tempdir().expect("tempdir");
    let recording = dir.path().join("picard.rrd");
    let config = Path::new(ROOT).join("configs/tasks/maze2d-umaze.toml");
    let output = Command::new(env!("CARGO_BIN_EXE_diffplan"))
        .args(["eval", "--episodes", "1", "--steps", "5", "--picard-window", "5", "--rerun", "save"])
        .arg(&recording)
        .arg("--config")
        .arg(&config)
        .output()
        .expect("run eval");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let summary = common::read_recording(&recording);
    let sweeps = summary["entities"]["/metrics/plan/picard_residual"]["rows"]["picard_sweep"].as_u64();
    assert!(sweeps.is_some_and(|n| (1..=5).contains(&n)), "{sweeps:?} sweeps: {summary}");
    assert_eq!(summary["entities"]["/world/plan"]["rows"]["plan"], 1);
}

/// The Panda's recording: its links every step, its joints beside the plan and their ranges,
/// and the episode's obstacles (docs/TELEMETRY.md).
#[test]
fn an_arms_episode_is_recorded_with_its_links_joints_and_obstacles() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = Path::new(ROOT).join("configs/tasks/panda-reach-obstacles.toml");
    let summary = launch_and_read(dir.path(), &config, "telemetry-arm");
    let entities = &summary["entities"];
    let rows = |entity: &str, timeline: &str| -> u64 {
        entities[entity]["rows"][timeline].as_u64().unwrap_or_else(|| panic!("{entity} on {timeline}: {entities}"))
    };
    // Episode 0 reaches its goal and ends there: as many steps of links and joints as of the robot.
    let steps = rows("/world/robot", "sim_time");
    assert!((10..=100).contains(&steps), "{steps} steps");
    assert_eq!(rows("/world/robot/links", "sim_time"), steps);
    let components = entities["/world/robot/links"]["components"].as_array().expect("components");
    assert!(components.iter().any(|c| c.as_str().is_some_and(|c| c.starts_with("Capsules3D:"))), "{components:?}");
    for joint in ["q1", "q4", "q7"] {
        for series in ["executed", "planned", "lower", "upper"] {
            assert_eq!(rows(&format!("/metrics/joints/{joint}/{series}"), "sim_time"), steps, "{joint} {series}");
        }
    }
    // Episode 0 has one to three obstacles, balls or boxes.
    let drawn = ["balls", "boxes"].map(|kind| rows(&format!("/world/scene/episode_obstacles/{kind}"), "episode"));
    assert_eq!(drawn, [1, 1], "both entities are logged once per episode (one may be empty)");
    assert_eq!(rows("/world/plan", "plan"), 1, "plan once");
}

/// Pick and place over Zenoh in lockstep with the shipped model: the robot plans to the grasp,
/// holds the cube, and plans anew for the goal when its goal state changes (two plans), and the
/// cube is drawn every step where the observation puts it (docs/TELEMETRY.md).
#[test]
fn a_pick_and_place_episode_plans_again_at_the_grasp_and_draws_the_cube() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = Path::new(ROOT).join("configs/tasks/panda-pick-place.toml");
    let summary = launch_and_read(dir.path(), &config, "telemetry-pick-place");
    let entities = &summary["entities"];
    let rows = |entity: &str, timeline: &str| -> u64 {
        entities[entity]["rows"][timeline].as_u64().unwrap_or_else(|| panic!("{entity} on {timeline}: {entities}"))
    };
    let steps = rows("/world/robot", "sim_time");
    assert!((20..=200).contains(&steps), "{steps} steps");
    assert_eq!(rows("/world/robot/objects", "sim_time"), steps);
    let components = entities["/world/robot/objects"]["components"].as_array().expect("components");
    assert!(components.iter().any(|c| c.as_str().is_some_and(|c| c.starts_with("Boxes3D:"))), "{components:?}");
    // The second plan is asked for only once the cube is held (the goal state changes then).
    assert_eq!(rows("/world/plan", "plan"), 2, "a plan to the grasp, then one to the goal");
}

/// Episode 18's carry cannot be projected around its obstacle from the first sample (the
/// planner refuses it as infeasible at step 64, measured with `eval` and over Zenoh with the
/// shipped model): the robot holds at the grasp, asks again at the next step with that step's
/// seed, and carries on (a refusal used to
/// end the launch with an error, which `launch_and_read` would report).
#[test]
fn a_plan_refused_over_zenoh_is_held_through_and_asked_for_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let shipped = std::fs::read_to_string(Path::new(ROOT).join("configs/tasks/panda-pick-place.toml")).expect("task");
    assert!(shipped.contains("seed = 0\n"), "the shipped task starts at seed 0");
    let config = dir.path().join("task.toml");
    let checkpoint = Path::new(ROOT).join("models/panda-pick-place");
    let text = shipped
        .replace("seed = 0\n", "seed = 18\n")
        .replace("\"models/panda-pick-place\"", &format!("{:?}", checkpoint.display().to_string()));
    std::fs::write(&config, text).expect("write");
    let summary = launch_and_read(dir.path(), &config, "refused-pick-place");
    // Three plans drawn: the grasp, the hold at the refusal (the state held, a one-state plan)
    // and the carry asked for at the next step; the refusal's hold has no constraint residuals.
    let entities = &summary["entities"];
    assert_eq!(entities["/world/plan"]["rows"]["plan"], 3, "{summary}");
    assert_eq!(entities["/metrics/plan/constraint_violation"]["rows"]["plan"], 2, "{summary}");
}
