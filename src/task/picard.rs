//! Picard's window as users give it, in a task config or on the command line
//! ([`crate::cli::PicardArgs`]): a number of states per batched model call, or `auto`, which
//! measures the device once per model and request shape (cached on disk) and picks a window or
//! sequential sampling.

use std::path::PathBuf;
use std::str::FromStr;

use anyhow::Context;
use planner::driver::picard::PicardConfig;
use planner::driver::picard_auto::{AutoCache, AutoChoice, calibrate, candidate_windows};
use planner::{PlanRequest, Planner};
use serde::{Deserialize, Serialize};

/// A window size, or `auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "WindowText", into = "WindowText")]
pub enum PicardWindow {
    /// Measure and choose ([`planner::driver::picard_auto`]).
    Auto,
    /// This many states per batched model call.
    Fixed(usize),
}

/// `window = 8` or `window = "auto"` in TOML.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum WindowText {
    Number(usize),
    Word(String),
}

impl TryFrom<WindowText> for PicardWindow {
    type Error = String;

    fn try_from(text: WindowText) -> Result<Self, String> {
        match text {
            WindowText::Number(window) => Ok(Self::Fixed(window)),
            WindowText::Word(word) => word.parse(),
        }
    }
}

impl From<PicardWindow> for WindowText {
    fn from(window: PicardWindow) -> Self {
        match window {
            PicardWindow::Auto => Self::Word("auto".into()),
            PicardWindow::Fixed(window) => Self::Number(window),
        }
    }
}

impl FromStr for PicardWindow {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        if text == "auto" {
            return Ok(Self::Auto);
        }
        text.parse().map(Self::Fixed).map_err(|_| format!("{text:?} is not a Picard window size or `auto`"))
    }
}

impl std::fmt::Display for PicardWindow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Auto => f.write_str("auto"),
            Self::Fixed(window) => write!(f, "{window}"),
        }
    }
}

/// `[planner.picard]` of a task: [`PicardConfig`] whose window may be `auto`.
pub type TaskPicard = PicardConfig<PicardWindow>;

/// The Picard settings of `settings` for `request` on `planner` (`None`: sample sequentially),
/// and the calibration behind them when the window is `auto`.
pub fn resolve(
    settings: &TaskPicard,
    planner: &Planner,
    request: &PlanRequest,
) -> anyhow::Result<(Option<PicardConfig>, Option<AutoChoice>)> {
    match settings.window {
        PicardWindow::Fixed(window) => Ok((Some(settings.with_window(window)), None)),
        PicardWindow::Auto => {
            let choice = auto_choice(planner, request, settings.tolerance)?;
            Ok((choice.window.map(|window| settings.with_window(window)), Some(choice)))
        }
    }
}

/// The cached calibration of `request`'s shape on `planner`, measured now if there is none.
fn auto_choice(planner: &Planner, request: &PlanRequest, tolerance: f64) -> anyhow::Result<AutoChoice> {
    let cache_dir = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .context("neither XDG_CACHE_HOME nor HOME is set, so there is nowhere to cache the calibration")?;
    let mut cache = AutoCache::open(&cache_dir.join("diffplan/picard-auto-v2.json"))?;
    let key = AutoCache::key(planner, request);
    if let Some(choice) = cache.get(&key) {
        return Ok(choice.clone());
    }
    let steps = request.sampler.steps_for(planner.spec().diffusion_steps);
    eprintln!("calibrating Picard for {key} (once; cached)");
    let choice = calibrate(planner, request, &candidate_windows(steps), tolerance, 3)?;
    cache.insert(key, choice.clone())?;
    Ok(choice)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Holder {
        picard: TaskPicard,
    }

    #[test]
    fn a_window_is_a_number_or_auto_and_nothing_else() {
        let read = |text: &str| toml::from_str::<Holder>(text).map(|h| h.picard);
        assert_eq!(read("[picard]\nwindow = 8").expect("number").window, PicardWindow::Fixed(8));
        let auto = read("[picard]\nwindow = \"auto\"\ntolerance = 0.01").expect("auto");
        assert_eq!((auto.window, auto.tolerance), (PicardWindow::Auto, 0.01));
        let error = read("[picard]\nwindow = \"fast\"").expect_err("a word other than auto").to_string();
        assert!(error.contains("\"fast\" is not a Picard window size or `auto`"), "{error}");
        assert!(read("[picard]\nwindow = 8\nwindw = 2").is_err(), "unknown keys are refused");
        assert_eq!("auto".parse::<PicardWindow>(), Ok(PicardWindow::Auto));
        assert_eq!("16".parse::<PicardWindow>(), Ok(PicardWindow::Fixed(16)));
    }
}
