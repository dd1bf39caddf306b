//! Where a recording goes: `--rerun save [PATH]` (a `.rrd`; without PATH, under
//! `runs/recordings/`), `--rerun spawn` (a viewer started from PATH), `--rerun connect [URL]` (a
//! running viewer) or `--rerun off`. `crate::cli::RerunArgs` declares the flag; each command
//! picks its default.

use std::path::PathBuf;

use anyhow::{Context, bail};

/// A parsed `--rerun` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sink {
    /// Write an `.rrd` file.
    Save(PathBuf),
    /// Start a viewer and stream to it.
    Spawn,
    /// Stream to a viewer's gRPC proxy (`None`: Rerun's default URL).
    Connect(Option<String>),
    /// Record nothing.
    Off,
}

/// Parses the one or two values of `--rerun`; a `save` without a path names the file after
/// `command`, the time and the process.
pub fn parse_sink(values: &[String], command: &str) -> anyhow::Result<Sink> {
    let target = values.get(1).cloned();
    Ok(match (values.first().map_or("off", String::as_str), target) {
        ("save", Some(path)) => Sink::Save(PathBuf::from(path)),
        ("save", None) => {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).context("the clock")?;
            let name = format!("{command}-{}-{}.rrd", now.as_secs(), std::process::id());
            Sink::Save(PathBuf::from("runs/recordings").join(name))
        }
        ("spawn", None) => Sink::Spawn,
        ("connect", url) => Sink::Connect(url),
        ("off", None) => Sink::Off,
        (kind, target) => bail!(
            "--rerun {kind}{}: use `save [PATH]`, `spawn`, `connect [URL]` or `off`",
            target.map_or(String::new(), |t| format!(" {t}"))
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sink_form_parses_and_nonsense_is_refused() {
        let parse = |v: &[&str]| parse_sink(&v.iter().map(ToString::to_string).collect::<Vec<_>>(), "eval");
        assert_eq!(parse(&["save", "a.rrd"]).expect("save"), Sink::Save("a.rrd".into()));
        assert!(matches!(parse(&["save"]).expect("save"), Sink::Save(p) if p.starts_with("runs/recordings")));
        assert_eq!(parse(&["spawn"]).expect("spawn"), Sink::Spawn);
        assert_eq!(parse(&["connect"]).expect("connect"), Sink::Connect(None));
        assert_eq!(parse(&["off"]).expect("off"), Sink::Off);
        assert!(parse(&["spawn", "x"]).is_err());
        assert!(parse(&["record"]).is_err());
    }
}
