//! Where a lockstep episode's plans come from: the planner in this process ([`LocalSource`]), a
//! chosen worker of the plan service ([`RemoteSource`], `eval --remote`), or the service behind
//! a robot's link ([`LinkSource`], `diffplan robot`). All three plan the same query the same way,
//! so their scores agree.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use bridge::message::{ErrorCode, NodeStatus};
use bridge::{BridgeError, PlanClient, RobotLink};

use super::planner::TaskPlanner;
use super::wire;
use crate::episode::report::ConstraintCheck;
use crate::episode::{PlanQuery, PlanSource, PlannedPath};
use crate::task::{RobotLimits, Task};
use crate::telemetry::DenoiseObserver;

/// The task's planner in this process, recording each plan's denoising when asked.
pub struct LocalSource<'a> {
    /// The planner.
    pub planner: &'a mut TaskPlanner,
    /// Measures each plan against the task's constraints (also when the planner ignores them).
    pub check: Option<&'a ConstraintCheck<'a>>,
    /// Where the denoising goes (`None`: nothing is copied off the device).
    pub recording: Option<rerun::RecordingStream>,
    /// The task planned for: its clock and where its states are, for the recording.
    pub task: Arc<dyn Task>,
    /// Plans made so far (the recording's `plan` timeline).
    pub plans: i64,
}

impl PlanSource for LocalSource<'_> {
    fn plan(&mut self, query: &PlanQuery) -> anyhow::Result<PlannedPath> {
        let mut request = self.planner.request(query.observation.clone(), Some(query.goal.clone()), query.seed, None);
        request.arrival = query.arrival;
        if self.planner.planner().keeps_clearance() {
            // A planner without constraints (`eval --unconstrained`) plans as if there were none.
            request.obstacles.clone_from(&query.obstacles);
        }
        let spec = self.planner.spec();
        let mut denoising =
            self.recording.clone().map(|s| DenoiseObserver::new(s, spec.clone(), Arc::clone(&self.task)));
        let observer: &mut dyn planner::observer::Observer = match &mut denoising {
            Some(observer) => observer,
            None => &mut (),
        };
        let plan = match self.planner.plan("eval", query.episode, query.step, &request, observer) {
            Err(error @ planner::Error::Infeasible { .. }) => {
                tracing::warn!("episode {}, step {}: {error}; the robot holds", query.episode, query.step);
                return Ok(PlannedPath::hold(&query.observation));
            }
            plan => plan?,
        };
        if let Some(denoising) = denoising {
            denoising.finish(self.plans, query.step as f64 * self.task.dt_secs())?;
        }
        self.plans += 1;
        Ok(PlannedPath {
            states: plan.best().states.clone(),
            latency_ms: plan.timings.total_ms,
            model_ms: plan.timings.model_ms,
            model_calls: plan.stats.model_calls,
            constraint_violation: self.check.map(|c| c.plan_violation(plan.best())),
            infeasible: false,
        })
    }
}

/// One worker of the plan service, asked directly.
pub struct RemoteSource<'a> {
    /// The client.
    pub client: &'a PlanClient,
    /// The worker's id.
    pub worker: &'a str,
    /// The task asked for.
    pub task: &'a str,
    /// How long to wait for a plan.
    pub timeout: Duration,
}

impl PlanSource for RemoteSource<'_> {
    fn plan(&mut self, query: &PlanQuery) -> anyhow::Result<PlannedPath> {
        let request = wire::request("eval", self.task, query, self.timeout.as_millis() as u64);
        let sent = Instant::now();
        match self.client.request_from(self.worker, &request, self.timeout) {
            Ok(plan) => Ok(wire::path(plan, sent)),
            Err(error) => hold_if_infeasible(error, query)
                .with_context(|| format!("episode {} on worker {}", query.episode, self.worker)),
        }
    }
}

/// A remote planner's refusal as infeasible leaves the robot holding, as the planner in this
/// process does (the episode asks again, see `Replanning::trigger`); any other error ends the
/// episode.
fn hold_if_infeasible(error: BridgeError, query: &PlanQuery) -> anyhow::Result<PlannedPath> {
    match error {
        BridgeError::Remote { code, message } if code == ErrorCode::Infeasible.name() => {
            tracing::warn!("episode {}, step {}: infeasible: {message}; the robot holds", query.episode, query.step);
            Ok(PlannedPath::hold(&query.observation))
        }
        error => Err(error.into()),
    }
}

/// The plan service behind a lockstep robot's link: asks, and while no planner answers, holds
/// and says so, then resumes.
pub struct LinkSource<'a> {
    /// The robot's link.
    pub link: &'a mut RobotLink,
    /// Give up a query after this long and ask again.
    pub timeout: Duration,
    /// Stops the waiting.
    pub stop: &'a AtomicBool,
    /// What every plan is checked against before the episode tracks it.
    pub limits: RobotLimits,
}

/// `Ok` when `plan` answers `query` (its episode and step) and keeps within the robot's
/// `limits`; a lockstep robot tracks nothing else.
fn executable(limits: &RobotLimits, plan: &bridge::message::Plan, query: &PlanQuery) -> Result<(), String> {
    if (plan.episode, plan.from_step) != (query.episode, query.step) {
        return Err(format!(
            "it is for step {} of episode {}, not step {} of episode {}",
            plan.from_step, plan.episode, query.step, query.episode
        ));
    }
    limits.check(&plan.states, &plan.actions, plan.dt)
}

impl PlanSource for LinkSource<'_> {
    fn plan(&mut self, query: &PlanQuery) -> anyhow::Result<PlannedPath> {
        let robot = self.link.robot_id().to_owned();
        let request = wire::request(&robot, self.link.task(), query, self.timeout.as_millis() as u64);
        let asked = Instant::now();
        let mut waiting = false;
        loop {
            match self.link.request_plan(&request, self.timeout) {
                Ok(plan) => {
                    if let Err(why) = executable(&self.limits, &plan.body, query) {
                        let (id, planner) = (&plan.body.plan_id, &plan.body.planner_id);
                        let reason = format!("refused plan {id} of planner {planner}: {why}");
                        self.link.count("plans_refused");
                        self.link.publish_status(NodeStatus::Holding, Some(reason.clone()), query.step)?;
                        anyhow::bail!(
                            "robot {robot} holds at step {} of episode {}: {reason}",
                            query.step,
                            query.episode
                        );
                    }
                    if waiting {
                        tracing::info!("robot {robot}: a planner answered; resuming at step {}", query.step);
                        self.link.publish_status(NodeStatus::Ok, None, query.step)?;
                    }
                    return Ok(wire::path(plan, asked));
                }
                Err(error @ BridgeError::NoReply { .. }) if !self.stop.load(Ordering::Relaxed) => {
                    if !waiting {
                        tracing::warn!(
                            "robot {robot}: holding at step {} until a planner answers: {error}",
                            query.step
                        );
                        let reason = Some("waiting for a planner".into());
                        self.link.publish_status(NodeStatus::Holding, reason, query.step)?;
                        waiting = true;
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(error) => return hold_if_infeasible(error, query),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use bridge::message::Plan;

    use super::*;
    use crate::task::TaskFile;

    /// A U-maze plan of 3 rows at (x, 1, 0, 0) for step 4 of episode 7.
    fn plan(x: f32) -> Plan {
        let ids = ("p-1".into(), "planner-0".into(), "maze2d-umaze".into());
        Plan::bare(ids, (7, 4), 0.01, vec![vec![x, 1.0, 0.0, 0.0]; 3], vec![vec![0.0, 0.0]; 3])
    }

    /// Reference: the U-maze's walls (open cells 1..=3, boxes of side 1 offset by −0.2: the
    /// inside spans 0.3..3.3 m) and the query's own episode and step.
    #[test]
    fn a_lockstep_robot_tracks_only_a_plan_for_its_query_inside_its_limits() {
        let file =
            TaskFile::read(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/tasks/maze2d-umaze.toml"))
                .expect("the U-maze task");
        let limits = file.task.limits();
        let query = PlanQuery {
            episode: 7,
            observation: vec![3.0, 1.0, 0.0, 0.0],
            goal: vec![1.0, 1.0, 0.0, 0.0],
            goal_tool_point: None,
            arrival: None,
            seed: 0,
            step: 4,
            obstacles: Vec::new(),
        };
        assert_eq!(executable(&limits, &plan(3.0), &query), Ok(()));
        let outside = executable(&limits, &plan(3.4), &query).expect_err("outside the maze");
        assert!(outside.contains("states[0].x = 3.4 m is outside this robot's workspace [0.3, 3.3] m"), "{outside}");
        let later = PlanQuery { step: 5, ..query };
        let stale = executable(&limits, &plan(3.0), &later).expect_err("for another step");
        assert!(stale.contains("for step 4 of episode 7, not step 5 of episode 7"), "{stale}");
    }
}
