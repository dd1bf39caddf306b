//! `ToolGoal`: where a robot's tool point must go, the goal in an arm's own terms (what
//! inverse kinematics solves and what [`crate::Env::goal_tool_point`] reports).

/// What the tool point must reach.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ToolGoal {
    /// Tool point position in the base frame, metres.
    pub position: [f64; 3],
    /// The tool's z axis must point along the base's −z.
    pub pointing_down: bool,
}
