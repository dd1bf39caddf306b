//! The Zenoh flags every networked command takes: namespace, endpoints, a Zenoh config file
//! (`CommonArgs` in Zenoh's examples).

use std::path::PathBuf;

use bridge::security::Role;
use bridge::{Namespace, Transport};

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
    /// Secure: TLS with mutual authentication, as this node's role in the lab folder DIR
    /// (made by scripts/lab-certs.sh); the node is then a client of a secured router
    /// (`diffplan router --tls DIR`), which enforces what each role may send (docs/SECURITY.md).
    #[arg(long, value_name = "DIR")]
    pub tls: Option<PathBuf>,
}

impl TransportArgs {
    /// The transport these flags describe: a peer, or with `--tls` a client of a secured
    /// router, proving `role`.
    pub fn transport(&self, role: Role) -> anyhow::Result<Transport> {
        let Some(dir) = &self.tls else {
            let plain = Transport::peer(self.listen.clone(), self.connect.clone());
            return Ok(Transport { zenoh_config: self.zenoh_config.clone(), ..plain });
        };
        anyhow::ensure!(
            self.listen.is_empty() && !self.connect.is_empty(),
            "a secured node listens on nothing and connects to a secured router: start `diffplan router --tls {0} \
             --listen quic/<host>:7447` and give this node `--connect quic/<host>:7447`",
            dir.display()
        );
        let secured = Transport::secured_client(dir, role, self.connect.clone())?;
        Ok(Transport { zenoh_config: self.zenoh_config.clone(), ..secured })
    }

    /// The namespace, checked.
    pub fn namespace(&self) -> anyhow::Result<Namespace> {
        Ok(Namespace::new(&self.namespace)?)
    }
}
