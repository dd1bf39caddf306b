//! Helpers shared by the application's integration tests.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use serde_json::Value;

/// What a Rerun recording holds, as counted by tests/python/read_recording.py with the Python
/// rerun-sdk of the crate's version.
pub fn read_recording(recording: &Path) -> Value {
    let read = python(&["tests/python/read_recording.py", &recording.display().to_string()]);
    assert!(read.status.success(), "{} is unreadable: {}", recording.display(), String::from_utf8_lossy(&read.stderr));
    serde_json::from_slice(&read.stdout).expect("one JSON object")
}

/// Runs the venv's Python (`DIFFPLAN_PYTHON`) with `args`, the first a script under the
/// repository's root, and returns what it did.
pub fn python(args: &[&str]) -> Output {
    let python = std::env::var_os("DIFFPLAN_PYTHON")
        .expect("DIFFPLAN_PYTHON names the venv's python (source scripts/env.sh, or run scripts/test.sh)");
    Command::new(python)
        .arg(Path::new(ROOT).join(args[0]))
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", args[0]))
}

/// The repository's root.
pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The diffplan binary under test.
pub fn diffplan() -> Command {
    Command::new(env!("CARGO_BIN_EXE_diffplan"))
}

/// A loopback endpoint free now, on a port below Linux's ephemeral range (32768–60999), so that
/// no socket the system hands a port to takes it before the node that is to listen there.
pub fn endpoint() -> String {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let start = (std::process::id() % 12_000) as u16;
    loop {
        let port = 20_000 + (start + NEXT.fetch_add(1, Ordering::Relaxed) * 7) % 12_000;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return format!("tcp/127.0.0.1:{port}");
        }
    }
}

/// The U-maze task with a 5-step sampler (fast) and absolute paths, in `dir`.
pub fn fast_task(dir: &Path, replan_every: usize) -> PathBuf {
    let text = format!(
        "[env]\nlayout = \"umaze\"\ngoals = \"fixed\"\n\n[planner]\ncheckpoint = \"{ROOT}/models/maze2d-umaze\"\n\
         replan_every = {replan_every}\n\n[planner.sampler]\nkind = \"dpm_solver_pp\"\nsteps = 5\nclip_x0 = true\n\n\
         [eval]\nepisodes = 3\nseed = 11\n"
    );
    let path = dir.join("task.toml");
    std::fs::write(&path, text).expect("write task");
    path
}

/// Kills the watched children if the test panics, so a failing test leaves nothing running.
#[derive(Default)]
pub struct Reaper(Vec<String>);

impl Reaper {
    pub fn watch(&mut self, child: &Child) {
        self.0.push(child.id().to_string());
    }

    /// Watches the process group that `child` leads (spawned with `process_group(0)`), so that
    /// a launch's own children go too.
    pub fn watch_group(&mut self, child: &Child) {
        self.0.push(format!("-{}", child.id()));
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        if std::thread::panicking() && !self.0.is_empty() {
            let _ = Command::new("kill").args(["-9", "--"]).args(&self.0).status();
        }
    }
}

/// Runs `command`, which must succeed; what it printed.
pub fn succeed(command: &mut Command) -> Output {
    let output = command.output().expect("run diffplan");
    assert!(output.status.success(), "{command:?}: {}", String::from_utf8_lossy(&output.stderr));
    output
}

/// The last row of a score table, split into cells.
pub fn table_row(output: &Output) -> Vec<String> {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let row = stdout.lines().last().expect("a table row");
    row.trim_matches('|').split('|').map(|cell| cell.trim().to_string()).collect()
}

/// A child's stderr lines, as they come.
pub fn stderr_lines(child: &mut Child) -> Receiver<String> {
    let stderr = child.stderr.take().expect("piped stderr");
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    receiver
}

/// Waits (at most `limit`) for a line that satisfies `wanted`; returns it.
pub fn wait_for(
    lines: &Receiver<String>,
    wanted: impl Fn(&str) -> bool,
    limit: Duration,
    seen: &mut Vec<String>,
) -> String {
    let deadline = Instant::now() + limit;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match lines.recv_timeout(left) {
            Ok(line) => {
                seen.push(line.clone());
                if wanted(&line) {
                    return line;
                }
            }
            Err(_) => break,
        }
    }
    panic!("no such line within {limit:?}; saw:\n{}", seen.join("\n"));
}

/// The number after `key` in `line`.
pub fn number_after(line: &str, key: &str) -> f64 {
    let rest = &line[line.find(key).unwrap_or_else(|| panic!("{key:?} in {line}")) + key.len()..];
    rest.split(|c: char| !(c.is_ascii_digit() || c == '.')).next().expect("number").parse().expect("a number")
}

/// A streaming planner `planner-a` of `task` on `namespace`, joining the network as `network`
/// says (`--connect <endpoint>`, and `--tls <lab>` if secured); its output is dropped.
pub fn streaming_planner(task: &Path, namespace: &str, network: &[&str]) -> Child {
    diffplan()
        .args(["serve", "--stream", "--id", "planner-a", "--namespace", namespace])
        .args(network)
        .arg("--config")
        .arg(task)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the planner")
}

/// A lab folder with its certificates (scripts/lab-certs.sh), in `dir`.
pub fn lab(dir: &Path) -> PathBuf {
    let lab = dir.join("lab");
    let made = Command::new("bash").arg(Path::new(ROOT).join("scripts/lab-certs.sh")).arg(&lab).output().expect("run");
    assert!(made.status.success(), "lab-certs.sh: {}", String::from_utf8_lossy(&made.stderr));
    lab
}
