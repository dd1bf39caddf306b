//! `diffplan doctor`: what this installation runs on, and what is wrong with it.

use std::path::Path;
use std::process::ExitCode;

use planner::runtime;

/// Arguments of `diffplan doctor`.
#[derive(Debug, clap::Args)]
pub struct DoctorArgs {}

/// The PyTorch release the pinned `tch` needs.
const EXPECTED_TORCH: &str = "2.11.0";
/// The pinned stack (ARCHITECTURE.md) with the versions `Cargo.toml` pins.
const PINNED: &[(&str, &str)] = &[
    ("tch", "0.24.0"),
    ("torch-sys", "0.24.0"),
    ("zenoh", "1.10.2"),
    ("rerun", "0.36.3"),
    ("rapier3d", "0.36.1"),
    ("nalgebra", "0.35"),
];

/// Prints the report; exits non-zero if any problem was found.
pub fn run(_args: &DoctorArgs) -> ExitCode {
    let mut problems = Vec::new();
    println!("diffplan {}", env!("CARGO_PKG_VERSION"));

    let built_dir = Path::new(runtime::LIBTORCH_LIB_DIR);
    let built = runtime::torch_version_in(built_dir).unwrap_or_else(|| "unknown".into());
    println!("libtorch built against  {built} ({})", built_dir.display());
    if built.split('+').next() != Some(EXPECTED_TORCH) {
        problems.push(format!(
            "built against libtorch {built}, tch 0.24.0 needs PyTorch {EXPECTED_TORCH}: run scripts/setup.sh and rebuild"
        ));
    }
    match runtime::loaded_libtorch_path() {
        Some(path) => {
            let loaded_version = path.parent().and_then(runtime::torch_version_in).unwrap_or_else(|| "unknown".into());
            println!("libtorch loaded         {loaded_version} ({})", path.display());
            if loaded_version != built {
                problems.push(format!(
                    "the libtorch loaded at run time ({loaded_version}) is not the one built against ({built}); \
                     unset LD_LIBRARY_PATH or rebuild"
                ));
            }
        }
        None => problems.push("could not find libtorch_cpu.so among the loaded libraries".into()),
    }

    let cuda = tch::Cuda::is_available();
    let gpus = nvidia_gpu_names();
    println!(
        "CUDA                    {} ({} device(s) visible to libtorch, cuDNN {})",
        if cuda { "available" } else { "not available" },
        tch::Cuda::device_count(),
        if tch::Cuda::cudnn_is_available() { "available" } else { "not available" }
    );
    for name in &gpus {
        println!("GPU                     {name}");
    }
    if !gpus.is_empty() && !cuda {
        problems.push(
            "an NVIDIA GPU is present but libtorch sees no CUDA device: the binary must link torch_cuda \
             (build/torch_link.rs) and the driver must support CUDA 13"
                .into(),
        );
    }
    println!("threads                 {} intra-op (set with OMP_NUM_THREADS)", tch::get_num_threads());

    let check = tch::Tensor::ones([2, 2], (tch::Kind::Float, tch::Device::Cpu))
        .matmul(&tch::Tensor::ones([2, 2], (tch::Kind::Float, tch::Device::Cpu)));
    if (check.sum(tch::Kind::Float).double_value(&[]) - 8.0).abs() > 1e-6 {
        problems.push("a 2×2 matmul on the CPU gave a wrong result".into());
    }

    let locked: Vec<(&str, &str)> = option_env!("DIFFPLAN_LOCKED_VERSIONS")
        .unwrap_or_default()
        .split(',')
        .filter_map(|pair| pair.split_once('='))
        .collect();
    for (name, pinned) in PINNED {
        match locked.iter().find(|(n, _)| n == name) {
            Some((_, version)) if version.starts_with(pinned) => println!("{name:<24}{version}"),
            Some((_, version)) => {
                println!("{name:<24}{version} (pinned {pinned})");
                problems.push(format!("{name} is {version}, the project pins {pinned}"));
            }
            None => println!("{name:<24}pinned {pinned}, not linked into this build yet"),
        }
    }

    if problems.is_empty() {
        println!("\ndiagnosis: ok");
        ExitCode::SUCCESS
    } else {
        println!("\ndiagnosis: {} problem(s)", problems.len());
        for problem in &problems {
            println!("  - {problem}");
        }
        ExitCode::FAILURE
    }
}

/// Names of the NVIDIA GPUs the kernel driver reports (Linux), whether or not CUDA works.
fn nvidia_gpu_names() -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc/driver/nvidia/gpus") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| std::fs::read_to_string(entry.path().join("information")).ok())
        .filter_map(|info| info.lines().find_map(|l| l.strip_prefix("Model:")).map(|m| m.trim().to_owned()))
        .collect()
}
