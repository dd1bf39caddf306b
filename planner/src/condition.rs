//! Conditioning by inpainting: known observations pinned at given indices of every trajectory
//! (Diffuser's `apply_conditioning`, docs/ALGORITHMS.md §1.4). The pin overwrites the observation
//! part of its index; the action there stays free. The samplers apply it after every step and
//! to the result.

use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

use crate::error::{Error, Result};
use crate::model::ModelSpec;

/// One known observation, in the data's units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pin {
    /// A row of the trajectory, `0..H` (0: the current state; H − 1: the goal). In a request's
    /// waypoints, an environment step ([`crate::PlanRequest::pins`] maps it to its row).
    pub index: usize,
    /// The observation at that index, `observation_dim` values.
    pub observation: Vec<f32>,
}

/// Pins normalized and placed on the model's device, ready to apply at every step.
#[derive(Debug)]
pub struct Inpainting {
    action_dim: i64,
    /// Runs of pins: first index, number of consecutive indices, the observation pinned at each
    /// (a goal held from the arrival on is one run, applied in one copy).
    runs: Vec<(i64, i64, Tensor)>,
}

impl Inpainting {
    /// Checks `pins` against `spec` and normalizes them once.
    ///
    /// Rejects an index outside the horizon, an observation of the wrong width or with NaN or
    /// infinity, and two different observations pinned at one index.
    pub fn new(spec: &ModelSpec, pins: &[Pin], device: Device) -> Result<Self> {
        let invalid = |message: String| Error::Request { field: "conditions".into(), message };
        let mut runs: Vec<(i64, i64, Tensor)> = Vec::with_capacity(pins.len());
        for (i, pin) in pins.iter().enumerate() {
            if pin.index >= spec.horizon {
                return Err(invalid(format!(
                    "an observation is pinned at index {}, the horizon is {} (indices 0..={})",
                    pin.index,
                    spec.horizon,
                    spec.horizon - 1
                )));
            }
            if pin.observation.len() != spec.observation_dim {
                return Err(invalid(format!(
                    "the observation pinned at index {} has {} values, the model's observations have {}",
                    pin.index,
                    pin.observation.len(),
                    spec.observation_dim
                )));
            }
            if let Some(d) = pin.observation.iter().position(|v| !v.is_finite()) {
                return Err(invalid(format!(
                    "the observation pinned at index {}, dimension {d}, is {}",
                    pin.index, pin.observation[d]
                )));
            }
            if pins[..i].iter().any(|p| p.index == pin.index && p.observation != pin.observation) {
                return Err(invalid(format!("two different observations are pinned at index {}", pin.index)));
            }
            let index = pin.index as i64;
            if i > 0
                && pins[i - 1].observation == pin.observation
                && let Some((start, length, _)) = runs.last_mut()
                && *start + *length == index
            {
                *length += 1;
                continue;
            }
            let raw = Tensor::from_slice(&pin.observation).to_kind(Kind::Float).to_device(device);
            runs.push((index, 1, spec.normalizer.normalize(&raw, spec.action_dim)));
        }
        Ok(Self { action_dim: spec.action_dim as i64, runs })
    }

    /// Overwrites the pinned observations in place.
    ///
    /// # Shapes
    /// `x`: `[B, H, A + O]`, normalized, on the device the pins were prepared for.
    pub fn apply(&self, x: &mut Tensor) {
        for (start, length, observation) in &self.runs {
            let width = observation.size()[0];
            x.narrow(1, *start, *length).narrow(2, self.action_dim, width).copy_(observation);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ModelOutput, Normalizer};
    use crate::schedule::ScheduleSpec;

    fn spec() -> ModelSpec {
        ModelSpec {
            horizon: 8,
            stride: 1,
            action_dim: 2,
            observation_dim: 3,
            output: ModelOutput::Sample,
            diffusion_steps: 20,
            schedule: ScheduleSpec::default(),
            normalizer: Normalizer::Gaussian {
                mean: vec![0.0, 0.0, 1.0, 2.0, 3.0],
                std: vec![1.0, 1.0, 2.0, 2.0, 2.0],
            },
        }
    }

    #[test]
    fn pins_overwrite_observations_only() {
        // Reference: Diffuser's apply_conditioning, x[:, t, action_dim:] = normalized state.
        let pins =
            [Pin { index: 0, observation: vec![1.0, 2.0, 3.0] }, Pin { index: 7, observation: vec![5.0, 6.0, 7.0] }];
        let inpainting = Inpainting::new(&spec(), &pins, Device::Cpu).expect("valid pins");
        let before = Tensor::randn([4, 8, 5], (Kind::Float, Device::Cpu));
        let mut x = before.copy();
        inpainting.apply(&mut x);
        let want_start = Tensor::from_slice(&[0.0f32, 0.0, 0.0]);
        let want_goal = Tensor::from_slice(&[2.0f32, 2.0, 2.0]);
        for b in 0..4 {
            assert!(x.get(b).get(0).narrow(0, 2, 3).equal(&want_start));
            assert!(x.get(b).get(7).narrow(0, 2, 3).equal(&want_goal));
        }
        // Actions at pinned indices and every other index are untouched.
        assert!(x.narrow(2, 0, 2).equal(&before.narrow(2, 0, 2)));
        assert!(x.narrow(1, 1, 6).equal(&before.narrow(1, 1, 6)));
    }

    #[test]
    fn a_held_goal_pins_every_index_from_its_arrival() {
        // Reference: the pins applied one index at a time (Diffuser's apply_conditioning).
        let goal = vec![5.0, 6.0, 7.0];
        let mut pins = vec![Pin { index: 0, observation: vec![1.0, 2.0, 3.0] }];
        pins.extend((4..8).map(|index| Pin { index, observation: goal.clone() }));
        let inpainting = Inpainting::new(&spec(), &pins, Device::Cpu).expect("valid pins");
        assert_eq!(inpainting.runs.len(), 2, "the held goal is one run");
        let before = Tensor::randn([3, 8, 5], (Kind::Float, Device::Cpu));
        let mut x = before.copy();
        inpainting.apply(&mut x);
        let want = before.copy();
        for pin in &pins {
            let normalized = spec().normalizer.normalize(&Tensor::from_slice(&pin.observation), 2);
            want.narrow(1, pin.index as i64, 1).narrow(2, 2, 3).copy_(&normalized);
        }
        assert!(x.equal(&want));
    }

    #[test]
    fn bad_pins_are_rejected_with_the_reason() {
        let check = |pins: &[Pin], needle: &str| {
            let err = Inpainting::new(&spec(), pins, Device::Cpu).expect_err("bad pin accepted").to_string();
            assert!(err.contains(needle), "{err}");
        };
        check(&[Pin { index: 8, observation: vec![0.0; 3] }], "horizon is 8");
        check(&[Pin { index: 0, observation: vec![0.0; 2] }], "has 2 values");
        check(&[Pin { index: 0, observation: vec![0.0, f32::NAN, 0.0] }], "dimension 1");
        check(&[Pin { index: 3, observation: vec![0.0; 3] }, Pin { index: 3, observation: vec![1.0; 3] }], "index 3");
    }
}
