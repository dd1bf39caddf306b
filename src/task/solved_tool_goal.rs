//! A tool-point goal's goal state, solved once and reused while the goal and the obstacles stay
//! the same: a streaming robot repeats its goal with every state, and inverse kinematics at every
//! control step would cost more than the plan.

use bridge::message::ToolPointGoal;
use planner::workspace::WorkspaceObstacle;

use super::Task;

/// The last tool-point goal solved, with the obstacles it was solved among and its state.
///
/// The state depends on the robot's observation too (pick-and-place: a held cube goes with the
/// tool), but only through what changes the goal as well (the grasp turns the cube's point into
/// the place point), so the goal and the obstacles are the key.
#[derive(Debug, Default)]
pub struct SolvedToolGoal {
    last: Option<(ToolPointGoal, Vec<WorkspaceObstacle>, Vec<f32>)>,
}

impl SolvedToolGoal {
    /// The goal state of `goal` for a robot at `observation` among `obstacles`
    /// ([`Task::goal_for_tool_point`]), solved anew only when the goal or the obstacles changed.
    pub fn solve(
        &mut self,
        task: &dyn Task,
        observation: &[f32],
        goal: &ToolPointGoal,
        obstacles: &[WorkspaceObstacle],
    ) -> anyhow::Result<Vec<f32>> {
        if let Some((solved, among, state)) = &self.last
            && solved == goal
            && among == obstacles
        {
            return Ok(state.clone());
        }
        let state = task.goal_for_tool_point(observation, goal, obstacles)?;
        self.last = Some((*goal, obstacles.to_vec(), state.clone()));
        Ok(state)
    }
}
