//! Build script shared by every workspace package whose binaries or tests link libtorch.
//!
//! Cargo applies `rustc-link-arg` only to the package that emits it, so each such package
//! names this file as its `build` script and depends on `torch-sys` directly (which makes
//! `DEP_TCH_LIBTORCH_LIB` visible here). It bakes an rpath to libtorch's lib folder into the
//! binaries, so they run without `LD_LIBRARY_PATH`, and links `torch` and `torch_cuda` with
//! `--no-as-needed`, so the CUDA backend registers itself wherever a GPU is present.

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=build/torch_link.rs");
    let Some(lib_dir) = std::env::var_os("DEP_TCH_LIBTORCH_LIB") else {
        return;
    };
    let lib_dir = Path::new(&lib_dir);
    println!("cargo:rustc-link-arg=-Wl,-rpath={}", lib_dir.display());
    println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
    println!("cargo:rustc-link-arg=-ltorch");
    if lib_dir.join("libtorch_cuda.so").exists() {
        println!("cargo:rustc-link-arg=-ltorch_cuda");
    }
    println!("cargo:rustc-link-arg=-Wl,--as-needed");
    println!("cargo:rustc-env=DIFFPLAN_LIBTORCH_LIB={}", lib_dir.display());
    // pip's torch keeps its version next to lib/: torch/version.py, `__version__ = '2.11.0+cu130'`.
    let version_file = lib_dir.join("../version.py");
    println!("cargo:rerun-if-changed={}", version_file.display());
    let version = std::fs::read_to_string(&version_file).ok().and_then(|text| {
        text.lines()
            .find_map(|line| line.strip_prefix("__version__"))
            .map(|rest| rest.trim_matches(|c: char| c == ' ' || c == '=' || c == '\'' || c == '"').to_owned())
    });
    if let Some(version) = version {
        println!("cargo:rustc-env=DIFFPLAN_LIBTORCH_VERSION={version}");
    }
}
