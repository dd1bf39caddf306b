//! Results a user can script: `eval --json FILE` and `launch --json FILE` write every episode
//! and the summary of the score table as one JSON document, whose schema (generated from these
//! types) ships as `docs/schema/eval-results.schema.json`.

use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::EpisodeOutcome;
use super::report::{ConstraintCheck, ScoreSummary};
use crate::task::Task;

/// Layout version of the results file; bumped when a field changes meaning or goes away.
pub const RESULTS_FORMAT_VERSION: u32 = 1;

/// One run of episodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EvalResults {
    /// Layout version, [`RESULTS_FORMAT_VERSION`].
    pub format_version: u32,
    /// The task's label, e.g. `maze2d-umaze`.
    pub task: String,
    /// Who acted, as the score table's policy column says.
    pub policy: String,
    /// The sampler, as the score table's sampler column says.
    pub sampler: String,
    /// Seed of the first episode; episode `i` of `episodes` played seed `first_seed + i`.
    pub first_seed: u64,
    /// The score table's headline numbers.
    pub summary: ScoreSummary,
    /// Every episode, in seed order.
    pub episodes: Vec<EpisodeRecord>,
}

/// One episode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EpisodeRecord {
    /// The episode's seed (reset, goal, disturbances, plan noise).
    pub seed: u64,
    /// Undiscounted return.
    #[serde(rename = "return")]
    pub episode_return: f64,
    /// D4RL normalized score ×100.
    pub score: f64,
    /// The goal was reached at least once.
    pub reached: bool,
    /// Control steps played.
    pub steps: usize,
    /// Latency of each plan, milliseconds.
    pub plan_ms: Vec<f64>,
    /// Model calls of each plan.
    pub model_calls: Vec<usize>,
    /// How the task's hard constraints held (`None`: the task has none).
    pub constraints: Option<ConstraintRecord>,
    /// Steps whose executed motion touched an obstacle or broke a joint limit, as the
    /// environment counts them (`None`: it does not check; Maze2D's constraints are checked on
    /// the path, under `constraints`).
    pub violating_steps: Option<usize>,
}

/// How an episode's plans and executed path met the task's constraints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConstraintRecord {
    /// Largest violation over the episode's plans, in each constraint's own units.
    pub worst_plan_violation: Option<f64>,
    /// Plans refused as infeasible (the robot held instead).
    pub infeasible_plans: usize,
    /// Per constraint, on the path the robot executed.
    pub path: Vec<PathResidual>,
    /// Actions the safety filter replaced by the nearest safe one.
    pub filter_adjusted: usize,
    /// Actions the safety filter replaced by braking.
    pub filter_braked: usize,
}

/// One constraint on an executed path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PathResidual {
    /// The constraint's name, e.g. `obstacle pillar`.
    pub name: String,
    /// Largest violation along the path, in the constraint's units (0: satisfied).
    pub worst_violation: f64,
    /// Smallest barrier value along the path, for obstacles (SafeDiffuser's safe1/safe2).
    pub min_barrier: Option<f64>,
}

impl EvalResults {
    /// The results of `outcomes`, played from `first_seed` on, for `task`.
    pub fn new(
        task: &dyn Task,
        policy: &str,
        sampler: &str,
        first_seed: u64,
        outcomes: &[EpisodeOutcome],
        check: Option<&ConstraintCheck<'_>>,
    ) -> anyhow::Result<Self> {
        let episodes = outcomes
            .iter()
            .zip(first_seed..)
            .map(|(outcome, seed)| {
                let constraints = check.map(|check| constraint_record(check, outcome)).transpose()?;
                Ok(EpisodeRecord {
                    seed,
                    episode_return: outcome.episode_return,
                    score: task.normalized_score(outcome.episode_return),
                    reached: outcome.reached,
                    steps: outcome.steps,
                    plan_ms: outcome.plan_ms.clone(),
                    model_calls: outcome.model_calls.clone(),
                    constraints,
                    violating_steps: outcome.violating_steps,
                })
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Self {
            format_version: RESULTS_FORMAT_VERSION,
            task: task.label().clone(),
            policy: policy.to_owned(),
            sampler: sampler.to_owned(),
            first_seed,
            summary: ScoreSummary::of(task, outcomes),
            episodes,
        })
    }

    /// Writes the results to `path` as pretty JSON, staged and renamed so that an interrupted
    /// write never leaves half a file in place of a good one.
    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        let staged = path.with_extension("json.partial");
        let text = serde_json::to_string_pretty(self)?;
        std::fs::write(&staged, text + "\n").map_err(|e| anyhow::anyhow!("{}: {e}", staged.display()))?;
        std::fs::rename(&staged, path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        Ok(())
    }
}

fn constraint_record(check: &ConstraintCheck<'_>, outcome: &EpisodeOutcome) -> anyhow::Result<ConstraintRecord> {
    let path = if outcome.path.is_empty() {
        Vec::new()
    } else {
        check
            .path_residuals(&outcome.path)?
            .into_iter()
            .map(|r| PathResidual { name: r.name, worst_violation: r.max_violation, min_barrier: r.min_barrier })
            .collect()
    };
    Ok(ConstraintRecord {
        worst_plan_violation: outcome.plan_violation,
        infeasible_plans: outcome.infeasible_plans,
        path,
        filter_adjusted: outcome.interventions.adjusted,
        filter_braked: outcome.interventions.braked,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The schema shipped in docs/, relative to the crate root.
    const SHIPPED: &str = "docs/schema/eval-results.schema.json";

    #[test]
    fn the_shipped_schema_is_the_one_the_types_generate() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(SHIPPED);
        let generated = serde_json::to_string_pretty(&schemars::schema_for!(EvalResults)).expect("schema") + "\n";
        if std::env::var_os("DIFFPLAN_BLESS").is_some() {
            std::fs::write(&path, &generated).expect("write the schema");
        }
        let shipped = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            shipped == generated,
            "{SHIPPED} is stale; regenerate it: DIFFPLAN_BLESS=1 cargo test --release --locked -p diffplan --bin diffplan shipped_schema"
        );
    }
}
