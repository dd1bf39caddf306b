//! `diffplan launch FILE`: start the nodes a launch file lists (launch/*.toml) on one Zenoh
//! network, wait for the robot's episodes, stop the planners and print the score table.
//!
//! The launcher opens a Zenoh router on the file's endpoint (`auto`: a free loopback port; no
//! multicast) and every node joins it as a peer. By default the nodes are threads of this process,
//! each with its own session; with `processes = "separate"` each is a child `diffplan serve` /
//! `diffplan robot` process. Ctrl-C stops everything cleanly.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use bridge::{Namespace, Transport, TransportMode};
use serde::Deserialize;

use crate::robot::{Clocking, RobotNode};
use crate::serve::PlannerNode;
use crate::task::TaskConfig;
use crate::telemetry::{Recorder, Sink};

/// Arguments of `diffplan launch`.
#[derive(Debug, clap::Args)]
pub struct LaunchArgs {
    /// Launch file (TOML), e.g. launch/maze2d-umaze.toml.
    file: PathBuf,
    /// Override the robot's episode count.
    #[arg(long)]
    episodes: Option<usize>,
    /// Override where the nodes run.
    #[arg(long, value_enum)]
    processes: Option<Processes>,
    /// Rerun recording of the run: `save [PATH]` (default: runs/recordings/launch-….rrd),
    /// `spawn`, `connect [URL]` or `off`. With separate processes only the robot records.
    #[arg(long = "rerun", num_args = 1..=2, value_names = ["SINK", "TARGET"], default_values = ["save"])]
    rerun: Vec<String>,
}

/// A launch file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LaunchFile {
    /// Where the nodes run.
    #[serde(default)]
    processes: Processes,
    network: Network,
    planner: PlannerTable,
    robot: RobotNode,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
enum Processes {
    /// Threads of the launcher, each node with its own Zenoh session.
    #[default]
    Single,
    /// One child process per node.
    Separate,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Network {
    /// The hub's endpoint: `auto` (a free port on 127.0.0.1) or e.g. `tcp/127.0.0.1:7447`.
    #[serde(default = "auto")]
    endpoint: String,
    /// Key namespace.
    #[serde(default = "default_namespace")]
    namespace: String,
    /// A Zenoh JSON5 config passed through to every node (its endpoints are overridden).
    #[serde(default)]
    zenoh_config: Option<PathBuf>,
}

fn auto() -> String {
    "auto".into()
}

fn default_namespace() -> String {
    "diffplan".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlannerTable {
    /// Task config naming the checkpoint and sampler.
    config: PathBuf,
    /// Worker ids are `<id>-0`, `<id>-1`, …
    #[serde(default = "default_planner_id")]
    id: String,
    /// Number of workers, each with its own copy of the model.
    #[serde(default = "one")]
    workers: usize,
    /// `cpu`, `cuda` or `cuda:N`.
    #[serde(default = "cpu")]
    device: String,
}

fn default_planner_id() -> String {
    "planner".into()
}

fn one() -> usize {
    1
}

fn cpu() -> String {
    "cpu".into()
}

/// Runs the launch file.
pub fn run(args: &LaunchArgs) -> anyhow::Result<()> {
    let mut launch: LaunchFile = crate::config_file::read_toml(&args.file, "launch file")?;
    let base = args.file.parent().and_then(Path::parent).unwrap_or(Path::new("."));
    launch.robot.config = resolve(base, &launch.robot.config);
    launch.planner.config = resolve(base, &launch.planner.config);
    if let Some(episodes) = args.episodes {
        launch.robot.episodes = Some(episodes);
    }
    if launch.planner.workers == 0 {
        anyhow::bail!("{}: planner.workers must be at least 1", args.file.display());
    }
    let endpoint =
        if launch.network.endpoint == "auto" { free_loopback_endpoint()? } else { launch.network.endpoint.clone() };
    let namespace = Namespace::new(&launch.network.namespace)?;
    let hub = Transport {
        mode: TransportMode::Router,
        listen: vec![endpoint.clone()],
        connect: Vec::new(),
        zenoh_config: launch.network.zenoh_config.clone(),
    }
    .open()
    .with_context(|| format!("starting the launch hub on {endpoint}"))?;
    let node_transport = Transport {
        mode: TransportMode::Peer,
        listen: Vec::new(),
        connect: vec![endpoint.clone()],
        zenoh_config: launch.network.zenoh_config.clone(),
    };
    tracing::info!("launch hub on {endpoint}, namespace {}", namespace.root());
    let sink = crate::telemetry::parse_sink(&args.rerun, "launch")?;
    let result = match args.processes.unwrap_or(launch.processes) {
        Processes::Single => run_in_process(&launch, &node_transport, &namespace, &sink),
        Processes::Separate => run_as_processes(&launch, &endpoint, &namespace, &sink),
    };
    drop(hub);
    result
}

fn resolve(base: &Path, path: &Path) -> PathBuf {
    if path.is_relative() && !path.exists() { base.join(path) } else { path.to_owned() }
}

/// `tcp/127.0.0.1:<port>` with a port free at the time of asking.
pub fn free_loopback_endpoint() -> anyhow::Result<String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free loopback port")?;
    Ok(format!("tcp/127.0.0.1:{}", listener.local_addr()?.port()))
}

fn planner_nodes(launch: &LaunchFile) -> anyhow::Result<Vec<PlannerNode>> {
    let device = crate::device::parse_device(&launch.planner.device).map_err(anyhow::Error::msg)?;
    Ok((0..launch.planner.workers)
        .map(|w| PlannerNode {
            config: launch.planner.config.clone(),
            id: format!("{}-{w}", launch.planner.id),
            stream: launch.robot.mode == Clocking::Realtime,
            queue: 8,
            device,
            denoise_every: 1,
        })
        .collect())
}

fn run_in_process(
    launch: &LaunchFile,
    transport: &Transport,
    namespace: &Namespace,
    sink: &Sink,
) -> anyhow::Result<()> {
    let task = TaskConfig::read(&launch.robot.config)?;
    let mut recorder = Recorder::open(sink, &format!("launch-{}", std::process::id()))?;
    recorder.scene(&sim::Env::scene(&task.make_env()))?;
    let recording = recorder.recording();
    let stop = crate::shutdown::flag();
    let planners_stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for node in planner_nodes(launch)? {
        let session = transport.open()?;
        let namespace = namespace.clone();
        let planners_stop = Arc::clone(&planners_stop);
        let recording = recording.clone();
        workers.push(std::thread::spawn(move || {
            crate::serve::serve(&node, &session, &namespace, &planners_stop, recording)
        }));
    }
    let session = transport.open()?;
    let outcomes = crate::robot::run_episodes(&launch.robot, &task, &session, namespace, &stop, &mut recorder);
    planners_stop.store(true, Ordering::Relaxed);
    for worker in workers {
        let report = worker.join().map_err(|_| anyhow::anyhow!("a planner thread panicked"))??;
        tracing::info!("planner served {} plans", report.plans_served);
    }
    drop(recording);
    crate::telemetry::report(recorder.finish()?);
    let outcomes = outcomes?;
    if !outcomes.is_empty() {
        crate::robot::print_table(&launch.robot, &task, &outcomes);
    }
    Ok(())
}

fn run_as_processes(launch: &LaunchFile, endpoint: &str, namespace: &Namespace, sink: &Sink) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("locating the diffplan executable")?;
    let network = |command: &mut Command| {
        command.args(["--connect", endpoint, "--namespace", namespace.root()]);
        if let Some(file) = &launch.network.zenoh_config {
            command.arg("--zenoh-config").arg(file);
        }
    };
    let mut planners = Children(Vec::new());
    for node in planner_nodes(launch)? {
        let mut command = Command::new(&exe);
        command.arg("serve").arg("--config").arg(&node.config).args(["--id", &node.id]);
        command.args(["--device", &launch.planner.device]);
        if node.stream {
            command.arg("--stream");
        }
        network(&mut command);
        planners.0.push(command.spawn().context("starting a planner process")?);
    }
    let robot = &launch.robot;
    let mut command = Command::new(&exe);
    command.arg("robot").arg("--config").arg(&robot.config).args(["--id", &robot.id]);
    command.args(["--mode", if robot.mode == Clocking::Realtime { "realtime" } else { "lockstep" }]);
    command.args(["--plan-timeout-ms", &robot.plan_timeout_ms.to_string(), "--speed", &robot.speed.to_string()]);
    command.args(["--query-timeout-ms", &robot.query_timeout_ms.to_string()]);
    if let Some(episodes) = robot.episodes {
        command.args(["--episodes", &episodes.to_string()]);
    }
    match sink {
        Sink::Save(path) => command.arg("--rerun").arg("save").arg(path),
        Sink::Spawn => command.args(["--rerun", "spawn"]),
        Sink::Connect(url) => command.args(["--rerun", "connect"]).args(url.iter()),
        Sink::Off => command.args(["--rerun", "off"]),
    };
    network(&mut command);
    let mut robot_process = command.spawn().context("starting the robot process")?;
    let stop = crate::shutdown::flag();
    let status = loop {
        if let Some(status) = robot_process.try_wait()? {
            break status;
        }
        if stop.load(Ordering::Relaxed) {
            // Ctrl-C: the robot finishes its step, prints the episodes it completed and exits.
            terminate(&mut robot_process)?;
            break robot_process.wait()?;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    drop(planners);
    anyhow::ensure!(status.success(), "the robot process failed ({status})");
    Ok(())
}

/// Planner processes, stopped and reaped when dropped, so that an early error leaves none
/// running.
struct Children(Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for child in &mut self.0 {
            // Best effort: a child that already exited cannot be signalled, and is reaped below.
            let _ = terminate(child);
            let _ = child.wait();
        }
    }
}

/// Asks a child to stop with SIGTERM, so it undeclares its tokens and reports; SIGKILL only if
/// that cannot be sent.
fn terminate(child: &mut Child) -> anyhow::Result<()> {
    let sent = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    if !sent.is_ok_and(|s| s.success()) {
        child.kill()?;
    }
    Ok(())
}
