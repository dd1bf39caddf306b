//! The two node roles and their wiring: the planner node ([`service`], with the task's planner
//! in [`planner`] and its self-description in [`model_card`]) and the robot node ([`robot`], its real-time loop in [`realtime`]); the plan
//! sources of lockstep episodes ([`sources`]); every wire ↔ app conversion ([`wire`]); launch
//! files ([`launch_file`]) and clean shutdown ([`shutdown`]). Each node is settings + setup +
//! run, so the commands, launches and benchmarks drive the same `run` functions.

pub mod launch_file;
pub mod model_card;
pub mod planner;
pub mod realtime;
pub mod robot;
pub mod robot_port;
pub mod ros2;
pub mod service;
pub mod shutdown;
pub mod sources;
pub mod wire;
