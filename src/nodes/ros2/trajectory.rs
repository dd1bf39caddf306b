//! Plans as `JointTrajectory`s and back. A plan's row k (k ≥ 1) is the state planned for k·dt
//! after its first row, the robot's state it was made from; the trajectory's header carries
//! that state's stamp, on the robot's own clock, so no clock has to agree with another. Each
//! point holds the row's joint positions (the observation's first n components) and velocities
//! (the next n); the last point's velocities are 0, as ros2_control's joint_trajectory_controller
//! requires of a trajectory's end. Rows at or before the robot's newest reported time are
//! already past and dropped.

use bridge::ros2::{Header, JointTrajectory, JointTrajectoryPoint, Stamp};

/// The most steps a trajectory read back may span (1000 s at 100 Hz): a longer one is refused
/// before anything is allocated.
pub const MAX_STEPS: i64 = 100_000;

/// The rows of `states` (spaced `dt` seconds, row 0 at `start` on the robot's clock) that lie
/// after `newest`, as a trajectory of `joints`; `None` when no row does.
#[must_use]
pub fn trajectory_of(
    states: &[Vec<f32>],
    dt: f64,
    joints: &[String],
    start: Stamp,
    newest: Stamp,
) -> Option<JointTrajectory> {
    let n = joints.len();
    let step_ns = (dt * 1e9).round() as i64;
    let mut points: Vec<JointTrajectoryPoint> = states
        .iter()
        .enumerate()
        .skip(1)
        .filter(|(k, _)| start.nanos() + *k as i64 * step_ns > newest.nanos())
        .map(|(k, row)| JointTrajectoryPoint {
            positions: row[..n].iter().map(|&v| f64::from(v)).collect(),
            velocities: row[n..2 * n].iter().map(|&v| f64::from(v)).collect(),
            time_from_start: Stamp::from_nanos(k as i64 * step_ns),
            ..JointTrajectoryPoint::default()
        })
        .collect();
    let last = points.last_mut()?;
    last.velocities.fill(0.0);
    Some(JointTrajectory {
        header: Header { stamp: start, frame_id: String::new() },
        joint_names: joints.to_vec(),
        points,
    })
}

/// A trajectory's states (positions then velocities of `joints`, in that order whatever the
/// trajectory's own) at every whole step of `dt` seconds that its points span, found by linear
/// interpolation between points; `start_ns` is when its header says it starts, nanoseconds on
/// the robot's clock. Returns the first such step's time, nanoseconds, and the states. Refuses
/// a trajectory that lacks a joint or velocities.
pub fn states_of(
    trajectory: &JointTrajectory,
    joints: &[String],
    start_ns: i64,
    dt: f64,
) -> Result<(i64, Vec<Vec<f32>>), String> {
    let order =
        joints
            .iter()
            .map(|joint| {
                trajectory.joint_names.iter().position(|n| n == joint).ok_or_else(|| {
                    format!("the trajectory lacks joint {joint:?} (it names {:?})", trajectory.joint_names)
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
    let points = &trajectory.points;
    if points.iter().any(|p| p.velocities.is_empty()) {
        return Err("a point has no velocities; the simulator tracks positions and velocities".into());
    }
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return Err("the trajectory has no points".into());
    };
    let time = |p: &JointTrajectoryPoint| start_ns + p.time_from_start.nanos();
    let state = |p: &JointTrajectoryPoint| -> Vec<f64> {
        order.iter().map(|&i| p.positions[i]).chain(order.iter().map(|&i| p.velocities[i])).collect()
    };
    let step_ns = (dt * 1e9).round() as i64;
    let first_step = time(first).div_euclid(step_ns) + i64::from(time(first).rem_euclid(step_ns) != 0);
    let steps = (time(last) - first_step * step_ns).div_euclid(step_ns) + 1;
    if steps > MAX_STEPS {
        return Err(format!("it spans {steps} steps of {dt} s, over the {MAX_STEPS} this robot accepts"));
    }
    let mut states = Vec::with_capacity(usize::try_from(steps).unwrap_or(0));
    let mut segment = 0;
    let mut at = first_step * step_ns;
    while at <= time(last) {
        // The segment from point `segment` to the next that holds `at` (the last one past it).
        while segment + 2 < points.len() && time(&points[segment + 1]) < at {
            segment += 1;
        }
        let a = &points[segment];
        let b = points.get(segment + 1).unwrap_or(a);
        let span = (time(b) - time(a)) as f64;
        let w = if span > 0.0 { ((at - time(a)) as f64 / span).clamp(0.0, 1.0) } else { 0.0 };
        states.push(state(a).iter().zip(state(b)).map(|(x, y)| (x + w * (y - x)) as f32).collect());
        at += step_ns;
    }
    Ok((first_step * step_ns, states))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joints() -> Vec<String> {
        vec!["x".into(), "y".into()]
    }

    fn plan() -> Vec<Vec<f32>> {
        (0..5).map(|k| vec![k as f32, 10.0 + k as f32, 0.5, -0.5]).collect()
    }

    #[test]
    fn a_plan_becomes_the_points_after_the_robots_newest_time_ending_at_rest() {
        let start = Stamp { sec: 100, nanosec: 0 };
        let trajectory = trajectory_of(&plan(), 0.01, &joints(), start, start).unwrap();
        assert_eq!(trajectory.header.stamp, start);
        assert_eq!(trajectory.points.len(), 4);
        assert_eq!(trajectory.points[0].positions, vec![1.0, 11.0]);
        assert_eq!(trajectory.points[0].velocities, vec![0.5, -0.5]);
        assert_eq!(trajectory.points[0].time_from_start, Stamp::from_nanos(10_000_000));
        assert_eq!(trajectory.points[3].velocities, vec![0.0, 0.0]);
        trajectory.check().unwrap();
        // The robot reported a state 25 ms later: rows 1 and 2 are past.
        let newest = Stamp::from_nanos(start.nanos() + 25_000_000);
        let trajectory = trajectory_of(&plan(), 0.01, &joints(), start, newest).unwrap();
        assert_eq!(trajectory.points[0].positions, vec![3.0, 13.0]);
        assert_eq!(trajectory.points[0].time_from_start, Stamp::from_nanos(30_000_000));
        let newest = Stamp::from_nanos(start.nanos() + 40_000_000);
        assert!(trajectory_of(&plan(), 0.01, &joints(), start, newest).is_none());
    }

    #[test]
    fn states_are_read_back_at_the_same_steps() {
        let start = Stamp { sec: 100, nanosec: 0 };
        let trajectory = trajectory_of(&plan(), 0.01, &joints(), start, start).unwrap();
        let (first_ns, states) = states_of(&trajectory, &joints(), start.nanos(), 0.01).unwrap();
        assert_eq!(first_ns, start.nanos() + 10_000_000);
        assert_eq!(states[..3], plan()[1..4]);
        assert_eq!(states[3], vec![4.0, 14.0, 0.0, 0.0]);
    }

    #[test]
    fn a_sparse_trajectory_in_another_joint_order_is_interpolated() {
        let trajectory = JointTrajectory {
            header: Header::default(),
            joint_names: vec!["y".into(), "x".into()],
            points: vec![
                JointTrajectoryPoint {
                    positions: vec![0.0, 0.0],
                    velocities: vec![0.0, 0.0],
                    time_from_start: Stamp::from_nanos(5_000_000),
                    ..JointTrajectoryPoint::default()
                },
                JointTrajectoryPoint {
                    positions: vec![2.0, 4.0],
                    velocities: vec![0.0, 1.0],
                    time_from_start: Stamp::from_nanos(45_000_000),
                    ..JointTrajectoryPoint::default()
                },
            ],
        };
        let (first_ns, states) = states_of(&trajectory, &joints(), 0, 0.01).unwrap();
        // Steps at 10, 20, 30 and 40 ms: an eighth, three eighths, five eighths, seven eighths.
        assert_eq!(first_ns, 10_000_000);
        assert_eq!(states.len(), 4);
        assert_eq!(states[0], vec![0.5, 0.25, 0.125, 0.0]);
        assert_eq!(states[3], vec![3.5, 1.75, 0.875, 0.0]);
        assert!(states_of(&trajectory, &["z".into()], 0, 0.01).unwrap_err().contains("lacks joint \"z\""));
        let mut endless = trajectory;
        endless.points[1].time_from_start = Stamp { sec: 2_000_000_000, nanosec: 0 };
        assert!(states_of(&endless, &joints(), 0, 0.01).unwrap_err().contains("over the 100000"));
    }
}
