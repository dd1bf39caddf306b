//! The commands end to end: `plan` on a checkpoint saved by the planner crate, `eval` and its
//! baselines, collect → train → resume → ship → plan, training on a Minari dataset, shipped
//! models against random actions, constrained planning, Picard auto.

use std::path::Path;
use std::process::{Command, Output};

use planner::model::{Architecture, Checkpoint, ModelOutput, ModelSpec, NativeModel, Normalizer, Provenance};
use planner::schedule::ScheduleSpec;
use serde_json::Value;
use tch::Device;

const HORIZON: usize = 64;
/// The U-maze task file.
const UMAZE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/tasks/maze2d-umaze.toml");

/// A freshly initialised U-Net checkpoint (A = 2, O = 4, H = 64, N = 20) in `dir`.
fn checkpoint(dir: &Path) {
    let spec = ModelSpec {
        horizon: HORIZON,
        stride: 1,
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
    // Picard with τ = 0 reaches the same plan in K sweeps (up to the rounding of batched calls).
    let mut picard_args = args.to_vec();
    picard_args.extend(["--picard-window", "3", "--picard-tolerance", "0"]);
    let picard = plan_json(&picard_args);
    assert_eq!(picard["plan"]["stats"]["picard"]["sweeps"], 6);
    assert_eq!(picard["plan"]["stats"]["picard"]["converged"], true);
    let flat = |json: &Value| -> Vec<f64> {
        json["plan"]["candidates"]
            .as_array()
            .expect("candidates")
            .iter()
            .flat_map(|c| {
                c["states"].as_array().expect("states").iter().flat_map(|r| r.as_array().expect("row").clone())
            })
            .map(|v| v.as_f64().expect("number"))
            .collect()
    };
    let worst = flat(&first).iter().zip(flat(&picard)).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    assert!(worst < 1e-4, "Picard with τ = 0 differs from sequential by {worst}");
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

/// The last table row `diffplan eval` prints, split into cells.
fn eval_row(args: &[&str]) -> Vec<String> {
    let stdout = eval_stdout(args);
    cells(stdout.lines().last().expect("a table row"))
}

/// The score table's row of `diffplan eval` run with `args` (tables about constraints and the
/// executed motion may follow it).
fn score_row(args: &[&str]) -> Vec<String> {
    let stdout = eval_stdout(args);
    let lines: Vec<&str> = stdout.lines().collect();
    let header = lines.iter().position(|l| l.starts_with("| task | policy |")).expect("a score table");
    cells(lines.get(header + 2).expect("a score row"))
}

fn eval_stdout(args: &[&str]) -> String {
    let output = diffplan(args);
    assert!(output.status.success(), "diffplan {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("utf-8")
}

fn cells(row: &str) -> Vec<String> {
    row.trim_matches('|').split('|').map(|cell| cell.trim().to_string()).collect()
}

#[test]
fn eval_scores_the_expert_far_above_random_actions() {
    // Reference: D4RL's U-maze random return is 23.85 (score 0) and its "expert" 161.86 (100).
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/tasks/maze2d-umaze.toml");
    let expert = eval_row(&["eval", "--config", config, "--policy", "expert", "--episodes", "10"]);
    let random = eval_row(&["eval", "--config", config, "--policy", "random", "--episodes", "10"]);
    let score = |row: &[String]| -> f64 { row[4].split(' ').next().expect("mean").parse().expect("a number") };
    assert_eq!(expert[3], "10");
    assert_eq!(expert[5], "10/10", "the expert missed the goal: {expert:?}");
    assert!(score(&expert) > 100.0 && score(&random) < 30.0, "expert {expert:?}, random {random:?}");
}

#[test]
fn eval_names_a_missing_checkpoint_and_a_bad_layout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let example = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/configs/tasks/maze2d-umaze.toml"))
        .expect("task config");
    let write = |name: &str, text: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write config");
        path.to_str().expect("utf-8").to_string()
    };
    let no_model = write("no_model.toml", example.replace("models/maze2d-umaze", "/nonexistent/model"));
    let output = diffplan(&["eval", "--config", &no_model, "--episodes", "1"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success() && stderr.contains("/nonexistent/model/manifest.toml"), "{stderr}");
    let bad_layout = write("bad_layout.toml", example.replace("layout = \"umaze\"", "layout = \"tiny\""));
    let output = diffplan(&["eval", "--config", &bad_layout, "--policy", "random", "--episodes", "1"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success() && stderr.contains("use umaze, medium or large"), "{stderr}");
    // An obstacle on the fixed goal cell (1, 1) makes the task impossible.
    let on_goal = "\n[planner.constraints]\n[[planner.constraints.obstacle]]\ndims = [0, 1]\ncenter = [1.0, 1.0]\nradii = [0.3, 0.3]\n";
    let blocked = write("blocked.toml", example.replace("\n[eval]", &format!("{on_goal}\n[eval]")));
    let output = diffplan(&["eval", "--config", &blocked, "--policy", "random", "--episodes", "1"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success() && stderr.contains("covers the goal cell (1, 1)"), "{stderr}");
}

#[test]
fn collect_train_ship_and_plan_chain_together() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = |name: &str| dir.path().join(name).to_str().expect("utf-8").to_string();
    let run = |args: &[&str]| {
        let output = diffplan(args);
        assert!(output.status.success(), "diffplan {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    };
    run(&["collect", "--config", UMAZE, "--samples", "3000", "--noisy", "--seed", "4", "--out", &path("a.hdf5")]);
    // Into a folder that does not exist yet: collect creates it.
    let b = path("data/b.hdf5");
    run(&["collect", "--config", UMAZE, "--samples", "3000", "--noisy", "--seed", "4", "--out", &b]);
    let (a, b) = (
        planner::train::d4rl::D4rlDataset::read_hdf5(Path::new(&path("a.hdf5"))).expect("dataset"),
        planner::train::d4rl::D4rlDataset::read_hdf5(Path::new(&b)).expect("dataset"),
    );
    assert_eq!(a, b, "the same seed collected different data");
    assert_eq!(a.len(), 3000);
    assert!(a.timeouts.iter().any(|&t| t), "the expert never reached a navigation goal");
    assert!(a.info("goal").is_some() && a.info("qpos").is_some());

    let config = format!(
        "out = {:?}\n[data]\npath = {:?}\nrecut_at_goal = [1.0, 1.0]\n[model]\nhorizon = 16\ndiffusion_steps = 8\n\
         [model.architecture]\nkind = \"temporal_unet\"\ndim = 8\ndim_mults = [1, 2]\nattention = false\n\
         [optimization]\nsteps = 4\nbatch_size = 4\ncheckpoint_every = 2\n",
        path("run"),
        path("a.hdf5")
    );
    std::fs::write(path("train.toml"), config).expect("write config");
    run(&["train", "--config", &path("train.toml"), "--no-export"]);
    run(&["train", "--config", &path("train.toml"), "--resume", "--steps", "6", "--no-export"]);
    let trained = Checkpoint::open(Path::new(&path("run"))).expect("trained checkpoint");
    assert_eq!(trained.manifest().provenance.train_steps, Some(6));
    run(&["ship", &path("run"), &path("shipped")]);
    assert!(!dir.path().join("shipped/training").exists(), "training state shipped");
    let json = plan_json(&[
        "plan",
        "--checkpoint",
        &path("shipped"),
        "--start",
        "3,1,0,0",
        "--goal",
        "1,1,0,0",
        "--steps",
        "4",
    ]);
    assert_eq!(json["plan"]["candidates"][0]["states"].as_array().expect("states").len(), 16);

    // A value model on the same data and shape pairs with the denoiser, shipped or not.
    let value_config = std::fs::read_to_string(path("train.toml"))
        .expect("read config")
        .replace(&format!("{:?}", path("run")), &format!("{:?}", path("value-run")))
        .replace(
            "kind = \"temporal_unet\"\ndim = 8\ndim_mults = [1, 2]\nattention = false\n",
            "kind = \"value_function\"\ndim = 8\ndim_mults = [1, 4]\n[value]\ndiscount = 0.99\n",
        );
    std::fs::write(path("value.toml"), value_config).expect("write config");
    run(&["train", "--config", &path("value.toml"), "--no-export"]);
    run(&["ship", &path("value-run"), &path("shipped-value")]);
    let json = plan_json(&[
        "plan",
        "--checkpoint",
        &path("shipped"),
        "--value",
        &path("shipped-value"),
        "--start",
        "3,1,0,0",
        "--steps",
        "4",
        "--batch",
        "3",
    ]);
    let candidates = json["plan"]["candidates"].as_array().expect("candidates");
    assert_eq!(candidates.len(), 3);
    assert!(candidates.iter().all(|c| c["value"].is_number()), "unranked: {candidates:?}");
}

#[test]
fn train_reads_a_dataset_written_by_minari() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = |name: &str| dir.path().join(name).to_str().expect("utf-8").to_string();
    let python = std::env::var_os("DIFFPLAN_PYTHON")
        .expect("DIFFPLAN_PYTHON names the venv's python (source scripts/env.sh, or run scripts/test.sh)");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/make_minari_dataset.py");
    let made = Command::new(python).arg(script).arg(path("minari")).output().expect("run the script");
    assert!(made.status.success(), "make_minari_dataset.py: {}", String::from_utf8_lossy(&made.stderr));
    // PointMaze's Dict layout; its `observation` key is the observation by default.
    let config = |keys: &str| {
        format!(
            "out = {:?}\n[data]\nformat = \"minari\"\npath = {:?}\n{keys}[model]\nhorizon = 16\n\
             diffusion_steps = 8\n[model.architecture]\nkind = \"temporal_unet\"\ndim = 8\ndim_mults = [1, 2]\n\
             attention = false\n[optimization]\nsteps = 3\nbatch_size = 4\ncheckpoint_every = 3\n",
            path("run"),
            path("minari/diffplan/pointmass-dict-v0")
        )
    };
    std::fs::write(path("train.toml"), config("")).expect("write config");
    let output = diffplan(&["train", "--config", &path("train.toml"), "--no-export"]);
    assert!(output.status.success(), "diffplan train: {}", String::from_utf8_lossy(&output.stderr));
    let trained = Checkpoint::open(Path::new(&path("run"))).expect("trained checkpoint");
    let manifest = trained.manifest();
    assert_eq!((manifest.spec.action_dim, manifest.spec.observation_dim), (2, 4));
    assert_eq!(manifest.provenance.train_steps, Some(3));

    // A key the Dict space lacks: refused before training, naming the episode and the key.
    std::fs::write(path("bad.toml"), config("observation_keys = [\"velocity\"]\n")).expect("write config");
    let output = diffplan(&["train", "--config", &path("bad.toml"), "--no-export"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "trained on a key that is not there");
    let named =
        stderr.contains("main_data.hdf5") && stderr.contains("`episode_0/observations` has no array `velocity`");
    assert!(named, "{stderr}");
}

/// One-sided p-value of Fisher's exact test that `a` successes of `n1` beat `b` of `n2`:
/// P(X ≥ a) for X hypergeometric with the margins fixed.
fn fisher_one_sided(a: usize, n1: usize, b: usize, n2: usize) -> f64 {
    let choose = |n: usize, k: usize| -> f64 { (0..k).fold(1.0, |c, i| c * (n - i) as f64 / (i + 1) as f64) };
    let successes = a + b;
    let total = choose(n1 + n2, successes);
    (a..=successes.min(n1))
        .filter(|&k| successes - k <= n2)
        .map(|k| choose(n1, k) * choose(n2, successes - k) / total)
        .sum()
}

#[test]
fn fisher_test_matches_a_textbook_value() {
    // Reference: Fisher's tea-tasting table (3 of 4 vs 1 of 4): one-sided p = 17/70.
    assert!((fisher_one_sided(3, 4, 1, 4) - 17.0 / 70.0).abs() < 1e-12);
}

#[test]
fn the_shipped_umaze_model_reaches_the_goal_more_often_than_random_actions() {
    // 30 episodes each on the same seeds; the planner uses DPM-Solver++ with 10 steps.
    // Threshold: Fisher's exact test, one-sided, p < 0.01.
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/tasks/maze2d-umaze.toml");
    let reached = |row: &[String]| -> usize { row[5].split('/').next().expect("count").parse().expect("a number") };
    let planner = eval_row(&["eval", "--config", config, "--episodes", "30", "--steps", "10"]);
    let random = eval_row(&["eval", "--config", config, "--policy", "random", "--episodes", "30"]);
    let (a, b) = (reached(&planner), reached(&random));
    let p = fisher_one_sided(a, 30, b, 30);
    println!("planner reached {a}/30, random {b}/30, one-sided p = {p:.2e}");
    assert!(p < 0.01, "planner {a}/30 vs random {b}/30: p = {p}");
}

/// The criterion on SafeDiffuser's Maze2D-large obstacles, with the shipped large model:
/// every returned plan keeps out of both (violation ≤ 1e-6), none is refused; `--unconstrained`
/// plays the same episodes and reports the same checks.
#[test]
fn large_maze_plans_keep_out_of_safediffusers_obstacles() {
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/tasks/maze2d-large-obstacles.toml");
    let constrained = eval_row(&["eval", "--config", config, "--episodes", "3"]);
    assert_eq!(constrained[0], "3/3", "plans violating the obstacles: {constrained:?}");
    assert_eq!(constrained[1], "0", "plans refused: {constrained:?}");
    let worst: f64 = constrained[2].parse().expect("a number");
    assert!(worst <= 1e-6, "worst plan violation {worst}");
    let unconstrained = eval_row(&["eval", "--config", config, "--episodes", "3", "--unconstrained"]);
    assert!(unconstrained[0].ends_with("/3") && unconstrained[3].ends_with("/3"), "{unconstrained:?}");
}

/// Every shipped task config runs an episode (their parsing and validation: the app's unit test
/// `every_shipped_config_and_launch_file_is_valid`).
#[test]
fn every_shipped_task_config_runs_an_episode() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut tasks: Vec<_> =
        std::fs::read_dir(root.join("configs/tasks")).expect("tasks").map(|e| e.expect("entry").path()).collect();
    tasks.sort();
    for path in tasks {
        let path = path.to_str().expect("utf-8").to_string();
        let row = score_row(&["eval", "--config", &path, "--policy", "random", "--episodes", "1"]);
        assert_eq!(row[3], "1", "{path}");
    }
}

#[test]
fn picard_auto_measures_once_and_caches_its_choice() {
    let dir = tempfile::tempdir().expect("tempdir");
    checkpoint(dir.path());
    let cache = dir.path().join("cache");
    let run = || {
        let output = Command::new(env!("CARGO_BIN_EXE_diffplan"))
            .env("XDG_CACHE_HOME", &cache)
            .args(["plan", "--checkpoint", dir.path().to_str().expect("utf-8"), "--start", "1,2,0,0", "--steps", "6"])
            .args(["--sampler", "ddim", "--picard-window", "auto", "--threads", "1"])
            .output()
            .expect("run diffplan");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let json: Value = serde_json::from_slice(&output.stdout).expect("json");
        (json, String::from_utf8_lossy(&output.stderr).to_string())
    };
    let (first, stderr) = run();
    assert!(stderr.contains("calibrating Picard"), "{stderr}");
    let choice = &first["picard_auto"];
    let trials = choice["trials"].as_array().expect("windows considered");
    assert_eq!(trials.len(), 3, "windows 2, 4 and K = 6: {choice}");
    // A window is timed only if its bound leaves room, and then sequential sampling is timed too.
    let timed = trials.iter().any(|trial| !trial["measured_ms"].is_null());
    assert!(!timed || !choice["sequential_ms"].is_null(), "{choice}");
    // The plan runs the way the choice says.
    assert_eq!(first["plan"]["stats"]["picard"].is_null(), choice["window"].is_null());
    let cached = std::fs::read_to_string(cache.join("diffplan/picard-auto-v2.json")).expect("cache file");
    assert!(cached.contains("|H64|T6|N20|B1|ddim|K6"), "{cached}");
    let (second, stderr) = run();
    assert!(!stderr.contains("calibrating"), "measured twice");
    assert_eq!(second["picard_auto"], first["picard_auto"]);
}

#[test]
fn eval_resolves_an_auto_picard_window_once_and_plays_by_it() {
    let cache = tempfile::tempdir().expect("tempdir");
    let run = || {
        let output = Command::new(env!("CARGO_BIN_EXE_diffplan"))
            .env("XDG_CACHE_HOME", cache.path())
            .env("OMP_NUM_THREADS", "1")
            .args(["eval", "--config", "configs/tasks/maze2d-umaze.toml", "--episodes", "1", "--steps", "4"])
            .args(["--picard-window", "auto"])
            .output()
            .expect("run diffplan");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        (String::from_utf8_lossy(&output.stdout).to_string(), String::from_utf8_lossy(&output.stderr).to_string())
    };
    let (table, stderr) = run();
    assert!(stderr.contains("calibrating Picard"), "{stderr}");
    let chosen = stderr.lines().find(|line| line.starts_with("Picard auto: ")).expect("the choice is reported");
    let calibration: Value =
        serde_json::from_str(chosen.split_once("(calibration: ").expect("json").1.trim_end_matches(')'))
            .expect("calibration JSON");
    // K = 4: windows 2 and 4, the curve starts at one row (B = 1).
    assert_eq!(calibration["trials"].as_array().expect("trials").len(), 2, "{calibration}");
    assert_eq!(calibration["batch_cost_ms"][0][0], 1, "{calibration}");
    assert!(table.contains("Picard p=auto"), "{table}");
    // The model calls per plan follow the choice: 4 sequential calls, or Picard's sweeps (≤ 4).
    let row: Vec<&str> = table.lines().last().expect("row").trim_matches('|').split('|').map(str::trim).collect();
    let calls: f64 = row[8].split(';').next().expect("first plans").trim().parse().expect("a number");
    if calibration["window"].is_null() {
        assert!((calls - 4.0).abs() < 1e-9, "{table}");
    } else {
        assert!(calls <= 4.0, "{table}");
    }
    let (_, stderr) = run();
    assert!(!stderr.contains("calibrating"), "measured twice: {stderr}");
}

/// The shipped jumpy large-maze model (a row every 12 steps) in closed loop: every replan keeps
/// the first plan's arrival, down to goals due within one row, and starts from the previous plan
/// renoised (5 of 20 model calls); none is refused. Before goals due within the first 12 steps
/// went to row 1, such a replan pinned the goal on the start's row and was refused.
#[test]
fn the_jumpy_large_model_replans_to_the_end_of_an_episode() {
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/tasks/maze2d-large-jumpy.toml");
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("results.json");
    let json_arg = json.to_str().expect("utf-8");
    let args = ["--episodes", "2", "--seed", "8", "--replan-every", "13", "--renoise", "0.25", "--json", json_arg];
    eval_stdout(&[&["eval", "--config", config][..], &args[..]].concat());
    let results: Value = serde_json::from_str(&std::fs::read_to_string(&json).expect("results")).expect("json");
    for episode in results["episodes"].as_array().expect("episodes") {
        let calls: Vec<u64> =
            episode["model_calls"].as_array().expect("calls").iter().filter_map(Value::as_u64).collect();
        // 800 steps, a replan every 13: 61 replans after the first plan.
        assert_eq!(calls.len(), 62, "{episode}");
        assert!(calls[0] == 20 && calls[1..].iter().all(|&c| c == 5), "{calls:?}");
        assert_eq!(episode["constraints"]["infeasible_plans"].as_u64().unwrap_or(0), 0, "{episode}");
    }
}
