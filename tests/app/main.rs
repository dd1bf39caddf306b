//! The application's integration tests, one binary (one link of the whole stack): the commands
//! end to end ([`cli`]), the robot stack over Zenoh on loopback ([`network`]) and the main job's
//! Rerun recording ([`telemetry`]). Each runs the real `diffplan` binary.

mod cli;
mod common;
mod network;
mod telemetry;
