//! Per-dimension normalizers between a robot's units and the model's normalized space.
//!
//! Statistics cover one transition `[action, observation]` (actions first). Both normalizers
//! are affine per dimension, `normalized = scale · x + offset`, which is also what guidance
//! needs for the Jacobian of the inverse map.

use serde::{Deserialize, Serialize};
use tch::Tensor;

use crate::error::{Error, Result};

/// Spread (max − min or std) below which a dimension counts as constant.
const CONSTANT_SPREAD: f64 = 1e-8;

/// A per-dimension normalizer with its statistics, as stored in `manifest.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Normalizer {
    /// Diffuser's `LimitsNormalizer`: `[min, max]` ↦ `[−1, 1]`; the inverse clamps to `[−1, 1]`
    /// first, so a plan never leaves the range seen in the data.
    Limits {
        /// Per-dimension minimum, in the data's units.
        min: Vec<f64>,
        /// Per-dimension maximum, in the data's units.
        max: Vec<f64>,
    },
    /// Diffuser's `GaussianNormalizer`: `(x − mean) / std` (population std).
    Gaussian {
        /// Per-dimension mean, in the data's units.
        mean: Vec<f64>,
        /// Per-dimension standard deviation, in the data's units.
        std: Vec<f64>,
    },
}

impl Normalizer {
    /// Fits a limits normalizer to `data`, rows of `dim` values. A constant dimension `c` gets
    /// the range `[c − 1, c + 1]`, so it normalizes to 0 instead of dividing by zero.
    pub fn fit_limits(data: &[f32], dim: usize) -> Result<Self> {
        let columns = columns(data, dim)?;
        let (mut min, mut max) = (Vec::with_capacity(dim), Vec::with_capacity(dim));
        for column in columns {
            let lo = column.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = column.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let constant = hi - lo < CONSTANT_SPREAD;
            min.push(if constant { lo - 1.0 } else { lo });
            max.push(if constant { hi + 1.0 } else { hi });
        }
        Ok(Self::Limits { min, max })
    }

    /// Fits a Gaussian normalizer to `data`, rows of `dim` values. A constant dimension gets
    /// std 1, so it normalizes to 0.
    pub fn fit_gaussian(data: &[f32], dim: usize) -> Result<Self> {
        let columns = columns(data, dim)?;
        let (mut mean, mut std) = (Vec::with_capacity(dim), Vec::with_capacity(dim));
        for column in columns {
            let n = column.len() as f64;
            let m = column.iter().sum::<f64>() / n;
            let s = (column.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n).sqrt();
            mean.push(m);
            std.push(if s < CONSTANT_SPREAD { 1.0 } else { s });
        }
        Ok(Self::Gaussian { mean, std })
    }

    /// Number of dimensions the statistics cover.
    #[must_use]
    pub fn dim(&self) -> usize {
        match self {
            Self::Limits { min, .. } => min.len(),
            Self::Gaussian { mean, .. } => mean.len(),
        }
    }

    /// Checks that the statistics cover `expected_dim` dimensions and are usable.
    pub fn validate(&self, expected_dim: usize) -> Result<()> {
        let invalid = |message: String| Error::Config { field: "spec.normalizer".into(), message };
        let (a, b, names) = match self {
            Self::Limits { min, max } => (min, max, ("min", "max")),
            Self::Gaussian { mean, std } => (mean, std, ("mean", "std")),
        };
        for (values, name) in [(a, names.0), (b, names.1)] {
            if values.len() != expected_dim {
                return Err(invalid(format!(
                    "`{name}` has {} entries, the model's transition has {expected_dim} \
                     (action_dim + observation_dim)",
                    values.len()
                )));
            }
        }
        for (i, (&lo, &hi)) in a.iter().zip(b).enumerate() {
            let ok = match self {
                Self::Limits { .. } => lo.is_finite() && hi.is_finite() && hi - lo >= CONSTANT_SPREAD,
                Self::Gaussian { .. } => lo.is_finite() && hi.is_finite() && hi >= CONSTANT_SPREAD,
            };
            if !ok {
                return Err(invalid(format!(
                    "dimension {i}: {} = {lo}, {} = {hi} is not a usable range \
                     (finite, and spread > {CONSTANT_SPREAD}); refit the normalizer",
                    names.0, names.1
                )));
            }
        }
        Ok(())
    }

    /// Per-dimension `(scale, offset)` with `normalized = scale · x + offset`.
    fn affine(&self) -> (Vec<f64>, Vec<f64>) {
        match self {
            Self::Limits { min, max } => {
                min.iter().zip(max).map(|(lo, hi)| (2.0 / (hi - lo), -(hi + lo) / (hi - lo))).unzip()
            }
            Self::Gaussian { mean, std } => mean.iter().zip(std).map(|(m, s)| (1.0 / s, -m / s)).unzip(),
        }
    }

    /// Normalizes dimensions `first .. first + x.size(-1)` of a transition.
    ///
    /// # Shapes
    /// `x`: `[..., D]` in the data's units with `first + D <= self.dim()` → same shape.
    pub fn normalize(&self, x: &Tensor, first: usize) -> Tensor {
        let (scale, offset) = self.slice_affine(x, first);
        x * scale + offset
    }

    /// Inverse of [`Normalizer::normalize`] for the same dimensions; limits clamp to `[−1, 1]`
    /// first.
    ///
    /// # Shapes
    /// `y`: `[..., D]` normalized → same shape, in the data's units.
    pub fn unnormalize(&self, y: &Tensor, first: usize) -> Tensor {
        let (scale, offset) = self.slice_affine(y, first);
        let y = match self {
            Self::Limits { .. } => y.clamp(-1.0, 1.0),
            Self::Gaussian { .. } => y.shallow_clone(),
        };
        (y - offset) / scale
    }

    /// The affine inverse without the limits normalizer's clamp, differentiable everywhere:
    /// what guidance differentiates through, since noisy trajectories leave `[−1, 1]`.
    ///
    /// # Shapes
    /// `y`: `[..., D]` normalized → same shape, in the data's units.
    pub fn unnormalize_affine(&self, y: &Tensor, first: usize) -> Tensor {
        let (scale, offset) = self.slice_affine(y, first);
        (y - offset) / scale
    }

    fn slice_affine(&self, x: &Tensor, first: usize) -> (Tensor, Tensor) {
        let width = x.size().last().copied().unwrap_or(0) as usize;
        let (scale, offset) = self.affine();
        let to_tensor =
            |v: &[f64]| Tensor::from_slice(&v[first..first + width]).to_kind(x.kind()).to_device(x.device());
        (to_tensor(&scale), to_tensor(&offset))
    }
}

/// Splits row-major `data` into `dim` columns of f64, rejecting empty or ragged input and NaN.
fn columns(data: &[f32], dim: usize) -> Result<Vec<Vec<f64>>> {
    let invalid = |message: String| Error::Config { field: "normalizer data".into(), message };
    if dim == 0 || data.is_empty() || !data.len().is_multiple_of(dim) {
        return Err(invalid(format!("{} values do not form rows of {dim}", data.len())));
    }
    if let Some(i) = data.iter().position(|v| !v.is_finite()) {
        return Err(invalid(format!("row {}, dimension {} is {}", i / dim, i % dim, data[i])));
    }
    Ok((0..dim).map(|d| data.iter().skip(d).step_by(dim).map(|&v| f64::from(v)).collect()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Kind;

    fn values(t: &Tensor) -> Vec<f64> {
        Vec::<f64>::try_from(t.to_kind(Kind::Double).flatten(0, -1)).expect("1-D")
    }

    #[test]
    fn limits_map_min_and_max_to_minus_one_and_one() {
        // Reference: Diffuser's LimitsNormalizer, 2(x − min)/(max − min) − 1.
        let n = Normalizer::fit_limits(&[0.0, 10.0, 4.0, -2.0, 2.0, 3.0], 2).expect("fit");
        assert_eq!(n, Normalizer::Limits { min: vec![0.0, -2.0], max: vec![4.0, 10.0] });
        let x = Tensor::from_slice(&[0.0f32, -2.0, 4.0, 10.0, 2.0, 4.0]).view([3, 2]);
        let y = values(&n.normalize(&x, 0));
        for (got, want) in y.iter().zip([-1.0, -1.0, 1.0, 1.0, 0.0, 0.0]) {
            assert!((got - want).abs() < 1e-6, "{y:?}");
        }
    }

    #[test]
    fn round_trip_is_identity_inside_the_range() {
        let data: Vec<f32> = (0..60).map(|i| (i as f32 * 0.37).sin() * 3.0 + i as f32 * 0.1).collect();
        for n in [Normalizer::fit_limits(&data, 3), Normalizer::fit_gaussian(&data, 3)] {
            let n = n.expect("fit");
            n.validate(3).expect("valid");
            let x = Tensor::from_slice(&data).view([20, 3]);
            let back = values(&n.unnormalize(&n.normalize(&x, 0), 0));
            for (got, want) in back.iter().zip(&data) {
                assert!((got - f64::from(*want)).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn constant_dimension_normalizes_to_zero() {
        let data = [5.0f32, 1.0, 5.0, 2.0, 5.0, 3.0];
        for n in [Normalizer::fit_limits(&data, 2), Normalizer::fit_gaussian(&data, 2)] {
            let n = n.expect("fit");
            let y = values(&n.normalize(&Tensor::from_slice(&data).view([3, 2]), 0));
            assert!(y.iter().step_by(2).all(|v| v.abs() < 1e-7), "{y:?}");
            assert!(y.iter().all(|v| v.is_finite()));
        }
    }

    #[test]
    fn slice_uses_the_statistics_of_its_own_dimensions() {
        let n = Normalizer::Gaussian { mean: vec![0.0, 10.0, 20.0], std: vec![1.0, 2.0, 4.0] };
        let obs = Tensor::from_slice(&[12.0f32, 28.0]).view([1, 2]);
        assert_eq!(values(&n.normalize(&obs, 1)), vec![1.0, 2.0]);
    }

    #[test]
    fn limits_inverse_clamps_outside_the_data_range() {
        let n = Normalizer::Limits { min: vec![0.0], max: vec![2.0] };
        let y = Tensor::from_slice(&[3.0f32, -7.0]).view([2, 1]);
        assert_eq!(values(&n.unnormalize(&y, 0)), vec![2.0, 0.0]);
    }

    #[test]
    fn validate_names_the_problem() {
        let short = Normalizer::Limits { min: vec![0.0], max: vec![1.0] };
        assert!(short.validate(2).unwrap_err().to_string().contains("has 1 entries"));
        let flat = Normalizer::Gaussian { mean: vec![0.0], std: vec![0.0] };
        assert!(flat.validate(1).unwrap_err().to_string().contains("dimension 0"));
        assert!(Normalizer::fit_limits(&[1.0, f32::NAN], 2).is_err());
    }
}
