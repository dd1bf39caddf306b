//! Opening a Zenoh session from a launch file's or the command line's transport settings.

use std::path::PathBuf;

use serde::Deserialize;
use zenoh::Wait;

use crate::BridgeError;

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
    /// (nodes find each other only through the endpoints).
    #[serde(default)]
    pub zenoh_config: Option<PathBuf>,
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
        Self { mode: TransportMode::Peer, listen, connect, zenoh_config: None }
    }

    /// The Zenoh configuration these settings describe.
    pub fn config(&self) -> Result<zenoh::Config, BridgeError> {
        let mut config = if let Some(path) = &self.zenoh_config {
            zenoh::Config::from_file(path)
                .map_err(|e| BridgeError::Config(format!("zenoh config {}: {e}", path.display())))?
        } else {
            let mut config = zenoh::Config::default();
            insert(&mut config, "scouting/multicast/enabled", "false")?;
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
        Ok(config)
    }

    /// Opens a session.
    pub fn open(&self) -> Result<zenoh::Session, BridgeError> {
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
