//! `ToolPointGoal`: a goal in an arm's own terms, where its tool point must go, sent in a plan
//! request or a robot state in place of a goal state.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::WireError;

/// Where an arm's tool point must go, in the robot's base frame.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolPointGoal {
    /// The tool point's position, metres.
    pub position: [f64; 3],
    /// Whether the tool must point straight down (along the base's −z), as for a top grasp.
    #[serde(default)]
    pub pointing_down: bool,
}

/// Refuses a tool-point goal sent with a goal state, or with a position that is not finite,
/// naming the field under `path` (e.g. `plan_request`).
pub(super) fn check_goals(
    path: &str,
    goal: Option<&[f32]>,
    tool_point: Option<&ToolPointGoal>,
) -> Result<(), WireError> {
    let Some(tool_point) = tool_point else { return Ok(()) };
    let field = format!("{path}.goal_tool_point");
    if goal.is_some() {
        return Err(WireError::Invalid {
            field,
            reason: "comes with a goal state as well: send one of `goal` and `goal_tool_point`".into(),
        });
    }
    match tool_point.position.iter().position(|v| !v.is_finite()) {
        Some(i) => Err(WireError::Invalid {
            field: format!("{field}.position[{i}]"),
            reason: format!("{} is not a finite number", tool_point.position[i]),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{Message, PlanRequest};

    fn request(json: &str) -> PlanRequest {
        serde_json::from_str(json).expect("decodes")
    }

    #[test]
    fn a_request_gives_its_goal_as_a_state_or_a_tool_point_not_both() {
        let start = r#""request_id": "r", "observation": [0, 0]"#;
        let tool = request(&format!(r#"{{{start}, "goal_tool_point": {{"position": [0.5, 0.1, 0.3]}}}}"#));
        assert_eq!(tool.goal_tool_point, Some(ToolPointGoal { position: [0.5, 0.1, 0.3], pointing_down: false }));
        assert_eq!(tool.validate(), Ok(()));
        let arriving = PlanRequest { arrival: Some(10), ..tool.clone() };
        assert_eq!(arriving.validate(), Ok(()), "a tool-point goal is a goal to arrive at");
        let both = PlanRequest { goal: Some(vec![1.0, 1.0]), ..tool.clone() };
        match both.validate() {
            Err(WireError::Invalid { field, reason }) => {
                assert_eq!(field, "plan_request.goal_tool_point");
                assert!(reason.contains("send one of"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        let nan = PlanRequest {
            goal_tool_point: Some(ToolPointGoal { position: [0.5, f64::NAN, 0.3], pointing_down: true }),
            ..tool
        };
        assert!(
            matches!(nan.validate(), Err(WireError::Invalid { field, .. }) if field == "plan_request.goal_tool_point.position[1]")
        );
        let unknown = format!(r#"{{{start}, "goal_tool_point": {{"position": [0.5, 0.1, 0.3], "yaw": 1}}}}"#);
        assert!(serde_json::from_str::<PlanRequest>(&unknown).is_err(), "unknown fields are refused");
        // Absent, it is not written: messages without it are unchanged on the wire.
        let plain = request(&format!("{{{start}}}"));
        assert!(!serde_json::to_string(&plain).expect("encodes").contains("goal_tool_point"));
    }
}
