//! The one obstacle barrier (SafeDiffuser §3.1, docs/ALGORITHMS.md §3): on the scaled offsets
//! `q_i = (p_i − c_i)/r_i` of a point `p` from the centre `c`, with half-widths `r`,
//!
//! - a superellipse of even exponent `n ≥ 2`: `b(p) = Σ_i |q_i|^n − 1`;
//! - an axis-aligned box: `b(p) = max_i |q_i| − 1`.
//!
//! `b` is 0 on the boundary, < 0 inside and > 0 outside. Everything that needs it uses this
//! file: the host projection ([`value`], [`gradient`]), a config's own check
//! ([`ObstacleConfig::barrier`]), guidance's differentiable cost ([`superellipse`], on
//! tensors) and the boundary drawn by telemetry ([`outline`]).

use tch::Tensor;

use super::config::{ObstacleConfig, ObstacleShape};
use crate::error::{Error, Result};

/// `b` from the scaled offsets `q`: `Σ q_i^n − 1` for a superellipse of exponent `n`,
/// `max |q_i| − 1` for a box (`power` is `None`).
pub(super) fn value(q: impl Iterator<Item = f64>, power: Option<i32>) -> f64 {
    match power {
        Some(n) => q.map(|q| q.powi(n)).sum::<f64>() - 1.0,
        None => q.map(f64::abs).fold(f64::NEG_INFINITY, f64::max) - 1.0,
    }
}

/// `∇b` with respect to `p` (units of b per unit of p) into `gradient`, from the scaled offset
/// `q(i)` of each of the `radii.len()` dims. For a box, the gradient of the face with the
/// largest `|q_i|` (the first on ties).
pub(super) fn gradient(q: impl Fn(usize) -> f64, radii: &[f64], power: Option<i32>, gradient: &mut [f64]) {
    let dims = radii.len();
    if let Some(n) = power {
        for (i, g) in gradient.iter_mut().enumerate().take(dims) {
            *g = f64::from(n) * q(i).powi(n - 1) / radii[i];
        }
    } else {
        let face = (0..dims).fold(0, |best, i| if q(i).abs() > q(best).abs() { i } else { best });
        gradient[..dims].fill(0.0);
        let sign = if q(face) >= 0.0 { 1.0 } else { -1.0 };
        gradient[face] = sign / radii[face];
    }
}

/// The superellipse barrier `Σ_i q_i^n − 1` of every row of `p`, differentiable (`n` even, so
/// `q^n = |q|^n`).
///
/// # Shapes
/// `p`: `[R, H, D]`, `center`, `radii`: `[D]` → `[R, H]`, `p`'s kind and device.
pub(crate) fn superellipse(p: &Tensor, center: &Tensor, radii: &Tensor, power: i64) -> Tensor {
    ((p - center) / radii).pow_tensor_scalar(power).sum_dim_intlist(&[2i64][..], false, p.kind()) - 1.0
}

impl ObstacleConfig {
    /// `b` at one observation: 0 on the boundary, < 0 inside (see the type's docs). Errors,
    /// naming the field, where `center` or `radii` do not have one value per dim or the
    /// observation lacks one of `dims`; a config that passed
    /// [`super::ConstraintConfig::validate`] for the observation's layout never does.
    pub fn barrier(&self, observation: &[f64]) -> Result<f64> {
        let which = self.name.as_ref().map_or(String::new(), |name| format!("obstacle {name:?}: "));
        let invalid = |field: &str, message: String| {
            Err(Error::Config { field: format!("constraints.obstacle.{field}"), message: format!("{which}{message}") })
        };
        for (name, values) in [("center", &self.center), ("radii", &self.radii)] {
            if values.len() != self.dims.len() {
                let message =
                    format!("{} values for {} dims; give one value per entry of dims", values.len(), self.dims.len());
                return invalid(name, message);
            }
        }
        if let Some(&d) = self.dims.iter().find(|&&d| d >= observation.len()) {
            let width = observation.len();
            return invalid(
                "dims",
                format!("observation index {d} is out of range: the observation has {width} values"),
            );
        }
        let q = self.dims.iter().zip(&self.center).zip(&self.radii).map(|((&d, c), r)| (observation[d] - c) / r);
        Ok(value(q, self.superellipse_exponent()))
    }
}

/// Points around an obstacle's boundary `b = 0` in its first two dims, for drawing, closed
/// (the last point is the first): a superellipse `|u|^n + |v|^n = 1` through
/// `(sign cos θ |cos θ|^(2/n), sign sin θ |sin θ|^(2/n))` at `points` angles evenly spaced
/// around the circle (`points + 1` points in all), a box by its four corners. An obstacle on
/// one dim is drawn with the second coordinate 0 and its one radius; an obstacle without dims
/// has no outline.
#[must_use]
pub fn outline(obstacle: &ObstacleConfig, points: usize) -> Vec<[f64; 2]> {
    let (Some(&u0), Some(&ru)) = (obstacle.center.first(), obstacle.radii.first()) else { return Vec::new() };
    let v0 = obstacle.center.get(1).copied().unwrap_or(0.0);
    let rv = obstacle.radii.get(1).copied().unwrap_or(ru);
    let unit: Vec<[f64; 2]> = match obstacle.shape {
        ObstacleShape::Box => vec![[1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0], [1.0, -1.0], [1.0, 1.0]],
        ObstacleShape::Superellipse => {
            let exponent = 2.0 / obstacle.power.unwrap_or(2.0);
            let points = points.max(1);
            let mut unit: Vec<[f64; 2]> = (0..points)
                .map(|k| {
                    let (sin, cos) = (k as f64 * std::f64::consts::TAU / points as f64).sin_cos();
                    [cos.signum() * cos.abs().powf(exponent), sin.signum() * sin.abs().powf(exponent)]
                })
                .collect();
            // θ = 2π again, exactly: sin 2π rounds to −2e-16, whose root would leave a gap.
            unit.push(unit[0]);
            unit
        }
    };
    unit.into_iter().map(|[u, v]| [u0 + ru * u, v0 + rv * v]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obstacle(toml: &str) -> ObstacleConfig {
        toml::from_str(toml).expect("obstacle")
    }

    #[test]
    fn outlines_lie_on_the_barrier_boundary() {
        // Reference: b(p) = Σ |(p_i − c_i)/r_i|^power − 1 = 0 on a superellipse's boundary.
        for power in [2.0, 4.0] {
            let ob = obstacle(&format!("dims = [0, 1]\ncenter = [1.5, 2.8]\nradii = [0.25, 0.5]\npower = {power}\n"));
            let points = outline(&ob, 64);
            assert_eq!(points.len(), 65);
            assert_eq!(points.first(), points.last(), "closed");
            for [x, y] in points {
                let b = ((x - 1.5) / 0.25).abs().powf(power) + ((y - 2.8) / 0.5).abs().powf(power) - 1.0;
                assert!(b.abs() < 1e-9, "power {power}: b({x}, {y}) = {b}");
            }
        }
        let square = obstacle("dims = [0, 1]\ncenter = [1.0, -1.0]\nradii = [0.5, 2.0]\nshape = \"box\"\n");
        let corners = outline(&square, 64);
        assert_eq!(corners, [[1.5, 1.0], [0.5, 1.0], [0.5, -3.0], [1.5, -3.0], [1.5, 1.0]]);
        for [x, y] in corners {
            assert!(square.barrier(&[x, y]).expect("in range").abs() < 1e-12);
        }
    }

    #[test]
    fn a_barrier_on_a_dimension_the_observation_lacks_is_refused_by_name() {
        let ob = obstacle("dims = [0, 7]\ncenter = [0.0, 0.0]\nradii = [1.0, 1.0]\n");
        let err = ob.barrier(&[0.0; 4]).expect_err("dim 7 of 4").to_string();
        assert!(err.contains("constraints.obstacle.dims") && err.contains("index 7"), "{err}");
        let short = obstacle("dims = [0, 1]\ncenter = [0.0]\nradii = [1.0, 1.0]\n");
        let err = short.barrier(&[0.0; 4]).expect_err("one centre for two dims").to_string();
        assert!(err.contains("center"), "{err}");
    }
}
