//! A budget for log lines about what peers send: every refusal is worth a line, but a flood of
//! bad requests must not fill a disk. At most `lines` lines a window are written; the ones held
//! back are counted and the next line written says how many.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Lines a second the plan service writes about refusals and rejected payloads.
pub(crate) const REFUSAL_LINES_PER_SECOND: u32 = 10;

/// The budget: `lines` per `window`.
pub(crate) struct LogBudget {
    lines: u32,
    window: Duration,
    state: Mutex<Spent>,
}

/// What the current window has used.
#[derive(Default)]
struct Spent {
    started: Option<Instant>,
    written: u32,
    held_back: u64,
}

impl LogBudget {
    /// At most `lines` lines per `window`.
    pub(crate) fn new(lines: u32, window: Duration) -> Self {
        Self { lines, window, state: Mutex::default() }
    }

    /// Whether a line may be written at `now`: `Some(n)`, with `n` lines held back since the last
    /// one written, or `None` (the line is counted and held back).
    pub(crate) fn admit(&self, now: Instant) -> Option<u64> {
        let mut spent = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if spent.started.is_none_or(|start| now.duration_since(start) >= self.window) {
            spent.started = Some(now);
            spent.written = 0;
        }
        if spent.written >= self.lines {
            spent.held_back += 1;
            return None;
        }
        spent.written += 1;
        Some(std::mem::take(&mut spent.held_back))
    }
}

/// `" (N more not logged before this one)"`, or nothing when none were held back.
pub(crate) fn held_back_note(held_back: u64) -> String {
    if held_back == 0 { String::new() } else { format!(" ({held_back} more not logged before this one)") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_is_cut_to_the_budget_and_the_next_window_says_how_many_were_held_back() {
        let budget = LogBudget::new(3, Duration::from_secs(1));
        let start = Instant::now();
        let first: Vec<Option<u64>> = (0..100).map(|i| budget.admit(start + Duration::from_millis(i))).collect();
        assert_eq!(first.iter().filter(|a| a.is_some()).count(), 3);
        assert_eq!(&first[..4], &[Some(0), Some(0), Some(0), None]);
        assert_eq!(budget.admit(start + Duration::from_millis(1500)), Some(97));
        assert_eq!(budget.admit(start + Duration::from_millis(1501)), Some(0));
        assert_eq!(held_back_note(97), " (97 more not logged before this one)");
        assert_eq!(held_back_note(0), "");
    }
}
