//! Minari datasets written by the real `minari` package (tests/python/make_minari_dataset.py):
//! read into the D4RL stream with the values the script wrote, from a Box and from a Dict
//! observation space alike; corrupt copies refused with errors that name the file, the episode
//! and the key.

use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use planner::train::d4rl::{D4rlDataset, Table};
use planner::train::episodes::episodes;
use planner::train::minari;
use serde_json::Value;

use crate::reference::python;

/// Writes the script's datasets under the Minari root `root` and returns its reference.json.
fn make_datasets(root: &Path) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/python/make_minari_dataset.py");
    let output = Command::new(python()).arg(script).arg(root).output().expect("python");
    assert!(output.status.success(), "make_minari_dataset.py failed: {}", String::from_utf8_lossy(&output.stderr));
    let text = std::fs::read_to_string(root.join("reference.json")).expect("reference.json");
    serde_json::from_str(&text).expect("reference JSON")
}

/// The dataset folder of `id` under `root`.
fn dataset(root: &Path, id: &str) -> PathBuf {
    root.join("diffplan").join(id)
}

/// The reference's episodes as the stream the reader should give: rows of f32 (as HDF5 rounds
/// the script's float64), the final observation of each episode dropped.
fn expected(reference: &Value) -> D4rlDataset {
    let mut stream = D4rlDataset {
        observations: Table { values: Vec::new(), width: 4 },
        actions: Table { values: Vec::new(), width: 2 },
        rewards: Vec::new(),
        terminals: Vec::new(),
        timeouts: Vec::new(),
        infos: Vec::new(),
    };
    for episode in reference["episodes"].as_array().expect("episodes") {
        for (t, action) in episode["actions"].as_array().expect("actions").iter().enumerate() {
            stream.observations.values.extend(floats(&episode["observations"][t]));
            stream.actions.values.extend(floats(action));
        }
        stream.rewards.extend(floats(&episode["rewards"]));
        stream.terminals.extend(flags(&episode["terminations"]));
        stream.timeouts.extend(flags(&episode["truncations"]));
    }
    stream
}

/// The numbers of a JSON array as f32 (rounded from f64 as HDF5 rounds float64 to float32).
fn floats(v: &Value) -> Vec<f32> {
    v.as_array().expect("array").iter().map(|x| x.as_f64().expect("number") as f32).collect()
}

/// The booleans of a JSON array.
fn flags(v: &Value) -> Vec<bool> {
    v.as_array().expect("array").iter().map(|x| x.as_bool().expect("bool")).collect()
}

/// Runs `code` with the venv's python (h5py).
fn run_python(code: &str) {
    let output = Command::new(python()).arg("-c").arg(code).output().expect("python");
    assert!(output.status.success(), "python failed: {}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn minari_datasets_read_as_the_stream_the_script_wrote() {
    let root = tempfile::tempdir().expect("tempdir");
    let reference = make_datasets(root.path());
    let want = expected(&reference);
    let lengths: Vec<usize> = reference["episodes"]
        .as_array()
        .expect("episodes")
        .iter()
        .map(|e| e["actions"].as_array().expect("actions").len())
        .collect();

    let boxed_path = dataset(root.path(), "pointmass-v0");
    let boxed = minari::read(&boxed_path, None).expect("Box dataset");
    assert_eq!(boxed, want, "the Box dataset differs from what the script wrote");
    // Every episode group is one episode of the stream, whether it terminated or was truncated.
    let ends: Vec<usize> = episodes(&boxed).iter().map(std::ops::Range::len).collect();
    assert_eq!(ends, lengths);
    assert!(boxed.terminals.iter().any(|&t| t), "the script's episode 0 terminates");

    // PointMaze's Dict layout gives the same stream from its `observation` key.
    let dict = dataset(root.path(), "pointmass-dict-v0");
    assert_eq!(minari::read(&dict, None).expect("Dict dataset"), want);
    // The data folder and its main_data.hdf5 name the same dataset.
    assert_eq!(minari::read(&dict.join("data"), None).expect("data folder"), want);
    assert_eq!(minari::read(&dict.join("data/main_data.hdf5"), None).expect("main_data.hdf5"), want);

    // Chosen keys sit side by side, in the order given.
    let keys = ["observation".to_string(), "desired_goal".to_string()];
    let wide = minari::read(&dict, Some(&keys[..])).expect("observation and desired_goal");
    assert_eq!(wide.observations.width, 6);
    let goal = floats(&reference["episodes"][0]["goal"]);
    assert_eq!(&wide.observations.row(0)[..4], want.observations.row(0));
    assert_eq!(&wide.observations.row(0)[4..], &goal[..]);

    let err = minari::read(&boxed_path, Some(&keys[..])).expect_err("keys of a Box").to_string();
    assert!(err.contains("`episode_0/observations` is one array") && err.contains("remove observation_keys"), "{err}");
    let keys = ["velocity".to_string()];
    let err = minari::read(&dict, Some(&keys[..])).expect_err("unknown key").to_string();
    assert!(err.contains("`episode_0/observations` has no array `velocity`") && err.contains("desired_goal"), "{err}");
}

#[test]
fn corrupt_minari_datasets_are_refused_naming_the_episode_and_the_key() {
    let root = tempfile::tempdir().expect("tempdir");
    make_datasets(root.path());
    let good = dataset(root.path(), "pointmass-v0");
    // Each case: a copy of the good dataset, its HDF5 file `f` changed with h5py or its
    // metadata `m`.
    let cases = [
        ("no_actions", "del f['episode_2/actions']", "`episode_2` has no `actions`"),
        (
            "short",
            "o = f['episode_1/observations'][:-1]\ndel f['episode_1/observations']\nf['episode_1/observations'] = o",
            "`episode_1/observations` has 47 rows, expected 48",
        ),
        ("nan", "f['episode_3/observations'][5, 1] = float('nan')", "`episode_3/observations` row 5 holds NaN"),
        (
            "wide",
            "del f['episode_2/actions']\nf['episode_2/actions'] = np.zeros((54, 3), dtype=np.float32)",
            "`episode_2/actions` is 3 wide, `episode_0/actions` 2",
        ),
        (
            "flags",
            "del f['episode_1/truncations']\nf['episode_1/truncations'] = np.zeros(46, dtype=bool)",
            "`episode_1/truncations` has 46 rows, expected 47",
        ),
        ("episodes", "m['total_episodes'] = 5", "no group `episode_4`"),
        ("arrow", "m['data_format'] = 'arrow'", "data_format is \"arrow\""),
    ];
    let mut code = format!(
        "import h5py, json, shutil, numpy as np\n\
         def corrupt(copy, change):\n    \
             shutil.copytree({good:?}, copy)\n    \
             m = json.load(open(copy + '/data/metadata.json'))\n    \
             with h5py.File(copy + '/data/main_data.hdf5', 'r+') as f:\n        \
                 exec(change, {{'f': f, 'm': m, 'np': np}})\n    \
             json.dump(m, open(copy + '/data/metadata.json', 'w'))\n",
        good = good.display().to_string()
    );
    for (name, change, _) in &cases {
        writeln!(code, "corrupt({:?}, {change:?})", root.path().join(name).display().to_string()).expect("write");
    }
    run_python(&code);
    for (name, _, message) in &cases {
        let err = minari::read(&root.path().join(name), None).expect_err(name).to_string();
        let file = if *name == "arrow" { "metadata.json" } else { "main_data.hdf5" };
        assert!(err.contains(message) && err.contains(file), "{name}: {err}");
    }
    let err = minari::read(&root.path().join("absent"), None).expect_err("absent").to_string();
    assert!(err.contains("absent") && err.contains("no such file or folder"), "{err}");
}
