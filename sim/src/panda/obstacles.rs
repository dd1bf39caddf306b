//! What the arm must not touch, and how far a capsule is from it.
//!
//! Clearance is the signed distance between surfaces (metres): positive apart, negative when
//! they overlap. For a sphere it is the distance from its centre to the capsule's axis minus both
//! radii. For a box it is the smallest signed distance from the box to a point of the capsule's
//! axis, minus the capsule's radius. A convex set's signed distance is a convex function, and so
//! is its restriction to a segment, so a golden-section search along the axis finds that
//! smallest value.

use serde::Deserialize;

use super::description::Capsule;

/// A fixed shape in the arm's base frame.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(tag = "shape", rename_all = "snake_case", deny_unknown_fields)]
pub enum Obstacle {
    /// A ball.
    Sphere {
        /// Centre, metres.
        center: [f64; 3],
        /// Radius, metres.
        radius: f64,
    },
    /// A box with faces along the base frame's axes.
    Box {
        /// Centre, metres.
        center: [f64; 3],
        /// Half the extent along x, y and z, metres.
        half_extents: [f64; 3],
    },
}

/// Golden-section iterations: the bracket shrinks by 0.618 each, to 1e-13 of the axis.
const SEARCH_ITERATIONS: usize = 64;

impl Obstacle {
    /// The signed distance between this shape's surface and `capsule`'s, metres.
    #[must_use]
    pub fn clearance(&self, capsule: &Capsule) -> f64 {
        match *self {
            Self::Sphere { center, radius } => {
                distance(center, closest_on_segment(center, capsule)) - radius - capsule.radius
            }
            Self::Box { center, half_extents } => {
                let sdf = |t: f64| box_signed_distance(center, half_extents, lerp(capsule.a, capsule.b, t));
                let (mut low, mut high) = (0.0_f64, 1.0_f64);
                let ratio = (5.0_f64.sqrt() - 1.0) / 2.0;
                for _ in 0..SEARCH_ITERATIONS {
                    let left = high - ratio * (high - low);
                    let right = low + ratio * (high - low);
                    if sdf(left) <= sdf(right) { high = right } else { low = left }
                }
                sdf(0.5 * (low + high)).min(sdf(0.0)).min(sdf(1.0)) - capsule.radius
            }
        }
    }

    /// Why this shape cannot be an obstacle, if it cannot: a radius or extent that is not a
    /// positive number, or a centre that is not finite.
    #[must_use]
    pub fn problem(&self) -> Option<String> {
        let (center, sizes, what) = match self {
            Self::Sphere { center, radius } => (center, vec![*radius], "radius"),
            Self::Box { center, half_extents } => (center, half_extents.to_vec(), "half_extents"),
        };
        if !center.iter().all(|v| v.is_finite()) {
            return Some(format!("center {center:?} is not finite"));
        }
        (!sizes.iter().all(|v| v.is_finite() && *v > 0.0)).then(|| format!("{what} {sizes:?} must be positive metres"))
    }
}

/// The point of `capsule`'s axis nearest `point`.
fn closest_on_segment(point: [f64; 3], capsule: &Capsule) -> [f64; 3] {
    let axis = sub(capsule.b, capsule.a);
    let length_squared = dot(axis, axis);
    if length_squared == 0.0 {
        return capsule.a;
    }
    let t = (dot(sub(point, capsule.a), axis) / length_squared).clamp(0.0, 1.0);
    lerp(capsule.a, capsule.b, t)
}

/// The signed distance from the box to `point`: negative inside, by the depth to the nearest face.
fn box_signed_distance(center: [f64; 3], half_extents: [f64; 3], point: [f64; 3]) -> f64 {
    let q: [f64; 3] = std::array::from_fn(|i| (point[i] - center[i]).abs() - half_extents[i]);
    let outside = q.map(|v| v.max(0.0));
    dot(outside, outside).sqrt() + q[0].max(q[1]).max(q[2]).min(0.0)
}

fn lerp(a: [f64; 3], b: [f64; 3], t: f64) -> [f64; 3] {
    std::array::from_fn(|i| a[i] + t * (b[i] - a[i]))
}

fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    std::array::from_fn(|i| a[i] - b[i])
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a.iter().zip(&b).map(|(x, y)| x * y).sum()
}

fn distance(a: [f64; 3], b: [f64; 3]) -> f64 {
    let d = sub(a, b);
    dot(d, d).sqrt()
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rapier3d::parry::query;
    use rapier3d::parry::shape::{Ball, Capsule as ParryCapsule};
    use rapier3d::prelude::{Pose, Vector};

    use super::*;

    fn vector(p: [f64; 3]) -> Vector {
        Vector::new(p[0] as f32, p[1] as f32, p[2] as f32)
    }

    /// Reference: parry3d's closed-form capsule–ball distance (Rapier's own geometry, f32) on
    /// 1 000 random pairs. When they overlap, parry reports 0 and the clearance must be ≤ 0.
    #[test]
    fn clearance_to_a_ball_matches_parrys_distance() {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let mut apart = 0;
        for _ in 0..1000 {
            let mut point = || std::array::from_fn(|_| rng.gen_range(-0.5..0.5));
            let (capsule, center) = (Capsule { a: point(), b: point(), radius: 0.05 }, point());
            let radius = rng.gen_range(0.02..0.2);
            let parry = query::distance(
                &Pose::IDENTITY,
                &ParryCapsule::new(vector(capsule.a), vector(capsule.b), 0.05),
                &Pose::from_translation(vector(center)),
                &Ball::new(radius as f32),
            );
            let parry = f64::from(parry.expect("convex shapes have a distance").distance);
            let ours = Obstacle::Sphere { center, radius }.clearance(&capsule);
            if parry > 0.0 {
                apart += 1;
                assert!(
                    (ours - parry).abs() < 1e-5,
                    "ball {center:?} r {radius} vs {capsule:?}: ours {ours}, parry {parry}"
                );
            } else {
                assert!(ours <= 1e-5, "ball {center:?} r {radius} overlaps {capsule:?}, clearance {ours}");
            }
        }
        assert!(apart > 300, "only {apart} separated pairs were compared");
    }

    /// Reference: the distance from the axis to the box as the distance from each of 10 001
    /// points on it to its clamp into the box (the box's nearest point), minus the radius: a
    /// formulation that shares nothing with the signed distance we search. (Parry's
    /// capsule–cuboid distance is GJK in f32 and was up to 2e-3 m off on this sample, where
    /// this and a dense search agreed with our value to every digit, so it is not used.) The
    /// grid can miss the minimum by its slope times the spacing, hence 1e-4 m. When the axis
    /// enters the box, this distance is 0 and the clearance must be below −radius.
    #[test]
    fn clearance_to_a_box_matches_the_distance_to_its_clamped_points() {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let mut apart = 0;
        for _ in 0..1000 {
            let mut point = || std::array::from_fn(|_| rng.gen_range(-0.5..0.5));
            let (capsule, center) = (Capsule { a: point(), b: point(), radius: 0.05 }, point());
            let half_extents: [f64; 3] = std::array::from_fn(|_| rng.gen_range(0.02..0.2));
            let gap = |p: [f64; 3]| {
                distance(
                    p,
                    std::array::from_fn(|i| p[i].clamp(center[i] - half_extents[i], center[i] + half_extents[i])),
                )
            };
            let axis_gap =
                (0..=10_000).map(|i| gap(lerp(capsule.a, capsule.b, f64::from(i) / 1e4))).fold(f64::INFINITY, f64::min);
            let ours = Obstacle::Box { center, half_extents }.clearance(&capsule);
            if axis_gap > 0.0 {
                apart += 1;
                let reference = axis_gap - capsule.radius;
                assert!(
                    ours <= reference + 1e-12 && reference - ours < 1e-4,
                    "box {center:?} {half_extents:?} vs {capsule:?}: ours {ours}, reference {reference}"
                );
            } else {
                assert!(
                    ours < -capsule.radius,
                    "the axis of {capsule:?} enters box {center:?} {half_extents:?}, clearance {ours}"
                );
            }
        }
        assert!(apart > 300, "only {apart} pairs with the axis outside the box were compared");
    }

    /// Reference: the smallest signed distance over 10 001 points along the axis (f64); the
    /// golden-section search must find it, or a lower value between the points (the distance is
    /// piecewise linear inside a box, so the grid can miss its minimum by its slope times the
    /// spacing: under 1e-4 m here).
    #[test]
    fn the_search_along_the_axis_finds_the_deepest_or_nearest_point() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for _ in 0..500 {
            let mut point = || std::array::from_fn(|_| rng.gen_range(-0.4..0.4));
            let capsule = Capsule { a: point(), b: point(), radius: 0.0 };
            let (center, half_extents) = (point(), std::array::from_fn(|_| rng.gen_range(0.02..0.3)));
            let dense = (0..=10_000)
                .map(|i| box_signed_distance(center, half_extents, lerp(capsule.a, capsule.b, f64::from(i) / 1e4)))
                .fold(f64::INFINITY, f64::min);
            let ours = Obstacle::Box { center, half_extents }.clearance(&capsule);
            assert!(ours <= dense + 1e-12 && dense - ours < 1e-4, "ours {ours}, dense {dense}");
        }
    }

    #[test]
    fn a_capsule_inside_a_box_has_its_deepest_point_as_negative_clearance() {
        // The axis's middle is 0.5 m from every face; minus the radius: −0.55.
        let obstacle = Obstacle::Box { center: [0.0; 3], half_extents: [0.5, 0.5, 0.5] };
        let capsule = Capsule { a: [0.0, 0.0, -0.1], b: [0.0, 0.0, 0.1], radius: 0.05 };
        assert!((obstacle.clearance(&capsule) + 0.55).abs() < 1e-9);
    }

    #[test]
    fn shapes_that_cannot_be_obstacles_are_named() {
        assert!(Obstacle::Sphere { center: [0.0; 3], radius: -0.1 }.problem().is_some_and(|p| p.contains("radius")));
        assert!(
            Obstacle::Box { center: [f64::NAN, 0.0, 0.0], half_extents: [0.1; 3] }
                .problem()
                .is_some_and(|p| p.contains("center"))
        );
        assert!(Obstacle::Box { center: [0.0; 3], half_extents: [0.1, 0.0, 0.1] }.problem().is_some());
        assert_eq!(Obstacle::Sphere { center: [0.5, 0.0, 0.3], radius: 0.1 }.problem(), None);
    }
}
