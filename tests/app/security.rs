//! Secured launches and nodes (docs/SECURITY.md): TLS with mutual authentication and access
//! control by role, with certificates made for the run by scripts/lab-certs.sh.

use std::path::Path;

use crate::common::{diffplan, fast_task, lab};

/// The last line of a launch's stdout: its score row.
fn score_row(args: &[&str], launch: &Path) -> String {
    let output = diffplan().arg("launch").arg(launch).args(["--rerun", "off"]).args(args).output().expect("launch");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    String::from_utf8_lossy(&output.stdout).lines().last().expect("a score row").to_owned()
}

#[test]
fn a_secured_lockstep_launch_scores_exactly_like_the_plain_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let task = fast_task(dir.path(), 0);
    let launch = dir.path().join("launch.toml");
    let text = format!(
        "[network]\nendpoint = \"auto\"\nnamespace = \"securedlaunch\"\n\n[planner]\nconfig = \"{task}\"\n\n\
         [robot]\nconfig = \"{task}\"\nmode = \"lockstep\"\nepisodes = 3\n",
        task = task.display()
    );
    std::fs::write(&launch, text).expect("write launch");
    let lab = lab(dir.path());
    let plain = score_row(&[], &launch);
    let secured = score_row(&["--tls", lab.to_str().expect("utf-8")], &launch);
    // Columns: task, policy, sampler, episodes, score, goals, return (the latencies differ).
    let head = |row: &str| row.split('|').take(8).map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(head(&secured), head(&plain), "\nsecured {secured}\nplain   {plain}");
}

#[test]
fn a_secured_node_must_be_a_client_of_a_secured_router_and_have_its_certificate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let task = fast_task(dir.path(), 0);
    let lab = lab(dir.path());
    let serve = |args: &[&str]| {
        let output = diffplan().arg("serve").arg("--config").arg(&task).args(args).output().expect("serve");
        assert!(!output.status.success());
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let listening = serve(&["--tls", lab.to_str().expect("utf-8"), "--listen", "quic/127.0.0.1:7"]);
    assert!(listening.contains("diffplan router --tls"), "{listening}");
    std::fs::remove_file(lab.join("planner-key.pem")).expect("remove the key");
    let keyless = serve(&["--tls", lab.to_str().expect("utf-8"), "--connect", "quic/127.0.0.1:7"]);
    assert!(keyless.contains("planner-key.pem is missing") && keyless.contains("scripts/lab-certs.sh"), "{keyless}");
}
