//! The Zenoh flags every networked command takes: namespace, endpoints, a Zenoh config file
//! (`CommonArgs` in Zenoh's examples).

use std::path::PathBuf;

use bridge::{Namespace, Transport, TransportMode};

/// How a node joins the network.
#[derive(Debug, Clone, clap::Args)]
pub struct TransportArgs {
    /// Key namespace; nodes talk only within one.
    #[arg(long, default_value = "diffplan")]
    pub namespace: String,
    /// Endpoint to listen on, e.g. tcp/127.0.0.1:7447 (repeatable).
    #[arg(long)]
    pub listen: Vec<String>,
    /// Endpoint to connect to (repeatable).
    #[arg(long)]
    pub connect: Vec<String>,
    /// Zenoh JSON5 config file, passed through (--listen/--connect override its endpoints).
    #[arg(long)]
    pub zenoh_config: Option<PathBuf>,
}

impl TransportArgs {
    /// The transport these flags describe (a peer).
    #[must_use]
    pub fn transport(&self) -> Transport {
        Transport {
            mode: TransportMode::Peer,
            listen: self.listen.clone(),
            connect: self.connect.clone(),
            zenoh_config: self.zenoh_config.clone(),
        }
    }

    /// The namespace, checked.
    pub fn namespace(&self) -> anyhow::Result<Namespace> {
        Ok(Namespace::new(&self.namespace)?)
    }
}
