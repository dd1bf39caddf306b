//! Launch files (launch/*.toml): which nodes run, on which network. Each node's table is that
//! node's own settings type, so `diffplan launch` and the node's command read the same fields,
//! and a child process of a separate-process launch reads its own table from the same file.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

use super::planner::PlannerNodeConfig;
use super::robot::{Clocking, RobotNodeConfig};
use super::ros2::Ros2Settings;

/// A launch file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LaunchFile {
    /// Where the nodes run.
    #[serde(default)]
    pub processes: Processes,
    /// The network the nodes join.
    pub network: Network,
    /// The planner workers.
    pub planner: PlannerNodeConfig,
    /// The robot.
    pub robot: RobotNodeConfig,
    /// When present, the robot speaks ROS 2 only (JointState out, JointTrajectory in) and
    /// planner worker 0 drives it through its ROS 2 gateway.
    #[serde(default)]
    pub ros2: Option<Ros2Settings>,
}

/// Where a launch's nodes run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Processes {
    /// Threads of the launcher, each node with its own Zenoh session.
    #[default]
    Single,
    /// One child process per node.
    Separate,
}

/// The network of a launch.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// The hub's endpoint: `auto` (a free port on 127.0.0.1) or e.g. `tcp/127.0.0.1:7447`.
    #[serde(default = "auto")]
    pub endpoint: String,
    /// Key namespace.
    #[serde(default = "default_namespace")]
    pub namespace: String,
    /// A Zenoh JSON5 config passed through to every node (its endpoints are overridden).
    #[serde(default)]
    pub zenoh_config: Option<PathBuf>,
    /// Secure the launch with the lab certificates in this folder (scripts/lab-certs.sh): TLS
    /// with mutual authentication, every node a client of the hub proving its role, the hub
    /// enforcing what each role may send (docs/SECURITY.md).
    #[serde(default)]
    pub tls: Option<PathBuf>,
}

fn auto() -> String {
    "auto".into()
}

fn default_namespace() -> String {
    "diffplan".into()
}

impl LaunchFile {
    /// Reads and checks `path`; task configs named relative to the repository root (the launch
    /// folder's parent) resolve from there when they do not exist relative to the working folder.
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Self::parse(path, &text)
    }

    /// [`LaunchFile::read`] on `text`, the contents of `path`.
    pub fn parse(path: &Path, text: &str) -> anyhow::Result<Self> {
        let mut launch: Self = crate::config_file::parse_toml(path, text, "launch file")?;
        let base = path.parent().and_then(Path::parent).unwrap_or(Path::new("."));
        launch.robot.config = resolve(base, &launch.robot.config);
        launch.planner.config = resolve(base, &launch.planner.config);
        anyhow::ensure!(launch.planner.workers >= 1, "{}: planner.workers must be at least 1", path.display());
        if let Some(ros2) = &launch.ros2 {
            anyhow::ensure!(
                launch.robot.mode == Clocking::Realtime,
                "{}: a [ros2] launch needs robot.mode = \"realtime\" (a ROS 2 robot runs on the wall clock)",
                path.display()
            );
            launch.robot.ros2 = ros2.clone();
        }
        Ok(launch)
    }

    /// The settings of planner worker `k`: its id `<id>-<k>`, streaming when the robot runs on
    /// the wall clock.
    #[must_use]
    pub fn worker(&self, k: usize) -> PlannerNodeConfig {
        PlannerNodeConfig {
            id: format!("{}-{k}", self.planner.id),
            stream: self.robot.mode == Clocking::Realtime,
            ros2: self.ros2.clone().filter(|_| k == 0).unwrap_or_default(),
            ..self.planner.clone()
        }
    }
}

fn resolve(base: &Path, path: &Path) -> PathBuf {
    if path.is_relative() && !path.exists() { base.join(path) } else { path.to_owned() }
}

/// `tcp/127.0.0.1:<port>` with a port free at the time of asking.
pub fn free_loopback_endpoint() -> anyhow::Result<String> {
    use anyhow::Context;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free loopback port")?;
    Ok(format!("tcp/127.0.0.1:{}", listener.local_addr()?.port()))
}
