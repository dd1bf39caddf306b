//! `diffplan launch FILE`: start the nodes a launch file lists (launch/*.toml) on one Zenoh
//! network, wait for the robot's episodes, stop the planners and print the score table.
//! Records to runs/recordings/ unless `--rerun` says otherwise.
//!
//! The launcher opens a Zenoh router on the file's endpoint (`auto`: a free loopback port; no
//! multicast) and every node joins it as a peer. By default the nodes are threads of this process,
//! each with its own session; with `processes = "separate"` each is a child process,
//! `diffplan launch FILE --node robot|planner-K --hub ENDPOINT`, which reads its own table of
//! the same file. Ctrl-C stops everything cleanly.

use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use bridge::security::Role;
use bridge::{Namespace, Transport};

use crate::cli::RerunArgs;
use crate::commands::router::secured_endpoint;
use crate::nodes::launch_file::{LaunchFile, Processes, free_loopback_endpoint};
use crate::nodes::robot::{report_outcomes, run_and_report, run_episodes, task_file};
use crate::nodes::service::{say_served, serve};
use crate::telemetry::{Recorder, Sink};

/// Arguments of `diffplan launch`.
#[derive(Debug, clap::Args)]
pub struct LaunchArgs {
    /// Launch file (TOML), e.g. launch/maze2d-umaze.toml.
    file: PathBuf,
    /// Override the robot's episode count (the launch file's, else its task file's `eval.episodes`).
    #[arg(long)]
    episodes: Option<usize>,
    /// Override the first episode's seed (`eval.seed`): episodes play S … S + N − 1.
    #[arg(long)]
    seed: Option<u64>,
    /// Also write the robot's episodes and summary as JSON to this file
    /// (schema: docs/schema/eval-results.schema.json).
    #[arg(long)]
    json: Option<PathBuf>,
    /// Override where the nodes run.
    #[arg(long, value_enum)]
    processes: Option<Processes>,
    /// Secure the launch: TLS with mutual authentication and access control by role, with the
    /// lab's certificates in DIR (scripts/lab-certs.sh DIR; docs/SECURITY.md). Overrides the
    /// file's `network.tls`.
    #[arg(long, value_name = "DIR")]
    tls: Option<PathBuf>,
    /// With separate processes only the robot records.
    #[command(flatten)]
    rerun: RerunArgs,
    /// Run only this node of the file (`robot` or `planner-K`), joining the hub at `--hub`:
    /// how a separate-process launch starts its children.
    #[arg(long, requires = "hub", hide = true)]
    node: Option<String>,
    /// The running launch's hub endpoint (with `--node`).
    #[arg(long, requires = "node", hide = true)]
    hub: Option<String>,
}

/// Runs the launch file, or one node of it.
pub fn run(args: &LaunchArgs) -> anyhow::Result<()> {
    let mut launch = LaunchFile::read(&args.file)?;
    launch.robot.episodes = args.episodes.or(launch.robot.episodes);
    launch.robot.seed = args.seed.or(launch.robot.seed);
    launch.robot.json = args.json.clone().or(launch.robot.json);
    launch.network.tls = args.tls.clone().or(launch.network.tls);
    anyhow::ensure!(
        launch.network.tls.is_none() || launch.ros2.is_none(),
        "{}: a secured launch cannot carry ROS 2 yet (its keys lie outside the access control's rules; \
         docs/SECURITY.md): drop --tls or the [ros2] table",
        args.file.display()
    );
    let namespace = Namespace::new(&launch.network.namespace)?;
    let sink = args.rerun.sink("launch", "save")?;
    if let (Some(node), Some(hub)) = (&args.node, &args.hub) {
        return run_child(&launch, node, hub, &namespace, &sink);
    }
    let endpoint =
        if launch.network.endpoint == "auto" { free_loopback_endpoint()? } else { launch.network.endpoint.clone() };
    let (endpoint, hub) = match &launch.network.tls {
        Some(dir) => {
            let endpoint = secured_endpoint(&endpoint)?;
            (endpoint.clone(), Transport::secured_router(dir, &namespace, vec![endpoint])?)
        }
        None => (endpoint.clone(), Transport::router(vec![endpoint])),
    };
    let hub = Transport { zenoh_config: launch.network.zenoh_config.clone(), ..hub }
        .open()
        .with_context(|| format!("starting the launch hub on {endpoint}"))?;
    let secured = if launch.network.tls.is_some() { ", secured (TLS, access control by role)" } else { "" };
    tracing::info!("launch hub on {endpoint}, namespace {}{secured}", namespace.root());
    let result = match args.processes.unwrap_or(launch.processes) {
        Processes::Single => run_in_process(&launch, &endpoint, &namespace, &sink),
        Processes::Separate => run_as_processes(args, &launch, &endpoint, &sink),
    };
    drop(hub);
    result
}

/// How node `role` of the launch joins the hub at `endpoint`: a peer, or on a secured launch a
/// client proving its role.
fn node_transport(launch: &LaunchFile, endpoint: &str, role: Role) -> anyhow::Result<Transport> {
    let connect = vec![endpoint.to_owned()];
    let transport = match &launch.network.tls {
        Some(dir) => Transport::secured_client(dir, role, connect)?,
        None => Transport::peer(Vec::new(), connect),
    };
    Ok(Transport { zenoh_config: launch.network.zenoh_config.clone(), ..transport })
}

/// One node of a separate-process launch: the robot, or planner worker K.
fn run_child(launch: &LaunchFile, node: &str, hub: &str, namespace: &Namespace, sink: &Sink) -> anyhow::Result<()> {
    if node == "robot" {
        let session = node_transport(launch, hub, Role::Robot)?.open()?;
        return run_and_report(&launch.robot, &session, namespace, sink);
    }
    let session = node_transport(launch, hub, Role::Planner)?.open()?;
    let worker = node
        .strip_prefix("planner-")
        .and_then(|k| k.parse::<usize>().ok())
        .filter(|&k| k < launch.planner.workers)
        .with_context(|| format!("--node {node}: name `robot` or `planner-K` with K < {}", launch.planner.workers))?;
    let planner = launch.worker(worker);
    let report = serve(&planner, &session, namespace, &crate::nodes::shutdown::flag(), None)?;
    say_served(&planner.id, &report);
    Ok(())
}

fn run_in_process(launch: &LaunchFile, endpoint: &str, namespace: &Namespace, sink: &Sink) -> anyhow::Result<()> {
    let file = task_file(&launch.robot)?;
    let mut recorder = Recorder::open(sink, &format!("launch-{}", std::process::id()))?;
    recorder.scene(Arc::clone(&file.task), None)?;
    let recording = recorder.recording();
    let stop = crate::nodes::shutdown::flag();
    let planners_stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for k in 0..launch.planner.workers {
        let node = launch.worker(k);
        let session = node_transport(launch, endpoint, Role::Planner)?.open()?;
        let namespace = namespace.clone();
        let planners_stop = Arc::clone(&planners_stop);
        let recording = recording.clone();
        workers.push(std::thread::spawn(move || serve(&node, &session, &namespace, &planners_stop, recording)));
    }
    let session = node_transport(launch, endpoint, Role::Robot)?.open()?;
    let outcomes = run_episodes(&launch.robot, &file, &session, namespace, &stop, &mut recorder);
    planners_stop.store(true, Ordering::Relaxed);
    for worker in workers {
        let report = worker.join().map_err(|_| anyhow::anyhow!("a planner thread panicked"))??;
        tracing::info!("planner served {} plans", report.plans_served);
    }
    drop(recording);
    crate::telemetry::report(recorder.finish()?);
    report_outcomes(&launch.robot, &file, &outcomes?)
}

fn run_as_processes(args: &LaunchArgs, launch: &LaunchFile, endpoint: &str, sink: &Sink) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("locating the diffplan executable")?;
    let child = |node: &str| {
        let mut command = Command::new(&exe);
        command.arg("launch").arg(&args.file).args(["--node", node, "--hub", endpoint]);
        if let Some(episodes) = args.episodes {
            command.args(["--episodes", &episodes.to_string()]);
        }
        if let Some(seed) = args.seed {
            command.args(["--seed", &seed.to_string()]);
        }
        if let Some(json) = &args.json {
            command.arg("--json").arg(json);
        }
        if let Some(tls) = &args.tls {
            command.arg("--tls").arg(tls);
        }
        command
    };
    let mut planners = Children(Vec::new());
    for k in 0..launch.planner.workers {
        let mut command = child(&format!("planner-{k}"));
        command.args(["--rerun", "off"]);
        planners.0.push(command.spawn().context("starting a planner process")?);
    }
    let mut command = child("robot");
    match sink {
        Sink::Save(path) => command.arg("--rerun").arg("save").arg(path),
        Sink::Spawn => command.args(["--rerun", "spawn"]),
        Sink::Connect(url) => command.args(["--rerun", "connect"]).args(url.iter()),
        Sink::Off => command.args(["--rerun", "off"]),
    };
    let mut robot_process = command.spawn().context("starting the robot process")?;
    let stop = crate::nodes::shutdown::flag();
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
