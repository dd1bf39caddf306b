//! What the real-time robot loop ([`super::realtime`]) needs of the wire: its own protocol's
//! [`RobotLink`], or a ROS 2 robot's topics ([`super::ros2::Ros2RobotPort`]). One loop, so a
//! simulator scores the same whichever it speaks.

use bridge::message::{Command, NodeStatus, Plan, RobotState};
use bridge::{BridgeError, RobotLink};

/// A robot's end of the wire, as the real-time loop uses it.
pub trait RobotPort {
    /// The robot's id.
    fn robot_id(&self) -> &str;
    /// Publishes the robot's state.
    fn publish_state(&mut self, state: &RobotState) -> Result<(), BridgeError>;
    /// The newest plan received since the last call, if a valid one arrived.
    fn latest_plan(&mut self) -> Option<Plan>;
    /// Operator commands received since the last call.
    fn commands(&mut self) -> Vec<Command>;
    /// Publishes the robot's status (`reason` when holding) at `step`.
    fn publish_status(&self, status: NodeStatus, reason: Option<String>, step: u64) -> Result<(), BridgeError>;
    /// Adds one to the counter `name`.
    fn count(&mut self, name: &str);
    /// Whether the planner re-sends the plan being executed while it holds (diffplan's protocol),
    /// so that silence means a lost planner. A ROS 2 controller is sent each trajectory once
    /// and executes it to its end.
    fn plans_are_confirmed(&self) -> bool;
}

impl RobotPort for RobotLink {
    fn robot_id(&self) -> &str {
        RobotLink::robot_id(self)
    }

    fn publish_state(&mut self, state: &RobotState) -> Result<(), BridgeError> {
        RobotLink::publish_state(self, state)
    }

    fn latest_plan(&mut self) -> Option<Plan> {
        RobotLink::latest_plan(self).map(|plan| plan.body)
    }

    fn commands(&mut self) -> Vec<Command> {
        RobotLink::commands(self)
    }

    fn publish_status(&self, status: NodeStatus, reason: Option<String>, step: u64) -> Result<(), BridgeError> {
        RobotLink::publish_status(self, status, reason, step)
    }

    fn count(&mut self, name: &str) {
        RobotLink::count(self, name);
    }

    fn plans_are_confirmed(&self) -> bool {
        true
    }
}
