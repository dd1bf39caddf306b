//! How the servos' target moves between two joint trajectory points within a control step
//! ([`Interpolation`]): linearly, with the point's speed as the feed-forward, or along the cubic
//! Hermite segment through both points' angles and speeds ([`CubicSegment`], what ros2_control's
//! joint_trajectory_controller does between points that carry positions and velocities).
//!
//! On one cubic segment of `duration` seconds from (p0, v0) to (p1, v1), with s = t / duration:
//! p(t) = (2s³ − 3s² + 1) p0 + (s³ − 2s² + s) duration v0 + (−2s³ + 3s²) p1 + (s³ − s²) duration v1,
//! the only cubic with those end positions and speeds. Consecutive segments share their point, so
//! the commanded position and speed are continuous.

use serde::Deserialize;

/// How a control step moves the servos' target from the last point to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Interpolation {
    /// The target angle moves linearly over the physics steps, and the target speed is the new
    /// point's throughout (a first-order hold with feed-forward).
    #[default]
    Linear,
    /// Angle and speed follow the [`CubicSegment`] between the points.
    Cubic,
}

/// One segment between two points, per joint (rad, rad/s).
#[derive(Debug, Clone, PartialEq)]
pub struct CubicSegment<'a> {
    /// Angles and speeds at the start.
    pub from: (&'a [f64], &'a [f64]),
    /// Angles and speeds at the end.
    pub to: (&'a [f64], &'a [f64]),
    /// Seconds from start to end.
    pub duration_secs: f64,
}

impl CubicSegment<'_> {
    /// Angles (rad) and speeds (rad/s) `t_secs` into the segment.
    #[must_use]
    pub fn at(&self, t_secs: f64) -> (Vec<f64>, Vec<f64>) {
        let d = self.duration_secs;
        let s = t_secs / d;
        let (s2, s3) = (s * s, s * s * s);
        let (h00, h10, h01, h11) = (2.0 * s3 - 3.0 * s2 + 1.0, s3 - 2.0 * s2 + s, -2.0 * s3 + 3.0 * s2, s3 - s2);
        // The basis' derivatives with respect to s.
        let (g00, g10, g01, g11) =
            (6.0 * s2 - 6.0 * s, 3.0 * s2 - 4.0 * s + 1.0, -6.0 * s2 + 6.0 * s, 3.0 * s2 - 2.0 * s);
        let ((p0, v0), (p1, v1)) = (self.from, self.to);
        (0..p0.len())
            .map(|j| {
                let position = h00 * p0[j] + h10 * d * v0[j] + h01 * p1[j] + h11 * d * v1[j];
                let speed = (g00 * p0[j] + g01 * p1[j]) / d + g10 * v0[j] + g11 * v1[j];
                (position, speed)
            })
            .unzip()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The oracle: a cubic c(t) = a + b t + c t² + e t³ and its derivative.
    fn cubic(t: f64) -> (f64, f64) {
        let (a, b, c, e) = (0.3, -1.2, 2.5, -4.0);
        (a + b * t + c * t * t + e * t * t * t, b + 2.0 * c * t + 3.0 * e * t * t)
    }

    #[test]
    fn a_segment_reproduces_any_cubic_from_its_end_points() {
        let (t0, t1) = (0.2, 0.24);
        let ((p0, v0), (p1, v1)) = (cubic(t0), cubic(t1));
        let segment = CubicSegment { from: (&[p0], &[v0]), to: (&[p1], &[v1]), duration_secs: t1 - t0 };
        for k in 0..=20 {
            let t = (t1 - t0) * f64::from(k) / 20.0;
            let (position, speed) = segment.at(t);
            let (want_p, want_v) = cubic(t0 + t);
            assert!((position[0] - want_p).abs() < 1e-12, "position at {t}: {} vs {want_p}", position[0]);
            assert!((speed[0] - want_v).abs() < 1e-9, "speed at {t}: {} vs {want_v}", speed[0]);
        }
    }

    #[test]
    fn a_segment_starts_and_ends_at_its_points_per_joint() {
        let segment =
            CubicSegment { from: (&[0.0, 1.0], &[0.5, 0.0]), to: (&[0.1, 0.9], &[0.0, -2.0]), duration_secs: 0.04 };
        assert_eq!(segment.at(0.0), (vec![0.0, 1.0], vec![0.5, 0.0]));
        let (end, speed) = segment.at(0.04);
        for (got, want) in end.iter().chain(&speed).zip([0.1, 0.9, 0.0, -2.0]) {
            assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        }
    }
}
