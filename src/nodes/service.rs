//! The planner node: a task's planner behind the plan service. Turns wire requests and robot
//! states into planner requests and planner plans into wire plans ([`super::wire`]), and serves
//! them on Zenoh until told to stop.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use bridge::message::{ErrorReply, Plan, PlanRequest, RobotState};
use bridge::{Namespace, PlanHandler, PlannerService, ServiceReport};

use super::planner::{PlannerNodeConfig, TaskPlanner};
use super::wire;
use crate::episode::plan_seed;
use crate::task::{Task, TaskFile};
use crate::telemetry::DenoiseObserver;

/// Loads the model once and serves on `session` until `stop` is set, recording the denoising of
/// each plan to `recording` if given.
pub fn serve(
    node: &PlannerNodeConfig,
    session: &bridge::zenoh::Session,
    namespace: &Namespace,
    stop: &AtomicBool,
    recording: Option<rerun::RecordingStream>,
) -> anyhow::Result<ServiceReport> {
    let file = TaskFile::read(&node.config)?;
    let mut handler = ServiceHandler::load(&file, &node.id, node.device)?;
    if let Some(stream) = recording {
        handler.record_to(stream, node.rerun_denoise_every);
    }
    let mut service = PlannerService::new(session, namespace.clone(), &node.id)?;
    service.stream = node.stream;
    service.queue = node.queue;
    tracing::info!("planner {} serving {} on namespace {}", node.id, node.config.display(), namespace.root());
    Ok(service.run(&mut handler, stop)?)
}

/// Says on stderr what worker `id` did.
pub fn say_served(id: &str, report: &ServiceReport) {
    eprintln!(
        "planner {id}: served {} plans, sent {} errors, rejected {} payloads",
        report.plans_served, report.errors_sent, report.payloads_rejected
    );
}

/// A task's planner serving one worker id.
pub struct ServiceHandler {
    planner: TaskPlanner,
    /// When streaming: replan every this many steps (0: plan once per episode).
    replan_every: usize,
    /// When streaming: replan when the robot is this far from its plan.
    replan_deviation: Option<f32>,
    /// The plan last streamed to each robot; re-sent while it still holds.
    streamed: BTreeMap<String, Plan>,
    planner_id: String,
    /// The task planned for.
    task: Arc<dyn Task>,
    plans_made: u64,
    /// Where the denoising of plans is recorded, if anywhere, and for every how many plans.
    recording: Option<(rerun::RecordingStream, u64)>,
}

impl ServiceHandler {
    /// Loads the planner of `file` for worker `planner_id`.
    pub fn load(file: &TaskFile, planner_id: &str, device: tch::Device) -> anyhow::Result<Self> {
        Ok(Self {
            planner: TaskPlanner::load(file, device)?,
            replan_every: file.config.planner.replan_every,
            replan_deviation: file.config.planner.replan_deviation,
            streamed: BTreeMap::new(),
            planner_id: planner_id.to_owned(),
            task: Arc::clone(&file.task),
            plans_made: 0,
            recording: None,
        })
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
            .map(|(r, _)| DenoiseObserver::new(r.clone(), self.planner.spec().clone(), Arc::clone(&self.task)));
        let observer: &mut dyn planner::observer::Observer = match &mut denoising {
            Some(observer) => observer,
            None => &mut (),
        };
        let plan =
            self.planner.plan(stream, episode, from_step, request, observer).map_err(|e| wire::error_reply(&e))?;
        self.plans_made += 1;
        if let Some(observer) = denoising
            && let Err(error) = observer.finish(self.plans_made as i64 - 1, from_step as f64 * self.task.dt_secs())
        {
            tracing::warn!("the denoising of a plan was not recorded: {error}");
        }
        // A plan-once task's plan holds until replaced; a replanning task's, for its length.
        let valid_steps = (self.replan_every > 0).then_some(plan.best().states.len() as u64);
        let dt = self.task.dt_secs();
        Ok(wire::plan_message(&plan, &self.planner_id, self.plans_made, (episode, from_step), dt, valid_steps))
    }
}

impl PlanHandler for ServiceHandler {
    fn plan(&mut self, request: &PlanRequest) -> Result<Plan, ErrorReply> {
        let clip_x0 = self.planner.sampler().clip_x0;
        let sampler = request.sampler.as_ref().map(|s| wire::sampler(s, clip_x0)).transpose()?;
        let mut query = self.planner.request(request.observation.clone(), request.goal.clone(), request.seed, sampler);
        query.waypoints = wire::waypoints(request);
        query.batch_size = request.batch_size.unwrap_or(query.batch_size);
        let stream = request.robot_id.clone().unwrap_or_else(|| request.request_id.clone());
        let mut plan = self.make(&stream, request.episode, request.from_step, &query)?;
        plan.robot_id.clone_from(&request.robot_id);
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
        let request = self.planner.request(state.observation.clone(), state.goal.clone(), seed, None);
        let plan = self.make(&state.robot_id, state.episode, state.step, &request)?;
        self.streamed.insert(state.robot_id.clone(), plan.clone());
        Ok(plan)
    }
}
