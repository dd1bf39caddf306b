//! `diffplan robot`: a task's simulator as a robot on Zenoh ([`crate::nodes::robot`]), in
//! lockstep or on the wall clock; prints the score table at the end. Records to
//! runs/recordings/ unless `--rerun` says otherwise.

use crate::cli::{RerunArgs, TransportArgs};
use crate::nodes::robot::RobotNodeConfig;

/// Arguments of `diffplan robot`.
#[derive(Debug, clap::Args)]
pub struct RobotArgs {
    #[command(flatten)]
    node: RobotNodeConfig,
    #[command(flatten)]
    transport: TransportArgs,
    #[command(flatten)]
    rerun: RerunArgs,
}

/// Runs the episodes and prints the table.
pub fn run(args: &RobotArgs) -> anyhow::Result<()> {
    let session = args.transport.transport(bridge::security::Role::Robot)?.open()?;
    let sink = args.rerun.sink("robot", "save")?;
    crate::nodes::robot::run_and_report(&args.node, &session, &args.transport.namespace()?, &sink)
}
