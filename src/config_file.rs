//! Reading the TOML files the commands take (`--config`, `--request`).

use std::path::Path;

use anyhow::Context;
use serde::de::DeserializeOwned;

/// Reads `path` as a `what` (e.g. "training config"); errors name the file and what it should be.
pub fn read_toml<T: DeserializeOwned>(path: &Path, what: &str) -> anyhow::Result<T> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse_toml(path, &text, what)
}

/// Parses `text`, the contents of `path`, as a `what`.
pub fn parse_toml<T: DeserializeOwned>(path: &Path, text: &str, what: &str) -> anyhow::Result<T> {
    toml::from_str(text).with_context(|| format!("{}: not a {what}", path.display()))
}
