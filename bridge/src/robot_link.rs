//! A robot's end of the wire: it publishes its state and status, receives streamed plans and
//! commands, and can query its task's plan service. The simulator and a real robot use the same
//! link. Plans for another task, and payloads that do not decode, are refused, counted
//! (`plans_rejected`) and logged within a budget of lines a second.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use zenoh::Wait;
use zenoh::bytes::Encoding;
use zenoh::handlers::{FifoChannelHandler, RingChannel, RingChannelHandler};
use zenoh::pubsub::{Publisher, Subscriber};
use zenoh::qos::{CongestionControl, Priority};
use zenoh::sample::Sample;

use crate::codec::{self, MAX_PAYLOAD_BYTES, Stamped};
use crate::log_budget::{LogBudget, REFUSAL_LINES_PER_SECOND, held_back_note};
use crate::message::{Command, Heartbeat, NodeStatus, Plan, PlanRequest, RobotState, Role};
use crate::{BridgeError, Namespace, PlanClient};

/// One robot's publishers, subscribers and liveliness token.
pub struct RobotLink {
    robot_id: String,
    /// The task it runs.
    task: String,
    state_publisher: Publisher<'static>,
    status_publisher: Publisher<'static>,
    plans: Subscriber<RingChannelHandler<Sample>>,
    commands: Subscriber<FifoChannelHandler<Sample>>,
    client: PlanClient,
    _token: zenoh::liveliness::LivelinessToken,
    counters: BTreeMap<String, u64>,
    /// The budget of its lines about refused payloads.
    log: LogBudget,
}

impl RobotLink {
    /// Declares robot `robot_id`, which runs task `task`, on `session`. With `lossless` (lockstep runs) states are never
    /// dropped under congestion; otherwise the newest state matters more than every state.
    /// Refuses when another robot with this id stays alive on the network for 12 s (a crashed
    /// node's token expires within that).
    pub fn new(
        session: &zenoh::Session,
        namespace: &Namespace,
        robot_id: &str,
        task: &str,
        lossless: bool,
    ) -> Result<Self, BridgeError> {
        crate::keys::check_id(robot_id).map_err(|e| BridgeError::Config(format!("robot id {e}")))?;
        crate::keys::check_id(task).map_err(|e| BridgeError::Config(format!("task {e}")))?;
        let token_key = namespace.robot_token(robot_id);
        crate::unique_id::claim(session, &token_key, &format!("robot {robot_id}"))?;
        let congestion = if lossless { CongestionControl::Block } else { CongestionControl::Drop };
        let state_publisher = session
            .declare_publisher(namespace.robot_state(robot_id))
            .encoding(Encoding::from(codec::encoding_of::<RobotState>()))
            .congestion_control(congestion)
            .priority(Priority::InteractiveHigh)
            .express(true)
            .wait()
            .map_err(BridgeError::zenoh)?;
        let status_publisher = session
            .declare_publisher(namespace.robot_status(robot_id))
            .encoding(Encoding::from(codec::encoding_of::<Heartbeat>()))
            .congestion_control(CongestionControl::Block)
            .wait()
            .map_err(BridgeError::zenoh)?;
        // Only the newest plan matters; older ones are superseded.
        let plans = session
            .declare_subscriber(namespace.plans_for(robot_id))
            .with(RingChannel::new(1))
            .wait()
            .map_err(BridgeError::zenoh)?;
        let commands =
            session.declare_subscriber(namespace.robot_command(robot_id)).wait().map_err(BridgeError::zenoh)?;
        let token = session.liveliness().declare_token(token_key).wait().map_err(BridgeError::zenoh)?;
        Ok(Self {
            robot_id: robot_id.to_owned(),
            task: task.to_owned(),
            state_publisher,
            status_publisher,
            plans,
            commands,
            client: PlanClient::new(session, namespace.clone()).for_task(task),
            _token: token,
            counters: BTreeMap::new(),
            log: LogBudget::new(REFUSAL_LINES_PER_SECOND, Duration::from_secs(1)),
        })
    }

    /// The robot's id.
    #[must_use]
    pub fn robot_id(&self) -> &str {
        &self.robot_id
    }

    /// Publishes the robot's state, stamped with the robot's task.
    pub fn publish_state(&self, state: &RobotState) -> Result<(), BridgeError> {
        let state = RobotState { task: Some(self.task.clone()), ..state.clone() };
        self.state_publisher.put(codec::encode(&state)?).wait().map_err(BridgeError::zenoh)
    }

    /// The robot's task.
    #[must_use]
    pub fn task(&self) -> &str {
        &self.task
    }

    /// The newest streamed plan since the last call, if a valid one for the robot's task
    /// arrived; other payloads are logged, counted (`plans_rejected`) and skipped.
    pub fn latest_plan(&mut self) -> Option<Stamped<Plan>> {
        let sample = self.plans.try_recv().ok().flatten()?;
        let refusal = match codec::decode::<Plan>(&sample.payload().to_bytes(), MAX_PAYLOAD_BYTES) {
            Ok(plan) if plan.body.task == self.task => {
                self.count("plans_received");
                return Some(plan);
            }
            Ok(plan) => format!("a plan for task {}, not {}", plan.body.task, self.task),
            Err(error) => error.to_string(),
        };
        self.count("plans_rejected");
        if let Some(held_back) = self.log.admit(Instant::now()) {
            tracing::warn!(
                "robot {} rejected a plan on {}: {refusal}{}",
                self.robot_id,
                sample.key_expr(),
                held_back_note(held_back)
            );
        }
        None
    }

    /// Commands received since the last call; invalid ones are logged and skipped.
    pub fn commands(&mut self) -> Vec<Command> {
        let mut commands = Vec::new();
        while let Ok(Some(sample)) = self.commands.try_recv() {
            match codec::decode::<Command>(&sample.payload().to_bytes(), MAX_PAYLOAD_BYTES) {
                Ok(command) if command.body.robot_id == self.robot_id => commands.push(command.body),
                Ok(command) => {
                    tracing::warn!("robot {} ignored a command for {}", self.robot_id, command.body.robot_id);
                }
                Err(error) => tracing::warn!("robot {} rejected a command: {error}", self.robot_id),
            }
        }
        commands
    }

    /// Asks the plan service of the robot's task for a plan (lockstep mode).
    pub fn request_plan(&mut self, request: &PlanRequest, timeout: Duration) -> Result<Stamped<Plan>, BridgeError> {
        let plan = self.client.request(request, timeout);
        self.count(if plan.is_ok() { "plans_received" } else { "plan_requests_failed" });
        plan
    }

    /// Waits until a planner of the robot's task is alive (see [`PlanClient::wait_for_task`]).
    pub fn wait_for_planner(&self, timeout: Duration, stop: &AtomicBool) -> Result<Vec<String>, BridgeError> {
        self.client.wait_for_task(&self.task, timeout, stop)
    }

    /// Publishes the robot's status with its counters.
    pub fn publish_status(&self, status: NodeStatus, reason: Option<String>, step: u64) -> Result<(), BridgeError> {
        let heartbeat = Heartbeat {
            node_id: self.robot_id.clone(),
            role: Role::Robot,
            status,
            reason,
            step: Some(step),
            task: Some(self.task.clone()),
            checkpoint_digest: None,
            counters: self.counters.clone(),
        };
        self.status_publisher.put(codec::encode(&heartbeat)?).wait().map_err(BridgeError::zenoh)
    }

    /// The counters reported in the status.
    #[must_use]
    pub fn counters(&self) -> &BTreeMap<String, u64> {
        &self.counters
    }

    /// Adds one to counter `name` (reported in the status).
    pub fn count(&mut self, name: &str) {
        *self.counters.entry(name.to_owned()).or_default() += 1;
    }
}
