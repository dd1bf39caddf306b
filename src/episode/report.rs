//! The tables `eval`, `robot` and `launch` print. The score table: D4RL normalized score ×100
//! (mean ± standard error), goal reached, return, plan latency and model calls per plan. The
//! constraint table, where the task has hard constraints: how well they held, on the plans as
//! returned (by construction ≤ 1e-6 when the planner enforces them) and on the paths the robot
//! actually executed (tracking can cut corners a plan respects). With `eval --unconstrained` the
//! same checks measure an unconstrained planner against the same constraints.

use std::fmt::Write;

use planner::Candidate;
use planner::constraints::{ConstraintConfig, Constraints, Residual};

use super::EpisodeOutcome;
use crate::task::Task;

/// The headline numbers of a set of episodes: what the score table's first columns print and
/// the summary of `--json` results.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct ScoreSummary {
    /// Episodes played.
    pub episodes: usize,
    /// Mean D4RL normalized score ×100.
    pub score_mean: f64,
    /// Standard error of that mean (sample standard deviation / √episodes).
    pub score_standard_error: f64,
    /// Episodes that reached the goal at least once.
    pub reached: usize,
    /// Mean undiscounted return.
    pub mean_return: f64,
    /// Median plan latency over every plan of every episode, milliseconds (`None`: no plans).
    pub plan_ms_p50: Option<f64>,
    /// 95th percentile of the same, milliseconds.
    pub plan_ms_p95: Option<f64>,
}

impl ScoreSummary {
    /// The summary of `outcomes` scored by `task`.
    #[must_use]
    pub fn of(task: &dyn Task, outcomes: &[EpisodeOutcome]) -> Self {
        let n = outcomes.len() as f64;
        let scores: Vec<f64> = outcomes.iter().map(|r| task.normalized_score(r.episode_return)).collect();
        let mean = scores.iter().sum::<f64>() / n;
        let standard_error =
            (scores.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0)).sqrt() / n.sqrt();
        let mut plan_ms: Vec<f64> = outcomes.iter().flat_map(|r| r.plan_ms.iter().copied()).collect();
        plan_ms.sort_by(f64::total_cmp);
        let percentile = |p: f64| plan_ms.get(((plan_ms.len() as f64 - 1.0) * p).round() as usize).copied();
        Self {
            episodes: outcomes.len(),
            score_mean: mean,
            score_standard_error: standard_error,
            reached: outcomes.iter().filter(|r| r.reached).count(),
            mean_return: outcomes.iter().map(|r| r.episode_return).sum::<f64>() / n,
            plan_ms_p50: percentile(0.5),
            plan_ms_p95: percentile(0.95),
        }
    }
}

/// Prints the Markdown score table of `outcomes` for `task`, acted on by `policy` with `sampler`.
pub fn print_scores(task: &dyn Task, policy: &str, sampler: &str, outcomes: &[EpisodeOutcome]) {
    let summary = ScoreSummary::of(task, outcomes);
    let n = outcomes.len() as f64;
    // Model calls of first plans and of replans separately: a warm start only helps the latter.
    // Plans that do not say (0: a ROS 2 trajectory) leave the column empty.
    let average_calls = |calls: Vec<usize>| -> String {
        if calls.is_empty() || calls.contains(&0) {
            "–".into()
        } else {
            format!("{:.1}", calls.iter().sum::<usize>() as f64 / calls.len() as f64)
        }
    };
    let first_calls = average_calls(outcomes.iter().filter_map(|r| r.model_calls.first().copied()).collect());
    let replan_calls = average_calls(outcomes.iter().flat_map(|r| r.model_calls.iter().skip(1).copied()).collect());
    let per_episode = |count: &dyn Fn(&EpisodeOutcome) -> usize| outcomes.iter().map(count).sum::<usize>() as f64 / n;
    let plans = per_episode(&|r| r.model_calls.len());
    let replans = per_episode(&|r| r.model_calls.len().saturating_sub(1));
    // The robot knows why it replanned in lockstep; a real-time robot gets what the service sends.
    let why = if outcomes.iter().any(|r| r.triggers.total() > 0) {
        format!(
            " ({:.1}; {:.1}; {:.1})",
            per_episode(&|r| r.triggers.every),
            per_episode(&|r| r.triggers.deviation),
            per_episode(&|r| r.triggers.expired)
        )
    } else {
        String::new()
    };
    let seconds = task.make_env().max_episode_steps() as f64 * task.dt_secs();
    let replans = format!("{replans:.1}{why}, {:.1} Hz", plans / seconds);
    let mut jumps: Vec<f32> = outcomes.iter().flat_map(|r| r.seam_jumps.iter().copied()).collect();
    jumps.sort_by(f32::total_cmp);
    let seams = match (jumps.get(jumps.len() / 2), jumps.last()) {
        (Some(p50), Some(max)) => format!("{p50:.2} / {max:.2}"),
        _ => "–".into(),
    };
    println!(
        "| task | policy | sampler | episodes | score ×100 (mean ± s.e.) | reached goal | mean return | plan p50 / p95 | model calls / plan (first; replans) | replans / episode (clock; deviation; ran out), plans per second | action jump at seams p50 / max |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {} | {policy} | {sampler} | {} | {:.1} ± {:.1} | {}/{} | {:.1} | {} | {first_calls}; {replan_calls} | {replans} | {seams} |",
        task.label(),
        outcomes.len(),
        summary.score_mean,
        summary.score_standard_error,
        summary.reached,
        outcomes.len(),
        summary.mean_return,
        match (summary.plan_ms_p50, summary.plan_ms_p95) {
            (Some(p50), Some(p95)) => format!("{p50:.0} / {p95:.0} ms"),
            _ => "–".into(),
        },
    );
    print_executed_violations(task, outcomes);
}

/// Prints what the executed motions broke, for environments that check it (the Panda): nothing
/// otherwise.
fn print_executed_violations(task: &dyn Task, outcomes: &[EpisodeOutcome]) {
    let counted: Vec<usize> = outcomes.iter().filter_map(|r| r.violating_steps).collect();
    if counted.is_empty() {
        return;
    }
    println!();
    println!("| task | episodes whose executed motion touched an obstacle or broke a joint limit | steps doing so |");
    println!("|---|---|---|");
    println!(
        "| {} | {}/{} | {} |",
        task.label(),
        counted.iter().filter(|&&n| n > 0).count(),
        counted.len(),
        counted.iter().sum::<usize>()
    );
}

/// Violations at or below this count as satisfied (the planner's own tolerance).
const TOLERANCE: f64 = 1e-6;

/// The task's constraints, prepared for plans of the model's horizon.
pub struct ConstraintCheck<'a> {
    config: ConstraintConfig,
    task: &'a dyn Task,
    plans: Constraints,
}

impl<'a> ConstraintCheck<'a> {
    /// Checks `config` for `task`'s plans of `horizon` rows.
    pub fn new(config: &ConstraintConfig, task: &'a dyn Task, horizon: usize) -> anyhow::Result<Self> {
        let plans = Constraints::new(config, task.trajectory_layout(horizon))?;
        Ok(Self { config: config.clone(), task, plans })
    }

    /// The largest violation of any constraint by `candidate` as handed out.
    #[must_use]
    pub fn plan_violation(&self, candidate: &Candidate) -> f64 {
        self.plans.residuals(&candidate.transitions()).iter().map(|r| r.max_violation).fold(0.0, f64::max)
    }

    /// Per constraint, its largest violation on the executed `path` and, for obstacles, the
    /// smallest barrier value (SafeDiffuser's safe1/safe2).
    pub fn path_residuals(&self, path: &[Vec<f32>]) -> anyhow::Result<Vec<Residual>> {
        let checker = Constraints::new(&self.config, self.task.trajectory_layout(path.len()))?;
        let rows: Vec<f64> = path.iter().flatten().map(|&v| f64::from(v)).collect();
        Ok(checker.residuals(&rows))
    }

    /// Prints the constraint table of `outcomes` under the score table.
    pub fn print(&self, outcomes: &[EpisodeOutcome]) -> anyhow::Result<()> {
        let plans_ok = outcomes
            .iter()
            .filter(|o| o.infeasible_plans == 0 && o.plan_violation.is_some_and(|v| v <= TOLERANCE))
            .count();
        let refused: usize = outcomes.iter().map(|o| o.infeasible_plans).sum();
        let worst_plan = outcomes.iter().filter_map(|o| o.plan_violation).fold(0.0, f64::max);
        let mut header = String::from(
            "| episodes whose plans all satisfy | plans refused as infeasible | worst plan violation | executed paths beyond the plans' constraints |",
        );
        let mut rule = String::from("|---|---|---|---|");
        let mut per_constraint: Vec<(String, f64, Option<f64>)> = Vec::new();
        let mut paths_violating = 0;
        for outcome in outcomes.iter().filter(|o| !o.path.is_empty()) {
            let residuals = self.path_residuals(&outcome.path)?;
            paths_violating += usize::from(residuals.iter().any(|r| r.max_violation > TOLERANCE));
            if per_constraint.is_empty() {
                per_constraint = residuals.iter().map(|r| (r.name.clone(), 0.0, None)).collect();
            }
            for (entry, r) in per_constraint.iter_mut().zip(&residuals) {
                entry.1 = f64::max(entry.1, r.max_violation);
                entry.2 = match (entry.2, r.min_barrier) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
        }
        let mut row = format!(
            "| {plans_ok}/{} | {refused} | {worst_plan:.1e} | {paths_violating}/{} |",
            outcomes.len(),
            outcomes.iter().filter(|o| !o.path.is_empty()).count()
        );
        for (name, worst, min_barrier) in &per_constraint {
            let barrier = if min_barrier.is_some() { " (min b)" } else { "" };
            let _ = write!(header, " {name}: worst on path{barrier} |");
            rule.push_str("---|");
            let _ = match min_barrier {
                Some(b) => write!(row, " {worst:.3} ({b:.3}) |"),
                None => write!(row, " {worst:.3} |"),
            };
        }
        let adjusted: usize = outcomes.iter().map(|o| o.interventions.adjusted).sum();
        let braked: usize = outcomes.iter().map(|o| o.interventions.braked).sum();
        header.push_str(" safety filter: steps adjusted / braked |");
        rule.push_str("---|");
        let _ = write!(row, " {adjusted} / {braked} |");
        println!("\n{header}\n{rule}\n{row}");
        Ok(())
    }
}
