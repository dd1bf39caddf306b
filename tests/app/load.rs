//! `diffplan bench load` as a check (docs/RELIABILITY.md has a full run's table): eight robots
//! asking back to back against one and two planner workers; every request is answered exactly
//! once, with its own id, by a plan or a refusal.

use crate::common::{ROOT, diffplan};

#[test]
fn every_request_of_eight_robots_is_answered_once_by_a_plan_or_a_refusal() {
    let output = diffplan()
        .args(["bench", "load", "--robots", "8", "--budget-s", "4", "--task"])
        .arg(format!("{ROOT}/configs/tasks/maze2d-umaze.toml"))
        .env("OMP_NUM_THREADS", "1")
        .output()
        .expect("run");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    // Columns: robots, workers, requests, plans, busy, deadline, other errors, lost, answered
    // twice, wrong id, latency, plans / s, refused robots served later.
    let rows: Vec<Vec<u64>> = stdout
        .lines()
        .filter(|l| l.starts_with("| 8 |"))
        .map(|l| l.trim_matches('|').split('|').take(10).map(|c| c.trim().parse().expect("a count")).collect())
        .collect();
    assert_eq!(rows.len(), 2, "one row per worker count: {stdout}");
    for row in rows {
        let [_, _, requests, plans, busy, deadline, other, lost, twice, wrong] = row[..] else { unreachable!() };
        assert!(plans > 0, "{stdout}");
        assert_eq!((other, lost, twice, wrong), (0, 0, 0, 0), "{stdout}");
        assert_eq!(requests, plans + busy + deadline, "{stdout}");
    }
}
