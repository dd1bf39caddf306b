//! ROS 2 on the same wire (rmw_zenoh, through [`bridge::ros2`]): the planner's gateway, which
//! drives a ROS 2 robot in closed loop from its `JointState`s with `JointTrajectory`s
//! ([`gateway`]); the simulator as such a robot ([`robot_port`]); and the mapping between
//! plans and trajectories ([`trajectory`]). docs/ROS2.md is the user's guide.

pub mod gateway;
pub mod robot_port;
pub mod settings;
pub mod trajectory;

pub use robot_port::Ros2RobotPort;
pub use settings::Ros2Settings;
