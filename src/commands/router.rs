//! `diffplan router`: a Zenoh router for scale-out, the hub that planner workers on other machines
//! and their clients (robots, `eval --remote`) connect to. `zenohd` 1.10 serves equally.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bridge::{Namespace, Transport};

/// Arguments of `diffplan router`.
#[derive(Debug, clap::Args)]
pub struct RouterArgs {
    /// Endpoint to listen on (repeatable), e.g. tcp/0.0.0.0:7447 (with --tls: quic/0.0.0.0:7447).
    #[arg(long, default_value = "tcp/127.0.0.1:7447")]
    listen: Vec<String>,
    /// Zenoh JSON5 config file, passed through (--listen overrides its endpoints).
    #[arg(long)]
    zenoh_config: Option<PathBuf>,
    /// Secure: TLS with mutual authentication (the router's identity in the lab folder DIR, made
    /// by scripts/lab-certs.sh) and access control by role on `--namespace` (docs/SECURITY.md).
    #[arg(long, value_name = "DIR")]
    tls: Option<PathBuf>,
    /// The namespace whose keys the access control covers (with --tls).
    #[arg(long, default_value = "diffplan")]
    namespace: String,
}

/// Routes until Ctrl-C.
pub fn run(args: &RouterArgs) -> anyhow::Result<()> {
    let transport = match &args.tls {
        Some(dir) => Transport::secured_router(dir, &Namespace::new(&args.namespace)?, args.listen.clone())?,
        None => Transport::router(args.listen.clone()),
    };
    let transport = Transport { zenoh_config: args.zenoh_config.clone(), ..transport };
    let stop = crate::nodes::shutdown::flag();
    let session = transport.open()?;
    tracing::info!("router listening on {}", args.listen.join(", "));
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(session);
    Ok(())
}

/// The secured twin of a plain endpoint: `tcp/127.0.0.1:P` becomes `quic/127.0.0.1:Q`, Q a UDP
/// port free on loopback when P is (an `auto` launch's), P otherwise.
pub fn secured_endpoint(plain: &str) -> anyhow::Result<String> {
    let address = plain.strip_prefix("tcp/").unwrap_or(plain);
    if address.starts_with("127.0.0.1:") {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0")?;
        return Ok(format!("quic/127.0.0.1:{}", socket.local_addr()?.port()));
    }
    Ok(format!("quic/{address}"))
}
