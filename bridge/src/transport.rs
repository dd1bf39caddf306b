//! Opening a Zenoh session from a launch file's or the command line's transport settings.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use zenoh::Wait;

use crate::security::{Role, TlsIdentity, access_control};
use crate::{BridgeError, Namespace};

/// How long a silent link lives, milliseconds (Zenoh's link lease; keep-alives go every
/// quarter of it).
const LEASE_MS: u64 = 3_000;

/// How a node retries the endpoints it connects to: first after 250 ms, doubling up to 1 s.
const RECONNECT: &str = "{period_init_ms: 250, period_max_ms: 1000, period_increase_factor: 2}";

/// How a node joins the Zenoh network.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transport {
    /// Zenoh mode.
    #[serde(default)]
    pub mode: TransportMode,
    /// Endpoints to listen on, e.g. `tcp/127.0.0.1:7447`.
    #[serde(default)]
    pub listen: Vec<String>,
    /// Endpoints to connect to.
    #[serde(default)]
    pub connect: Vec<String>,
    /// A Zenoh JSON5 config file used as the base, passed through unchanged; `mode`, `listen` and
    /// `connect` above override its values when given. Without a file, multicast scouting is off
    /// (nodes find each other only through the endpoints), links are leased for 3 s and
    /// lost connections are retried every second at most.
    #[serde(default)]
    pub zenoh_config: Option<PathBuf>,
    /// TLS 1.3 with mutual authentication (over QUIC) as this identity; every endpoint is then
    /// `quic/…`.
    #[serde(skip)]
    pub tls: Option<TlsIdentity>,
    /// The access-control rules a router enforces ([`crate::security::access_control`]).
    #[serde(skip)]
    pub access_control: Option<serde_json::Value>,
}

/// Zenoh's session modes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransportMode {
    /// Talks to peers directly and through routers; tolerates starting before them.
    #[default]
    Peer,
    /// Talks only through the one router or peer it connects to; fails if none is reachable.
    Client,
    /// Routes between the peers and clients connected to it (the scale-out hub).
    Router,
}

impl TransportMode {
    fn name(self) -> &'static str {
        match self {
            Self::Peer => "peer",
            Self::Client => "client",
            Self::Router => "router",
        }
    }
}

impl Transport {
    /// A peer that listens on `listen` and connects to `connect` (either may be empty).
    #[must_use]
    pub fn peer(listen: Vec<String>, connect: Vec<String>) -> Self {
        Self { mode: TransportMode::Peer, listen, connect, zenoh_config: None, tls: None, access_control: None }
    }

    /// A router listening on `listen`.
    #[must_use]
    pub fn router(listen: Vec<String>) -> Self {
        Self { mode: TransportMode::Router, ..Self::peer(listen, Vec::new()) }
    }

    /// A secured router listening on `listen` (`quic/…`): the router's identity of the lab folder
    /// `lab`, enforcing the roles' access control on `namespace` ([`crate::security`]).
    pub fn secured_router(lab: &Path, namespace: &Namespace, listen: Vec<String>) -> Result<Self, BridgeError> {
        Ok(Self {
            tls: Some(TlsIdentity::from_lab(lab, Role::Router)?),
            access_control: Some(access_control(namespace)),
            ..Self::router(listen)
        })
    }

    /// A client of the secured router at `connect` (`quic/…`), proving `role` with its identity
    /// in the lab folder `lab`.
    pub fn secured_client(lab: &Path, role: Role, connect: Vec<String>) -> Result<Self, BridgeError> {
        Ok(Self {
            mode: TransportMode::Client,
            tls: Some(TlsIdentity::from_lab(lab, role)?),
            ..Self::peer(Vec::new(), connect)
        })
    }

    /// The Zenoh configuration these settings describe.
    pub fn config(&self) -> Result<zenoh::Config, BridgeError> {
        let mut config = if let Some(path) = &self.zenoh_config {
            zenoh::Config::from_file(path)
                .map_err(|e| BridgeError::Config(format!("zenoh config {}: {e}", path.display())))?
        } else {
            let mut config = zenoh::Config::default();
            insert(&mut config, "scouting/multicast/enabled", "false")?;
            // A node finds its router again within a second of the router's return (Zenoh's
            // default backs off to 4 s), and notices within 3 s (default 10 s) a router that died
            // without closing its links, as a killed QUIC endpoint or a powered-off machine does.
            insert(&mut config, "connect/retry", RECONNECT)?;
            insert(&mut config, "transport/link/tx/lease", &LEASE_MS.to_string())?;
            config
        };
        if self.zenoh_config.is_none() || self.mode != TransportMode::Peer {
            insert(&mut config, "mode", &format!("{:?}", self.mode.name()))?;
        }
        for (key, endpoints) in [("listen/endpoints", &self.listen), ("connect/endpoints", &self.connect)] {
            if !endpoints.is_empty() {
                let json = serde_json::to_string(endpoints).map_err(|e| BridgeError::Config(e.to_string()))?;
                insert(&mut config, key, &json)?;
            }
        }
        if let Some(tls) = &self.tls {
            // QUIC, not Zenoh's `tls/` link: that link reads and writes one rustls stream from two
            // threads at once (eclipse-zenoh/zenoh#2557) and crashed a secured launch here.
            if let Some(plain) = self.listen.iter().chain(&self.connect).find(|e| !e.starts_with("quic/")) {
                return Err(BridgeError::Config(format!(
                    "endpoint {plain} is not secured: a secured node listens and connects on quic/<host>:<port> only"
                )));
            }
            let path = |p: &PathBuf| serde_json::to_string(&p.display().to_string()).unwrap_or_default();
            insert(&mut config, "transport/link/protocols", "[\"quic\"]")?;
            insert(&mut config, "transport/link/tls/enable_mtls", "true")?;
            insert(&mut config, "transport/link/tls/root_ca_certificate", &path(&tls.ca))?;
            for side in ["listen", "connect"] {
                insert(&mut config, &format!("transport/link/tls/{side}_certificate"), &path(&tls.certificate))?;
                insert(&mut config, &format!("transport/link/tls/{side}_private_key"), &path(&tls.key))?;
            }
        }
        if let Some(rules) = &self.access_control {
            insert(&mut config, "access_control", &rules.to_string())?;
        }
        Ok(config)
    }

    /// Warns when this node listens beyond loopback without TLS: then anyone who reaches the
    /// endpoint can send plans and commands.
    fn warn_if_exposed(&self) {
        if self.tls.is_some() {
            return;
        }
        let loopback = |host: &str| host.starts_with("127.") || host == "localhost" || host == "[::1]";
        for endpoint in &self.listen {
            let host = endpoint.split_once('/').map_or("", |(_, rest)| rest);
            let host = host.rsplit_once(':').map_or(host, |(host, _)| host);
            if !loopback(host) {
                tracing::warn!(
                    "listening on {endpoint} without TLS: anyone who reaches it can send plans and commands \
                     (secure the network with --tls, docs/SECURITY.md)"
                );
            }
        }
    }

    /// Opens a session.
    pub fn open(&self) -> Result<zenoh::Session, BridgeError> {
        self.warn_if_exposed();
        zenoh::open(self.config()?).wait().map_err(|e| {
            BridgeError::Zenoh(format!(
                "cannot open a {} session (listen {:?}, connect {:?}): {e}",
                self.mode.name(),
                self.listen,
                self.connect
            ))
        })
    }
}

fn insert(config: &mut zenoh::Config, key: &str, json5: &str) -> Result<(), BridgeError> {
    config.insert_json5(key, json5).map_err(|e| BridgeError::Config(format!("zenoh config {key} = {json5}: {e}")))
}
