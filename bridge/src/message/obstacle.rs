//! `Obstacle`: a fixed shape a robot's plans keep clear of, sent with a plan request or a robot
//! state (an arm's per-episode obstacles, in its base frame).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::WireError;

/// Obstacles one message may carry: bounds the planner's work per request.
pub const MAX_OBSTACLES: usize = 64;

/// A ball or an axis-aligned box in the robot's base frame, metres.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "shape", rename_all = "snake_case", deny_unknown_fields)]
pub enum Obstacle {
    /// A ball.
    Sphere {
        /// Centre, metres.
        center: [f64; 3],
        /// Radius, metres (> 0).
        radius: f64,
    },
    /// A box with faces along the base frame's axes.
    Box {
        /// Centre, metres.
        center: [f64; 3],
        /// Half the extent along x, y and z, metres (> 0).
        half_extents: [f64; 3],
    },
}

/// Refuses more than [`MAX_OBSTACLES`], a centre that is not finite, or a size that is not a
/// positive number, naming the field under `path` (e.g. `plan_request.obstacles`).
pub(super) fn check_obstacles(path: &str, obstacles: &[Obstacle]) -> Result<(), WireError> {
    if obstacles.len() > MAX_OBSTACLES {
        return Err(WireError::Invalid {
            field: path.into(),
            reason: format!("{} obstacles, at most {MAX_OBSTACLES}", obstacles.len()),
        });
    }
    for (i, obstacle) in obstacles.iter().enumerate() {
        let (center, sizes, name) = match obstacle {
            Obstacle::Sphere { center, radius } => (center, vec![*radius], "radius"),
            Obstacle::Box { center, half_extents } => (center, half_extents.to_vec(), "half_extents"),
        };
        if !center.iter().all(|v| v.is_finite()) {
            return Err(WireError::Invalid { field: format!("{path}[{i}].center"), reason: "is not finite".into() });
        }
        if !sizes.iter().all(|v| v.is_finite() && *v > 0.0) {
            return Err(WireError::Invalid {
                field: format!("{path}[{i}].{name}"),
                reason: "must be positive metres".into(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn obstacles_that_are_not_shapes_or_too_many_are_refused_by_field() {
        let ball = Obstacle::Sphere { center: [0.5, 0.0, 0.3], radius: 0.1 };
        assert!(check_obstacles("plan_request.obstacles", &[ball]).is_ok());
        let flat = Obstacle::Box { center: [0.5, 0.0, 0.3], half_extents: [0.1, 0.0, 0.1] };
        let error = check_obstacles("plan_request.obstacles", &[ball, flat]).unwrap_err().to_string();
        assert!(error.contains("plan_request.obstacles[1].half_extents"), "{error}");
        let far = Obstacle::Sphere { center: [f64::INFINITY, 0.0, 0.0], radius: 0.1 };
        let error = check_obstacles("robot_state.obstacles", &[far]).unwrap_err().to_string();
        assert!(error.contains("robot_state.obstacles[0].center"), "{error}");
        let error = check_obstacles("p", &vec![ball; MAX_OBSTACLES + 1]).unwrap_err().to_string();
        assert!(error.contains("at most 64"), "{error}");
        let json = serde_json::to_string(&ball).expect("json");
        assert_eq!(json, r#"{"shape":"sphere","center":[0.5,0.0,0.3],"radius":0.1}"#);
    }
}
