//! The simulator as a ROS 2 robot: it publishes a `JointState` every step and executes the
//! newest `JointTrajectory`, as a joint_state_broadcaster and a joint_trajectory_controller
//! would, and speaks nothing else (no heartbeats, no commands). The real-time loop
//! ([`crate::nodes::realtime`]) drives it through [`RobotPort`], so it scores as the native robot
//! does.
//!
//! Its clock is the simulation's: step t of an episode is stamped at the episode's start plus
//! t·dt, and each episode starts 1000 s after the one before (the gateway sees the jump and
//! starts a new episode). A trajectory is resampled at the steps it spans ([`states_of`]) and
//! executed as a plan made at its header's stamp (the stamp of the state the planner started
//! from); a zero stamp starts it at the current step.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use bridge::message::{Command, NodeStatus, Plan, RobotMode, RobotState};
use bridge::ros2::{Header, JointState, JointTrajectory, NodeName, Ros2Node, Ros2Publisher, Ros2Subscription, Stamp};
use bridge::{BridgeError, zenoh};

use super::settings::Ros2Settings;
use super::trajectory::states_of;
use crate::nodes::robot_port::RobotPort;
use crate::task::Task;

/// The simulated robot's ROS 2 node name.
pub const ROBOT_NODE: &str = "diffplan_sim_robot";
/// Seconds between the starts of two episodes on the robot's clock.
const EPISODE_SPACING_NS: i64 = 1_000 * 1_000_000_000;
/// How often the robot looks for its controller's partner while it waits.
const DISCOVERY_POLL: Duration = Duration::from_millis(100);

/// The simulator's ROS 2 topics.
pub struct Ros2RobotPort {
    robot_id: String,
    joints: Vec<String>,
    /// The task's action width.
    action_width: usize,
    step_ns: i64,
    node: Ros2Node,
    /// The topic of its joint states, as configured.
    states_topic: String,
    states: Ros2Publisher<JointState>,
    trajectories: Ros2Subscription<JointTrajectory>,
    /// The current episode (its seed) and its first stamp, nanoseconds.
    episode: Option<(u64, i64)>,
    /// The step last published.
    step: u64,
    counters: BTreeMap<String, u64>,
}

impl Ros2RobotPort {
    /// Declares the robot's node and topics for `task`.
    pub fn new(
        session: &zenoh::Session,
        settings: &Ros2Settings,
        robot_id: &str,
        task: &dyn Task,
    ) -> anyhow::Result<Self> {
        let joints = settings.joints(task)?;
        let node = Ros2Node::new(session, NodeName::new(settings.domain, &settings.namespace, ROBOT_NODE)?)?;
        let states = node.publisher::<JointState>(&settings.joint_states)?;
        let trajectories = node.subscription::<JointTrajectory>(&settings.trajectory, 1)?;
        Ok(Self {
            robot_id: robot_id.to_owned(),
            joints,
            action_width: task.dims().0,
            step_ns: (task.dt_secs() * 1e9).round() as i64,
            node,
            states_topic: settings.joint_states.clone(),
            states,
            trajectories,
            episode: None,
            step: 0,
            counters: BTreeMap::new(),
        })
    }

    /// Waits up to `timeout` until some ROS 2 node subscribes to the robot's joint states (a
    /// liveliness token of the graph): the planner's gateway announces itself once its planner
    /// serves.
    pub fn wait_for_subscriber(&self, timeout: Duration, stop: &AtomicBool) -> anyhow::Result<()> {
        match self.node.wait_for_subscription::<JointState>(&self.states_topic, (timeout, DISCOVERY_POLL), stop)? {
            Some(token) => {
                tracing::info!("robot {}: a subscriber of its joint states: {token}", self.robot_id);
                Ok(())
            }
            None => anyhow::bail!(
                "no ROS 2 node subscribed to {} within {} s; start `diffplan serve --stream --ros2` on this network",
                self.states.key(),
                timeout.as_secs()
            ),
        }
    }

    /// The plan a trajectory stands for: its states at the steps it spans, from one step
    /// before its first point.
    fn plan_of(&self, trajectory: &JointTrajectory, sequence: i64) -> Result<Plan, String> {
        let (seed, first) = self.episode.ok_or("no episode has begun")?;
        let start_ns = if trajectory.header.stamp.is_zero() {
            first + self.step as i64 * self.step_ns
        } else {
            trajectory.header.stamp.nanos()
        };
        let dt = self.step_ns as f64 * 1e-9;
        let (first_ns, states) = states_of(trajectory, &self.joints, start_ns, dt)?;
        // The step of the state the trajectory was made from (its start), and of its first point.
        let origin = ((start_ns - first) as f64 / self.step_ns as f64).round() as i64;
        let first_step = (first_ns - first).div_euclid(self.step_ns);
        if origin < 0 || states.is_empty() {
            return Err(format!("it starts before this episode or spans no step (start at step {origin})"));
        }
        // Executed as a plan made at its start: the rows up to its first point (past when it
        // arrived, and row 0, which is not tracked) repeat that point.
        let past = vec![states[0].clone(); usize::try_from(first_step - origin).unwrap_or(0)];
        let states: Vec<Vec<f32>> = past.into_iter().chain(states).collect();
        let from_step = origin;
        let ids = (format!("ros2-{sequence}"), "ros2".into(), String::new());
        // A trajectory carries no actions, and the tracker executes states: zeros fill the rows.
        let actions = vec![vec![0.0; self.action_width]; states.len()];
        Ok(Plan {
            robot_id: Some(self.robot_id.clone()),
            ..Plan::bare(ids, (seed, from_step as u64), dt, states, actions)
        })
    }
}

impl RobotPort for Ros2RobotPort {
    fn robot_id(&self) -> &str {
        &self.robot_id
    }

    /// Publishes the state as a `JointState` (a done episode publishes nothing: ROS 2 has no
    /// episodes).
    fn publish_state(&mut self, state: &RobotState) -> Result<(), BridgeError> {
        if state.mode == RobotMode::Done {
            return Ok(());
        }
        let first = match self.episode {
            Some((seed, first)) if seed == state.episode => first,
            Some((_, first)) => first + EPISODE_SPACING_NS,
            None => EPISODE_SPACING_NS,
        };
        self.episode = Some((state.episode, first));
        self.step = state.step;
        let n = self.joints.len();
        let observation: Vec<f64> = state.observation.iter().map(|&v| f64::from(v)).collect();
        let message = JointState {
            header: Header {
                stamp: Stamp::from_nanos(first + state.step as i64 * self.step_ns),
                frame_id: String::new(),
            },
            name: self.joints.clone(),
            position: observation[..n].to_vec(),
            velocity: observation[n..2 * n].to_vec(),
            effort: Vec::new(),
        };
        self.states.publish(&message)
    }

    fn latest_plan(&mut self) -> Option<Plan> {
        let received = self.trajectories.drain().pop()?;
        match self.plan_of(&received.message, received.attachment.sequence) {
            Ok(plan) => Some(plan),
            Err(why) => {
                self.count("plans_rejected");
                tracing::warn!("robot {}: ignored a JointTrajectory: {why}", self.robot_id);
                None
            }
        }
    }

    fn commands(&mut self) -> Vec<Command> {
        Vec::new()
    }

    fn publish_status(&self, _status: NodeStatus, _reason: Option<String>, _step: u64) -> Result<(), BridgeError> {
        Ok(())
    }

    fn count(&mut self, name: &str) {
        *self.counters.entry(name.to_owned()).or_default() += 1;
    }

    fn plans_are_confirmed(&self) -> bool {
        false
    }
}
