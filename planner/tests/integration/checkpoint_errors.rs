//! Bad checkpoints fail at load time with an error that names the problem.

use std::path::Path;

use planner::Error;
use planner::model::{Architecture, Checkpoint, ModelOutput, NativeModel, Provenance};
use tch::{Device, Kind, Tensor};

use crate::reference::{export_torchscript, spec};

/// Saves a tiny valid U-Net checkpoint (H = 8, transition 1 + 2), without a TorchScript export.
fn tiny_checkpoint(dir: &Path) -> Checkpoint {
    let architecture = Architecture::TemporalUnet { dim: 8, dim_mults: vec![1, 2], attention: false };
    let model = NativeModel::new(spec(8, 1, 2, ModelOutput::Sample), architecture, Device::Cpu).expect("model");
    let provenance = Provenance { torch: planner::runtime::libtorch_version(), ..Provenance::default() };
    Checkpoint::save(dir, &model, provenance).expect("save")
}

fn edit_manifest(dir: &Path, edit: impl Fn(&str) -> String) {
    let path = dir.join("manifest.toml");
    let text = std::fs::read_to_string(&path).expect("read manifest");
    let edited = edit(&text);
    assert_ne!(edited, text, "the edit did not change the manifest");
    std::fs::write(path, edited).expect("write manifest");
}

fn edit_weights(dir: &Path, edit: impl Fn(&mut Vec<(String, Tensor)>)) {
    let path = dir.join("weights.safetensors");
    let mut tensors = Tensor::read_safetensors(&path).expect("read weights");
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    edit(&mut tensors);
    Tensor::write_safetensors(&tensors, &path).expect("write weights");
}

fn load_native_error(dir: &Path) -> Error {
    Checkpoint::open(dir).and_then(|c| c.load_native(Device::Cpu)).expect_err("bad checkpoint loaded")
}

#[test]
fn valid_checkpoint_loads_both_ways() {
    let dir = tempfile::tempdir().expect("tempdir");
    tiny_checkpoint(dir.path());
    export_torchscript(dir.path());
    let checkpoint = Checkpoint::open(dir.path()).expect("open");
    checkpoint.load_native(Device::Cpu).expect("native");
    checkpoint.load_torchscript(Device::Cpu).expect("torchscript");
}

#[test]
fn wrong_transition_dim_is_a_shape_mismatch() {
    let dir = tempfile::tempdir().expect("tempdir");
    tiny_checkpoint(dir.path());
    export_torchscript(dir.path());
    edit_manifest(dir.path(), |m| {
        m.replace("observation_dim = 2", "observation_dim = 3")
            .replace("min = [-1.0, -1.0, -1.0]", "min = [-1.0, -1.0, -1.0, -1.0]")
            .replace("max = [1.0, 1.0, 1.0]", "max = [1.0, 1.0, 1.0, 1.0]")
    });
    let err = load_native_error(dir.path());
    assert!(
        matches!(&err, Error::ShapeMismatch { name, found, expected, .. }
        if name == "downs.0.0.blocks.0.block.0.weight" && found == &[8, 3, 5] && expected == &[8, 4, 5]),
        "{err}"
    );
    let scripted = Checkpoint::open(dir.path()).expect("open").load_torchscript(Device::Cpu).expect_err("probe");
    assert!(scripted.to_string().contains("module.pt") && scripted.to_string().contains("[1, 8, 4]"), "{scripted}");
}

#[test]
fn horizon_not_divisible_is_rejected_with_the_divisor() {
    let dir = tempfile::tempdir().expect("tempdir");
    tiny_checkpoint(dir.path());
    edit_manifest(dir.path(), |m| m.replace("horizon = 8", "horizon = 7"));
    let err = Checkpoint::open(dir.path()).expect_err("odd horizon accepted");
    assert!(err.to_string().contains("spec.horizon") && err.to_string().contains("divisible by 2"), "{err}");
}

#[test]
fn missing_tensor_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    tiny_checkpoint(dir.path());
    edit_weights(dir.path(), |w| w.retain(|(name, _)| name != "final_conv.1.bias"));
    let err = load_native_error(dir.path());
    assert!(matches!(&err, Error::MissingTensor { name, .. } if name == "final_conv.1.bias"), "{err}");
}

#[test]
fn unexpected_tensor_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    tiny_checkpoint(dir.path());
    edit_weights(dir.path(), |w| {
        w.push(("mid_attn.fn.norm.g".into(), Tensor::ones([1, 16, 1], (Kind::Float, Device::Cpu))));
    });
    let err = load_native_error(dir.path());
    assert!(matches!(&err, Error::UnexpectedTensors { names, .. } if names == &["mid_attn.fn.norm.g"]), "{err}");
}

#[test]
fn wrong_dtype_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    tiny_checkpoint(dir.path());
    edit_weights(dir.path(), |w| {
        let entry = w.iter_mut().find(|(n, _)| n == "time_mlp.1.weight").expect("present");
        entry.1 = entry.1.to_kind(Kind::Double);
    });
    let err = load_native_error(dir.path());
    assert!(matches!(&err, Error::WrongDtype { name, .. } if name == "time_mlp.1.weight"), "{err}");
}

#[test]
fn nan_weight_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    tiny_checkpoint(dir.path());
    edit_weights(dir.path(), |w| {
        let entry = w.iter_mut().find(|(n, _)| n == "mid_block1.time_mlp.1.bias").expect("present");
        let _ = entry.1.get(3).fill_(f64::NAN);
    });
    let err = load_native_error(dir.path());
    assert!(matches!(&err, Error::NonFinite { name, .. } if name == "mid_block1.time_mlp.1.bias"), "{err}");
}

#[test]
fn malformed_manifest_names_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    tiny_checkpoint(dir.path());
    edit_manifest(dir.path(), |m| m.replace("horizon = 8", "horizon = eight"));
    let err = Checkpoint::open(dir.path()).expect_err("garbage accepted");
    let text = err.to_string();
    assert!(matches!(err, Error::Manifest { .. }) && text.contains("manifest.toml") && text.contains("line"), "{text}");
}

#[test]
fn unknown_manifest_field_is_rejected() {
    let dir = tempfile::tempdir().expect("tempdir");
    tiny_checkpoint(dir.path());
    edit_manifest(dir.path(), |m| m.replace("horizon = 8", "horizon = 8\nhorizn = 8"));
    let err = Checkpoint::open(dir.path()).expect_err("typo accepted");
    assert!(err.to_string().contains("horizn"), "{err}");
}

#[test]
fn other_format_version_is_rejected() {
    let dir = tempfile::tempdir().expect("tempdir");
    tiny_checkpoint(dir.path());
    edit_manifest(dir.path(), |m| m.replace("format_version = 1", "format_version = 2"));
    let err = Checkpoint::open(dir.path()).expect_err("future format accepted");
    assert!(matches!(err, Error::FormatVersion { found: 2, expected: 1, .. }), "{err}");
}

#[test]
fn normalizer_of_wrong_width_is_rejected() {
    let dir = tempfile::tempdir().expect("tempdir");
    tiny_checkpoint(dir.path());
    edit_manifest(dir.path(), |m| m.replace("min = [-1.0, -1.0, -1.0]", "min = [-1.0, -1.0]"));
    let err = Checkpoint::open(dir.path()).expect_err("short normalizer accepted");
    assert!(err.to_string().contains("spec.normalizer") && err.to_string().contains("has 2 entries"), "{err}");
}

#[test]
fn torchscript_from_another_torch_is_rejected() {
    let dir = tempfile::tempdir().expect("tempdir");
    tiny_checkpoint(dir.path());
    export_torchscript(dir.path());
    edit_manifest(dir.path(), |m| {
        m.replace(&format!("torch = \"{}\"", planner::runtime::libtorch_version()), "torch = \"1.13.1\"")
    });
    let err =
        Checkpoint::open(dir.path()).expect("open").load_torchscript(Device::Cpu).expect_err("old export accepted");
    assert!(err.to_string().contains("1.13.1") && err.to_string().contains("re-export"), "{err}");
}

#[test]
fn value_checkpoint_cannot_serve_as_denoiser() {
    use planner::model::Denoiser;
    let architecture = Architecture::ValueFunction { dim: 32, dim_mults: vec![1, 2] };
    let model = NativeModel::new(spec(8, 1, 2, ModelOutput::Value), architecture, Device::Cpu).expect("model");
    let x = Tensor::zeros([1, 8, 3], (Kind::Float, Device::Cpu));
    let err = model.predict(&x, &Tensor::zeros([1], (Kind::Int64, Device::Cpu))).expect_err("value used as denoiser");
    assert!(err.to_string().contains("denoiser"), "{err}");
}

#[test]
fn wrong_input_shape_names_the_expected_shape() {
    use planner::model::Denoiser;
    let dir = tempfile::tempdir().expect("tempdir");
    let model = tiny_checkpoint(dir.path()).load_native(Device::Cpu).expect("native");
    let x = Tensor::zeros([2, 8, 4], (Kind::Float, Device::Cpu));
    let err = model.predict(&x, &Tensor::zeros([2], (Kind::Int64, Device::Cpu))).expect_err("wrong width accepted");
    assert!(err.to_string().contains("[B, 8, 3]"), "{err}");
}

#[test]
fn a_compact_checkpoint_halves_the_weights_and_plans_alike() {
    // Reference: the float32 model; float16 keeps ≈ 3 significant digits of every weight.
    let dir = tempfile::tempdir().expect("tempdir");
    let full = crate::reference::unet_checkpoint(dir.path(), ModelOutput::Sample);
    let compact_dir = dir.path().join("compact");
    let compact = full.save_compact(&compact_dir).expect("compact copy");
    let size = |d: &std::path::Path| std::fs::metadata(d.join("weights.safetensors")).expect("weights").len();
    let ratio = size(&compact_dir) as f64 / size(dir.path()) as f64;
    assert!(ratio < 0.55, "the compact weights are {ratio} of the float32 ones (the tensor index takes some room)");
    assert!(!compact_dir.join("module.pt").exists());
    let (a, b) = (full.load_native(Device::Cpu).expect("full"), compact.load_native(Device::Cpu).expect("compact"));
    let x = Tensor::randn([2, 16, 6], (Kind::Float, Device::Cpu));
    let t = Tensor::from_slice(&[3i64, 17]);
    let (ya, yb) = tch::no_grad(|| (a.forward(&x, &t), b.forward(&x, &t)));
    let relative = (&ya - &yb).abs().max().double_value(&[]) / ya.abs().max().double_value(&[]);
    assert!(relative < 2e-2, "float16 weights moved the output by {relative} of its scale");
    assert_eq!(compact.manifest(), full.manifest());
}
