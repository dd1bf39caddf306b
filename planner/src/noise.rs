//! The noise tape: every random number of a plan, drawn up front from one seed.
//!
//! The stream is ChaCha8 seeded with the plan's seed, turned into standard normals by
//! Box–Muller in f64 and rounded to f32, in a fixed order: the initial trajectory x_T first,
//! then the noise of each step that adds noise, in step order. It is drawn on the host and
//! copied to the model's device once, so a seed names the same numbers on every device, thread
//! count and platform; any step can be re-run with its own noise (Picard).

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use tch::{Device, Tensor};

use crate::sampler::Sampler;

/// The initial trajectory and the per-step noise of one plan, on the model's device.
#[derive(Debug)]
pub struct NoiseTape {
    initial: Tensor,
    steps: Vec<Option<Tensor>>,
}

impl NoiseTape {
    /// Draws the tape for `sampler` and trajectories of `shape` `[B, H, A + O]` from `seed`.
    #[must_use]
    pub fn draw(seed: u64, shape: [i64; 3], sampler: &Sampler, device: Device) -> Self {
        let noisy: Vec<usize> = (0..sampler.steps()).filter(|&k| sampler.needs_noise(k)).collect();
        let per_draw = shape.iter().product::<i64>();
        let draws = 1 + noisy.len() as i64;
        let values = standard_normals(&mut ChaCha8Rng::seed_from_u64(seed), (draws * per_draw) as usize);
        let all = Tensor::from_slice(&values).to_device(device).view([draws, shape[0], shape[1], shape[2]]);
        let mut steps: Vec<Option<Tensor>> = (0..sampler.steps()).map(|_| None).collect();
        for (slot, &k) in noisy.iter().enumerate() {
            steps[k] = Some(all.get(1 + slot as i64));
        }
        Self { initial: all.get(0), steps }
    }

    /// x_T, the trajectory the first step starts from.
    pub fn initial(&self) -> &Tensor {
        &self.initial
    }

    /// The noise z_k of step `k`, if that step adds noise.
    #[must_use]
    pub fn step(&self, k: usize) -> Option<&Tensor> {
        self.steps.get(k).and_then(Option::as_ref)
    }
}

/// `count` standard normal numbers by the Box–Muller transform.
pub(crate) fn standard_normals(rng: &mut ChaCha8Rng, count: usize) -> Vec<f32> {
    // 53 random bits → a uniform f64; adding 1 before scaling keeps u1 in (0, 1] for the log.
    let mut uniform = |offset: u64| ((rng.next_u64() >> 11) + offset) as f64 / (1u64 << 53) as f64;
    let mut values = Vec::with_capacity(count + 1);
    while values.len() < count {
        let radius = (-2.0 * uniform(1).ln()).sqrt();
        let (sin, cos) = (std::f64::consts::TAU * uniform(0)).sin_cos();
        values.extend([(radius * cos) as f32, (radius * sin) as f32]);
    }
    values.truncate(count);
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normals_have_the_moments_of_a_standard_normal() {
        // Reference: N(0, 1) has mean 0, variance 1, fourth moment 3; with n = 200 000 the
        // standard errors are ≈ 0.0022, 0.0032 and 0.017.
        let values = standard_normals(&mut ChaCha8Rng::seed_from_u64(7), 200_000);
        let n = values.len() as f64;
        let moment = |p: i32| values.iter().map(|&v| f64::from(v).powi(p)).sum::<f64>() / n;
        assert!(moment(1).abs() < 0.01, "mean {}", moment(1));
        assert!((moment(2) - 1.0).abs() < 0.015, "variance {}", moment(2));
        assert!((moment(4) - 3.0).abs() < 0.08, "fourth moment {}", moment(4));
        let beyond_three = values.iter().filter(|v| v.abs() > 3.0).count() as f64 / n;
        assert!((beyond_three - 0.0027).abs() < 0.0006, "P(|z| > 3) = {beyond_three}");
    }

    #[test]
    fn the_same_seed_gives_the_same_numbers_and_another_seed_does_not() {
        let draw = |seed| standard_normals(&mut ChaCha8Rng::seed_from_u64(seed), 1001);
        assert_eq!(draw(3), draw(3));
        assert_ne!(draw(3), draw(4));
        assert_eq!(draw(3).len(), 1001);
    }
}
