//! The progress bar of long commands (`collect`, `train`, `eval`, a robot's episodes): drawn on
//! stderr when it is a terminal, hidden when stderr is a file or a pipe (logs, CI), as
//! indicatif's default target does.

use indicatif::{ProgressBar, ProgressStyle};

/// A bar over `total` items named `unit` (e.g. `episodes`), with rate, time left and a message.
#[must_use]
pub fn bar(total: u64, unit: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    let template = format!("{{bar:40}} {{pos}}/{{len}} {unit} {{per_sec}} {{eta}} {{msg}}");
    bar.set_style(ProgressStyle::with_template(&template).unwrap_or_else(|_| ProgressStyle::default_bar()));
    bar
}
