//! An episode's plan query as a wire request, and the wire plan as the episode uses it: shared by
//! the lockstep robot and `eval --remote`, so both ask exactly what in-process `eval` plans.

use std::time::Instant;

use bridge::codec::Stamped;
use bridge::message::{Plan, PlanRequest};

use crate::episode::{PlanQuery, PlannedPath};

/// The request for `query` of robot (or client) `robot_id` in the episode reset with
/// `episode_seed`; the service uses its task's sampler.
#[must_use]
pub fn request(robot_id: &str, episode_seed: u64, query: &PlanQuery, deadline_ms: u64) -> PlanRequest {
    PlanRequest {
        request_id: format!("{robot_id}-{episode_seed}-{}", query.step),
        robot_id: Some(robot_id.to_owned()),
        episode: episode_seed,
        from_step: query.step,
        observation: query.observation.clone(),
        goal: Some(query.goal.clone()),
        waypoints: Vec::new(),
        sampler: None,
        seed: query.seed,
        batch_size: None,
        deadline_ms: Some(deadline_ms),
    }
}

/// The plan received for a request sent at `asked`.
#[must_use]
pub fn path(plan: Stamped<Plan>, asked: Instant) -> PlannedPath {
    PlannedPath {
        constraint_violation: worst_after(&plan.body),
        infeasible: false,
        states: plan.body.states,
        latency_ms: asked.elapsed().as_secs_f64() * 1e3,
        model_ms: plan.body.timing.model_ms,
        model_calls: plan.body.model_calls as usize,
    }
}

/// The largest violation a plan reports on its constraints (`None`: it reports none).
#[must_use]
pub fn worst_after(plan: &Plan) -> Option<f64> {
    plan.constraints.iter().map(|c| c.after).reduce(f64::max)
}
