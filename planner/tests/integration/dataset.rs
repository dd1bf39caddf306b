//! D4RL-format files: our writer read back by h5py (the library D4RL itself uses) and by our
//! reader; files written by h5py the way D4RL's releases are; missing keys.

use std::path::Path;
use std::process::Command;

use planner::train::d4rl::{D4rlDataset, Table};

use crate::reference::python;

fn sample() -> D4rlDataset {
    let n = 7;
    D4rlDataset {
        observations: Table { values: (0..4 * n).map(|i| i as f32 * 0.5 - 3.0).collect(), width: 4 },
        actions: Table { values: (0..2 * n).map(|i| (i as f32).sin()).collect(), width: 2 },
        rewards: (0..n).map(|i| (i % 2) as f32).collect(),
        terminals: (0..n).map(|i| i == 6).collect(),
        timeouts: (0..n).map(|i| i == 3).collect(),
        infos: vec![("goal".into(), Table { values: vec![1.5; 2 * n], width: 2 })],
    }
}

/// Runs `code` with the venv's python (h5py, numpy) and returns its standard output.
fn run_python(code: &str) -> String {
    let output = Command::new(python()).arg("-c").arg(code).output().expect("python");
    assert!(output.status.success(), "python failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("utf-8")
}

#[test]
fn h5py_reads_what_we_write_and_we_read_it_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("data.hdf5");
    let dataset = sample();
    dataset.write_hdf5(&path).expect("write");
    assert!(!Path::new(&format!("{}.partial", path.display())).exists(), "staged file left behind");
    assert_eq!(D4rlDataset::read_hdf5(&path).expect("read"), dataset);
    // Reference: h5py sees D4RL's keys, shapes and dtypes, and the same numbers.
    let report = run_python(&format!(
        "import h5py, numpy as np\n\
         f = h5py.File({:?}, 'r')\n\
         for k in ['observations', 'actions', 'rewards', 'terminals', 'timeouts', 'infos/goal']:\n    \
             print(k, f[k].shape, f[k].dtype)\n\
         print('sum', float(np.sum(f['observations'][:])), int(f['terminals'][:].sum()), int(np.argmax(f['timeouts'][:])))",
        path.display().to_string()
    ));
    let want_sum: f32 = dataset.observations.values.iter().sum();
    assert_eq!(
        report,
        format!(
            "observations (7, 4) float32\nactions (7, 2) float32\nrewards (7,) float32\nterminals (7,) bool\n\
             timeouts (7,) bool\ninfos/goal (7, 2) float32\nsum {want_sum:?} 1 3\n"
        )
    );
}

#[test]
fn d4rl_style_files_are_read_and_missing_keys_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d4rl = dir.path().join("d4rl.hdf5");
    let no_actions = dir.path().join("no_actions.hdf5");
    // As D4RL's generator writes them: float64 rewards here, no `timeouts`, infos/qpos.
    run_python(&format!(
        "import h5py, numpy as np\n\
         with h5py.File({:?}, 'w') as f:\n    \
             f['observations'] = np.arange(12, dtype=np.float32).reshape(3, 4)\n    \
             f['actions'] = np.zeros((3, 2), dtype=np.float32)\n    \
             f['rewards'] = np.array([0.0, 1.0, 1.0])\n    \
             f['terminals'] = np.array([False, False, True])\n    \
             f['infos/qpos'] = np.ones((3, 2), dtype=np.float32)\n\
         with h5py.File({:?}, 'w') as f:\n    \
             f['observations'] = np.zeros((3, 4), dtype=np.float32)\n    \
             f['rewards'] = np.zeros(3, dtype=np.float32)\n    \
             f['terminals'] = np.zeros(3, dtype=bool)\n",
        d4rl.display().to_string(),
        no_actions.display().to_string()
    ));
    let dataset = D4rlDataset::read_hdf5(&d4rl).expect("D4RL-style file");
    assert_eq!(dataset.rewards, vec![0.0, 1.0, 1.0]);
    assert_eq!(dataset.terminals, vec![false, false, true]);
    assert_eq!(dataset.timeouts, vec![false; 3], "missing timeouts read as false");
    assert_eq!(dataset.observations.row(2), &[8.0, 9.0, 10.0, 11.0]);
    assert_eq!(dataset.info("qpos").expect("infos/qpos").rows(), 3);
    let err = D4rlDataset::read_hdf5(&no_actions).expect_err("missing actions accepted").to_string();
    assert!(err.contains("no `actions` dataset") && err.contains("no_actions.hdf5"), "{err}");
    let err = D4rlDataset::read_hdf5(&dir.path().join("absent.hdf5")).expect_err("absent file").to_string();
    assert!(err.contains("absent.hdf5"), "{err}");
}

#[test]
fn inconsistent_lengths_and_nan_are_refused_before_writing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.hdf5");
    let mut short = sample();
    short.actions.values.truncate(4);
    let err = short.write_hdf5(&path).expect_err("ragged dataset written").to_string();
    assert!(err.contains("`actions` has 2 rows but `rewards` has 7"), "{err}");
    let mut nan = sample();
    nan.observations.values[9] = f32::NAN;
    let err = nan.write_hdf5(&path).expect_err("NaN dataset written").to_string();
    assert!(err.contains("`observations` row 2 holds NaN"), "{err}");
    assert!(!path.exists());
}

#[test]
fn a_file_claiming_more_values_than_a_dataset_may_hold_is_refused_before_reading() {
    // `diffplan fuzz` found it: a shape of 2^40 rows, chunked and never written (HDF5 serves
    // unwritten chunks as zeros, the file stays tiny), made the reader try to allocate 4 TiB and
    // abort. Written with h5py, as a corrupt or hostile file would be.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("huge.hdf5");
    run_python(&format!(
        "import h5py, numpy as np\n\
         with h5py.File({:?}, 'w') as f:\n    \
             f.create_dataset('observations', shape=(2**40, 4), dtype=np.float32, chunks=(1, 4))\n    \
             f['actions'] = np.zeros((3, 2), dtype=np.float32)\n    \
             f['rewards'] = np.zeros(3, dtype=np.float32)\n    \
             f['terminals'] = np.zeros(3, dtype=bool)\n",
        path.display().to_string()
    ));
    assert!(std::fs::metadata(&path).expect("written").len() < 1 << 20, "the file itself is small");
    let err = D4rlDataset::read_hdf5(&path).expect_err("a 2^42-value dataset accepted").to_string();
    assert!(err.contains("`observations`") && err.contains("4398046511104 values"), "{err}");
}
