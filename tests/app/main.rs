//! The application's integration tests, one binary (one link of the whole stack): the commands
//! end to end ([`cli`]), importing a Diffuser run ([`import`]), the robot stack over Zenoh on
//! loopback ([`network`]) and its faults ([`faults`]), nodes checked against the protocol
//! ([`conformance`]), the decoders fuzzed ([`fuzz`]), commands killed without losing what they
//! saved ([`interrupted`]), many robots at once ([`load`]), scripted results (`--json`,
//! [`results`]), the main job's Rerun recording ([`telemetry`]) and an arm's goals given as tool
//! points ([`tool_point_goals`]). Each runs the real `diffplan` binary.

mod cli;
mod common;
mod conformance;
mod faults;
mod fuzz;
mod import;
mod interrupted;
mod load;
mod network;
mod results;
mod ros2;
mod security;
mod slow_link;
mod telemetry;
mod tool_point_goals;
