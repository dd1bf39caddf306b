//! The planner behind the plan service: turns wire requests and robot states into planner
//! requests, and planner plans into wire plans.

use std::collections::BTreeMap;
use std::path::Path;

use bridge::PlanHandler;
use bridge::message::{
    ConstraintResidual, ErrorCode, ErrorReply, Plan, PlanRequest, PlanTiming, RobotState, SamplerOptions,
};
use planner::condition::Pin;
use planner::sampler::SamplerConfig;
use tch::Device;

use crate::episode::plan_seed;
use crate::local_planner::LocalPlanner;
use crate::task::TaskConfig;
use crate::telemetry::DenoiseObserver;

/// A task's planner serving one worker id.
pub struct ServiceHandler {
    local: LocalPlanner,
    /// When streaming: replan every this many steps (0: plan once per episode).
    replan_every: usize,
    /// When streaming: replan when the robot is this far from its plan.
    replan_deviation: Option<f32>,
    /// The plan last streamed to each robot; re-sent while it still holds.
    streamed: BTreeMap<String, Plan>,
    planner_id: String,
    /// Seconds between planned states (the environment's dt).
    dt: f64,
    plans_made: u64,
    /// Where the denoising of plans is recorded, if anywhere, and for every how many plans.
    recording: Option<(rerun::RecordingStream, u64)>,
}

impl ServiceHandler {
    /// Loads the planner of `task` (read from `source`) for worker `planner_id`.
    pub fn load(task: &TaskConfig, source: &Path, planner_id: &str, device: Device) -> anyhow::Result<Self> {
        use sim::Env;
        let local = LocalPlanner::load(task, source, device)?;
        let dt = f64::from(task.make_env().dt());
        Ok(Self {
            local,
            replan_every: task.planner.replan_every,
            replan_deviation: task.planner.replan_deviation,
            streamed: BTreeMap::new(),
            planner_id: planner_id.to_owned(),
            dt,
            plans_made: 0,
            recording: None,
        })
    }

    fn sampler(&self, options: &SamplerOptions) -> Result<SamplerConfig, ErrorReply> {
        let value = serde_json::json!({
            "kind": options.kind,
            "steps": options.steps,
            "eta": options.eta.unwrap_or(0.0),
            "clip_x0": self.local.sampler().clip_x0,
        });
        let config: SamplerConfig = serde_json::from_value(value).map_err(|e| {
            bad_request(format!("sampler {:?}: {e}; kinds are ddpm, ddim and dpm_solver_pp", options.kind))
        })?;
        config.validate().map_err(|e| bad_request(e.to_string()))?;
        Ok(config)
    }

    /// Records the denoising of every `every`-th plan made from now on to `stream` (a service
    /// runs indefinitely; decimation bounds its recording).
    pub fn record_to(&mut self, stream: rerun::RecordingStream, every: u64) {
        self.recording = Some((stream, every.max(1)));
    }

    fn make(
        &mut self,
        stream: &str,
        episode: u64,
        from_step: u64,
        request: &planner::PlanRequest,
    ) -> Result<Plan, ErrorReply> {
        let mut denoising = self
            .recording
            .as_ref()
            .filter(|(_, every)| self.plans_made.is_multiple_of(*every))
            .map(|(r, _)| DenoiseObserver::new(r.clone(), self.local.spec().clone()));
        let observer: &mut dyn planner::observer::Observer = match &mut denoising {
            Some(observer) => observer,
            None => &mut (),
        };
        let plan = self.local.plan(stream, episode, from_step, request, observer).map_err(|e| match e {
            planner::Error::Diverged { .. } | planner::Error::Torch(_) => {
                ErrorReply { request_id: None, code: ErrorCode::Internal, message: e.to_string() }
            }
            planner::Error::Infeasible { .. } => {
                ErrorReply { request_id: None, code: ErrorCode::Infeasible, message: e.to_string() }
            }
            _ => bad_request(e.to_string()),
        })?;
        let best = plan.best();
        self.plans_made += 1;
        if let Some(observer) = denoising
            && let Err(error) = observer.finish(self.plans_made as i64 - 1, from_step as f64 * self.dt)
        {
            tracing::warn!("the denoising of a plan was not recorded: {error}");
        }
        Ok(Plan {
            plan_id: format!("{}-{}", self.planner_id, self.plans_made),
            request_id: None,
            planner_id: self.planner_id.clone(),
            robot_id: None,
            episode,
            from_step,
            dt: self.dt,
            states: best.states.clone(),
            actions: best.actions.clone(),
            // A plan-once task's plan holds until replaced; a replanning task's, for its length.
            valid_steps: (self.replan_every > 0).then_some(best.states.len() as u64),
            value: best.value.map(f64::from),
            constraints: constraint_residuals(&plan),
            timing: PlanTiming { queue_ms: 0.0, sample_ms: plan.timings.total_ms, model_ms: plan.timings.model_ms },
            model_calls: plan.stats.model_calls as u64,
            seed: request.seed,
        })
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

fn bad_request(message: String) -> ErrorReply {
    ErrorReply { request_id: None, code: ErrorCode::BadRequest, message }
}

impl PlanHandler for ServiceHandler {
    fn plan(&mut self, wire: &PlanRequest) -> Result<Plan, ErrorReply> {
        let sampler = wire.sampler.as_ref().map(|s| self.sampler(s)).transpose()?;
        let mut request = self.local.request(wire.observation.clone(), wire.goal.clone(), wire.seed, sampler);
        request.waypoints =
            wire.waypoints.iter().map(|w| Pin { index: w.index, observation: w.state.clone() }).collect();
        request.batch_size = wire.batch_size.unwrap_or(request.batch_size);
        let stream = wire.robot_id.clone().unwrap_or_else(|| wire.request_id.clone());
        let mut plan = self.make(&stream, wire.episode, wire.from_step, &request)?;
        plan.robot_id.clone_from(&wire.robot_id);
        Ok(plan)
    }

    /// Re-sends the robot's current plan while it holds (same episode, not due by
    /// `replan_every`, the robot within `replan_deviation` of it); plans anew otherwise. Like
    /// `eval`, a plan-once task never replans on its own: past the plan's end the robot holds its
    /// last state, the goal (replanning from near the goal with the goal pinned H − 1 steps
    /// ahead makes the plan wander: measured in docs/MAZE2D.md).
    fn plan_for_state(&mut self, state: &RobotState) -> Result<Plan, ErrorReply> {
        if let Some(current) = self.streamed.get(&state.robot_id)
            && current.episode == state.episode
            && state.step >= current.from_step
        {
            let index = (state.step - current.from_step) as usize;
            let due = self.replan_every > 0 && index >= self.replan_every;
            let deviated = self.replan_deviation.is_some_and(|limit| {
                let planned = &current.states[index.min(current.states.len() - 1)];
                let distance = planned.iter().zip(&state.observation).map(|(p, o)| (p - o).powi(2)).sum::<f32>().sqrt();
                distance > limit
            });
            if !(due || deviated) {
                return Ok(current.clone());
            }
        }
        let seed = plan_seed(state.episode, state.step);
        let request = self.local.request(state.observation.clone(), state.goal.clone(), seed, None);
        let plan = self.make(&state.robot_id, state.episode, state.step, &request)?;
        self.streamed.insert(state.robot_id.clone(), plan.clone());
        Ok(plan)
    }
}
