//! `diffplan import diffuser` end to end on a run in jannerm/diffuser's exact format, written by
//! `scripts/torch/diffuser_checkpoint.py` (which also fits Diffuser's normalizer with Diffuser's
//! pipeline, re-implemented in numpy): the written checkpoint opens, carries that normalizer and
//! the run's provenance, and a run without its dataset config needs (and takes) the maze's target.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output};

use planner::model::{Architecture, Checkpoint, ModelOutput, Normalizer};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn import(run: &Path, out: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_diffplan"))
        .args(["import", "diffuser"])
        .arg(run.join("run/state_1200.pt"))
        .arg("--dataset")
        .arg(run.join("dataset.hdf5"))
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .expect("run diffplan")
}

/// Checks the checkpoint in `out` against the oracle's normalizer in `run`.
fn check(run: &Path, out: &Path) {
    let checkpoint = Checkpoint::open(out).expect("the imported checkpoint opens");
    let manifest = checkpoint.manifest();
    let spec = &manifest.spec;
    assert_eq!((spec.horizon, spec.action_dim, spec.observation_dim, spec.diffusion_steps), (16, 2, 4, 20));
    assert_eq!(spec.output, ModelOutput::Sample);
    assert_eq!(manifest.architecture, Architecture::TemporalUnet { dim: 32, dim_mults: vec![1, 2], attention: false });
    assert_eq!(manifest.provenance.train_steps, Some(1200));
    let oracle: HashMap<String, Vec<f64>> =
        serde_json::from_str(&std::fs::read_to_string(run.join("normalizer.json")).expect("oracle")).expect("json");
    let Normalizer::Limits { min, max } = &spec.normalizer else { panic!("expected Diffuser's limits normalizer") };
    for (got, want) in min.iter().chain(max).zip(oracle["min"].iter().chain(&oracle["max"])) {
        assert!((got - want).abs() < 1e-6, "normalizer {got} vs Diffuser's pipeline {want}");
    }
    checkpoint.load_native(tch::Device::Cpu).expect("its weights load");
}

#[test]
fn a_diffuser_run_imports_from_the_command_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let python = std::env::var_os("DIFFPLAN_PYTHON").expect("DIFFPLAN_PYTHON (run scripts/test.sh)");
    let status = Command::new(python)
        .arg(format!("{ROOT}/scripts/torch/diffuser_checkpoint.py"))
        .args(["write", "--out"])
        .arg(dir.path())
        .status()
        .expect("run python");
    assert!(status.success());

    let out = dir.path().join("imported");
    let output = import(dir.path(), &out, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("model_config.pkl:dim_mults") && stderr.contains("re-cut at (1, 1)"), "{stderr}");
    check(dir.path(), &out);

    // Without dataset_config.pkl the maze's target must be given.
    std::fs::remove_file(dir.path().join("run/dataset_config.pkl")).expect("remove");
    let refused = import(dir.path(), &dir.path().join("refused"), &[]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("--recut-at-goal"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let again = dir.path().join("again");
    let output = import(dir.path(), &again, &["--recut-at-goal", "1,1"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    check(dir.path(), &again);
}
