//! The score table `eval`, `robot` and `launch` print: D4RL normalized score ×100 (mean ±
//! standard error), goal reached, return, plan latency and model calls per plan.

use crate::episode::EpisodeOutcome;
use crate::task::TaskConfig;

/// Prints the Markdown table of `outcomes` for `task`, acted on by `policy` with `sampler`.
pub fn print(task: &TaskConfig, policy: &str, sampler: &str, outcomes: &[EpisodeOutcome]) {
    let n = outcomes.len() as f64;
    let reference = task.env.layout.reference_returns();
    let scores: Vec<f64> = outcomes.iter().map(|r| reference.normalized(r.episode_return)).collect();
    let mean = scores.iter().sum::<f64>() / n;
    let standard_error =
        (scores.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0)).sqrt() / n.sqrt();
    let returns = outcomes.iter().map(|r| r.episode_return).sum::<f64>() / n;
    let reached = outcomes.iter().filter(|r| r.reached).count();
    let mut plan_ms: Vec<f64> = outcomes.iter().flat_map(|r| r.plan_ms.iter().copied()).collect();
    plan_ms.sort_by(f64::total_cmp);
    let percentile = |p: f64| plan_ms.get(((plan_ms.len() as f64 - 1.0) * p).round() as usize).copied();
    // Model calls of first plans and of replans separately: a warm start only helps the latter.
    let average_calls = |calls: Vec<usize>| -> String {
        if calls.is_empty() {
            "–".into()
        } else {
            format!("{:.1}", calls.iter().sum::<usize>() as f64 / calls.len() as f64)
        }
    };
    let first_calls = average_calls(outcomes.iter().filter_map(|r| r.model_calls.first().copied()).collect());
    let replan_calls = average_calls(outcomes.iter().flat_map(|r| r.model_calls.iter().skip(1).copied()).collect());
    println!(
        "| task | policy | sampler | episodes | score ×100 (mean ± s.e.) | reached goal | mean return | plan p50 / p95 | model calls / plan (first; replans) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {} | {policy} | {sampler} | {} | {mean:.1} ± {standard_error:.1} | {reached}/{} | {returns:.1} | {} | {first_calls}; {replan_calls} |",
        task.label(),
        outcomes.len(),
        outcomes.len(),
        match (percentile(0.5), percentile(0.95)) {
            (Some(p50), Some(p95)) => format!("{p50:.0} / {p95:.0} ms"),
            _ => "–".into(),
        },
    );
}
