//! D4RL's normalized score: 100 · (return − random) / (expert − random), with the reference
//! returns D4RL publishes for each task (`d4rl/infos.py`, `d4rl/pointmaze/__init__.py`).

/// The reference returns of one task.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReferenceReturns {
    /// Return of D4RL's random policy (ref_min_score).
    pub random: f64,
    /// Return of D4RL's "expert" (ref_max_score).
    pub expert: f64,
}

impl ReferenceReturns {
    /// The normalized score ×100 of an episode return.
    #[must_use]
    pub fn normalized(&self, episode_return: f64) -> f64 {
        100.0 * (episode_return - self.random) / (self.expert - self.random)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_returns_map_to_0_and_100() {
        // Reference: D4RL offline_env.get_normalized_score, (R − min)/(max − min), ×100.
        let umaze = ReferenceReturns { random: 23.85, expert: 161.86 };
        assert!(umaze.normalized(23.85).abs() < 1e-12);
        assert!((umaze.normalized(161.86) - 100.0).abs() < 1e-12);
        assert!((umaze.normalized(180.0) - 113.143_975_073).abs() < 1e-6);
    }
}
