//! Timing a joint-space path within speed and acceleration limits: each straight segment is
//! travelled from rest to rest on a trapezoidal profile shared by all joints.
//!
//! Along a segment q(s) = a + s (b − a), s from 0 to 1. Joint j moves d_j = |b_j − a_j|, so the
//! path parameter may go at most min_j v_j / d_j per second and accelerate at most
//! min_j α_j / d_j; the trapezoid with those bounds is the fastest rest-to-rest motion along the
//! segment that keeps every joint within its limits: accelerate, cruise (when there is room),
//! brake. Stopping at every waypoint is slower than blending through them, and never leaves the
//! segments that were checked for collisions.

/// One segment's rest-to-rest motion.
#[derive(Debug, Clone, PartialEq)]
struct Segment {
    start: Vec<f64>,
    delta: Vec<f64>,
    /// Peak rate of the path parameter, 1/s.
    peak_rate: f64,
    /// Its acceleration, 1/s².
    acceleration: f64,
    /// Seconds spent accelerating (and braking).
    ramp_secs: f64,
    /// Seconds of the whole segment.
    duration_secs: f64,
}

/// A path of straight joint-space segments with times.
#[derive(Debug, Clone, PartialEq)]
pub struct TimedPath {
    segments: Vec<Segment>,
    end: Vec<f64>,
}

impl TimedPath {
    /// Times `waypoints` (at least one) with per-joint `max_speed` (rad/s) and
    /// `max_acceleration` (rad/s²).
    ///
    /// # Panics
    /// If `waypoints` is empty, or a limit is not positive.
    #[must_use]
    pub fn new(waypoints: &[Vec<f64>], max_speed: &[f64], max_acceleration: &[f64]) -> Self {
        assert!(max_speed.iter().chain(max_acceleration).all(|v| *v > 0.0), "limits must be positive");
        let end = waypoints.last().expect("a path has a waypoint").clone();
        let segments = waypoints
            .windows(2)
            .filter_map(|pair| {
                let delta: Vec<f64> = pair[0].iter().zip(&pair[1]).map(|(a, b)| b - a).collect();
                let bound = |limits: &[f64]| {
                    delta
                        .iter()
                        .zip(limits)
                        .filter(|(d, _)| **d != 0.0)
                        .map(|(d, l)| l / d.abs())
                        .fold(f64::INFINITY, f64::min)
                };
                let (rate, acceleration) = (bound(max_speed), bound(max_acceleration));
                if rate.is_infinite() {
                    return None; // a repeated waypoint
                }
                // Reaching the peak rate takes rate/α s and covers rate²/α of s ∈ [0, 1] both ways.
                let (peak_rate, ramp_secs) = if rate * rate / acceleration <= 1.0 {
                    (rate, rate / acceleration)
                } else {
                    (acceleration.sqrt(), 1.0 / acceleration.sqrt())
                };
                let cruise_secs = (1.0 - peak_rate * ramp_secs) / peak_rate;
                Some(Segment {
                    start: pair[0].clone(),
                    delta,
                    peak_rate,
                    acceleration,
                    ramp_secs,
                    duration_secs: 2.0 * ramp_secs + cruise_secs,
                })
            })
            .collect();
        Self { segments, end }
    }

    /// Seconds from the first waypoint to the last.
    #[must_use]
    pub fn duration_secs(&self) -> f64 {
        self.segments.iter().map(|s| s.duration_secs).sum()
    }

    /// Joint angles (rad) and speeds (rad/s) at `t_secs` (the last waypoint at rest after the end).
    #[must_use]
    pub fn sample(&self, t_secs: f64) -> (Vec<f64>, Vec<f64>) {
        let mut t = t_secs.max(0.0);
        for segment in &self.segments {
            if t <= segment.duration_secs {
                let (s, rate) = segment.progress(t);
                let q = segment.start.iter().zip(&segment.delta).map(|(a, d)| a + s * d).collect();
                return (q, segment.delta.iter().map(|d| rate * d).collect());
            }
            t -= segment.duration_secs;
        }
        (self.end.clone(), vec![0.0; self.end.len()])
    }
}

impl Segment {
    /// The path parameter s and its rate at `t` seconds into the segment.
    fn progress(&self, t: f64) -> (f64, f64) {
        let (a, ramp, total) = (self.acceleration, self.ramp_secs, self.duration_secs);
        if t < ramp {
            (0.5 * a * t * t, a * t)
        } else if t <= total - ramp {
            (0.5 * a * ramp * ramp + self.peak_rate * (t - ramp), self.peak_rate)
        } else {
            let left = total - t;
            (1.0 - 0.5 * a * left * left, a * left)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference: the limits themselves, checked on the sampled motion (speeds directly,
    /// accelerations by differencing the speeds 1 ms apart), and the waypoints, which the motion
    /// must pass at rest.
    #[test]
    fn a_timed_path_passes_its_waypoints_at_rest_within_its_limits() {
        let waypoints = vec![
            vec![0.0, 0.0, 0.0],
            vec![1.0, -0.5, 0.1],
            vec![1.0, -0.5, 0.1],
            vec![1.02, 0.5, 0.1],
            vec![-1.0, 0.0, 2.0],
        ];
        let (speed, acceleration) = ([2.0, 1.0, 2.5], [10.0, 5.0, 15.0]);
        let timed = TimedPath::new(&waypoints, &speed, &acceleration);
        let h = 1e-3;
        let steps = (timed.duration_secs() / h).ceil() as usize + 10;
        let mut previous = timed.sample(0.0).1;
        for k in 1..=steps {
            let (_, qdot) = timed.sample(k as f64 * h);
            for j in 0..3 {
                assert!(qdot[j].abs() <= speed[j] + 1e-9, "t {}: joint {j} at {} rad/s", k as f64 * h, qdot[j]);
                assert!(
                    (qdot[j] - previous[j]).abs() / h <= acceleration[j] * (1.0 + 1e-6) + 1e-6,
                    "t {}: joint {j} accelerates too hard",
                    k as f64 * h
                );
            }
            previous = qdot;
        }
        // The repeated waypoint is one stop.
        let mut stops = waypoints.clone();
        stops.dedup();
        assert_eq!(timed.segments.len(), stops.len() - 1);
        let mut t = 0.0;
        for (segment, waypoint) in timed.segments.iter().zip(&stops) {
            let (q, qdot) = timed.sample(t);
            assert!(
                q.iter().zip(waypoint).all(|(a, b)| (a - b).abs() < 1e-12) && qdot.iter().all(|v| v.abs() < 1e-12),
                "{waypoint:?}"
            );
            t += segment.duration_secs;
        }
        assert_eq!(timed.sample(timed.duration_secs() + 1.0), (waypoints[4].clone(), vec![0.0; 3]));
    }
}
