//! Parity with PyTorch: the native `tch::nn` networks loaded from safetensors and the
//! TorchScript export of the same module reproduce PyTorch's output on fixed inputs.
//! Reference: `scripts/torch/diffuser_torch.py`, Diffuser's architecture written in PyTorch.

use planner::model::{Architecture, Checkpoint, Denoiser, ModelOutput, Provenance, ValueModel};
use tch::{Device, Tensor};

use crate::reference::{export_reference, export_torchscript, max_abs_diff, read_cases, spec, write_manifest};

/// Tolerance of the parity checks (max abs), as the issue states.
const PARITY_TOLERANCE: f64 = 1e-5;

struct Case {
    name: &'static str,
    args: &'static [&'static str],
    horizon: usize,
    action_dim: usize,
    observation_dim: usize,
    architecture: fn() -> Architecture,
}

fn check(case: &Case) {
    let dir = tempfile::tempdir().expect("tempdir");
    export_reference(dir.path(), case.args);
    let unet = matches!((case.architecture)(), Architecture::TemporalUnet { .. });
    let output = if unet { ModelOutput::Sample } else { ModelOutput::Value };
    write_manifest(
        dir.path(),
        spec(case.horizon, case.action_dim, case.observation_dim, output),
        (case.architecture)(),
    );
    let checkpoint = Checkpoint::open(dir.path()).expect("open checkpoint");
    let (x, t, y) = read_cases(dir.path());
    let _guard = tch::no_grad_guard();

    let native = checkpoint.load_native(Device::Cpu).expect("native model");
    let scripted = checkpoint.load_torchscript(Device::Cpu).expect("TorchScript module");
    let (native_out, scripted_out) = if unet {
        (native.predict(&x, &t).expect("native"), scripted.predict(&x, &t).expect("torchscript"))
    } else {
        let native_values = native.value(&x, &t).expect("native");
        assert_eq!(native_values.size(), y.size()[..1], "value() returns one value per trajectory");
        (native_values.unsqueeze(-1), scripted.value(&x, &t).expect("torchscript").unsqueeze(-1))
    };
    let native_err = max_abs_diff(&native_out, &y);
    let scripted_err = max_abs_diff(&scripted_out, &y);
    assert!(native_err < PARITY_TOLERANCE, "{}: native vs PyTorch max abs {native_err:e}", case.name);
    assert!(scripted_err < PARITY_TOLERANCE, "{}: TorchScript vs PyTorch max abs {scripted_err:e}", case.name);
    // Guard against a vacuous pass: the output must depend on the input.
    assert!(max_abs_diff(&native.forward(&(&x + 0.5), &t), &y) > 1e-3, "{}: output ignores x", case.name);

    if tch::Cuda::is_available() {
        let cuda = checkpoint.load_native(Device::Cuda(0)).expect("native on CUDA");
        let out = cuda.forward(&x.to_device(Device::Cuda(0)), &t.to_device(Device::Cuda(0)));
        let err = max_abs_diff(&out, &y.view_as(&out));
        // cuDNN picks other convolution algorithms than the CPU; 1e-4 covers their rounding.
        assert!(err < 1e-4, "{}: CUDA native vs PyTorch CPU max abs {err:e}", case.name);
    }
}

#[test]
fn maze2d_unet_matches_pytorch() {
    check(&Case {
        name: "maze2d",
        args: &["--arch", "unet", "--transition", "6", "--horizon", "128", "--mults", "1,4,8"],
        horizon: 128,
        action_dim: 2,
        observation_dim: 4,
        architecture: || Architecture::TemporalUnet { dim: 32, dim_mults: vec![1, 4, 8], attention: false },
    });
}

#[test]
fn locomotion_unet_matches_pytorch() {
    check(&Case {
        name: "hopper",
        args: &["--arch", "unet", "--transition", "14", "--horizon", "32", "--mults", "1,2,4,8"],
        horizon: 32,
        action_dim: 3,
        observation_dim: 11,
        architecture: || Architecture::TemporalUnet { dim: 32, dim_mults: vec![1, 2, 4, 8], attention: false },
    });
}

#[test]
fn attention_unet_matches_pytorch() {
    check(&Case {
        name: "halfcheetah",
        args: &["--arch", "unet", "--transition", "23", "--horizon", "4", "--mults", "1,4,8", "--attention"],
        horizon: 4,
        action_dim: 6,
        observation_dim: 17,
        architecture: || Architecture::TemporalUnet { dim: 32, dim_mults: vec![1, 4, 8], attention: true },
    });
}

#[test]
fn value_function_matches_pytorch() {
    check(&Case {
        name: "hopper value",
        args: &["--arch", "value", "--transition", "14", "--horizon", "32", "--mults", "1,2,4,8"],
        horizon: 32,
        action_dim: 3,
        observation_dim: 11,
        architecture: || Architecture::ValueFunction { dim: 32, dim_mults: vec![1, 2, 4, 8] },
    });
}

/// A native checkpoint reloads to the same function, and its TorchScript export (PyTorch traces
/// the architecture loaded from the native weights at batch 1) reproduces the native model at
/// another batch size.
#[test]
fn native_export_round_trips() {
    let architecture = Architecture::TemporalUnet { dim: 32, dim_mults: vec![1, 2, 4], attention: true };
    let model = planner::model::NativeModel::new(spec(16, 2, 4, ModelOutput::Epsilon), architecture, Device::Cpu)
        .expect("model");
    let dir = tempfile::tempdir().expect("tempdir");
    let checkpoint = Checkpoint::save(dir.path(), &model, Provenance::default()).expect("save");
    export_torchscript(dir.path());
    let x = Tensor::randn([5, 16, 6], (tch::Kind::Float, Device::Cpu));
    let t = Tensor::from_slice(&[0i64, 3, 17, 40, 63]);
    let _guard = tch::no_grad_guard();
    let want = model.forward(&x, &t);
    let reloaded = Checkpoint::open(dir.path()).expect("reopen");
    assert_eq!(reloaded.manifest(), checkpoint.manifest());
    let native = reloaded.load_native(Device::Cpu).expect("native");
    let scripted = reloaded.load_torchscript(Device::Cpu).expect("torchscript");
    assert!(native.predict(&x, &t).expect("native").equal(&want), "reloaded weights changed the output");
    let err = max_abs_diff(&scripted.predict(&x, &t).expect("torchscript"), &want);
    assert!(err < PARITY_TOLERANCE, "TorchScript export vs native max abs {err:e}");
}
