//! The application's integration tests, one binary (one link of the whole stack): the commands
//! end to end ([`cli`]), importing a Diffuser run ([`import`]), the robot stack over Zenoh on loopback ([`network`]), scripted results
//! (`--json`, [`results`]) and the main job's Rerun recording ([`telemetry`]). Each runs the real
//! `diffplan` binary.

mod cli;
mod common;
mod import;
mod network;
mod results;
mod telemetry;
