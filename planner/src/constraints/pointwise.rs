//! Constraints on one row at a time with an exact closed-form projection: boxes (a clamp) and
//! half-spaces (`p ← p − max(0, n·p − o)/|n|² n`).

use super::config::{BoxConfig, HalfSpaceConfig, merged_bounds};

/// The intersection of every box on one part of a row (observations or actions), per dim.
#[derive(Debug, Clone)]
pub(crate) struct Bounds {
    /// Dims with a bound.
    pub(crate) dims: Vec<usize>,
    /// Lower bound per dim of the part (−∞ where none).
    pub(crate) lower: Vec<f64>,
    /// Upper bound per dim of the part (+∞ where none).
    pub(crate) upper: Vec<f64>,
}

impl Bounds {
    /// The intersection of `boxes` (validated: nonempty on every dim) on a part `width` wide.
    pub(crate) fn new(boxes: &[BoxConfig], width: usize) -> Self {
        let (lower, upper) = merged_bounds(boxes, width);
        let dims = (0..width).filter(|&d| lower[d].is_finite() || upper[d].is_finite()).collect();
        Self { dims, lower, upper }
    }

    /// Clamps `values` into the bounds, the exact Euclidean projection. Returns whether any
    /// value moved.
    pub(crate) fn clamp(&self, values: &mut [f64]) -> bool {
        let mut moved = false;
        for &d in &self.dims {
            if values[d] < self.lower[d] || values[d] > self.upper[d] {
                values[d] = values[d].clamp(self.lower[d], self.upper[d]);
                moved = true;
            }
        }
        moved
    }

    /// Largest distance of a value outside its bounds (0 inside).
    pub(crate) fn violation(&self, values: &[f64]) -> f64 {
        self.dims.iter().fold(0.0, |worst, &d| worst.max(self.lower[d] - values[d]).max(values[d] - self.upper[d]))
    }
}

/// Largest distance of `values[dims]` outside one box (0 inside).
pub(crate) fn box_violation(b: &BoxConfig, values: &[f64]) -> f64 {
    b.dims.iter().enumerate().fold(0.0, |worst, (i, &d)| worst.max(b.lower[i] - values[d]).max(values[d] - b.upper[i]))
}

/// `n̂ · obs[dims] ≤ ô` with the normal scaled to unit length, so that `n̂·p − ô` is the signed
/// distance to the boundary in observation units.
#[derive(Debug, Clone)]
pub(crate) struct HalfSpace {
    /// Indices into the observations.
    pub(crate) dims: Vec<usize>,
    /// Unit normal.
    pub(crate) normal: Vec<f64>,
    /// Offset divided by the normal's length.
    pub(crate) offset: f64,
}

impl HalfSpace {
    /// From a validated config (nonzero normal).
    pub(crate) fn new(config: &HalfSpaceConfig) -> Self {
        let length = config.normal.iter().map(|n| n * n).sum::<f64>().sqrt();
        Self {
            dims: config.dims.clone(),
            normal: config.normal.iter().map(|n| n / length).collect(),
            offset: config.offset / length,
        }
    }

    /// Signed distance `n̂·p − ô` of the observations to the boundary (> 0 outside).
    pub(crate) fn signed_distance(&self, obs: &[f64]) -> f64 {
        self.dims.iter().zip(&self.normal).map(|(&d, n)| n * obs[d]).sum::<f64>() - self.offset
    }

    /// Moves the observations onto the boundary if they are outside: `p ← p − max(0, n̂·p − ô) n̂`,
    /// the exact Euclidean projection. Returns whether they moved.
    pub(crate) fn project(&self, obs: &mut [f64]) -> bool {
        let excess = self.signed_distance(obs);
        if excess <= 0.0 {
            return false;
        }
        for (&d, n) in self.dims.iter().zip(&self.normal) {
            obs[d] -= excess * n;
        }
        true
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // The expected values are exact by construction.
mod tests {
    use super::*;

    // Reference: Euclidean projection onto a half-space (Boyd & Vandenberghe §8.1.1).
    #[test]
    fn half_space_projection_lands_on_the_plane_along_the_normal() {
        let hs = HalfSpace::new(&HalfSpaceConfig { dims: vec![0, 2], normal: vec![3.0, 4.0], offset: 5.0 });
        let mut obs = [4.0, 7.0, 2.0];
        assert!(hs.project(&mut obs));
        // 3·4 + 4·2 − 5 = 15 over |n| = 5: 3 units along (0.6, 0.8).
        assert!((obs[0] - 2.2).abs() < 1e-12 && (obs[2] - (2.0 - 2.4)).abs() < 1e-12);
        assert_eq!(obs[1], 7.0);
        assert!(hs.signed_distance(&obs).abs() < 1e-12);
        assert!(!hs.project(&mut [0.0, 0.0, 0.0]));
    }

    #[test]
    fn merged_bounds_clamp_to_the_intersection() {
        let boxes = [
            BoxConfig { dims: vec![1], lower: vec![0.0], upper: vec![5.0] },
            BoxConfig { dims: vec![1], lower: vec![3.0], upper: vec![8.0] },
        ];
        let bounds = Bounds::new(&boxes, 2);
        assert_eq!(bounds.dims, vec![1]);
        let mut values = [100.0, -1.0];
        assert!(bounds.clamp(&mut values));
        assert_eq!(values, [100.0, 3.0]);
        assert_eq!(bounds.violation(&[0.0, 9.0]), 4.0);
        assert_eq!(box_violation(&boxes[1], &[0.0, 9.0]), 1.0);
    }
}
