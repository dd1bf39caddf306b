//! `diffplan serve`: the plan service on Zenoh. Answers plan queries on the shared and on its own
//! key, and with `--stream` replans on every robot state and publishes the plan to that robot.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use bridge::{Namespace, PlannerService, ServiceReport};
use tch::Device;

use crate::service_handler::ServiceHandler;
use crate::task::TaskConfig;
use crate::telemetry::Recorder;
use crate::transport_args::TransportArgs;

/// Arguments of `diffplan serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Task config (TOML) naming the checkpoint and sampler, e.g. configs/tasks/maze2d-umaze.toml.
    #[arg(long)]
    config: PathBuf,
    /// This worker's id (letters, digits, '_', '-').
    #[arg(long, default_value = "planner-0")]
    id: String,
    /// Also replan on every robot state and stream the plans (real-time robots).
    #[arg(long)]
    stream: bool,
    /// Queries waiting beyond this many are refused as busy.
    #[arg(long, default_value_t = 8)]
    queue: usize,
    /// `cpu`, `cuda` or `cuda:N`.
    #[arg(long, default_value = "cpu", value_parser = crate::device::parse_device)]
    device: Device,
    #[command(flatten)]
    transport: TransportArgs,
    /// Record the denoising of every plan to Rerun: `save [PATH]`, `spawn`, `connect [URL]` or
    /// `off` (the default: a service runs indefinitely).
    #[arg(long = "rerun", num_args = 1..=2, value_names = ["SINK", "TARGET"], default_values = ["off"])]
    rerun: Vec<String>,
    /// Record the denoising of every N-th plan only.
    #[arg(long, default_value_t = 1)]
    rerun_denoise_every: u64,
}

/// What a planner node needs besides its session.
#[derive(Debug, Clone)]
pub struct PlannerNode {
    /// Task config path.
    pub config: PathBuf,
    /// Worker id.
    pub id: String,
    /// Stream plans on robot states.
    pub stream: bool,
    /// Query queue length.
    pub queue: usize,
    /// Inference device.
    pub device: Device,
    /// Record the denoising of every this many plans.
    pub denoise_every: u64,
}

/// Serves until Ctrl-C.
pub fn run(args: &ServeArgs) -> anyhow::Result<()> {
    let node = PlannerNode {
        config: args.config.clone(),
        id: args.id.clone(),
        stream: args.stream,
        queue: args.queue,
        device: args.device,
        denoise_every: args.rerun_denoise_every,
    };
    let session = args.transport.transport().open()?;
    let sink = crate::telemetry::parse_sink(&args.rerun, "serve")?;
    let recorder = Recorder::open(&sink, &format!("serve-{}", std::process::id()))?;
    let recording = recorder.recording();
    let report = serve(&node, &session, &args.transport.namespace()?, &crate::shutdown::flag(), recording)?;
    crate::telemetry::report(recorder.finish()?);
    eprintln!(
        "planner {}: served {} plans, sent {} errors, rejected {} payloads",
        node.id, report.plans_served, report.errors_sent, report.payloads_rejected
    );
    Ok(())
}

/// Loads the model once and serves on `session` until `stop` is set, recording the denoising of
/// each plan to `recording` if given.
pub fn serve(
    node: &PlannerNode,
    session: &bridge::zenoh::Session,
    namespace: &Namespace,
    stop: &AtomicBool,
    recording: Option<rerun::RecordingStream>,
) -> anyhow::Result<ServiceReport> {
    let task = TaskConfig::read(&node.config)?;
    let mut handler = ServiceHandler::load(&task, Path::new(&node.config), &node.id, node.device)?;
    if let Some(stream) = recording {
        handler.record_to(stream, node.denoise_every);
    }
    let mut service = PlannerService::new(session, namespace.clone(), &node.id)?;
    service.stream = node.stream;
    service.queue = node.queue;
    tracing::info!("planner {} serving {} on namespace {}", node.id, node.config.display(), namespace.root());
    Ok(service.run(&mut handler, stop)?)
}
