//! A robot's own limits: whatever a planner claims, a robot executes no plan whose rows are not
//! its observation's and action's widths or its control period apart, that leaves its workspace
//! or that exceeds its speed (docs/PROTOCOL.md, "Executing a plan": the limits a robot checks
//! itself). The task declares them; the robot node checks every plan before executing it.
//!
//! No limit on acceleration: a diffusion plan's rows are not dynamically consistent at a 10 ms
//! period (Maze2D plans change planned velocity by up to 209 m/s² between rows, and planned
//! position by up to 1.27 m, against the motor's 25 m/s²), and they are tracked, not replayed.

/// [`Bound::kind`] of an arm's joint angle ranges (what telemetry plots beside the plans).
pub const JOINT_RANGE: &str = "joint range";

/// The range an observation component must stay in, in its units.
#[derive(Debug, Clone, PartialEq)]
pub struct Bound {
    /// The observation component, by index.
    pub component: usize,
    /// What it bounds, for messages: `workspace` or `speed`.
    pub kind: &'static str,
    /// Smallest value allowed.
    pub low: f32,
    /// Largest value allowed.
    pub high: f32,
}

/// What a robot can do.
#[derive(Debug, Clone, PartialEq)]
pub struct RobotLimits {
    /// The observation's components, named (`x`) with their units (`m`).
    pub components: Vec<(String, String)>,
    /// The action's width.
    pub action_width: usize,
    /// Seconds per control step: a plan's rows must be as far apart.
    pub dt: f64,
    /// Ranges of observation components: positions (the workspace) and velocities (speeds).
    pub bounds: Vec<Bound>,
}

impl RobotLimits {
    /// `Ok` when the plan of `states` and `actions`, `dt` seconds per row, keeps within the
    /// limits; otherwise why not, naming the first offending row and component.
    pub fn check(&self, states: &[Vec<f32>], actions: &[Vec<f32>], dt: f64) -> Result<(), String> {
        if (dt - self.dt).abs() > 1e-9 {
            return Err(format!("rows {dt} s apart; this robot steps every {} s", self.dt));
        }
        let (width, action_width) = (self.components.len(), self.action_width);
        if let Some((k, row)) = states.iter().enumerate().find(|(_, row)| row.len() != width) {
            return Err(format!("states[{k}] has {} values; this robot's observation has {width}", row.len()));
        }
        if let Some((k, row)) = actions.iter().enumerate().find(|(_, row)| row.len() != action_width) {
            return Err(format!("actions[{k}] has {} values; this robot's action has {action_width}", row.len()));
        }
        for (k, row) in states.iter().enumerate() {
            for bound in &self.bounds {
                let value = row[bound.component];
                if !(bound.low..=bound.high).contains(&value) {
                    let (name, unit) = &self.components[bound.component];
                    return Err(format!(
                        "states[{k}].{name} = {value} {unit} is outside this robot's {} [{}, {}] {unit}",
                        bound.kind, bound.low, bound.high
                    ));
                }
            }
        }
        Ok(())
    }
}

impl RobotLimits {
    /// `Ok` unless a component of `row` (an observation a request or state starts from, or a
    /// goal: `field`) lies beyond its bound by more than the bound's own width, which no state of
    /// the robot comes near: such a request is refused before any work.
    pub fn check_plausible(&self, field: &str, row: &[f32]) -> Result<(), String> {
        for bound in &self.bounds {
            let Some(&value) = row.get(bound.component) else { continue };
            let margin = bound.high - bound.low;
            if !(bound.low - margin..=bound.high + margin).contains(&value) {
                let (name, unit) = &self.components[bound.component];
                return Err(format!(
                    "{field}[{}] ({name}) = {value} {unit} is far outside this task's {} [{}, {}] {unit}",
                    bound.component, bound.kind, bound.low, bound.high
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A point in a 2 m box at up to 1 m/s (reference: the limits written out by hand, and rows
    /// made to break each one).
    fn point() -> RobotLimits {
        let named = |name: &str, unit: &str| (name.to_owned(), unit.to_owned());
        let bound = |component, kind, high: f32| Bound { component, kind, low: -high, high };
        RobotLimits {
            components: vec![named("x", "m"), named("y", "m"), named("vx", "m/s"), named("vy", "m/s")],
            action_width: 2,
            dt: 0.01,
            bounds: vec![
                bound(0, "workspace", 2.0),
                bound(1, "workspace", 2.0),
                bound(2, "speed", 1.0),
                bound(3, "speed", 1.0),
            ],
        }
    }

    #[test]
    fn each_limit_refuses_the_row_that_breaks_it_and_names_it() {
        let limits = point();
        let still = vec![vec![0.0, 0.0, 0.0, 0.0]; 3];
        let actions = vec![vec![0.0, 0.0]; 3];
        assert_eq!(limits.check(&still, &actions, 0.01), Ok(()));
        let refused =
            |states: &[Vec<f32>], actions: &[Vec<f32>]| limits.check(states, actions, 0.01).expect_err("refused");
        let mut outside = still.clone();
        outside[2][1] = 2.5;
        assert!(
            refused(&outside, &actions).contains("states[2].y = 2.5 m is outside this robot's workspace [-2, 2] m")
        );
        let mut fast = still.clone();
        fast[1][2] = 1.5;
        assert!(refused(&fast, &actions).contains("states[1].vx = 1.5 m/s is outside this robot's speed"));
        let mut narrow = still.clone();
        narrow[1].pop();
        assert!(refused(&narrow, &actions).contains("states[1] has 3 values; this robot's observation has 4"));
        assert!(refused(&still, &[vec![0.0; 3]]).contains("actions[0] has 3 values"));
        assert!(limits.check(&still, &actions, 0.02).expect_err("refused").contains("rows 0.02 s apart"));
        // A start or goal near the bounds is plausible; one far beyond them, or NaN, is not.
        assert_eq!(limits.check_plausible("observation", &[2.5, -5.9, 2.9, 0.0]), Ok(()));
        let far = limits.check_plausible("observation", &[1e30, 0.0, 0.0, 0.0]).expect_err("refused");
        assert!(far.contains("observation[0] (x) = 1000000000000000000000000000000 m is far outside"), "{far}");
        assert!(limits.check_plausible("goal", &[f32::NAN]).is_err());
        // NaN is outside every range.
        let mut nan = still;
        nan[0][0] = f32::NAN;
        assert!(refused(&nan, &actions).contains("states[0].x = NaN"));
    }
}
