//! Running the PyTorch reference scripts and building checkpoints around their outputs.

use std::path::{Path, PathBuf};
use std::process::Command;

use planner::model::{
    Architecture, Checkpoint, FORMAT_VERSION, Manifest, ModelOutput, ModelSpec, Normalizer, Provenance,
};
use planner::schedule::ScheduleSpec;
use planner::{DenoisingStep, Observer};
use tch::Tensor;

/// The venv interpreter with torch 2.11.0; the tests fail loudly without it.
pub fn python() -> PathBuf {
    std::env::var_os("DIFFPLAN_PYTHON").map(PathBuf::from).expect(
        "DIFFPLAN_PYTHON is not set: run the tests through scripts/test.sh, which creates the \
         PyTorch venv and points DIFFPLAN_PYTHON at it",
    )
}

/// Runs `scripts/torch/<script>` with the venv's python and `args`.
pub fn torch_script(script: &str, args: &[&std::ffi::OsStr]) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/torch").join(script);
    let status = Command::new(python()).arg(path).args(args).status().expect("failed to start python");
    assert!(status.success(), "{script} {args:?} failed: {status}");
}

/// Runs `scripts/torch/diffuser_torch.py` (the PyTorch implementation of Diffuser's networks)
/// with `args`.
fn diffuser_torch(args: &[&std::ffi::OsStr]) {
    torch_script("diffuser_torch.py", args);
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
        stride: 1,
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

/// Horizon of [`unet_checkpoint`].
pub const UNET_HORIZON: usize = 16;

/// A random Diffuser U-Net (A = 2, O = 4, H = 16, N = 20) as a checkpoint predicting `output`:
/// x0 under Diffuser's cosine schedule, ε under a linear one; a limits normalizer that is not
/// the identity, so pins are really normalized.
pub fn unet_checkpoint(dir: &Path, output: ModelOutput) -> Checkpoint {
    export_reference(
        dir,
        &["--arch", "unet", "--transition", "6", "--horizon", "16", "--mults", "1,2", "--steps", "20"],
    );
    let schedule = match output {
        ModelOutput::Epsilon => ScheduleSpec::Linear { beta_start: 1e-4, beta_end: 0.2 },
        _ => ScheduleSpec::default(),
    };
    let spec = ModelSpec {
        horizon: UNET_HORIZON,
        stride: 1,
        action_dim: 2,
        observation_dim: 4,
        output,
        diffusion_steps: 20,
        schedule,
        normalizer: unet_normalizer(),
    };
    write_manifest(dir, spec, Architecture::TemporalUnet { dim: 32, dim_mults: vec![1, 2], attention: false });
    Checkpoint::open(dir).expect("checkpoint")
}

/// The limits normalizer of [`unet_checkpoint`].
pub fn unet_normalizer() -> Normalizer {
    Normalizer::Limits { min: vec![-1.0, -1.0, 0.0, 0.5, -2.0, -3.0], max: vec![1.0, 1.0, 4.0, 3.5, 2.0, 1.0] }
}

/// Records every x_t and x0_hat a sampler shows.
#[derive(Default)]
pub struct Recorder {
    /// x_t of each step.
    pub x_t: Vec<Tensor>,
    /// x0_hat of each step.
    pub x0_hat: Vec<Tensor>,
}

impl Observer for Recorder {
    fn on_step(&mut self, step: &DenoisingStep<'_>) {
        self.x_t.push(step.x_t.copy());
        self.x0_hat.push(step.x0_hat.copy());
    }
}
