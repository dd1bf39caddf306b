//! Nothing saved is lost when a command is killed (SIGKILL: no handler runs): a training run
//! resumes from its last whole save and ends bit for bit where an uninterrupted run ends; a
//! dataset being collected never appears half-written, and the file it would replace stays whole;
//! a Rerun recording reads up to its last flush.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use planner::train::d4rl::D4rlDataset;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::common::{ROOT, Reaper, diffplan, read_recording};

/// Collects `samples` steps of the U-maze expert into `out`.
fn collect(samples: usize, seed: usize, out: &Path) -> Command {
    let mut command = diffplan();
    command
        .args(["collect", "--config", &format!("{ROOT}/configs/tasks/maze2d-umaze.toml"), "--noisy"])
        .args(["--samples", &samples.to_string(), "--seed", &seed.to_string(), "--out"])
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

/// Starts `command`, kills it with SIGKILL after `delay`, and says whether it had finished
/// by itself before.
fn kill_after(command: &mut Command, delay: Duration) -> bool {
    let mut child = command.spawn().expect("start");
    let mut reaper = Reaper::default();
    reaper.watch(&child);
    std::thread::sleep(delay);
    let finished = child.try_wait().expect("poll").is_some_and(|status| status.success());
    let _ = child.kill();
    child.wait().expect("reap");
    finished
}

/// The step `state.toml` of the run in `out` names, if it has one.
fn saved_step(out: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(out.join("training/state.toml")).ok()?;
    let line = text.lines().find_map(|l| l.strip_prefix("step = "))?;
    Some(line.trim().parse().expect("a step"))
}

#[test]
fn a_training_run_killed_five_times_ends_bit_for_bit_where_an_uninterrupted_run_ends() {
    // Reference: the same run, uninterrupted (training is deterministic given its seed; one
    // libtorch thread each). Saved every other step, so kills land inside saves too.
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data.hdf5");
    assert!(collect(3000, 4, &data).status().expect("collect").success());
    let train = |name: &str| {
        let config = dir.path().join(format!("{name}.toml"));
        let text = format!(
            "out = {:?}\n[data]\npath = {:?}\nrecut_at_goal = [1.0, 1.0]\n[model]\nhorizon = 16\ndiffusion_steps = 8\n\
             [model.architecture]\nkind = \"temporal_unet\"\ndim = 8\ndim_mults = [1, 2]\nattention = false\n\
             [optimization]\nsteps = 1200\nbatch_size = 4\ncheckpoint_every = 2\n",
            dir.path().join(name),
            data
        );
        std::fs::write(&config, text).expect("write config");
        let mut command = diffplan();
        command
            .args(["train", "--resume", "--no-export", "--config"])
            .arg(config)
            .env("OMP_NUM_THREADS", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        command
    };
    assert!(train("straight").status().expect("train").success());
    let killed = dir.path().join("killed");
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut steps = Vec::new();
    for _ in 0..5 {
        let delay = Duration::from_millis(rng.gen_range(800..2000));
        assert!(!kill_after(&mut train("killed"), delay), "the run finished before it was killed; kill sooner");
        steps.push(saved_step(&killed).unwrap_or(0));
    }
    assert!(steps.windows(2).all(|w| w[0] <= w[1]), "a resumed run went back: {steps:?}");
    assert!(steps.iter().any(|&s| s > 0), "no kill came after a save: {steps:?}");
    assert!(train("killed").status().expect("train").success());
    // (The manifests differ only in the config file named as their source.)
    for file in ["weights.safetensors", "training/model-1200.safetensors", "training/adam-1200.safetensors"] {
        let read = |run: &str| std::fs::read(dir.path().join(run).join(file)).expect("a saved file");
        assert!(read("straight") == read("killed"), "{file} differs after kills at steps {steps:?}");
    }
    let mut left: Vec<String> = std::fs::read_dir(killed.join("training"))
        .expect("training state")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["adam-1200.safetensors", "ema-1200.safetensors", "model-1200.safetensors", "state.toml"]);
}

#[test]
fn an_interrupted_collect_never_leaves_a_file_that_looks_complete() {
    // The file the collection would replace is a good dataset; kills at times spread over the
    // collection and its writing leave it whole or replaced whole, never half-written.
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("data.hdf5");
    assert!(collect(2000, 1, &out).status().expect("collect").success());
    let mut before = D4rlDataset::read_hdf5(&out).expect("the first dataset");
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let mut killed = 0;
    for k in 0..8 {
        let delay = Duration::from_millis(rng.gen_range(200..1600));
        let finished = kill_after(&mut collect(100_000, 2 + k, &out), delay);
        let now = D4rlDataset::read_hdf5(&out).expect("a readable dataset after the kill");
        // Whole old or whole new: a kill can also land after the rename, before the exit.
        if now == before {
            assert!(!finished, "a collect that finished left the old file");
            killed += 1;
        } else {
            assert_eq!(now.len(), 100_000, "a killed collect left a dataset that is neither the old nor the new");
            before = now;
        }
    }
    assert!(killed > 0, "every collect finished before its kill; kill sooner");
}

#[test]
fn a_recording_killed_mid_evaluation_reads_up_to_its_last_flush() {
    // Reference: the Python rerun-sdk of the crate's version reads the file.
    let dir = tempfile::tempdir().expect("tempdir");
    let recording = dir.path().join("killed.rrd");
    let mut eval = diffplan();
    eval.args(["eval", "--config", &format!("{ROOT}/configs/tasks/maze2d-umaze.toml"), "--episodes", "300"])
        .arg("--rerun")
        .arg("save")
        .arg(&recording)
        .env("OMP_NUM_THREADS", "1")
        .current_dir(ROOT)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    assert!(!kill_after(&mut eval, Duration::from_secs(8)), "300 episodes finished in 8 s; kill sooner");
    let read = read_recording(&recording);
    let rows = |entity: &str, timeline: &str| read["entities"][entity]["rows"][timeline].as_u64().unwrap_or(0);
    assert!(rows("/world/plan", "plan") >= 1, "no plan in the killed recording: {read}");
    assert!(rows("/world/robot", "sim_time") >= 300, "not one episode's states in the killed recording: {read}");
}
