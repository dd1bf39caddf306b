//! Helpers shared by the application's integration tests.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// What a Rerun recording holds, as counted by tests/python/read_recording.py with the Python
/// rerun-sdk of the crate's version.
pub fn read_recording(recording: &Path) -> Value {
    let python = std::env::var_os("DIFFPLAN_PYTHON")
        .expect("DIFFPLAN_PYTHON names the venv's python (source scripts/env.sh, or run scripts/test.sh)");
    let read = Command::new(python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/read_recording.py"))
        .arg(recording)
        .output()
        .expect("run the reader");
    assert!(read.status.success(), "{} is unreadable: {}", recording.display(), String::from_utf8_lossy(&read.stderr));
    serde_json::from_slice(&read.stdout).expect("one JSON object")
}
