//! Derivative-free guidance: a reward on whole trajectories that need not be differentiable.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A score of one trajectory in the data's units; higher is better. It may run a simulator or
/// a collision check; it must be deterministic for the same trajectory (same seed ⇒ same plan).
pub trait Reward: Send {
    /// The reward of one trajectory.
    ///
    /// `states`: H rows of O values; `actions`: H rows of A values.
    fn reward(&self, states: &[Vec<f32>], actions: &[Vec<f32>]) -> f64;

    /// A short name for reports, e.g. `collision`.
    fn name(&self) -> String;
}

/// Soft value-based decoding (SVDD, Li et al. 2024): at every noisy step each of the B
/// trajectories draws `candidates` noises, the candidates' clean estimates are scored by the
/// reward (or the value model), and one is kept per trajectory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SoftDecodingConfig {
    /// Noise draws M per trajectory and step (M = 1 is plain sampling).
    pub candidates: usize,
    /// 0 keeps the best candidate; > 0 samples one with probability ∝ exp(reward / temperature).
    #[serde(default)]
    pub temperature: f64,
}

impl SoftDecodingConfig {
    /// Checks M ≥ 1 and a finite temperature ≥ 0.
    pub fn validate(&self) -> Result<()> {
        if self.candidates == 0 || !(self.temperature.is_finite() && self.temperature >= 0.0) {
            return Err(Error::Request {
                field: "soft_decoding".into(),
                message: format!(
                    "candidates {} must be ≥ 1 and temperature {} finite and ≥ 0",
                    self.candidates, self.temperature
                ),
            });
        }
        Ok(())
    }
}
