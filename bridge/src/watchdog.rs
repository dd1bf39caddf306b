//! The robot's plan watchdog: no fresh plan within the timeout ⇒ hold still and say so.
//!
//! Time is any monotone count: simulation steps in lockstep mode (deterministic), milliseconds of
//! the receiver's monotonic clock in real-time mode. Clocks of other machines are never used.

/// Whether the robot may execute its plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// A plan arrived within the timeout.
    Fresh,
    /// No plan yet, or the last one is older than the timeout.
    Stale,
}

/// Watches the time since the last accepted plan.
#[derive(Debug, Clone)]
pub struct Watchdog {
    timeout: u64,
    last_fresh: Option<u64>,
    health: Health,
}

impl Watchdog {
    /// A watchdog that turns stale `timeout` units after the last plan; stale until the first.
    #[must_use]
    pub fn new(timeout: u64) -> Self {
        Self { timeout, last_fresh: None, health: Health::Stale }
    }

    /// Records an accepted plan at time `now`.
    pub fn feed(&mut self, now: u64) {
        self.last_fresh = Some(now);
    }

    /// The health at `now`, and whether it changed since the previous check.
    pub fn check(&mut self, now: u64) -> (Health, bool) {
        let health = match self.last_fresh {
            Some(t) if now.saturating_sub(t) <= self.timeout => Health::Fresh,
            _ => Health::Stale,
        };
        let changed = health != self.health;
        self.health = health;
        (health, changed)
    }

    /// Units since the last plan (`None`: no plan yet).
    #[must_use]
    pub fn age(&self, now: u64) -> Option<u64> {
        self.last_fresh.map(|t| now.saturating_sub(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_until_fed_fresh_within_timeout_then_stale_again() {
        let mut dog = Watchdog::new(10);
        assert_eq!(dog.check(0), (Health::Stale, false));
        dog.feed(5);
        assert_eq!(dog.check(5), (Health::Fresh, true));
        assert_eq!(dog.check(15), (Health::Fresh, false), "exactly the timeout is still fresh");
        assert_eq!(dog.check(16), (Health::Stale, true));
        assert_eq!(dog.age(16), Some(11));
        dog.feed(20);
        assert_eq!(dog.check(20), (Health::Fresh, true));
    }
}
