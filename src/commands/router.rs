//! `diffplan router`: a Zenoh router for scale-out, the hub that planner workers on other machines
//! and their clients (robots, `eval --remote`) connect to. `zenohd` 1.10 serves equally.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bridge::{Transport, TransportMode};

/// Arguments of `diffplan router`.
#[derive(Debug, clap::Args)]
pub struct RouterArgs {
    /// Endpoint to listen on (repeatable), e.g. tcp/0.0.0.0:7447.
    #[arg(long, default_value = "tcp/127.0.0.1:7447")]
    listen: Vec<String>,
    /// Zenoh JSON5 config file, passed through (--listen overrides its endpoints).
    #[arg(long)]
    zenoh_config: Option<PathBuf>,
}

/// Routes until Ctrl-C.
pub fn run(args: &RouterArgs) -> anyhow::Result<()> {
    let transport = Transport {
        mode: TransportMode::Router,
        listen: args.listen.clone(),
        connect: Vec::new(),
        zenoh_config: args.zenoh_config.clone(),
    };
    let stop = crate::nodes::shutdown::flag();
    let session = transport.open()?;
    tracing::info!("router listening on {}", args.listen.join(", "));
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(session);
    Ok(())
}
