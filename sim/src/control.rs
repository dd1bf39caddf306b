//! How a robot acts: by tracking a plan, or by a policy that needs none (experts, baselines).

/// Turns a plan into actions: the controller that executes plans on the robot.
pub trait Tracker {
    /// The action at step `index` of `plan` (rows of planned observations, row 0 at the step
    /// the plan was made for) from `observation`, inside the action bounds.
    fn action(&mut self, plan: &[Vec<f32>], index: usize, observation: &[f32]) -> Vec<f32>;

    /// What a safety filter did to this tracker's actions so far (nothing, without one).
    fn interventions(&self) -> Interventions {
        Interventions::default()
    }
}

/// Actions a safety filter changed ([`crate::safety`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Interventions {
    /// Actions replaced by the nearest safe one.
    pub adjusted: usize,
    /// Actions replaced by braking, because no safe action was found.
    pub braked: usize,
}

/// A policy that needs no plan: a scripted expert, or a baseline.
pub trait Policy {
    /// The action from `observation` towards `goal_state` (see [`crate::Env::goal_state`]).
    fn act(&mut self, observation: &[f32], goal_state: &[f32]) -> Vec<f32>;
}
