//! `diffplan serve`: the plan service on Zenoh ([`crate::nodes::service`]). Answers plan queries
//! on the shared and on its own key, and with `--stream` replans on every robot state and
//! publishes the plan to that robot. Records nothing unless `--rerun` says where (a service runs
//! indefinitely).

use crate::cli::{RerunArgs, TransportArgs};
use crate::nodes::planner::PlannerNodeConfig;
use crate::telemetry::Recorder;

/// Arguments of `diffplan serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    node: PlannerNodeConfig,
    #[command(flatten)]
    transport: TransportArgs,
    #[command(flatten)]
    rerun: RerunArgs,
}

/// Serves until Ctrl-C.
pub fn run(args: &ServeArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.transport.tls.is_none() || !args.node.ros2.enabled,
        "--tls and --ros2 together are not supported yet: ROS 2's keys lie outside the secured router's \
         rules (docs/SECURITY.md)"
    );
    let session = args.transport.transport(bridge::security::Role::Planner)?.open()?;
    let recorder = Recorder::open(&args.rerun.sink("serve", "off")?, &format!("serve-{}", std::process::id()))?;
    let recording = recorder.recording();
    let stop = crate::nodes::shutdown::flag();
    let report = crate::nodes::service::serve(&args.node, &session, &args.transport.namespace()?, &stop, recording)?;
    crate::telemetry::report(recorder.finish()?);
    crate::nodes::service::say_served(&args.node.id, &report);
    Ok(())
}
