//! Running the PyTorch reference scripts and building checkpoints around their outputs.

use std::path::{Path, PathBuf};
use std::process::Command;

use planner::model::{Architecture, FORMAT_VERSION, Manifest, ModelOutput, ModelSpec, Normalizer, Provenance};
use planner::schedule::ScheduleSpec;
use tch::Tensor;

/// The venv interpreter with torch 2.11.0; the tests fail loudly without it.
pub fn python() -> PathBuf {
    std::env::var_os("DIFFPLAN_PYTHON").map(PathBuf::from).expect(
        "DIFFPLAN_PYTHON is not set: run the tests through scripts/test.sh, which creates the \
         PyTorch venv and points DIFFPLAN_PYTHON at it",
    )
}

/// Runs `scripts/torch/diffuser_torch.py` (the PyTorch implementation of Diffuser's networks)
/// with `args`.
fn diffuser_torch(args: &[&std::ffi::OsStr]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/torch/diffuser_torch.py");
    let status = Command::new(python()).arg(script).args(args).status().expect("failed to start python");
    assert!(status.success(), "diffuser_torch.py {args:?} failed: {status}");
}

/// Writes a parity case (weights, TorchScript, inputs and PyTorch's output) into `out`.
pub fn export_reference(out: &Path, args: &[&str]) {
    let mut all: Vec<&std::ffi::OsStr> = vec!["reference".as_ref()];
    all.extend(args.iter().map(std::ffi::OsStr::new));
    all.extend(["--out".as_ref(), out.as_os_str()]);
    diffuser_torch(&all);
}

/// Adds `module.pt` to the checkpoint folder `dir`, traced by PyTorch from its weights.
pub fn export_torchscript(dir: &Path) {
    diffuser_torch(&["export".as_ref(), dir.as_os_str()]);
}

/// A spec for a transition of `action_dim + observation_dim` with a unit limits normalizer.
pub fn spec(horizon: usize, action_dim: usize, observation_dim: usize, output: ModelOutput) -> ModelSpec {
    let d = action_dim + observation_dim;
    ModelSpec {
        horizon,
        action_dim,
        observation_dim,
        output,
        diffusion_steps: 64,
        schedule: ScheduleSpec::default(),
        normalizer: Normalizer::Limits { min: vec![-1.0; d], max: vec![1.0; d] },
    }
}

/// Writes `manifest.toml` for `spec` and `architecture` into `dir`.
pub fn write_manifest(dir: &Path, spec: ModelSpec, architecture: Architecture) {
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        spec,
        architecture,
        provenance: Provenance {
            torch: "2.11.0".into(),
            source: "scripts/torch/diffuser_torch.py reference".into(),
            ..Provenance::default()
        },
    };
    std::fs::write(dir.join("manifest.toml"), toml::to_string(&manifest).expect("serialize")).expect("write manifest");
}

/// Largest absolute elementwise difference.
pub fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a.to_device(tch::Device::Cpu) - b.to_device(tch::Device::Cpu)).abs().max().double_value(&[])
}

/// Reads `cases.safetensors` written by the reference script: `(x, t, y)`.
pub fn read_cases(dir: &Path) -> (Tensor, Tensor, Tensor) {
    let mut named: std::collections::HashMap<String, Tensor> =
        Tensor::read_safetensors(dir.join("cases.safetensors")).expect("cases").into_iter().collect();
    let mut take = |name: &str| named.remove(name).unwrap_or_else(|| panic!("cases.safetensors lacks {name}"));
    (take("x"), take("t"), take("y"))
}
