//! Rerun telemetry: the application logs what the libraries expose (scenes, plans, denoising
//! steps, states, timings) so that every plan can be explained from its recording. The entity
//! hierarchy and timelines are documented in docs/TELEMETRY.md.

mod denoise_observer;
mod recorder;
mod sink;

use std::path::PathBuf;

pub use denoise_observer::DenoiseObserver;
pub use recorder::Recorder;
pub use sink::{Sink, parse_sink};

/// Says where a finished recording went.
pub fn report(written: Option<(PathBuf, u64)>) {
    if let Some((path, bytes)) = written {
        tracing::info!("recording: {} ({:.1} MB)", path.display(), bytes as f64 / 1e6);
    }
}
