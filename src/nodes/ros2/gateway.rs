//! The planner's ROS 2 gateway: a ROS 2 robot (a joint_trajectory_controller and a
//! joint_state_broadcaster, nothing of diffplan's) driven in closed loop. Each `JointState` the
//! robot publishes becomes a robot state on diffplan's own wire, under the gateway's robot id;
//! the streaming planner replans on it as on any robot's; each new plan goes back as a
//! `JointTrajectory` that starts at the stamp of the state it was made from (the robot's own
//! clock) with the points already past dropped. A plan is sent once: a controller executes a
//! trajectory to its end.
//!
//! ROS 2 has no episodes; the gateway starts one when the robot's stamps jump by
//! `episode_gap_ms` or go back (a robot that resets or pauses), numbering them from 0, and
//! counts steps of the task's dt from the episode's first stamp.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bridge::message::RobotMode;
use bridge::ros2::{JointState, JointTrajectory, NodeName, Ros2Node, Ros2Publisher, Ros2Subscription, Stamp};
use bridge::{Namespace, RobotLink};

use super::settings::Ros2Settings;
use super::trajectory::trajectory_of;
use crate::nodes::wire;
use crate::task::TaskFile;

/// The gateway's ROS 2 node name.
pub const PLANNER_NODE: &str = "diffplan_planner";
/// Joint states kept between two looks (only the newest of each step is used).
const STATES_KEPT: usize = 64;
/// Steps whose state stamps are remembered, to start each trajectory at its state's stamp.
const STAMPS_KEPT: usize = 4096;
/// How long the gateway sleeps when nothing arrived.
const IDLE: Duration = Duration::from_millis(1);

/// Episodes and steps of a ROS 2 robot, from its states' stamps.
#[derive(Debug)]
pub struct EpisodeClock {
    step_ns: i64,
    gap_ns: i64,
    /// The current episode's number and first stamp, nanoseconds.
    current: Option<(u64, i64)>,
    /// The newest stamp seen.
    newest: Stamp,
    /// Stamps of the current episode's steps.
    stamps: BTreeMap<u64, Stamp>,
}

impl EpisodeClock {
    /// A clock of steps `dt` seconds long, starting an episode after a gap of `gap_ms`.
    #[must_use]
    pub fn new(dt: f64, gap_ms: u64) -> Self {
        Self {
            step_ns: (dt * 1e9).round() as i64,
            gap_ns: i64::try_from(gap_ms).unwrap_or(i64::MAX / 1_000_000) * 1_000_000,
            current: None,
            newest: Stamp::default(),
            stamps: BTreeMap::new(),
        }
    }

    /// The episode and step of a state stamped `stamp`.
    pub fn observe(&mut self, stamp: Stamp) -> (u64, u64) {
        let now = stamp.nanos();
        let fresh = self.current.is_none() || now < self.newest.nanos() || now - self.newest.nanos() >= self.gap_ns;
        if fresh {
            let episode = self.current.map_or(0, |(e, _)| e + 1);
            self.current = Some((episode, now));
            self.stamps.clear();
        }
        let (episode, first) = self.current.unwrap_or((0, now));
        let step = ((now - first) as f64 / self.step_ns as f64).round() as u64;
        self.newest = stamp;
        self.stamps.entry(step).or_insert(stamp);
        while self.stamps.len() > STAMPS_KEPT {
            self.stamps.pop_first();
        }
        (episode, step)
    }

    /// The current episode.
    #[must_use]
    pub fn episode(&self) -> Option<u64> {
        self.current.map(|(e, _)| e)
    }

    /// The stamp of the state at `step` of the current episode (its first stamp plus the
    /// steps, when that state is no longer remembered).
    #[must_use]
    pub fn stamp_of(&self, step: u64) -> Stamp {
        self.stamps.get(&step).copied().unwrap_or_else(|| {
            let first = self.current.map_or(0, |(_, first)| first);
            Stamp::from_nanos(first + step as i64 * self.step_ns)
        })
    }

    /// The newest stamp seen.
    #[must_use]
    pub fn newest(&self) -> Stamp {
        self.newest
    }
}

/// What a gateway did.
#[derive(Debug, Default)]
pub struct GatewayReport {
    /// Joint states turned into robot states.
    pub states: u64,
    /// Joint states refused (a missing joint or velocity, no stamp).
    pub states_refused: u64,
    /// Samples rejected before decoding was done (no or a wrong attachment, not CDR, oversized).
    pub samples_rejected: u64,
    /// Trajectories sent.
    pub trajectories: u64,
}

/// A gateway, set up and waiting to run.
pub struct Gateway {
    link: RobotLink,
    _node: Ros2Node,
    states: Ros2Subscription<JointState>,
    trajectories: Ros2Publisher<JointTrajectory>,
    joints: Vec<String>,
    goal: Vec<f32>,
    dt: f64,
    clock: EpisodeClock,
}

impl Gateway {
    /// Joins diffplan's wire as the robot `settings.robot_id` with its `joints` and `goal`
    /// (checked by [`Ros2Settings::robot`]), waits (up to `wait`) until a planner of the task of
    /// `file` serves, then declares the ROS 2 node, its subscription and its publisher.
    pub fn new(
        settings: &Ros2Settings,
        (joints, goal): (Vec<String>, Vec<f32>),
        file: &TaskFile,
        session: &bridge::zenoh::Session,
        namespace: &Namespace,
        wait: Duration,
        stop: &AtomicBool,
    ) -> anyhow::Result<Self> {
        let task = file.task.as_ref();
        let link = RobotLink::new(session, namespace, &settings.robot_id, &task.id(), false)?;
        link.wait_for_planner(wait, stop)?;
        let node = Ros2Node::new(session, NodeName::new(settings.domain, &settings.namespace, PLANNER_NODE)?)?;
        let states = node.subscription::<JointState>(&settings.joint_states, STATES_KEPT)?;
        let trajectories = node.publisher::<JointTrajectory>(&settings.trajectory)?;
        tracing::info!(
            "ROS 2 gateway: JointState from {} → robot {} → JointTrajectory to {} (joints {joints:?}, goal {goal:?})",
            states.key(),
            settings.robot_id,
            trajectories.key()
        );
        Ok(Self {
            link,
            _node: node,
            states,
            trajectories,
            joints,
            goal,
            dt: task.dt_secs(),
            clock: EpisodeClock::new(task.dt_secs(), settings.episode_gap_ms),
        })
    }

    /// Relays until `stop` is set.
    pub fn run(mut self, stop: &AtomicBool) -> anyhow::Result<GatewayReport> {
        let mut report = GatewayReport::default();
        let mut last: Option<(u64, u64)> = None;
        let mut sent: Option<String> = None;
        while !stop.load(Ordering::Relaxed) {
            let received = self.states.drain();
            let idle = received.is_empty();
            for state in received {
                match self.robot_state(&state.message) {
                    Ok(state) if last == Some((state.episode, state.step)) => {}
                    Ok(state) => {
                        last = Some((state.episode, state.step));
                        self.link.publish_state(&state)?;
                        report.states += 1;
                    }
                    Err(why) => {
                        report.states_refused += 1;
                        self.link.count("joint_states_refused");
                        tracing::warn!("ROS 2 gateway refused a JointState on {}: {why}", self.states.key());
                    }
                }
            }
            if let Some(plan) = self.link.latest_plan().map(|p| p.body)
                && Some(plan.episode) == self.clock.episode()
                && sent.as_deref() != Some(plan.plan_id.as_str())
            {
                let start = self.clock.stamp_of(plan.from_step);
                if let Some(trajectory) = trajectory_of(&plan.states, self.dt, &self.joints, start, self.clock.newest())
                {
                    self.trajectories.publish(&trajectory)?;
                    report.trajectories += 1;
                }
                sent = Some(plan.plan_id);
            }
            if idle {
                std::thread::sleep(IDLE);
            }
        }
        report.samples_rejected = self.states.rejected();
        Ok(report)
    }

    /// The robot state a joint state stands for.
    fn robot_state(&mut self, state: &JointState) -> Result<bridge::message::RobotState, String> {
        if state.header.stamp.is_zero() {
            return Err("its header.stamp is zero; diffplan times trajectories from the stamps of the robot's \
                        states on the robot's own clock: stamp the joint states (joint_state_broadcaster does)"
                .into());
        }
        let (positions, velocities) = state.positions_and_velocities(&self.joints).map_err(|e| e.to_string())?;
        let observation: Vec<f32> = positions.iter().chain(&velocities).map(|&v| v as f32).collect();
        let (episode, step) = self.clock.observe(state.header.stamp);
        let robot_id = self.link.robot_id().to_owned();
        Ok(wire::robot_state(&robot_id, (episode, step), self.dt, &observation, Some(&self.goal), RobotMode::Running))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn episodes_start_at_a_gap_or_when_stamps_go_back_and_steps_count_dt() {
        let mut clock = EpisodeClock::new(0.01, 250);
        let at = |ms: i64| Stamp::from_nanos(ms * 1_000_000 + 1_000_000_000);
        assert_eq!(clock.observe(at(0)), (0, 0));
        assert_eq!(clock.observe(at(0)), (0, 0), "the same state again");
        assert_eq!(clock.observe(at(21)), (0, 2), "a late state rounds to its step");
        assert_eq!(clock.stamp_of(2), at(21));
        assert_eq!(clock.stamp_of(5), at(50), "a step not seen: first stamp plus the steps");
        assert_eq!(clock.observe(at(300)), (1, 0), "a gap of 279 ms");
        assert_eq!(clock.observe(at(200)), (2, 0), "back in time");
        assert_eq!(clock.newest(), at(200));
    }
}
