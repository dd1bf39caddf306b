//! The interface every environment offers to experts, evaluation and the robot bridge.

/// The outcome of one environment step.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The observation after the step.
    pub observation: Vec<f32>,
    /// The reward of the step.
    pub reward: f32,
    /// The task ended (never for Maze2D, whose episodes run to the time limit).
    pub terminated: bool,
    /// The episode reached its step limit.
    pub truncated: bool,
    /// The state after the step is at the task's goal (Maze2D: within 0.5 m of it).
    pub at_goal: bool,
    /// The executed motion touched an obstacle or broke a joint limit during the step: `Some`
    /// where the environment checks it (the Panda), `None` where it does not (Maze2D, whose
    /// constraints the application checks on the path).
    pub violated: Option<bool>,
}

/// What to draw: every shape of the scene in world coordinates (metres).
#[derive(Debug, Clone, PartialEq)]
pub struct Scene {
    /// Walls, obstacles, the agent and its goal.
    pub shapes: Vec<SceneShape>,
}

/// One drawable shape.
#[derive(Debug, Clone, PartialEq)]
pub struct SceneShape {
    /// What it is: `wall`, `agent`, `goal`, ...
    pub label: &'static str,
    /// Centre, metres.
    pub center: [f32; 3],
    /// Its geometry.
    pub geometry: Geometry,
}

/// Shapes a scene is made of.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Geometry {
    /// An axis-aligned box with half extents in metres.
    Cuboid {
        /// Half extents along x, y, z.
        half_extents: [f32; 3],
    },
    /// A sphere (or, drawn flat, a disc).
    Sphere {
        /// Radius, metres.
        radius: f32,
    },
    /// The points within `radius` of the segment from `center − half_axis` to
    /// `center + half_axis` (an arm's link).
    Capsule {
        /// Half the segment, metres.
        half_axis: [f32; 3],
        /// Radius, metres.
        radius: f32,
    },
}

/// A seeded, fixed-dt environment.
pub trait Env {
    /// Length of an observation.
    fn observation_dim(&self) -> usize;
    /// Length of an action.
    fn action_dim(&self) -> usize;
    /// Steps after which an episode is truncated.
    fn max_episode_steps(&self) -> usize;
    /// Seconds of simulated time per step.
    fn dt(&self) -> f32;
    /// Starts a new episode drawn from `seed`; returns the first observation.
    fn reset(&mut self, seed: u64) -> Vec<f32>;
    /// The state a plan should end in, in observation units (Maze2D: the goal position at rest).
    fn goal_state(&self) -> Vec<f32>;
    /// Where an arm's tool point must go now, and whether pointing down: the goal in the robot's
    /// own terms, of which [`Env::goal_state`] is one solution. `None` for a robot without a tool.
    fn goal_tool_point(&self) -> Option<crate::tool_goal::ToolGoal> {
        None
    }
    /// Applies `action` (clipped to the action bounds) for one step.
    fn step(&mut self, action: &[f32]) -> Step;
    /// The scene as it is now.
    fn scene(&self) -> Scene;
}
