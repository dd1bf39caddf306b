//! `diffplan conformance planner|robot ENDPOINT`: checks a node, ours or anyone's, against
//! docs/PROTOCOL.md over the network and prints a pass/warn/fail table; exits 1 when a check
//! fails.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use bridge::Transport;

use crate::conformance::{self, Report};
use crate::task::TaskFile;

/// Arguments of `diffplan conformance`.
#[derive(Debug, clap::Args)]
pub struct ConformanceArgs {
    #[command(subcommand)]
    node: Node,
}

/// The kinds of node checked.
#[derive(Debug, clap::Subcommand)]
enum Node {
    /// Check a plan service: describe, plans, same seed, task key, bad requests, heartbeat.
    Planner {
        /// Where to reach it, e.g. tcp/127.0.0.1:7447 (the planner's or its router's endpoint).
        endpoint: String,
        /// The planner's id (default: the first alive).
        #[arg(long)]
        planner: Option<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Check a streaming robot: states, running on plans, refusals, holding on staleness.
    Robot {
        /// Where to reach it, e.g. tcp/127.0.0.1:7447.
        endpoint: String,
        /// The robot's id.
        #[arg(long)]
        robot: String,
        /// The task config of the robot's task (its id, widths and dt), e.g.
        /// configs/tasks/maze2d-umaze.toml.
        #[arg(long)]
        config: PathBuf,
        /// The robot must hold within this long after its last plan, milliseconds.
        #[arg(long, default_value_t = 1000)]
        stale_ms: u64,
        #[command(flatten)]
        common: Common,
    },
}

/// Flags of both checks.
#[derive(Debug, clap::Args)]
struct Common {
    /// Key namespace.
    #[arg(long, default_value = "diffplan")]
    namespace: String,
    /// Wait this long for the node and for each reply, seconds.
    #[arg(long, default_value_t = 30)]
    timeout_s: u64,
    /// Keep every payload the node sent in this folder, one JSON file each (`<n>-<Type>.json`).
    #[arg(long)]
    payloads: Option<PathBuf>,
}

/// Runs the check and prints its table.
pub fn run(args: &ConformanceArgs) -> anyhow::Result<ExitCode> {
    let (endpoint, common) = match &args.node {
        Node::Planner { endpoint, common, .. } | Node::Robot { endpoint, common, .. } => (endpoint, common),
    };
    let namespace = bridge::Namespace::new(&common.namespace)?;
    let session = Transport::peer(Vec::new(), vec![endpoint.clone()]).open()?;
    let timeout = Duration::from_secs(common.timeout_s);
    let mut report = Report::new(common.payloads.clone())?;
    let title = match &args.node {
        Node::Planner { planner, .. } => {
            conformance::planner::check(&session, &namespace, planner.as_deref(), timeout, &mut report)?;
            format!("planner {} at {endpoint}", planner.as_deref().unwrap_or("(first alive)"))
        }
        Node::Robot { robot, config, stale_ms, .. } => {
            let file = TaskFile::read(config)?;
            let stale = Duration::from_millis(*stale_ms);
            conformance::robot::check(&session, &namespace, robot, &file, (timeout, stale), &mut report)?;
            format!("robot {robot} of task {} at {endpoint}", file.task.id())
        }
    };
    report.finish();
    println!("Conformance of {title} to docs/PROTOCOL.md (version {}):\n", bridge::message::PROTOCOL_VERSION);
    print!("{}", report.table());
    Ok(if report.passed() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
