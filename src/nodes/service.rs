//! The planner node: a task's planner behind the plan service. Turns wire requests and robot
//! states into planner requests and planner plans into wire plans ([`super::wire`]), and serves
//! them on Zenoh until told to stop.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bridge::message::{ErrorReply, ModelCard, Plan, PlanRequest, RobotState, ToolPointGoal};
use bridge::{Namespace, PlanHandler, PlannerService, ServiceReport};
use planner::condition::Pin;
use planner::workspace::WorkspaceObstacle;

use super::model_card::model_card;
use super::planner::{PlannerNodeConfig, TaskPlanner};
use super::ros2::gateway::Gateway;
use super::wire;
use crate::episode::plan_seed;
use crate::episode::replan::{Executing, Replanning, Trigger};
use crate::task::{RobotLimits, SolvedToolGoal, Task, TaskFile};
use crate::telemetry::DenoiseObserver;

/// How long the ROS 2 gateway waits for its own planner to serve.
const GATEWAY_WAIT: Duration = Duration::from_mins(1);

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
    let mut handler = ServiceHandler::load(&file, node)?;
    if let Some(stream) = recording {
        handler.record_to(stream, node.rerun_denoise_every);
    }
    let mut service = PlannerService::new(session, namespace.clone(), handler.card.clone())?;
    service.stream = node.stream || node.ros2.enabled;
    service.queue = node.queue;
    tracing::info!(
        "planner {} serving task {} ({}, checkpoint {}) on namespace {}",
        node.id,
        handler.card.task,
        node.config.display(),
        handler.card.checkpoint_digest,
        namespace.root()
    );
    if !node.ros2.enabled {
        return Ok(service.run(&mut handler, stop)?);
    }
    // The ROS 2 side's settings are checked before serving; the gateway joins once the
    // service answers, and a gateway that fails stops the service with its error.
    let robot = node.ros2.robot(file.task.as_ref())?;
    std::thread::scope(|scope| {
        let gateway = scope.spawn(|| {
            let relayed = Gateway::new(&node.ros2, robot, &file, session, namespace, GATEWAY_WAIT, stop)
                .and_then(|gateway| gateway.run(stop));
            if relayed.is_err() {
                stop.store(true, Ordering::Relaxed);
            }
            relayed
        });
        let report = service.run(&mut handler, stop);
        let relayed = gateway.join().map_err(|_| anyhow::anyhow!("the ROS 2 gateway panicked"))??;
        tracing::info!(
            "ROS 2 gateway: {} joint states relayed, {} refused, {} malformed samples rejected, {} trajectories sent",
            relayed.states,
            relayed.states_refused,
            relayed.samples_rejected,
            relayed.trajectories
        );
        Ok(report?)
    })
}

/// Says on stderr what worker `id` did.
pub fn say_served(id: &str, report: &ServiceReport) {
    eprintln!(
        "planner {id}: served {} plans, sent {} errors, rejected {} payloads",
        report.plans_served, report.errors_sent, report.payloads_rejected
    );
}

/// Plan latencies a streaming planner remembers to size its frozen prefix.
const LATENCIES_KEPT: usize = 8;

/// A task's planner serving one worker id.
pub struct ServiceHandler {
    planner: TaskPlanner,
    /// When streaming: when to replan and where replans arrive.
    replanning: Replanning,
    /// When streaming: pin each replan's prefix to the plan being executed.
    freeze_prefix: bool,
    /// How long the last few plans took, milliseconds, newest last: the robot moves on by about
    /// that much while the next one is made.
    recent_plan_ms: VecDeque<f64>,
    /// The plan last streamed to each robot, and what it was asked to do; re-sent while it
    /// still holds.
    streamed: BTreeMap<String, (Plan, Executing)>,
    /// The newest episode and step each streaming robot reported: a step that goes back within
    /// an episode means the robot restarted.
    newest_step: BTreeMap<String, (u64, u64)>,
    /// The tool-point goal each robot last gave, solved (requests without a robot id: "").
    solved_goals: BTreeMap<String, SolvedToolGoal>,
    /// What this worker serves, as its `describe` key answers.
    card: ModelCard,
    /// The most candidates one request may ask for.
    max_batch: usize,
    /// The task planned for.
    task: Arc<dyn Task>,
    /// Its limits: starts and goals far outside them are refused up front.
    limits: RobotLimits,
    plans_made: u64,
    /// Where the denoising of plans is recorded, if anywhere, and for every how many plans.
    recording: Option<(rerun::RecordingStream, u64)>,
}

impl ServiceHandler {
    /// Loads the planner of `file` for the worker `node` describes.
    pub fn load(file: &TaskFile, node: &PlannerNodeConfig) -> anyhow::Result<Self> {
        let planner = TaskPlanner::load(file, node.device)?;
        Ok(Self {
            card: model_card(file, &planner, node)?,
            planner,
            replanning: Replanning::of(&file.config.planner),
            freeze_prefix: file.config.planner.freeze_prefix,
            recent_plan_ms: VecDeque::new(),
            streamed: BTreeMap::new(),
            newest_step: BTreeMap::new(),
            solved_goals: BTreeMap::new(),
            max_batch: node.max_batch,
            task: Arc::clone(&file.task),
            limits: file.task.limits(),
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
        let valid_steps = self.replanning.closes_the_loop().then_some(plan.best().states.len() as u64);
        Ok(wire::plan_message(&plan, &self.card, self.plans_made, (episode, from_step), valid_steps))
    }

    /// Refuses, before any work, a start or goal of `message` far outside the task's limits
    /// (a robot never gets near them; sampling from there ends in NaN).
    fn plausible(&self, message: &str, observation: &[f32], goal: Option<&[f32]>) -> Result<(), ErrorReply> {
        let limits = &self.limits;
        limits.check_plausible(&format!("{message}.observation"), observation).map_err(wire::bad_request)?;
        goal.map_or(Ok(()), |goal| limits.check_plausible(&format!("{message}.goal"), goal)).map_err(wire::bad_request)
    }

    /// The goal state of a `message` from `stream` that gives its goal as where the arm's tool
    /// point must go (the task's inverse kinematics, clear of `obstacles`), for a robot at
    /// `observation`; solved again only when the stream's goal or obstacles change.
    fn tool_point_goal(
        &mut self,
        (message, stream): (&str, &str),
        observation: &[f32],
        goal: &ToolPointGoal,
        obstacles: &[WorkspaceObstacle],
    ) -> Result<Vec<f32>, ErrorReply> {
        self.solved_goals
            .entry(stream.to_owned())
            .or_default()
            .solve(self.task.as_ref(), observation, goal, obstacles)
            .map_err(|why| wire::bad_request(format!("{message}.goal_tool_point: {why:#}")))
    }

    /// The rows 1..=d of a replan made at `step`, pinned to what `executing` plans for the same
    /// steps, stopping short of the goal's `arrival` row. d covers the longest of the last
    /// [`LATENCIES_KEPT`] plans (rounded up to steps) and one step more for the way to the
    /// robot: a plan that lands after its frozen rows makes the robot jump to rows it did not
    /// freeze. Row 0 stays the robot's observed state. A jumpy model's are the rows among them.
    fn frozen_prefix(&self, executing: &Executing, step: u64, arrival: Option<usize>) -> Vec<Pin> {
        let longest_ms = self.recent_plan_ms.iter().copied().fold(0.0, f64::max);
        let steps = (longest_ms / (1e3 * self.task.dt_secs())).ceil() as usize + 1;
        let spec = self.planner.spec();
        let before_arrival = arrival.unwrap_or(spec.span_steps()).saturating_sub(1);
        (1..=steps.min(before_arrival))
            .filter(|k| k.is_multiple_of(spec.stride))
            .map(|k| Pin { index: k, observation: executing.states[executing.index(step + k as u64)].clone() })
            .collect()
    }

    /// Drops what this worker keeps for a robot whose step went back within its episode: the
    /// robot restarted (a real robot's one long episode keeps its id), so the plan it was
    /// executing and the warm start made from it no longer apply; it is planned for afresh.
    fn start_over_if_restarted(&mut self, state: &RobotState) {
        let newest = self.newest_step.insert(state.robot_id.clone(), (state.episode, state.step));
        if let Some((episode, step)) = newest
            && episode == state.episode
            && state.step < step
        {
            tracing::info!(
                "robot {}: step {} after step {step} of episode {episode}: it restarted; its plan and warm start are dropped",
                state.robot_id,
                state.step
            );
            self.streamed.remove(&state.robot_id);
            self.planner.forget(&state.robot_id);
        }
    }
}

impl PlanHandler for ServiceHandler {
    fn plan(&mut self, request: &PlanRequest) -> Result<Plan, ErrorReply> {
        if let Some(batch) = request.batch_size.filter(|&b| b > self.max_batch) {
            return Err(wire::bad_request(format!(
                "plan_request.batch_size {batch} is over this planner's limit of {}: ask for fewer \
                 candidates, or start the planner with a larger --max-batch",
                self.max_batch
            )));
        }
        let obstacles = wire::obstacles(&request.obstacles);
        let goal = match &request.goal_tool_point {
            Some(tool_point) => {
                // Requests without a robot share one slot: the goal and obstacles are the key.
                let stream = request.robot_id.clone().unwrap_or_default();
                Some(self.tool_point_goal(("plan_request", &stream), &request.observation, tool_point, &obstacles)?)
            }
            None => request.goal.clone(),
        };
        self.plausible("plan_request", &request.observation, goal.as_deref())?;
        let clip_x0 = self.planner.sampler().clip_x0;
        let sampler = request.sampler.as_ref().map(|s| wire::sampler(s, clip_x0)).transpose()?;
        let mut query = self.planner.request(request.observation.clone(), goal, request.seed, sampler);
        query.arrival = request.arrival;
        query.waypoints = wire::waypoints(request);
        query.obstacles = obstacles;
        query.batch_size = request.batch_size.unwrap_or(query.batch_size);
        let stream = request.robot_id.clone().unwrap_or_else(|| request.request_id.clone());
        let mut plan = self.make(&stream, request.episode, request.from_step, &query)?;
        plan.robot_id.clone_from(&request.robot_id);
        Ok(plan)
    }

    /// Re-sends the robot's current plan while the task's [`Replanning`] keeps it (same
    /// episode and goal; a plan-once task keeps it to the end: past the plan's end the robot
    /// holds its last state, the goal); plans anew, keeping the arrival, otherwise.
    fn plan_for_state(&mut self, state: &RobotState) -> Result<Plan, ErrorReply> {
        self.start_over_if_restarted(state);
        let width = self.planner.spec().observation_dim;
        let obstacles = wire::obstacles(&state.obstacles);
        let full_goal = match &state.goal_tool_point {
            Some(tool_point) => {
                let stream = state.robot_id.clone();
                Some(self.tool_point_goal(("robot_state", &stream), &state.observation, tool_point, &obstacles)?)
            }
            None => state
                .goal
                .as_deref()
                .map(|g| wire::completed_goal(g, width))
                .transpose()
                .map_err(|why| wire::bad_request(format!("robot_state.goal: {why}")))?,
        };
        self.plausible("robot_state", &state.observation, full_goal.as_deref())?;
        let goal = full_goal.clone().unwrap_or_default();
        let current = self
            .streamed
            .get(&state.robot_id)
            .filter(|(plan, _)| plan.episode == state.episode && state.step >= plan.from_step);
        let executing = current.map(|(_, executing)| executing);
        let trigger = self.replanning.trigger(self.task.as_ref(), executing, state.step, &state.observation, &goal);
        let trigger = match (trigger, current) {
            (None, Some((plan, _))) => return Ok(plan.clone()),
            (trigger, _) => trigger.unwrap_or(Trigger::Start),
        };
        let arrival = self.replanning.arrival(trigger, executing, state.step).filter(|_| full_goal.is_some());
        let seed = plan_seed(state.episode, state.step);
        let mut request = self.planner.request(state.observation.clone(), full_goal, seed, None);
        request.arrival = arrival;
        request.obstacles = obstacles;
        if let (true, Some(executing), Trigger::Every | Trigger::Deviation | Trigger::Expired) =
            (self.freeze_prefix, executing, trigger)
        {
            request.waypoints = self.frozen_prefix(executing, state.step, arrival);
        }
        let plan = self.make(&state.robot_id, state.episode, state.step, &request)?;
        self.recent_plan_ms.push_back(plan.timing.sample_ms);
        if self.recent_plan_ms.len() > LATENCIES_KEPT {
            self.recent_plan_ms.pop_front();
        }
        let executing = Executing::planned(plan.states.clone(), state.step, arrival, goal);
        self.streamed.insert(state.robot_id.clone(), (plan.clone(), executing));
        Ok(plan)
    }
}
