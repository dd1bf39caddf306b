//! What a scripted expert's collection loop records: one stream of steps, column by column,
//! row-major, in the order D4RL's files keep them.

/// A recorded stream of `n` steps.
#[derive(Debug, Clone, Default)]
pub struct Collected {
    /// The observation before each step (Maze2D: x, y, vx, vy; the Panda: 7 angles, 7 speeds).
    pub observations: Vec<f32>,
    /// The action taken at each step.
    pub actions: Vec<f32>,
    /// The goal the expert was heading for at each step (Maze2D: x, y; the Panda: the tool
    /// point's x, y, z).
    pub goals: Vec<f32>,
    /// The reward of each step.
    pub rewards: Vec<f32>,
    /// Steps after which a new stretch begins (Maze2D: a goal reached or the step limit passed,
    /// and a new goal follows; the Panda: an episode's last step).
    pub timeouts: Vec<bool>,
}
