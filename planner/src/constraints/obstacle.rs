//! Keep-out regions as barriers `b(p) ≥ margin` on some observation dims `p` (SafeDiffuser
//! §3.1, docs/ALGORITHMS.md): a superellipse `b(p) = Σ_i ((p_i − c_i)/r_i)^n − 1` with even
//! `n ≥ 2`, or a box `b(p) = max_i |p_i − c_i|/r_i − 1` (the formula itself is `barrier.rs`).
//! Both are convex, so the linearisation of `b` at any point is a lower bound of it, and every
//! point that satisfies the linearised constraint satisfies the true one.

use super::barrier;
use super::config::ObstacleConfig;

/// Newton iterations of the landing on the boundary (each from the feasible side).
const MAX_ITERATIONS: usize = 50;
/// `b(p) − margin` below which a landing point counts as on the boundary (units of b).
const BOUNDARY_TOLERANCE: f64 = 1e-13;

/// One obstacle, prepared.
#[derive(Debug, Clone)]
pub(crate) struct Obstacle {
    /// Its name in reports, `obstacle <name>`.
    pub(crate) name: String,
    /// Indices into the observations.
    pub(crate) dims: Vec<usize>,
    center: Vec<f64>,
    radii: Vec<f64>,
    /// Superellipse exponent; `None` for a box.
    power: Option<i32>,
}

/// Work buffers sized for the widest obstacle, reused across rows and obstacles.
#[derive(Debug)]
pub(crate) struct Scratch {
    point: Vec<f64>,
    direction: Vec<f64>,
    gradient: Vec<f64>,
}

impl Scratch {
    /// Buffers for obstacles of at most `dims` dims.
    pub(crate) fn new(dims: usize) -> Self {
        Self { point: vec![0.0; dims], direction: vec![0.0; dims], gradient: vec![0.0; dims] }
    }
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

impl Obstacle {
    /// Obstacle `i` from its validated config.
    pub(crate) fn new(config: &ObstacleConfig, i: usize) -> Self {
        Self {
            name: format!("obstacle {}", config.label(i)),
            dims: config.dims.clone(),
            center: config.center.clone(),
            radii: config.radii.clone(),
            power: config.superellipse_exponent(),
        }
    }

    /// `b` at the observations of one row (units of b: 0 on the boundary, < 0 inside).
    pub(crate) fn barrier(&self, obs: &[f64]) -> f64 {
        self.barrier_by(|i| obs[self.dims[i]])
    }

    /// `b` at a point given on the obstacle's own dims.
    pub(crate) fn barrier_at(&self, point: &[f64]) -> f64 {
        self.barrier_by(|i| point[i])
    }

    fn barrier_by(&self, value: impl Fn(usize) -> f64) -> f64 {
        barrier::value((0..self.dims.len()).map(|i| (value(i) - self.center[i]) / self.radii[i]), self.power)
    }

    /// `∇b` at a point given on the obstacle's own dims (units of b per observation unit). For
    /// a box, the gradient of the face with the largest `|p_i − c_i|/r_i` (the first on ties).
    pub(crate) fn gradient_at(&self, point: &[f64], gradient: &mut [f64]) {
        barrier::gradient(|i| (point[i] - self.center[i]) / self.radii[i], &self.radii, self.power, gradient);
    }

    fn scatter(&self, point: &[f64], obs: &mut [f64]) {
        for (&p, &d) in point.iter().zip(&self.dims) {
            obs[d] = p;
        }
    }

    /// RoS on one row: moves the observations out to `b = margin` if they are inside. Returns
    /// whether they moved.
    pub(crate) fn push_out(&self, obs: &mut [f64], margin: f64, scratch: &mut Scratch) -> bool {
        if self.barrier(obs) >= margin {
            return false;
        }
        let k = self.dims.len();
        let Scratch { point, direction, gradient } = scratch;
        for (p, &d) in point.iter_mut().zip(&self.dims) {
            *p = obs[d];
        }
        self.push_out_at(&mut point[..k], margin, &mut direction[..k], &mut gradient[..k]);
        self.scatter(&point[..k], obs);
        true
    }

    /// RoS with the point itself as reference, onto `b = margin`.
    ///
    /// The linearised constraint `∇b·u + b ≥ margin` (class-K gain 1) has the least-norm
    /// solution `u = (margin − b) ∇b/|∇b|²` (SafeDiffuser's closed form). From inside a convex
    /// barrier that step overshoots (from near the centre by ≈ 1/(2|p − c|) for a circle), so
    /// its direction is kept and the length is settled by Newton on `φ(s) = b(p + s·∇b/|∇b|)`:
    /// φ is convex and increasing along the ray, the first step lands where φ ≥ margin, and
    /// every Newton step from there stays on that side and converges onto `φ = margin`. For a
    /// circle or sphere the ray is radial and this is the exact Euclidean projection. At the
    /// exact centre (∇b = 0) the ray is the first dim. A box is left along the axis of least
    /// penetration, its exact Euclidean projection.
    pub(crate) fn push_out_at(&self, point: &mut [f64], margin: f64, direction: &mut [f64], gradient: &mut [f64]) {
        if self.power.is_none() {
            let (face, target) = self.nearest_face(point, margin);
            point[face] = target;
            return;
        }
        let b0 = self.barrier_at(point);
        self.gradient_at(point, gradient);
        let length = norm(gradient);
        let step = if length > 0.0 && length.is_finite() {
            for (d, g) in direction.iter_mut().zip(gradient.iter()) {
                *d = g / length;
            }
            (margin - b0) / length
        } else {
            direction.fill(0.0);
            direction[0] = 1.0;
            f64::INFINITY
        };
        self.land(point, direction, step, margin);
    }

    /// Moves a point inside the obstacle along the unit `direction` onto `b = margin`.
    pub(crate) fn land_along(&self, point: &mut [f64], direction: &[f64], margin: f64) {
        self.land(point, direction, f64::INFINITY, margin);
    }

    /// From `point` (inside) along the unit `direction` onto `b = margin`, starting from the
    /// distance `step` if shorter than the exit of the bounding box of `{b < margin}`. Both
    /// starts lie where `b ≥ margin`: the box's faces, half-widths `r_i (1 + margin)^(1/n)`
    /// (`r_i (1 + margin)` for a box obstacle, which is left there exactly), and for `step` the
    /// RoS step along ∇b, by convexity.
    fn land(&self, point: &mut [f64], direction: &[f64], step: f64, margin: f64) {
        let reach = self.power.map_or(1.0 + margin, |n| (1.0 + margin).powf(1.0 / f64::from(n)));
        let mut s = step;
        for (((&p, &d), &c), &r) in point.iter().zip(direction).zip(&self.center).zip(&self.radii) {
            if d != 0.0 {
                s = s.min((c + reach * r * d.signum() - p) / d);
            }
        }
        if let Some(n) = self.power {
            for _ in 0..MAX_ITERATIONS {
                let (phi, slope) = self.along_ray(point, direction, s, n, margin);
                if phi <= BOUNDARY_TOLERANCE || slope <= 0.0 {
                    break;
                }
                let next = s - phi / slope;
                if next >= s {
                    break;
                }
                s = next;
            }
        }
        for (p, d) in point.iter_mut().zip(direction) {
            *p += s * d;
        }
    }

    /// `φ(s) − margin` and `φ'(s)` at `point + s·direction` of a superellipse of exponent `n`.
    fn along_ray(&self, point: &[f64], direction: &[f64], s: f64, n: i32, margin: f64) -> (f64, f64) {
        let (mut phi, mut slope) = (-1.0 - margin, 0.0);
        for (((&p, &d), &c), &r) in point.iter().zip(direction).zip(&self.center).zip(&self.radii) {
            let q = (p + s * d - c) / r;
            phi += q.powi(n);
            slope += f64::from(n) * q.powi(n - 1) / r * d;
        }
        (phi, slope)
    }

    /// A box's face of least penetration and the coordinate that puts the point on it with `b =
    /// margin`.
    fn nearest_face(&self, point: &[f64], margin: f64) -> (usize, f64) {
        let mut best = (0, f64::INFINITY, 0.0);
        for (i, ((&p, &c), &r)) in point.iter().zip(&self.center).zip(&self.radii).enumerate() {
            let half_width = r * (1.0 + margin);
            let gap = half_width - (p - c).abs();
            if gap < best.1 {
                let sign = if p >= c { 1.0 } else { -1.0 };
                best = (i, gap, c + sign * half_width);
            }
        }
        (best.0, best.2)
    }

    /// `b ≥ margin` linearised for the QP as `a·y ≤ rhs` on the obstacle's dims, `a` unit
    /// length: `∇b(p̂)·(y − p̂) + b(p̂) ≥ margin` at the row's point `p̂`, or at its landing point
    /// on `b = margin` if the row is inside (the tangent there, not a nearly flat chord).
    /// `None` where the gradient vanishes.
    pub(crate) fn linearise<'s>(&self, obs: &[f64], margin: f64, scratch: &'s mut Scratch) -> Option<(&'s [f64], f64)> {
        let k = self.dims.len();
        let Scratch { point, direction, gradient } = scratch;
        let (point, direction, gradient) = (&mut point[..k], &mut direction[..k], &mut gradient[..k]);
        for (p, &d) in point.iter_mut().zip(&self.dims) {
            *p = obs[d];
        }
        if self.barrier_at(point) < margin {
            self.push_out_at(point, margin, direction, gradient);
        }
        self.tangent(point, margin, gradient)
    }

    /// The same for a row inside the obstacle that is to leave along `direction` (obstacle
    /// dims, any length): linearised where the ray from the row's point along it meets
    /// `b = margin`. Rows that share a direction leave on one side, each with the tangent at its
    /// own place on that side.
    pub(crate) fn linearise_along<'s>(
        &self,
        obs: &[f64],
        direction: &[f64],
        margin: f64,
        scratch: &'s mut Scratch,
    ) -> Option<(&'s [f64], f64)> {
        let k = self.dims.len();
        let Scratch { point, direction: unit, gradient } = scratch;
        let (point, unit, gradient) = (&mut point[..k], &mut unit[..k], &mut gradient[..k]);
        let length = norm(direction);
        if !(length > 0.0 && length.is_finite()) {
            return None;
        }
        for (((p, u), &d), &v) in point.iter_mut().zip(unit.iter_mut()).zip(&self.dims).zip(direction) {
            *p = obs[d];
            *u = v / length;
        }
        if self.barrier_at(point) < margin {
            self.land_along(point, unit, margin);
        }
        self.tangent(point, margin, gradient)
    }

    /// The side a run of rows inside the obstacle leaves by, given the observations of the run
    /// (`rows`) and of its path's ends (`entry`, `exit`: the rows just before and after it, or
    /// its own first and last rows). The path is left where it passes: from the centre
    /// towards the run's mean point, without the component along the path (the chord from
    /// entry to exit), which would send the run back or ahead where no rate limit lets it go.
    /// A path through the very centre goes around along the axis most across it; a run
    /// without length, radially from its point (for a single row, its nearest way out of a
    /// circle); failing all, along the first dim.
    pub(crate) fn run_direction(&self, rows: &[&[f64]], entry: &[f64], exit: &[f64]) -> Vec<f64> {
        let k = self.dims.len();
        let count = rows.len() as f64;
        let mut direction: Vec<f64> =
            (0..k).map(|i| rows.iter().map(|obs| obs[self.dims[i]]).sum::<f64>() / count - self.center[i]).collect();
        let chord: Vec<f64> = self.dims.iter().map(|&d| exit[d] - entry[d]).collect();
        let length_squared: f64 = chord.iter().map(|v| v * v).sum();
        let relative = |v: &[f64]| (0..k).map(|i| (v[i] / self.radii[i]).powi(2)).sum::<f64>().sqrt();
        if length_squared == 0.0 {
            if relative(&direction) <= 1e-9 {
                direction.fill(0.0);
                direction[0] = 1.0;
            }
            return direction;
        }
        let along: f64 = direction.iter().zip(&chord).map(|(d, c)| d * c).sum::<f64>() / length_squared;
        for (d, c) in direction.iter_mut().zip(&chord) {
            *d -= along * c;
        }
        if relative(&direction) > 1e-9 {
            return direction;
        }
        // Through the centre: the axis most across the chord, minus its component along it.
        let axis = (0..k).fold(0, |best, i| if chord[i].abs() < chord[best].abs() { i } else { best });
        for (i, (d, c)) in direction.iter_mut().zip(&chord).enumerate() {
            *d = f64::from(u8::from(i == axis)) - chord[axis] * c / length_squared;
        }
        if relative(&direction) <= 1e-9 {
            direction.fill(0.0);
            direction[0] = 1.0;
        }
        direction
    }

    /// `∇b(p̂)·(y − p̂) + b(p̂) ≥ margin` as `a·y ≤ rhs` with `a = −∇b/|∇b|`.
    fn tangent<'s>(&self, point: &[f64], margin: f64, gradient: &'s mut [f64]) -> Option<(&'s [f64], f64)> {
        let b = self.barrier_at(point);
        self.gradient_at(point, gradient);
        let length = norm(gradient);
        if !(length > 0.0 && length.is_finite()) {
            return None;
        }
        let along: f64 = gradient.iter().zip(point).map(|(g, p)| g * p).sum();
        for g in gradient.iter_mut() {
            *g = -*g / length;
        }
        Some((gradient, (b - margin - along) / length))
    }

    /// ReS on one row at a soft step: a single slack-relaxed pull, no iteration. Returns whether
    /// the observations moved.
    ///
    /// ReS solves `min |u|² + ρ² s.t. ∇b·u + b − wρ ≥ margin` (slack ρ, weight w). In the stacked
    /// variable `z = (u, ρ)` this is the projection of 0 onto the half-space `a·z ≥ margin − b`,
    /// `a = (∇b, −w)`, so `z = max(0, margin − b) a/|a|²` and
    /// `u = max(0, margin − b) ∇b/(|∇b|² + w²)`: the RoS step `(margin − b)∇b/|∇b|²` times
    /// `|∇b|²/(|∇b|² + w²)`. A box uses its face of least penetration, on which
    /// `b = |p_i − c_i|/r_i − 1` and `|∇b|² = 1/r_i²`.
    pub(crate) fn relaxed_step(&self, obs: &mut [f64], margin: f64, weight: f64, scratch: &mut Scratch) -> bool {
        let b = self.barrier(obs);
        if b >= margin {
            return false;
        }
        let k = self.dims.len();
        let Scratch { point, gradient, .. } = scratch;
        for (p, &d) in point.iter_mut().zip(&self.dims) {
            *p = obs[d];
        }
        let point = &mut point[..k];
        if self.power.is_none() {
            let (face, target) = self.nearest_face(point, margin);
            let inverse_square = 1.0 / (self.radii[face] * self.radii[face]);
            point[face] += (target - point[face]) * inverse_square / (inverse_square + weight * weight);
        } else {
            let gradient = &mut gradient[..k];
            self.gradient_at(point, gradient);
            let squared: f64 = gradient.iter().map(|g| g * g).sum();
            let gain = (margin - b) / (squared + weight * weight);
            for (p, g) in point.iter_mut().zip(gradient.iter()) {
                *p += gain * g;
            }
        }
        self.scatter(point, obs);
        true
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // The expected values are exact by construction.
mod tests {
    use super::*;
    use crate::constraints::config::ObstacleShape;

    fn obstacle(power: Option<f64>, shape: ObstacleShape) -> Obstacle {
        let config = ObstacleConfig {
            name: None,
            dims: vec![0, 1, 2],
            center: vec![0.5, -1.0, 2.0],
            radii: vec![1.0, 0.7, 1.3],
            power,
            shape,
        };
        Obstacle::new(&config, 0)
    }

    // Reference: central finite differences, (b(p + h e_i) − b(p − h e_i)) / 2h.
    #[test]
    fn barrier_gradients_match_central_differences() {
        let shapes = [
            obstacle(Some(2.0), ObstacleShape::Superellipse),
            obstacle(Some(4.0), ObstacleShape::Superellipse),
            obstacle(Some(6.0), ObstacleShape::Superellipse),
            obstacle(None, ObstacleShape::Box),
        ];
        let points = [[1.3, -0.2, 2.9], [0.1, -1.5, 1.2], [2.0, 0.4, 4.0], [0.6, -0.9, 0.9]];
        let mut gradient = [0.0; 3];
        for ob in &shapes {
            for p in &points {
                ob.gradient_at(p, &mut gradient);
                for i in 0..3 {
                    let h = 1e-6;
                    let (mut plus, mut minus) = (*p, *p);
                    plus[i] += h;
                    minus[i] -= h;
                    let numeric = (ob.barrier_at(&plus) - ob.barrier_at(&minus)) / (2.0 * h);
                    let error = (numeric - gradient[i]).abs() / gradient[i].abs().max(1e-3);
                    assert!(error < 1e-6, "{:?} at {p:?}, dim {i}: {numeric} vs {}", ob.power, gradient[i]);
                }
            }
        }
    }

    // Reference: the Euclidean projection onto the outside of a circle is radial.
    #[test]
    fn circle_push_is_radial_onto_the_margin_level_set() {
        let config = ObstacleConfig {
            name: Some("c".into()),
            dims: vec![0, 1],
            center: vec![1.0, 2.0],
            radii: vec![2.0, 2.0],
            power: None,
            shape: ObstacleShape::Superellipse,
        };
        let ob = Obstacle::new(&config, 0);
        let mut scratch = Scratch::new(2);
        for (p, margin) in [([1.3, 2.4], 0.0), ([1.0 + 1e-9, 2.0], 0.0), ([1.0, 2.0], 0.3), ([-0.5, 1.0], 0.01)] {
            let mut obs = p;
            assert!(ob.push_out(&mut obs, margin, &mut scratch));
            let radius = 2.0 * (1.0 + margin).sqrt();
            let distance = ((obs[0] - 1.0).powi(2) + (obs[1] - 2.0).powi(2)).sqrt();
            assert!((distance - radius).abs() < 1e-12, "{p:?}: {distance} vs {radius}");
            let before = ((p[0] - 1.0).powi(2) + (p[1] - 2.0).powi(2)).sqrt();
            if before > 0.0 {
                // Same direction from the centre.
                let cross = (p[0] - 1.0) * (obs[1] - 2.0) - (p[1] - 2.0) * (obs[0] - 1.0);
                assert!(cross.abs() < 1e-9);
            }
        }
    }

    // Reference: the outside of a box is reached by the shortest axis move.
    #[test]
    fn box_push_takes_the_axis_of_least_penetration() {
        let ob = obstacle(None, ObstacleShape::Box);
        let mut scratch = Scratch::new(3);
        let mut obs = [0.6, -0.9, 2.2];
        assert!(ob.push_out(&mut obs, 0.1, &mut scratch));
        // Gaps: 1.1 − 0.1 = 1.0, 0.77 − 0.1 = 0.67, 1.43 − 0.2 = 1.23: dim 1 moves to −1 + 0.77.
        assert_eq!(obs[0], 0.6);
        assert!((obs[1] - (-0.23)).abs() < 1e-12 && obs[2] == 2.2);
        assert!((ob.barrier(&obs) - 0.1).abs() < 1e-12);
    }
}
