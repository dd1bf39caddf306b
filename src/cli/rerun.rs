//! The `--rerun` flag: where a command's recording goes.

use crate::telemetry::{Sink, parse_sink};

/// Where the recording goes; each command states its default in its own help.
#[derive(Debug, Clone, clap::Args)]
pub struct RerunArgs {
    /// Rerun recording: `save [PATH]` (an .rrd file; without PATH under runs/recordings/),
    /// `spawn` (a viewer), `connect [URL]` (a running viewer) or `off`.
    #[arg(long = "rerun", num_args = 1..=2, value_names = ["SINK", "TARGET"])]
    pub rerun: Vec<String>,
}

impl RerunArgs {
    /// The sink asked for, or `default` (`save` or `off`) without the flag; a saved file
    /// without a path is named after `command`.
    pub fn sink(&self, command: &str, default: &str) -> anyhow::Result<Sink> {
        if self.rerun.is_empty() {
            parse_sink(&[default.to_owned()], command)
        } else {
            parse_sink(&self.rerun, command)
        }
    }
}
