//! What the Panda's tasks share behind the [`Task`](super::Task) interface: the arm and Franka's
//! limits, the wire components of its joints, its body for the planner (chain, balls, table),
//! how a state maps to the tool point, goals given as tool points, and the task-level reward. Plans are joint-space: a row is
//! the action, a joint trajectory point (7 angle targets, rad; 7 speeds, rad/s), then the
//! observation, which starts with the joint angles (7, rad) and speeds (7, rad/s).

use bridge::message::{Component, ToolPointGoal};
use planner::constraints::ConstraintConfig;
use planner::guidance::Reward;
use planner::kinematics::ChainSpec;
use planner::workspace::{ArmBody, BALL_SPACING_M, LinkBall, TableTop, WorkspaceObstacle};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sim::SceneShape;
use sim::panda::{
    ArmDescription, Capsule, FIRST_LINK_NEAR_TABLE, Frame, JointLimits, Obstacle, READY, ReachConfig, TABLE_TOP_Z,
    ToolGoal, franka_limits, franka_panda,
};

use super::{Bound, ControlConfig, JOINT_RANGE, RewardKind, RobotLimits, TrackerKind, largest_change};

/// How near inverse kinematics brings the tool point to a goal given as a tool point, metres.
const TOOL_GOAL_TOLERANCE_M: f64 = 1e-3;
/// Clearance the goal configuration of a tool-point goal keeps from obstacles and the table,
/// metres: the expert's planning margin, 1 cm over the planner's 2 cm.
const TOOL_GOAL_CLEARANCE_M: f64 = 0.03;
/// Configurations inverse kinematics starts from for a tool-point goal: the ready pose, then
/// seeded draws within the joint ranges.
const TOOL_GOAL_STARTS: u64 = 8;

/// The Panda with Franka's limits.
pub struct PandaArm {
    /// Its description (kinematics, capsules).
    pub arm: ArmDescription,
    /// Franka's limits.
    pub limits: JointLimits,
}

impl PandaArm {
    /// The arm for a task `kind` (its name in messages) of `config`. Obstacles differ per
    /// episode, so fixed obstacles in `[planner.constraints]` are refused, and so are constraints
    /// without a clearance margin (they would plan through the episode's obstacles).
    pub fn new(kind: &str, config: &ReachConfig, constraints: Option<&ConstraintConfig>) -> anyhow::Result<Self> {
        if let Some(problem) = config.problem() {
            anyhow::bail!("{problem}");
        }
        anyhow::ensure!(
            constraints.is_none_or(|c| c.obstacle.is_empty()),
            "[planner.constraints] obstacles are fixed per task; {kind} draws its obstacles per episode. \
             Remove the obstacles from [planner.constraints]."
        );
        anyhow::ensure!(
            constraints.is_none_or(|c| c.clearance_margin_m.is_some()),
            "[planner.constraints] has no clearance_margin_m, so plans would ignore the episodes' obstacles; \
             set it (metres, e.g. 0.02)"
        );
        let arm = franka_panda();
        let limits = franka_limits(&arm);
        Ok(Self { arm, limits })
    }

    /// Joints of the arm.
    pub fn joints(&self) -> usize {
        self.arm.joints.len()
    }

    /// The joint angles (q1…q7) and speeds (qd1…qd7) then `more` as the observation's
    /// components, and the trajectory point's angles and speeds (q_target1…, qd_target1…) as the
    /// action's.
    pub fn components(&self, more: Vec<Component>) -> (Vec<Component>, Vec<Component>) {
        let angle = |i: usize, prefix: &str| Component {
            name: format!("{prefix}{}", i + 1),
            unit: "rad".into(),
            low: Some(self.limits.lower_rad[i] as f32),
            high: Some(self.limits.upper_rad[i] as f32),
        };
        let speed = |i: usize, prefix: &str| {
            let most = self.limits.max_speed_rad_per_s[i] as f32;
            Component { name: format!("{prefix}{}", i + 1), unit: "rad/s".into(), low: Some(-most), high: Some(most) }
        };
        let joints = self.joints();
        let observation =
            (0..joints).map(|i| angle(i, "q")).chain((0..joints).map(|i| speed(i, "qd"))).chain(more).collect();
        let action = (0..joints).map(|i| angle(i, "q_target")).chain((0..joints).map(|i| speed(i, "qd_target")));
        (observation, action.collect())
    }

    /// The robot's own limits (joint ranges and speeds) for observations of `components`.
    pub fn robot_limits(&self, components: (Vec<Component>, Vec<Component>), dt: f64) -> RobotLimits {
        let joints = self.joints();
        let angle = |j: usize| Bound {
            component: j,
            kind: JOINT_RANGE,
            low: self.limits.lower_rad[j] as f32,
            high: self.limits.upper_rad[j] as f32,
        };
        let speed = |j: usize| {
            let most = self.limits.max_speed_rad_per_s[j] as f32;
            Bound { component: joints + j, kind: "speed", low: -most, high: most }
        };
        let (observation, action) = components;
        RobotLimits {
            components: observation.into_iter().map(|c| (c.name, c.unit)).collect(),
            action_width: action.len(),
            dt,
            bounds: (0..joints).map(angle).chain((0..joints).map(speed)).collect(),
        }
    }

    /// The arm as the planner sees it, carrying `payload` (balls on its links) with its radius
    /// against the table (see [`TableTop::payload_radius`]).
    pub fn body(&self, payload: Vec<LinkBall>, payload_table_radius: Option<f64>) -> ArmBody {
        let chain = ChainSpec {
            parent_from_joint: self.arm.joints.iter().map(|j| homogeneous(&j.parent_from_joint)).collect(),
            last_from_tool: homogeneous(&self.arm.last_from_tool),
        };
        // The description's link 0 is the fixed base; link i ≥ 1 is the chain's link i − 1.
        let balls = (self.arm.links.iter().enumerate().skip(1))
            .flat_map(|(index, link)| link.capsules.iter().flat_map(move |c| balls_along(c, index - 1)))
            .collect();
        ArmBody {
            chain,
            angle_dims: (0..self.joints()).collect(),
            balls,
            payload,
            table: Some(TableTop {
                z: TABLE_TOP_Z,
                first_link: FIRST_LINK_NEAR_TABLE - 1,
                payload_radius: payload_table_radius,
            }),
        }
    }

    /// The joint angles of `state`, rad.
    fn angles(&self, state: &[f32]) -> Vec<f64> {
        state[..self.joints()].iter().map(|v| f64::from(*v)).collect()
    }

    /// The tool point at `state`, metres.
    pub fn tool_point(&self, state: &[f32]) -> [f32; 3] {
        self.arm.tool_frame(&self.angles(state)).translation.map(|v| v as f32)
    }

    /// The servos' last trajectory point `last` (angles, speeds), then `observation`'s values
    /// past the joints' angles and speeds.
    pub fn commanded_state(&self, observation: &[f32], last: &[f32]) -> Vec<f32> {
        let joints = self.joints();
        last[..2 * joints].iter().chain(&observation[2 * joints..]).copied().collect()
    }

    /// Joint angles that put the tool point at `goal` and keep [`TOOL_GOAL_CLEARANCE_M`] from
    /// `obstacles` and the table: inverse kinematics from the ready pose (where the tasks' own
    /// goal configurations come from, so the model has seen their like), then from seeded
    /// draws until one is clear. The same goal and obstacles give the same angles.
    pub fn goal_configuration(
        &self,
        goal: &ToolPointGoal,
        obstacles: &[WorkspaceObstacle],
    ) -> anyhow::Result<Vec<f64>> {
        let tool_goal = ToolGoal { position: goal.position, pointing_down: goal.pointing_down };
        let obstacles: Vec<Obstacle> = obstacles.iter().map(sim_obstacle).collect();
        let mut draws = ChaCha8Rng::seed_from_u64(0);
        let mut clearest: Option<f64> = None;
        for attempt in 0..TOOL_GOAL_STARTS {
            let start: Vec<f64> = match attempt {
                0 => READY.to_vec(),
                _ => (0..self.joints())
                    .map(|j| draws.gen_range(self.limits.lower_rad[j]..self.limits.upper_rad[j]))
                    .collect(),
            };
            let Some(q) = self.arm.inverse_kinematics(&tool_goal, &start, TOOL_GOAL_TOLERANCE_M, attempt) else {
                continue;
            };
            let clearance = self.arm.clearance(&q, &obstacles, TABLE_TOP_Z).min();
            if clearance >= TOOL_GOAL_CLEARANCE_M {
                return Ok(q);
            }
            clearest = Some(clearest.map_or(clearance, |c| c.max(clearance)));
        }
        let [x, y, z] = goal.position;
        let down = if goal.pointing_down { ", pointing down," } else { "" };
        match clearest {
            None => anyhow::bail!(
                "[{x}, {y}, {z}] m{down} is out of the arm's reach: no configuration within Franka's joint ranges puts \
                 the tool point within {TOOL_GOAL_TOLERANCE_M} m of it; move the goal nearer the base (the tasks draw \
                 theirs 0.3–0.7 m in front of it)"
            ),
            Some(clearance) => anyhow::bail!(
                "every configuration found that puts the tool point at [{x}, {y}, {z}] m{down} comes within \
                 {clearance:.3} m of an obstacle or the table ({TOOL_GOAL_CLEARANCE_M} m needed); move the goal away from them"
            ),
        }
    }

    /// The goal state at rest at joint angles `q`, then `more` (a task's values past the joints').
    pub fn goal_state(q: &[f64], more: &[f32]) -> Vec<f32> {
        q.iter().map(|v| *v as f32).chain(std::iter::repeat_n(0.0, q.len())).chain(more.iter().copied()).collect()
    }

    /// The largest change of a joint's target angle between two actions, rad: the commanded
    /// joint step at a seam (over dt, the speed the servos are asked for across it). The
    /// points' speeds are central differences of the planned angles, so they follow the angles.
    pub fn seam_jump(&self, before: &[f32], after: &[f32]) -> f32 {
        let joints = self.joints();
        largest_change(&before[..joints], &after[..joints])
    }

    /// The link capsules at `state`, to draw.
    pub fn body_shapes(&self, state: &[f32]) -> Vec<SceneShape> {
        self.arm.arm_shapes(&self.angles(state))
    }

    /// The task-level reward `kind`.
    pub fn reward(&self, kind: RewardKind) -> Box<dyn Reward> {
        Box::new(ArmReward { arm: self.arm.clone(), kind })
    }

    /// Success rate ×100: an episode succeeds when it was at its goal at all (a positive return).
    pub fn success_score(episode_return: f64) -> f64 {
        if episode_return > 0.0 { 100.0 } else { 0.0 }
    }

    /// Refuses a tracker or safety filter other than the joint tracker.
    pub fn check_control(kind: &str, control: &ControlConfig) -> anyhow::Result<()> {
        anyhow::ensure!(
            control.tracker == TrackerKind::Diffuser && !control.safety_filter,
            "{kind} executes plans with its joint tracker only (the next row's joint angles); remove \
             tracker and safety_filter from [control]"
        );
        Ok(())
    }
}

/// A [`Frame`] as a row-major 4 × 4 homogeneous transform.
pub fn homogeneous(frame: &Frame) -> [[f64; 4]; 4] {
    let (r, t) = (&frame.rotation, &frame.translation);
    [
        [r[0][0], r[0][1], r[0][2], t[0]],
        [r[1][0], r[1][1], r[1][2], t[1]],
        [r[2][0], r[2][1], r[2][2], t[2]],
        [0.0, 0.0, 0.0, 1.0],
    ]
}

/// The simulator's obstacle as the planner's.
pub fn workspace_obstacle(obstacle: &Obstacle) -> WorkspaceObstacle {
    match *obstacle {
        Obstacle::Sphere { center, radius } => WorkspaceObstacle::Sphere { center, radius },
        Obstacle::Box { center, half_extents } => WorkspaceObstacle::Box { center, half_extents },
    }
}

/// The planner's obstacle as the simulator's.
fn sim_obstacle(obstacle: &WorkspaceObstacle) -> Obstacle {
    match *obstacle {
        WorkspaceObstacle::Sphere { center, radius } => Obstacle::Sphere { center, radius },
        WorkspaceObstacle::Box { center, half_extents } => Obstacle::Box { center, half_extents },
    }
}

/// Balls of `capsule`'s radius along its axis, ends included, at most [`BALL_SPACING_M`] apart,
/// riding on the chain's link `link`: every point of the axis is within half the spacing of a
/// centre, so the capsule's clearance is at least the balls' minus that.
fn balls_along(capsule: &Capsule, link: usize) -> impl Iterator<Item = LinkBall> + '_ {
    let length = (0..3).map(|i| (capsule.b[i] - capsule.a[i]).powi(2)).sum::<f64>().sqrt();
    let gaps = (length / BALL_SPACING_M).ceil() as usize;
    (0..=gaps).map(move |i| {
        let t = if gaps == 0 { 0.0 } else { i as f64 / gaps as f64 };
        LinkBall {
            link,
            center: std::array::from_fn(|k| capsule.a[k] + t * (capsule.b[k] - capsule.a[k])),
            radius: capsule.radius,
        }
    })
}

/// What a task-level reward can know of the arm: the table, which every episode has (the
/// obstacles are the episode's, not the task's).
struct ArmReward {
    arm: ArmDescription,
    kind: RewardKind,
}

impl Reward for ArmReward {
    fn reward(&self, states: &[Vec<f32>], _actions: &[Vec<f32>]) -> f64 {
        let joints = self.arm.joints.len();
        let touching = |s: &Vec<f32>| {
            let q: Vec<f64> = s[..joints].iter().map(|v| f64::from(*v)).collect();
            self.arm.clearance(&q, &[], TABLE_TOP_Z).table_m < 0.0
        };
        // Both kinds count the same here: a rollout would need the episode's obstacles too.
        -(states.iter().filter(|s| touching(s)).count() as f64)
    }

    fn name(&self) -> String {
        format!("{:?} (table only)", self.kind).to_lowercase()
    }
}
