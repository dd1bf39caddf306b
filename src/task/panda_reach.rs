//! The Panda reaching among obstacles as a [`Task`] (`sim::panda`, docs/MANIPULATION.md).
//! `[env]` is `sim::panda::ReachConfig`; plans are joint-space: a row is the joint targets (7,
//! rad), then the joint angles (7, rad) and speeds (7, rad/s).

use bridge::message::Component;
use planner::constraints::ConstraintConfig;
use planner::guidance::Reward;
use planner::kinematics::ChainSpec;
use planner::train::d4rl::D4rlDataset;
use planner::workspace::{ArmBody, BALL_SPACING_M, LinkBall, TableTop, WorkspaceObstacle};
use sim::panda::{
    ArmDescription, Capsule, FIRST_LINK_NEAR_TABLE, Frame, JointLimits, JointTracker, Obstacle, PandaReach,
    ReachConfig, ReachEpisode, ReachExpert, TABLE_TOP_Z, collect_reach, franka_limits, franka_panda,
};
use sim::{Env, Policy, SceneShape, Tracker};

use super::dataset::d4rl_stream;
use super::{Bound, ControlConfig, JOINT_RANGE, RewardKind, RobotLimits, Task, TrackerKind};

/// The reach task: its episodes' configuration and the arm.
pub struct PandaReachTask {
    config: ReachConfig,
    arm: ArmDescription,
    limits: JointLimits,
}

impl PandaReachTask {
    /// The task of `config`. Obstacles differ per episode, so `[planner.constraints]` (fixed
    /// obstacles of the task) is refused.
    pub fn new(config: ReachConfig, constraints: Option<&ConstraintConfig>) -> anyhow::Result<Self> {
        if let Some(problem) = config.problem() {
            anyhow::bail!("{problem}");
        }
        anyhow::ensure!(
            constraints.is_none_or(|c| c.obstacle.is_empty()),
            "[planner.constraints] obstacles are fixed per task; panda_reach draws its obstacles per episode. \
             Remove the obstacles from [planner.constraints]."
        );
        anyhow::ensure!(
            constraints.is_none_or(|c| c.clearance_margin_m.is_some()),
            "[planner.constraints] has no clearance_margin_m, so plans would ignore the episodes' obstacles; \
             set it (metres, e.g. 0.02)"
        );
        let arm = franka_panda();
        let limits = franka_limits(&arm);
        Ok(Self { config, arm, limits })
    }

    fn joints(&self) -> usize {
        self.arm.joints.len()
    }
}

/// A [`Frame`] as a row-major 4 × 4 homogeneous transform.
fn homogeneous(frame: &Frame) -> [[f64; 4]; 4] {
    let (r, t) = (&frame.rotation, &frame.translation);
    [
        [r[0][0], r[0][1], r[0][2], t[0]],
        [r[1][0], r[1][1], r[1][2], t[1]],
        [r[2][0], r[2][1], r[2][2], t[2]],
        [0.0, 0.0, 0.0, 1.0],
    ]
}

/// The simulator's obstacle as the planner's.
fn workspace_obstacle(obstacle: &Obstacle) -> WorkspaceObstacle {
    match *obstacle {
        Obstacle::Sphere { center, radius } => WorkspaceObstacle::Sphere { center, radius },
        Obstacle::Box { center, half_extents } => WorkspaceObstacle::Box { center, half_extents },
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

impl Task for PandaReachTask {
    fn label(&self) -> String {
        format!("panda-reach ({} obstacles at most)", self.config.max_obstacles)
    }

    fn id(&self) -> String {
        "panda-reach".into()
    }

    fn components(&self) -> (Vec<Component>, Vec<Component>) {
        let angle = |i: usize, prefix: &str| Component {
            name: format!("{prefix}{}", i + 1),
            unit: "rad".into(),
            low: Some(self.limits.lower_rad[i] as f32),
            high: Some(self.limits.upper_rad[i] as f32),
        };
        let speed = |i: usize| {
            let most = self.limits.max_speed_rad_per_s[i] as f32;
            Component { name: format!("qd{}", i + 1), unit: "rad/s".into(), low: Some(-most), high: Some(most) }
        };
        let observation = (0..self.joints()).map(|i| angle(i, "q")).chain((0..self.joints()).map(speed)).collect();
        (observation, (0..self.joints()).map(|i| angle(i, "q_target")).collect())
    }

    fn goal_note(&self) -> String {
        "(q_goal, 0): a collision-free joint configuration that puts the tool point on the goal, at rest".into()
    }

    fn fixed_goal(&self) -> Option<Vec<f32>> {
        None
    }

    fn limits(&self) -> RobotLimits {
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
        let (observation, action) = self.components();
        RobotLimits {
            components: observation.into_iter().map(|c| (c.name, c.unit)).collect(),
            action_width: action.len(),
            dt: self.dt_secs(),
            bounds: (0..joints).map(angle).chain((0..joints).map(speed)).collect(),
        }
    }

    fn dims(&self) -> (usize, usize) {
        (self.joints(), 2 * self.joints())
    }

    fn dt_secs(&self) -> f64 {
        self.config.dt_secs
    }

    fn make_env(&self) -> Box<dyn Env> {
        Box::new(PandaReach::new(self.config.clone()))
    }

    fn tracker(&self, _control: &ControlConfig) -> Box<dyn Tracker> {
        Box::new(JointTracker { joints: self.joints() })
    }

    fn expert(&self, seed: u64) -> Box<dyn Policy> {
        let episode = ReachEpisode::draw(&self.arm, &self.config, seed);
        Box::new(ReachExpert::plan(&self.arm, &self.limits, &episode, self.config.dt_secs, seed))
    }

    fn arm_body(&self) -> Option<ArmBody> {
        let chain = ChainSpec {
            parent_from_joint: self.arm.joints.iter().map(|j| homogeneous(&j.parent_from_joint)).collect(),
            last_from_tool: homogeneous(&self.arm.last_from_tool),
        };
        // The description's link 0 is the fixed base; link i ≥ 1 is the chain's link i − 1.
        let balls = (self.arm.links.iter().enumerate().skip(1))
            .flat_map(|(index, link)| link.capsules.iter().flat_map(move |c| balls_along(c, index - 1)))
            .collect();
        Some(ArmBody {
            chain,
            angle_dims: (0..self.joints()).collect(),
            balls,
            table: Some(TableTop { z: TABLE_TOP_Z, first_link: FIRST_LINK_NEAR_TABLE - 1 }),
        })
    }

    fn obstacles(&self, seed: u64) -> Vec<WorkspaceObstacle> {
        ReachEpisode::draw(&self.arm, &self.config, seed).obstacles.iter().map(workspace_obstacle).collect()
    }

    fn naive(&self, seed: u64) -> Option<Box<dyn Policy>> {
        let episode = ReachEpisode::draw(&self.arm, &self.config, seed);
        Some(Box::new(ReachExpert::straight(&self.limits, &episode, self.config.dt_secs)))
    }

    fn collect(&self, samples: usize, noisy: bool, seed: u64, on_step: &mut dyn FnMut()) -> D4rlDataset {
        let data = collect_reach(&self.config, samples, noisy, seed, on_step);
        eprintln!(
            "panda-reach expert: {} episodes, {} reached the goal, {} skipped without a path, {} recorded steps with a violation",
            data.episodes, data.reached, data.skipped, data.violating_steps
        );
        d4rl_stream(data.stream, self.joints(), self.joints(), 3)
    }

    fn reward(&self, kind: RewardKind) -> Box<dyn Reward> {
        Box::new(ArmReward { arm: self.arm.clone(), kind })
    }

    fn position(&self, state: &[f32]) -> [f32; 3] {
        let q: Vec<f64> = state[..self.joints()].iter().map(|v| f64::from(*v)).collect();
        self.arm.tool_frame(&q).translation.map(|v| v as f32)
    }

    fn commanded_state(&self, last: &[f32], before: &[f32], dt: f64) -> Option<Vec<f32>> {
        // The joint targets and the servos' target speed (the change of target over the step).
        let speeds = last.iter().zip(before).map(|(a, b)| ((f64::from(*a) - f64::from(*b)) / dt) as f32);
        Some(last.iter().copied().chain(speeds).collect())
    }

    fn body_shapes(&self, state: &[f32]) -> Vec<SceneShape> {
        let q: Vec<f64> = state[..self.joints()].iter().map(|v| f64::from(*v)).collect();
        self.arm.arm_shapes(&q)
    }

    fn normalized_score(&self, episode_return: f64) -> f64 {
        // Success rate ×100: an episode succeeds when its tool point reached the goal at all.
        if episode_return > 0.0 { 100.0 } else { 0.0 }
    }

    fn check_control(&self, control: &ControlConfig) -> anyhow::Result<()> {
        anyhow::ensure!(
            control.tracker == TrackerKind::Diffuser && !control.safety_filter,
            "panda_reach executes plans with its joint tracker only (the next row's joint angles); remove \
             tracker and safety_filter from [control]"
        );
        Ok(())
    }
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

#[cfg(test)]
mod tests {
    use planner::constraints::{Constraints, Stage};
    use planner::kinematics::SerialChain;
    use planner::workspace::Workspace;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use tch::{Device, Kind, Tensor};

    use super::*;

    /// Reference: the simulator's f64 kinematics (checked against MuJoCo in `sim`'s tests). The
    /// planner's libtorch chain, built from the same description by the task, must put every
    /// link and the tool point where it does: in float64 to 1e-12 m, in float32 (planning) to
    /// 1e-5 m, over 100 random configurations within the limits, batched `[10, 10]`.
    #[test]
    fn the_planners_kinematics_agree_with_the_simulators() {
        let task = PandaReachTask::new(ReachConfig::default(), None).expect("default config");
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let qs: Vec<Vec<f64>> = (0..100)
            .map(|_| task.arm.joints.iter().map(|j| rng.gen_range(j.lower_rad..j.upper_rad)).collect())
            .collect();
        let flat: Vec<f64> = qs.iter().flatten().copied().collect();
        for (kind, tolerance) in [(Kind::Double, 1e-12), (Kind::Float, 1e-5)] {
            let chain = SerialChain::new(&task.arm_body().expect("an arm").chain, kind, Device::Cpu);
            let q = Tensor::from_slice(&flat).view([10, 10, 7]).to_kind(kind);
            let frames: Vec<f64> =
                Vec::try_from(chain.link_frames(&q).to_kind(Kind::Double).flatten(0, -1)).expect("floats");
            let tools: Vec<f64> =
                Vec::try_from(chain.tool_frame(&q).to_kind(Kind::Double).flatten(0, -1)).expect("floats");
            for (n, q) in qs.iter().enumerate() {
                let expected = task.arm.link_frames(q).into_iter().chain([task.arm.tool_frame(q)]);
                let got = frames[n * 7 * 16..(n + 1) * 7 * 16].chunks(16).chain([&tools[n * 16..(n + 1) * 16]]);
                for (frame, tensor) in expected.zip(got) {
                    let matrix = homogeneous(&frame);
                    let gap = matrix.iter().flatten().zip(tensor).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
                    assert!(gap < tolerance, "{kind:?} at {q:?}: {gap}");
                }
            }
        }
    }

    /// Reference: the simulator's exact capsule clearance (`ArmDescription::clearance`, tested
    /// against parry and an independent box formulation). The planner's clearance over the
    /// balls that cover the capsules is never above it by more than half the ball spacing, and
    /// never below it by more than the soft minimum's ln(n)/β, over 100 random configurations
    /// and obstacles (two balls, one box each).
    #[test]
    fn the_planners_ball_clearance_brackets_the_simulators_capsule_clearance() {
        let task = PandaReachTask::new(ReachConfig::default(), None).expect("default config");
        let body = task.arm_body().expect("an arm");
        let slack_below = (body.balls.len() as f64).ln() / planner::workspace::SHARPNESS_PER_M;
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let point =
            |rng: &mut ChaCha8Rng| [rng.gen_range(-0.6..0.8), rng.gen_range(-0.6..0.6), rng.gen_range(0.0..1.0)];
        for _ in 0..100 {
            let q: Vec<f64> = task.arm.joints.iter().map(|j| rng.gen_range(j.lower_rad..j.upper_rad)).collect();
            let obstacles = vec![
                Obstacle::Sphere { center: point(&mut rng), radius: rng.gen_range(0.03..0.15) },
                Obstacle::Sphere { center: point(&mut rng), radius: rng.gen_range(0.03..0.15) },
                Obstacle::Box { center: point(&mut rng), half_extents: [0.05, 0.1, 0.15] },
            ];
            let workspace = Workspace { body: body.clone(), obstacles: task_obstacles(&obstacles) };
            let planned = &workspace.clearances(std::slice::from_ref(&q))[0];
            let mut exact: Vec<f64> =
                obstacles.iter().map(|o| task.arm.clearance(&q, std::slice::from_ref(o), 0.0).obstacles_m).collect();
            exact.push(task.arm.clearance(&q, &[], TABLE_TOP_Z).table_m);
            for (k, (g, capsules)) in planned.iter().zip(&exact).enumerate() {
                assert!(
                    *g <= capsules + BALL_SPACING_M / 2.0 + 1e-9 && *g >= capsules - slack_below - 1e-9,
                    "keep-out {k} at {q:?}: balls {g}, capsules {capsules}"
                );
            }
        }
    }

    /// The shipped task's constraints for one episode's obstacles.
    fn episode_constraints(task: &PandaReachTask, seed: u64) -> (Constraints, ReachEpisode) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/tasks/panda-reach-obstacles.toml");
        let file = crate::task::TaskFile::read(&path).expect("the shipped task");
        let config = file.config.planner.constraints.expect("constraints");
        let constraints = Constraints::new(&config, task.trajectory_layout(64)).expect("valid");
        let workspace = Workspace { body: task.arm_body().expect("an arm"), obstacles: task.obstacles(seed) };
        (constraints.with_workspace(workspace).expect("an arm"), ReachEpisode::draw(&task.arm, &task.config, seed))
    }

    /// Rows `(target, angles, speeds)` along the straight joint-space path from `from` to `to`
    /// with a minimum-jerk timing over `rows` rows of `dt`: at rest at both ends.
    fn straight_rows(from: &[f64], to: &[f64], rows: usize, dt: f64) -> Vec<f64> {
        let duration = (rows - 1) as f64 * dt;
        let mut values = Vec::new();
        for h in 0..rows {
            let s = h as f64 / (rows - 1) as f64;
            let position = s.powi(3) * (10.0 - 15.0 * s + 6.0 * s * s);
            let speed = 30.0 * s * s * (1.0 - s) * (1.0 - s) / duration;
            let q: Vec<f64> = from.iter().zip(to).map(|(a, b)| a + position * (b - a)).collect();
            values.extend(&q);
            values.extend(&q);
            values.extend(from.iter().zip(to).map(|(a, b)| speed * (b - a)));
        }
        values
    }

    /// Property: the projection of a plan through the obstacles (the naive straight path of the
    /// first 20 episodes whose straight path is blocked) either fails with an error or returns
    /// a plan whose every row keeps the margin less half a ball spacing from every obstacle and
    /// the table by the simulator's exact capsules, within Franka's joint range, and within the
    /// planned rate limits (the constraints' own residuals).
    #[test]
    fn projected_plans_keep_clear_by_the_simulators_capsules_or_fail() {
        let task = PandaReachTask::new(ReachConfig::default(), None).expect("default config");
        let (mut projected, mut blocked) = (0, 0);
        for seed in 0..60 {
            let (constraints, episode) = episode_constraints(&task, seed);
            if !episode.blocking {
                continue;
            }
            blocked += 1;
            if blocked > 20 {
                break;
            }
            let mut plan = straight_rows(&episode.start, &episode.goal_q, 64, task.dt_secs());
            let before = constraints.residuals(&plan);
            assert!(before.iter().any(|r| r.name.starts_with("clearance") && r.max_violation > 0.0), "seed {seed}");
            let Ok(_) = constraints.project(&mut plan, &[0, 63], Stage::Final) else { continue };
            projected += 1;
            assert!(constraints.residuals(&plan).iter().all(|r| r.max_violation <= 1e-6), "seed {seed}");
            for row in plan.chunks(21) {
                let q = &row[7..14];
                let clearance = task.arm.clearance(q, &episode.obstacles, TABLE_TOP_Z).min();
                assert!(clearance >= 0.02 - BALL_SPACING_M / 2.0, "seed {seed}: {clearance} m at {q:?}");
                assert!(task.arm.joints.iter().zip(q).all(|(j, a)| (j.lower_rad..=j.upper_rad).contains(a)));
            }
        }
        // Measured: 18 of 20 (a local method; the other two end in an error, never a plan).
        assert!(projected >= 15, "{projected} of 20 blocked straight paths projected clear");
    }

    /// A start inside an obstacle's margin is refused by name, never planned from.
    #[test]
    fn a_start_inside_an_obstacle_is_refused_with_the_reason() {
        let task = PandaReachTask::new(ReachConfig::default(), None).expect("default config");
        let (constraints, episode) = episode_constraints(&task, 0);
        let tool = task.arm.tool_frame(&episode.start).translation;
        let workspace = Workspace {
            body: task.arm_body().expect("an arm"),
            obstacles: vec![WorkspaceObstacle::Sphere { center: tool, radius: 0.05 }],
        };
        let constraints = constraints.with_workspace(workspace).expect("an arm");
        let mut plan = straight_rows(&episode.start, &episode.goal_q, 64, task.dt_secs());
        let error = constraints.project(&mut plan, &[0, 63], Stage::Final).expect_err("a start inside").to_string();
        assert!(error.contains("clearance to obstacle 0 at pinned row 0") && error.contains("start"), "{error}");
    }

    /// A goal configuration the arm cannot take (joint 4 beyond its range) is refused by name:
    /// goals are joint configurations on the planner's side, so this is what an unreachable
    /// goal is there.
    #[test]
    fn a_goal_beyond_the_joint_range_is_refused_with_the_reason() {
        let task = PandaReachTask::new(ReachConfig::default(), None).expect("default config");
        let (constraints, episode) = episode_constraints(&task, 0);
        let mut goal = episode.goal_q.clone();
        goal[3] = 0.5;
        let mut plan = straight_rows(&episode.start, &goal, 64, task.dt_secs());
        let error = constraints.project(&mut plan, &[0, 63], Stage::Final).expect_err("out of range").to_string();
        assert!(error.contains("state_box[0] at pinned row 63"), "{error}");
    }

    /// The episode's obstacles as the planner's.
    fn task_obstacles(obstacles: &[Obstacle]) -> Vec<WorkspaceObstacle> {
        obstacles.iter().map(workspace_obstacle).collect()
    }

    #[test]
    fn fixed_obstacles_and_bad_episode_settings_are_refused_by_name() {
        let constraints: ConstraintConfig =
            toml::from_str("[[obstacle]]\ndims = [0, 1]\ncenter = [0.0, 0.0]\nradii = [0.1, 0.1]\n").expect("toml");
        let error = PandaReachTask::new(ReachConfig::default(), Some(&constraints)).err().expect("refused").to_string();
        assert!(error.contains("[planner.constraints]"), "{error}");
        let error = PandaReachTask::new(ReachConfig { dt_secs: 0.003, ..ReachConfig::default() }, None)
            .err()
            .expect("refused")
            .to_string();
        assert!(error.contains("dt_secs"), "{error}");
        let error = PandaReachTask::new(
            ReachConfig { goal_box_m: [[0.7, 0.0, 0.0], [0.3, 0.1, 0.1]], ..ReachConfig::default() },
            None,
        )
        .err()
        .expect("refused")
        .to_string();
        assert!(error.contains("goal_box_m"), "{error}");
    }
}
