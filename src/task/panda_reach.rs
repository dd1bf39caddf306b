//! The Panda reaching among obstacles as a [`Task`] (`sim::panda`, docs/MANIPULATION.md).
//! `[env]` is `sim::panda::ReachConfig`; plans are joint-space: a row is the joint targets (7,
//! rad), then the joint angles (7, rad) and speeds (7, rad/s).

use bridge::message::Component;
use planner::constraints::ConstraintConfig;
use planner::guidance::Reward;
use planner::kinematics::ChainSpec;
use planner::train::d4rl::D4rlDataset;
use sim::panda::{
    ArmDescription, Frame, JointLimits, JointTracker, PandaReach, ReachConfig, ReachEpisode, ReachExpert, TABLE_TOP_Z,
    collect_reach, franka_limits, franka_panda,
};
use sim::{Env, Policy, Tracker};

use super::dataset::d4rl_stream;
use super::{Bound, ControlConfig, RewardKind, RobotLimits, Task, TrackerKind};

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
            kind: "joint range",
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

    fn kinematic_chain(&self) -> Option<ChainSpec> {
        Some(ChainSpec {
            parent_from_joint: self.arm.joints.iter().map(|j| homogeneous(&j.parent_from_joint)).collect(),
            last_from_tool: homogeneous(&self.arm.last_from_tool),
        })
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
    use planner::kinematics::SerialChain;
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
            let chain = SerialChain::new(&task.kinematic_chain().expect("an arm"), kind, Device::Cpu);
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
