//! Every conversion between the wire (`bridge::message`) and the application: an episode's plan
//! query as a plan request, a wire plan as the path an episode tracks, a planner request from a
//! wire request, a planner plan as a wire plan, and a robot's state message. The lockstep
//! robot, `eval --remote`, the real-time robot and the plan service all go through here, so
//! each asks and answers exactly what in-process `eval` plans.

use std::time::Instant;

use bridge::codec::Stamped;
use bridge::message::{
    ConstraintResidual, ErrorCode, ErrorReply, ModelCard, Obstacle, Plan, PlanRequest, PlanTiming, RobotMode,
    RobotState, SamplerOptions,
};
use planner::condition::Pin;
use planner::sampler::{SamplerConfig, SamplerKind};
use planner::workspace::WorkspaceObstacle;

use crate::episode::{PlanQuery, PlannedPath};

/// The request for `query` of robot (or client) `robot_id` running `task`; the service uses its
/// task's sampler.
#[must_use]
pub fn request(robot_id: &str, task: &str, query: &PlanQuery, deadline_ms: u64) -> PlanRequest {
    PlanRequest {
        request_id: format!("{robot_id}-{}-{}", query.episode, query.step),
        robot_id: Some(robot_id.to_owned()),
        task: Some(task.to_owned()),
        episode: query.episode,
        from_step: query.step,
        observation: query.observation.clone(),
        goal: query.goal_tool_point.is_none().then(|| query.goal.clone()),
        goal_tool_point: query.goal_tool_point,
        arrival: query.arrival,
        waypoints: Vec::new(),
        obstacles: wire_obstacles(&query.obstacles),
        sampler: None,
        seed: query.seed,
        batch_size: None,
        deadline_ms: Some(deadline_ms),
    }
}

/// The plan received for a request sent at `asked`.
#[must_use]
pub fn path(plan: Stamped<Plan>, asked: Instant) -> PlannedPath {
    received_path(plan.body, asked.elapsed().as_secs_f64() * 1e3)
}

/// A wire plan as the episode uses it, `latency_ms` after its state was sent.
#[must_use]
pub fn received_path(plan: Plan, latency_ms: f64) -> PlannedPath {
    PlannedPath {
        constraint_violation: worst_after(&plan),
        infeasible: false,
        latency_ms,
        model_ms: plan.timing.model_ms,
        model_calls: plan.model_calls as usize,
        states: plan.states,
    }
}

/// The largest violation a plan reports on its constraints (`None`: it reports none).
#[must_use]
pub fn worst_after(plan: &Plan) -> Option<f64> {
    plan.constraints.iter().map(|c| c.after).reduce(f64::max)
}

/// `config` as a wire request would ask for it (a model card's sampler defaults).
#[must_use]
pub fn sampler_options(config: &SamplerConfig) -> SamplerOptions {
    SamplerOptions { kind: config.kind.name().to_owned(), steps: config.steps, eta: Some(config.eta) }
}

/// The sampler a wire request asks for, with the task's clipping.
pub fn sampler(options: &SamplerOptions, clip_x0: bool) -> Result<SamplerConfig, ErrorReply> {
    let kind = match options.kind.as_str() {
        "ddpm" => SamplerKind::Ddpm,
        "ddim" => SamplerKind::Ddim,
        "dpm_solver_pp" => SamplerKind::DpmSolverPp,
        other => {
            return Err(bad_request(format!("sampler {other:?}: kinds are ddpm, ddim and dpm_solver_pp")));
        }
    };
    let config = SamplerConfig { kind, steps: options.steps, eta: options.eta.unwrap_or(0.0), clip_x0 };
    config.validate().map_err(|e| bad_request(e.to_string()))?;
    Ok(config)
}

/// The planner's obstacles on the wire.
#[must_use]
pub fn wire_obstacles(obstacles: &[WorkspaceObstacle]) -> Vec<Obstacle> {
    (obstacles.iter())
        .map(|o| match *o {
            WorkspaceObstacle::Sphere { center, radius } => Obstacle::Sphere { center, radius },
            WorkspaceObstacle::Box { center, half_extents } => Obstacle::Box { center, half_extents },
        })
        .collect()
}

/// A message's obstacles as the planner's.
#[must_use]
pub fn obstacles(obstacles: &[Obstacle]) -> Vec<WorkspaceObstacle> {
    (obstacles.iter())
        .map(|o| match *o {
            Obstacle::Sphere { center, radius } => WorkspaceObstacle::Sphere { center, radius },
            Obstacle::Box { center, half_extents } => WorkspaceObstacle::Box { center, half_extents },
        })
        .collect()
}

/// The waypoints of a wire request as the planner's pins.
#[must_use]
pub fn waypoints(request: &PlanRequest) -> Vec<Pin> {
    request.waypoints.iter().map(|w| Pin { index: w.index, observation: w.state.clone() }).collect()
}

/// The wire plan of the best candidate of `plan`, made by the planner `card` describes as its
/// plan number `number`, for `episode` from `from_step`; `valid_steps` as the task says.
#[must_use]
pub fn plan_message(
    plan: &planner::Plan,
    card: &ModelCard,
    number: u64,
    (episode, from_step): (u64, u64),
    valid_steps: Option<u64>,
) -> Plan {
    let best = plan.best();
    Plan {
        plan_id: format!("{}-{number}", card.planner_id),
        request_id: None,
        planner_id: card.planner_id.clone(),
        task: card.task.clone(),
        checkpoint_digest: card.checkpoint_digest.clone(),
        robot_id: None,
        episode,
        from_step,
        dt: card.dt,
        states: best.states.clone(),
        actions: best.actions.clone(),
        valid_steps,
        value: best.value.map(f64::from),
        constraints: constraint_residuals(plan),
        timing: PlanTiming { queue_ms: 0.0, sample_ms: plan.timings.total_ms, model_ms: plan.timings.model_ms },
        model_calls: plan.stats.model_calls as u64,
        seed: plan.stats.seed,
    }
}

/// The best candidate's constraint report for the wire: each constraint's largest violation
/// before the final projection and on the plan sent.
fn constraint_residuals(plan: &planner::Plan) -> Vec<ConstraintResidual> {
    let best = plan.best();
    let Some(report) = plan.projection.as_ref().and_then(|p| p.reports.get(best.batch_index)) else {
        return Vec::new();
    };
    report
        .before
        .iter()
        .zip(&best.constraints)
        .map(|(before, after)| ConstraintResidual {
            name: after.name.clone(),
            before: before.max_violation,
            after: after.max_violation,
        })
        .collect()
}

/// A planner error as the wire reply: the caller's fault (`bad_request`), an infeasible task
/// (`infeasible`), or the planner's own (`internal`, never blamed on the client).
#[must_use]
pub fn error_reply(error: &planner::Error) -> ErrorReply {
    let code = match error {
        planner::Error::Request { .. } => ErrorCode::BadRequest,
        planner::Error::Infeasible { .. } => ErrorCode::Infeasible,
        _ => ErrorCode::Internal,
    };
    ErrorReply { request_id: None, code, message: error.to_string() }
}

/// A refusal of the caller's request.
#[must_use]
pub fn bad_request(message: String) -> ErrorReply {
    ErrorReply { request_id: None, code: ErrorCode::BadRequest, message }
}

/// A goal given by its leading components as a full observation of `width` values, the rest 0
/// (a robot state's goal may be its position alone: reached at rest, docs/PROTOCOL.md); refuses
/// one wider than the observation.
pub fn completed_goal(goal: &[f32], width: usize) -> Result<Vec<f32>, String> {
    if goal.len() > width {
        return Err(format!("the goal has {} values, an observation {width}", goal.len()));
    }
    Ok(goal.iter().copied().chain(std::iter::repeat_n(0.0, width - goal.len())).collect())
}

/// The state message of robot `robot_id` at `step` of `episode`, `dt` seconds per step (its
/// link stamps its task on it).
#[must_use]
pub fn robot_state(
    robot_id: &str,
    (episode, step): (u64, u64),
    dt: f64,
    observation: &[f32],
    goal: Option<&[f32]>,
    mode: RobotMode,
) -> RobotState {
    RobotState {
        robot_id: robot_id.to_owned(),
        task: None,
        episode,
        step,
        time_s: step as f64 * dt,
        observation: observation.to_vec(),
        goal: goal.map(<[f32]>::to_vec),
        goal_tool_point: None,
        joint_names: None,
        obstacles: Vec::new(),
        mode,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_goal_of_leading_components_is_completed_at_rest() {
        assert_eq!(completed_goal(&[1.0, 2.0], 4), Ok(vec![1.0, 2.0, 0.0, 0.0]));
        assert_eq!(completed_goal(&[1.0, 2.0, 3.0, 4.0], 4), Ok(vec![1.0, 2.0, 3.0, 4.0]));
        assert!(completed_goal(&[0.0; 5], 4).unwrap_err().contains("5 values, an observation 4"));
    }
}
