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
    record_locked_versions();
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
}

/// Exposes the locked versions of the pinned stack as `DIFFPLAN_LOCKED_VERSIONS`
/// (`name=version,…`), read from the workspace's `Cargo.lock`, for `diffplan doctor`.
fn record_locked_versions() {
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let Some(lock) = Path::new(&manifest_dir).ancestors().map(|dir| dir.join("Cargo.lock")).find(|p| p.is_file())
    else {
        return;
    };
    println!("cargo:rerun-if-changed={}", lock.display());
    let Ok(text) = std::fs::read_to_string(&lock) else {
        return;
    };
    let pinned = ["tch", "torch-sys", "zenoh", "rerun", "rapier3d", "nalgebra"];
    let mut found = Vec::new();
    let mut name = None;
    for line in text.lines() {
        if let Some(value) = line.strip_prefix("name = ") {
            name = Some(value.trim_matches('"').to_owned());
        } else if let (Some(value), Some(current)) = (line.strip_prefix("version = "), name.take())
            && pinned.contains(&current.as_str())
        {
            found.push(format!("{current}={}", value.trim_matches('"')));
        }
    }
    println!("cargo:rustc-env=DIFFPLAN_LOCKED_VERSIONS={}", found.join(","));
}
