//! The Panda carrying a cube to a goal among obstacles as a [`Task`] (`sim::panda`,
//! docs/MANIPULATION.md). `[env]` is `sim::panda::ReachConfig`: the cube lies in `goal_box_m`'s
//! footprint and goals are drawn in `goal_box_m`. Plans are joint-space: a row is the joint
//! targets (7, rad), then the joint angles (7, rad), speeds (7, rad/s) and the cube's centre (3,
//! m). The grasp attaches the cube; the goal state changes then, and the robot plans anew.

use bridge::message::{Component, ToolPointGoal};
use planner::constraints::ConstraintConfig;
use planner::guidance::Reward;
use planner::train::d4rl::D4rlDataset;
use planner::workspace::{ArmBody, LinkBall, WorkspaceObstacle};
use sim::panda::{
    CUBE_BALL_M, CUBE_HALF_M, CUBE_SINK_M, GRASP_TOLERANCE_M, JointTracker, PandaPickPlace, PickPlaceEpisode,
    ReachConfig, collect_arm, cube_shape,
};
use sim::{Env, Policy, SceneShape, Tracker};

use super::dataset::d4rl_stream;
use super::panda_arm::{PandaArm, workspace_obstacle};
use super::{ControlConfig, RewardKind, RobotLimits, Task};

/// The task's name in messages.
const KIND: &str = "panda_pick_place";

/// The pick-and-place task: its episodes' configuration and the arm.
pub struct PandaPickPlaceTask {
    config: ReachConfig,
    panda: PandaArm,
    /// The cube's radius against the table for the planner, metres: its centre keeps within
    /// half the simulator's sinking tolerance of its resting height (none without constraints).
    cube_table_radius: Option<f64>,
}

impl PandaPickPlaceTask {
    /// The task of `config` (see [`PandaArm::new`] for what `constraints` may hold).
    pub fn new(config: ReachConfig, constraints: Option<&ConstraintConfig>) -> anyhow::Result<Self> {
        let panda = PandaArm::new(KIND, &config, constraints)?;
        let cube_table_radius =
            constraints.and_then(|c| c.clearance_margin_m).map(|margin| CUBE_HALF_M - CUBE_SINK_M / 2.0 - margin);
        Ok(Self { config, panda, cube_table_radius })
    }

    fn episode(&self, seed: u64) -> PickPlaceEpisode {
        PickPlaceEpisode::draw(&self.panda.arm, &self.config, seed)
    }
}

impl Task for PandaPickPlaceTask {
    fn label(&self) -> String {
        format!("panda-pick-place ({} obstacles at most)", self.config.max_obstacles)
    }

    fn id(&self) -> String {
        "panda-pick-place".into()
    }

    fn components(&self) -> (Vec<Component>, Vec<Component>) {
        let cube = |axis: &str| Component { name: format!("cube_{axis}"), unit: "m".into(), low: None, high: None };
        self.panda.components(["x", "y", "z"].map(cube).to_vec())
    }

    fn goal_note(&self) -> String {
        "(q_grasp, 0, cube) until the cube is held, then (q_place, 0, goal): the configuration with the tool \
         point on the cube, then on the goal, pointing down, at rest"
            .into()
    }

    fn fixed_goal(&self) -> Option<Vec<f32>> {
        None
    }

    fn limits(&self) -> RobotLimits {
        self.panda.robot_limits(self.components(), self.dt_secs())
    }

    fn dims(&self) -> (usize, usize) {
        (2 * self.panda.joints(), 2 * self.panda.joints() + 3)
    }

    fn dt_secs(&self) -> f64 {
        self.config.dt_secs
    }

    fn make_env(&self) -> Box<dyn Env> {
        Box::new(PandaPickPlace::new(self.config.clone()))
    }

    fn tracker(&self, _control: &ControlConfig) -> Box<dyn Tracker> {
        Box::new(JointTracker { joints: self.panda.joints(), dt_secs: self.config.dt_secs })
    }

    fn expert(&self, seed: u64) -> Box<dyn Policy> {
        Box::new(self.episode(seed).expert(&self.panda.arm, self.config.dt_secs, seed))
    }

    fn arm_body(&self) -> Option<ArmBody> {
        // The cube's ball at the tool point, on the last link, all the time: before the grasp it
        // keeps the place the cube will take clear (the grasp and place are drawn clear of it).
        // Against the table it keeps its centre near its resting height or above (the simulator
        // counts a held cube pressed into the table as a collision).
        let tool = self.panda.arm.last_from_tool.translation;
        let cube = LinkBall { link: self.panda.joints() - 1, center: tool, radius: CUBE_BALL_M };
        Some(self.panda.body(vec![cube], self.cube_table_radius))
    }

    fn obstacles(&self, seed: u64) -> Vec<WorkspaceObstacle> {
        self.episode(seed).obstacles.iter().map(workspace_obstacle).collect()
    }

    fn naive(&self, seed: u64) -> Option<Box<dyn Policy>> {
        Some(Box::new(self.episode(seed).naive(&self.panda.arm, self.config.dt_secs)))
    }

    fn collect(&self, samples: usize, noisy: bool, seed: u64, on_step: &mut dyn FnMut()) -> D4rlDataset {
        let mut env = PandaPickPlace::new(self.config.clone());
        let data = collect_arm(&mut env, samples, noisy, seed, on_step);
        eprintln!(
            "panda-pick-place expert: {} episodes, {} put the cube at the goal, {} skipped without a path, {} recorded steps with a violation",
            data.episodes, data.reached, data.skipped, data.violating_steps
        );
        let joints = self.panda.joints();
        d4rl_stream(data.stream, joints, 2 * joints + 3, 2 * joints, 3)
    }

    fn reward(&self, kind: RewardKind) -> Box<dyn Reward> {
        self.panda.reward(kind)
    }

    fn position(&self, state: &[f32]) -> [f32; 3] {
        self.panda.tool_point(state)
    }

    fn commanded_state(&self, observation: &[f32], last: &[f32]) -> Option<Vec<f32>> {
        Some(self.panda.commanded_state(observation, last))
    }

    /// A held cube (its centre within the grasp tolerance of the tool point, plus 1 mm for
    /// rounding) goes to the goal with the tool; a cube that is not held stays where it lies.
    fn goal_for_tool_point(
        &self,
        observation: &[f32],
        goal: &ToolPointGoal,
        obstacles: &[WorkspaceObstacle],
    ) -> anyhow::Result<Vec<f32>> {
        let joints = self.panda.joints();
        let q = self.panda.goal_configuration(goal, obstacles)?;
        let cube = &observation[2 * joints..2 * joints + 3];
        let tool = self.panda.tool_point(observation);
        let gap = (0..3).map(|i| (cube[i] - tool[i]).powi(2)).sum::<f32>().sqrt();
        let held = f64::from(gap) <= GRASP_TOLERANCE_M + 1e-3;
        let cube_goal: Vec<f32> = if held { goal.position.iter().map(|v| *v as f32).collect() } else { cube.to_vec() };
        Ok(PandaArm::goal_state(&q, &cube_goal))
    }

    fn seam_jump(&self, before: &[f32], after: &[f32]) -> f32 {
        self.panda.seam_jump(before, after)
    }

    fn body_shapes(&self, state: &[f32]) -> Vec<SceneShape> {
        let joints = self.panda.joints();
        let mut shapes = self.panda.body_shapes(state);
        shapes.push(cube_shape(std::array::from_fn(|i| state[2 * joints + i])));
        shapes
    }

    fn normalized_score(&self, episode_return: f64) -> f64 {
        PandaArm::success_score(episode_return)
    }

    fn check_control(&self, control: &ControlConfig) -> anyhow::Result<()> {
        PandaArm::check_control(KIND, control)
    }
}

#[cfg(test)]
mod tests {
    use planner::workspace::{SHARPNESS_PER_M, Workspace};
    use sim::panda::{Capsule, Obstacle, ReachConfig};

    use super::*;

    /// Reference: the cube's ball as the simulator checks it (a ball of `CUBE_BALL_M` at the tool
    /// point, its exact distance to a ball obstacle). The planner's body carries it: beside the
    /// grasped cube, an obstacle's clearance is the smaller of the arm's (the body without the
    /// payload) and the cube's, within the soft minimum's ln(n)/β; the table's clearance is the
    /// arm's alone, so the cube may rest on the table.
    #[test]
    fn the_planners_body_keeps_the_cube_clear_of_obstacles_but_not_off_the_table() {
        let task = PandaPickPlaceTask::new(ReachConfig::default(), None).expect("default config");
        let episode = task.episode(3);
        let q = &episode.grasp_q;
        let tool = task.panda.arm.tool_frame(q).translation;
        let with = task.arm_body().expect("an arm");
        let without = task.panda.body(Vec::new(), None);
        let slack = ((with.balls.len() + 1) as f64).ln() / SHARPNESS_PER_M;
        for offset in [[0.08, 0.0, 0.0], [-0.08, 0.0, 0.0], [0.0, 0.0, -0.07]] {
            let center = std::array::from_fn(|i| tool[i] + offset[i]);
            let obstacle = Obstacle::Sphere { center, radius: 0.02 };
            let cube = obstacle.clearance(&Capsule { a: tool, b: tool, radius: CUBE_BALL_M });
            let clearances = |body: &ArmBody| {
                let workspace = Workspace { body: body.clone(), obstacles: vec![workspace_obstacle(&obstacle)] };
                workspace.clearances(std::slice::from_ref(q))[0].clone()
            };
            let (carrying, bare) = (clearances(&with), clearances(&without));
            let expected = bare[0].min(cube);
            assert!(carrying[0] <= expected + 1e-9 && carrying[0] >= expected - slack, "{carrying:?} {bare:?} {cube}");
            assert!(cube < bare[0], "the cube is the nearest part at offset {offset:?}");
            assert!((carrying[1] - bare[1]).abs() < 1e-12, "the table's clearance ignores the cube");
        }
        assert!(with.problem(task.dims().1).is_none());
    }
}
