//! Admission of plan queries to a worker's queue: a query that would wait there past its own
//! deadline is refused `busy` at once, so that its robot holds and asks again (or asks another
//! worker) now, instead of learning after the wait that it waited in vain. The expected wait is
//! the queries ahead times the recent time per plan.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

/// A worker's queue length and recent plan time, shared by the callbacks that queue and the
/// worker that plans.
#[derive(Debug, Default)]
pub struct Admission {
    queued: AtomicUsize,
    /// Recent time per plan, microseconds: an exponential average over about five plans.
    plan_us: AtomicU64,
}

impl Admission {
    /// A query entered the queue.
    pub fn entered(&self) {
        self.queued.fetch_add(1, Ordering::Relaxed);
    }

    /// A query left the queue (taken by the worker, or not queued after all).
    pub fn left(&self) {
        let _ = self.queued.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
    }

    /// The worker spent `took` on one query.
    pub fn planned(&self, took: Duration) {
        let took = took.as_micros().min(u128::from(u64::MAX)) as u64;
        let _ = self.plan_us.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |average| {
            Some(if average == 0 { took } else { (average * 4 + took) / 5 })
        });
    }

    /// How long a query queued now would wait before the worker takes it, milliseconds.
    #[must_use]
    pub fn expected_wait_ms(&self) -> f64 {
        self.queued.load(Ordering::Relaxed) as f64 * self.plan_us.load(Ordering::Relaxed) as f64 / 1e3
    }

    /// Why a query that must be answered within `deadline_ms` is not queued, if it is not.
    #[must_use]
    pub fn refusal(&self, deadline_ms: Option<u64>) -> Option<String> {
        let deadline = deadline_ms?;
        let wait = self.expected_wait_ms();
        (wait > deadline as f64).then(|| {
            format!(
                "the worker's queue ({} waiting, about {wait:.0} ms) would keep this request past its {deadline} ms \
                 deadline; hold and ask again, or ask another worker",
                self.queued.load(Ordering::Relaxed)
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_is_refused_when_the_queries_ahead_would_outlast_its_deadline() {
        let admission = Admission::default();
        // Nothing measured yet: everything is admitted.
        admission.entered();
        assert_eq!(admission.refusal(Some(0)), None);
        admission.planned(Duration::from_millis(100));
        for _ in 0..4 {
            admission.entered();
        }
        // 5 ahead × 100 ms = 500 ms.
        assert!((admission.expected_wait_ms() - 500.0).abs() < 1e-9);
        assert_eq!(admission.refusal(Some(500)), None);
        let why = admission.refusal(Some(499)).expect("refused");
        assert!(why.contains("5 waiting") && why.contains("499 ms deadline"), "{why}");
        assert_eq!(admission.refusal(None), None, "no deadline, no refusal");
        // The average follows the plan time: (4 × 100 + 600) / 5 = 200 ms per plan.
        admission.planned(Duration::from_millis(600));
        assert!((admission.expected_wait_ms() - 1000.0).abs() < 1e-9);
        for _ in 0..6 {
            admission.left();
        }
        assert!(admission.expected_wait_ms().abs() < 1e-9, "never below an empty queue");
    }
}
