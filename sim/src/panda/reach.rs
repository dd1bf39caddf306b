//! Reaching among obstacles: move the Panda's tool point to within `goal_tolerance_m` of a
//! seeded goal without touching the seeded obstacles or the table.
//!
//! An episode is drawn from its seed alone: a start configuration (the ready pose plus uniform
//! noise), a goal tool position in a box in front of the arm with a collision-free inverse
//! kinematics solution (the goal state, at rest), and one to `max_obstacles` obstacles. With
//! probability `blocking_share` the first obstacle is a ball on the tool point of the midway
//! configuration of the straight joint-space path from start to goal, so that path collides; the
//! others are balls and boxes placed at random in the workspace. Every obstacle leaves the start
//! and goal configurations `reset_margin_m` of clearance.
//!
//! Observation: joint angles (7, rad), then joint speeds (7, rad/s). Action: a joint trajectory
//! point for the end of the step, its angles (7, rad) then speeds (7, rad/s), which the servos
//! reach from the last point by the configured interpolation at the physics' 500 Hz (linear with
//! the point's speed as feed-forward, or cubic; `Arm::step`). Reward 1 at the
//! goal; an episode ends there (panda-gym's protocol) or at the step limit.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;

use super::clearance::Clearance;
use super::description::ArmDescription;
use super::driven::{DrivenArm, Violations};
use super::expert::{ArmExpert, Leg, PLANNING_MARGIN_M};
use super::interpolation::Interpolation;
use super::obstacles::Obstacle;
use super::{ArmEnv, franka_panda, limits};
use crate::env::{Env, Geometry, Scene, SceneShape, Step};
use crate::tool_goal::ToolGoal;

/// The Panda's ready pose, rad (franka_ros's `ready`).
pub const READY: [f64; 7] = [
    0.0,
    -std::f64::consts::FRAC_PI_4,
    0.0,
    -3.0 * std::f64::consts::FRAC_PI_4,
    0.0,
    std::f64::consts::FRAC_PI_2,
    std::f64::consts::FRAC_PI_4,
];

/// `[env]` of a reach task file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReachConfig {
    /// Seconds per control step (default 0.04, panda-gym's), a multiple of the physics' 0.002.
    #[serde(default = "default_dt")]
    pub dt_secs: f64,
    /// Steps before an episode is truncated (default 100).
    #[serde(default = "default_steps")]
    pub max_episode_steps: usize,
    /// Distance from the tool point to the goal that counts as reached, metres (default 0.05).
    #[serde(default = "default_tolerance")]
    pub goal_tolerance_m: f64,
    /// Uniform noise added to each joint of the ready pose at reset, rad (default 0.3).
    #[serde(default = "default_start_noise")]
    pub start_noise_rad: f64,
    /// Goals are drawn from this box (lowest corner, highest corner), metres.
    #[serde(default = "default_goal_box")]
    pub goal_box_m: [[f64; 3]; 2],
    /// Obstacles per episode: 1 up to this (default 3; 0 for none).
    #[serde(default = "default_obstacles")]
    pub max_obstacles: usize,
    /// Share of episodes whose first obstacle blocks the straight joint-space path (default 0.7).
    #[serde(default = "default_blocking")]
    pub blocking_share: f64,
    /// Clearance obstacles leave at the start and goal configurations, metres (default 0.05).
    #[serde(default = "default_margin")]
    pub reset_margin_m: f64,
    /// How the servos' target moves between the trajectory points of two control steps
    /// (default `linear`; `cubic`).
    #[serde(default)]
    pub interpolation: Interpolation,
}

fn default_dt() -> f64 {
    0.04
}
fn default_steps() -> usize {
    100
}
fn default_tolerance() -> f64 {
    0.05
}
fn default_start_noise() -> f64 {
    0.3
}
fn default_goal_box() -> [[f64; 3]; 2] {
    [[0.3, -0.4, 0.05], [0.7, 0.4, 0.5]]
}
fn default_obstacles() -> usize {
    3
}
fn default_blocking() -> f64 {
    0.7
}
fn default_margin() -> f64 {
    0.05
}

impl Default for ReachConfig {
    fn default() -> Self {
        Self {
            dt_secs: default_dt(),
            max_episode_steps: default_steps(),
            goal_tolerance_m: default_tolerance(),
            start_noise_rad: default_start_noise(),
            goal_box_m: default_goal_box(),
            max_obstacles: default_obstacles(),
            blocking_share: default_blocking(),
            reset_margin_m: default_margin(),
            interpolation: Interpolation::default(),
        }
    }
}

impl ReachConfig {
    /// Why this configuration cannot make episodes, naming the field, if it cannot.
    #[must_use]
    pub fn problem(&self) -> Option<String> {
        let physics_steps = self.dt_secs / super::arm::PHYSICS_DT_SECS;
        if !(physics_steps >= 1.0 && (physics_steps - physics_steps.round()).abs() < 1e-9) {
            return Some(format!(
                "dt_secs = {} must be a positive multiple of the physics step {} s",
                self.dt_secs,
                super::arm::PHYSICS_DT_SECS
            ));
        }
        if self.max_episode_steps == 0 {
            return Some("max_episode_steps must be at least 1".to_owned());
        }
        if !(self.goal_tolerance_m > 0.0 && self.goal_tolerance_m.is_finite()) {
            return Some(format!("goal_tolerance_m = {} must be positive metres", self.goal_tolerance_m));
        }
        if !(0.0..=1.0).contains(&self.start_noise_rad) {
            return Some(format!("start_noise_rad = {} must be within 0..1 rad", self.start_noise_rad));
        }
        let [low, high] = self.goal_box_m;
        if !(0..3).all(|i| low[i].is_finite() && high[i].is_finite() && low[i] < high[i]) {
            return Some(format!(
                "goal_box_m = {:?}: each lowest corner coordinate must be below the highest",
                self.goal_box_m
            ));
        }
        if !(0.0..=1.0).contains(&self.blocking_share) {
            return Some(format!("blocking_share = {} must be within 0..1", self.blocking_share));
        }
        if !(self.reset_margin_m >= 0.0 && self.reset_margin_m < 0.5) {
            return Some(format!("reset_margin_m = {} must be within 0..0.5 m", self.reset_margin_m));
        }
        None
    }
}

/// Height of the table's top, metres: the arm's base stands on it.
pub const TABLE_TOP_Z: f64 = 0.0;
/// Obstacles are placed with centres in this box (lowest corner, highest corner), metres.
const OBSTACLE_BOX_M: [[f64; 3]; 2] = [[0.2, -0.6, 0.05], [0.8, 0.6, 0.6]];
/// Draws of a whole episode before giving up (a configuration that cannot be met).
const EPISODE_DRAWS: usize = 1000;
/// Draws of one obstacle before the episode is drawn again.
const OBSTACLE_DRAWS: usize = 50;

/// One episode's world, drawn from its seed.
#[derive(Debug, Clone, PartialEq)]
pub struct ReachEpisode {
    /// Joint angles at the start, rad.
    pub start: Vec<f64>,
    /// Where the tool point must go, metres.
    pub goal_position: [f64; 3],
    /// A collision-free configuration that puts it there, rad.
    pub goal_q: Vec<f64>,
    /// What the arm must not touch.
    pub obstacles: Vec<Obstacle>,
    /// The first obstacle blocks the straight joint-space path.
    pub blocking: bool,
}

impl ReachEpisode {
    /// The episode of `seed`.
    ///
    /// # Panics
    /// If no episode can be drawn in 1 000 tries (a validated configuration always
    /// gets one).
    #[must_use]
    pub fn draw(arm: &ArmDescription, config: &ReachConfig, seed: u64) -> Self {
        draw_episode(config, seed, "reach", |blocking, rng| Self::try_draw(arm, config, blocking, rng))
    }

    fn try_draw(arm: &ArmDescription, config: &ReachConfig, blocking: bool, rng: &mut ChaCha8Rng) -> Option<Self> {
        let margin = config.reset_margin_m;
        let clear_of_table = |q: &[f64]| arm.clearance(q, &[], TABLE_TOP_Z).table_m >= margin;
        let start = draw_start(arm, config, rng);
        let [low, high] = config.goal_box_m;
        let goal_position = std::array::from_fn(|i| rng.gen_range(low[i]..high[i]));
        let goal_q = arm.inverse_kinematics(
            &ToolGoal { position: goal_position, pointing_down: false },
            &READY,
            1e-3,
            rng.r#gen(),
        )?;
        if !clear_of_table(&start) || !clear_of_table(&goal_q) {
            return None;
        }
        // The tool point halfway along the straight joint-space path: a ball there blocks it.
        let midway: Vec<f64> = start.iter().zip(&goal_q).map(|(a, b)| 0.5 * (a + b)).collect();
        let blocking_at = blocking.then(|| arm.tool_frame(&midway).translation);
        let clear = |o: &Obstacle| {
            [&start, &goal_q]
                .iter()
                .all(|q| arm.clearance(q, std::slice::from_ref(o), TABLE_TOP_Z).obstacles_m >= margin)
        };
        let obstacles = draw_obstacles(config, blocking_at, &clear, rng)?;
        Some(Self { start, goal_position, goal_q, obstacles, blocking })
    }

    /// The scripted expert of this episode for an arm of `description` stepping every
    /// `dt_secs`; `seed` seeds its search.
    #[must_use]
    pub fn expert(&self, description: &ArmDescription, dt_secs: f64, seed: u64) -> ArmExpert {
        let free = |q: &[f64]| description.clearance(q, &self.obstacles, TABLE_TOP_Z).min() >= PLANNING_MARGIN_M;
        let leg = Leg { from: &self.start, to: &self.goal_q, free: &free };
        ArmExpert::plan(&limits::franka_limits(description), &[leg], dt_secs, seed)
    }

    /// The naive baseline of this episode: the straight joint-space path to the goal
    /// configuration, timed as the expert's.
    #[must_use]
    pub fn naive(&self, description: &ArmDescription, dt_secs: f64) -> ArmExpert {
        let leg = Leg { from: &self.start, to: &self.goal_q, free: &|_| true };
        ArmExpert::straight(&limits::franka_limits(description), &[leg], dt_secs)
    }
}

/// The episode of `seed`: whether its first obstacle blocks is decided once, so that redraws do
/// not favour the episodes that are easier to draw; then `try_draw(blocking, rng)` is tried up to
/// [`EPISODE_DRAWS`] times on the seed's stream.
///
/// # Panics
/// If no try gives an episode (a validated configuration always gets one); `task` names it.
pub(super) fn draw_episode<T>(
    config: &ReachConfig,
    seed: u64,
    task: &str,
    mut try_draw: impl FnMut(bool, &mut ChaCha8Rng) -> Option<T>,
) -> T {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let blocking = config.max_obstacles > 0 && rng.gen_bool(config.blocking_share);
    (0..EPISODE_DRAWS)
        .find_map(|_| try_draw(blocking, &mut rng))
        .unwrap_or_else(|| panic!("no {task} episode could be drawn for seed {seed}"))
}

/// A start configuration: the ready pose plus uniform noise, within the joint range.
pub(super) fn draw_start(arm: &ArmDescription, config: &ReachConfig, rng: &mut ChaCha8Rng) -> Vec<f64> {
    let noise = config.start_noise_rad;
    arm.clamp(&READY.iter().map(|q| q + rng.gen_range(-noise..=noise)).collect::<Vec<_>>())
}

/// One to `max_obstacles` obstacles that `clear` accepts: the first a ball of radius 5–10 cm at
/// `blocking_at` when given, the others balls and boxes anywhere in [`OBSTACLE_BOX_M`]; `None`
/// when one cannot be placed in [`OBSTACLE_DRAWS`] tries.
pub(super) fn draw_obstacles(
    config: &ReachConfig,
    blocking_at: Option<[f64; 3]>,
    clear: &dyn Fn(&Obstacle) -> bool,
    rng: &mut ChaCha8Rng,
) -> Option<Vec<Obstacle>> {
    let count = if config.max_obstacles == 0 { 0 } else { rng.gen_range(1..=config.max_obstacles) };
    (0..count)
        .map(|index| {
            (0..OBSTACLE_DRAWS)
                .map(|_| match blocking_at.filter(|_| index == 0) {
                    Some(center) => Obstacle::Sphere { center, radius: rng.gen_range(0.05..0.1) },
                    None => random_obstacle(rng),
                })
                .find(|o| clear(o))
        })
        .collect()
}

/// An arm task's scene: `obstacles`, the goal (centre, and tolerance as its radius, metres),
/// the `objects` the arm handles, and the arm at joint angles `q`.
pub(super) fn arm_scene(
    arm: &ArmDescription,
    q: &[f64],
    obstacles: &[Obstacle],
    goal: ([f64; 3], f64),
    objects: impl IntoIterator<Item = SceneShape>,
) -> Scene {
    let (center, tolerance) = goal;
    let goal = SceneShape {
        label: "goal",
        center: center.map(|v| v as f32),
        geometry: Geometry::Sphere { radius: tolerance as f32 },
    };
    let shapes = obstacle_shapes(obstacles).chain([goal]).chain(objects).chain(arm.arm_shapes(q)).collect();
    Scene { shapes }
}

/// The obstacles as shapes to draw.
fn obstacle_shapes(obstacles: &[Obstacle]) -> impl Iterator<Item = SceneShape> + '_ {
    let point = |p: [f64; 3]| p.map(|v| v as f32);
    obstacles.iter().map(move |o| match *o {
        Obstacle::Sphere { center, radius } => SceneShape {
            label: "obstacle",
            center: point(center),
            geometry: Geometry::Sphere { radius: radius as f32 },
        },
        Obstacle::Box { center, half_extents } => SceneShape {
            label: "obstacle",
            center: point(center),
            geometry: Geometry::Cuboid { half_extents: point(half_extents) },
        },
    })
}

/// A ball or a box somewhere in [`OBSTACLE_BOX_M`].
fn random_obstacle(rng: &mut ChaCha8Rng) -> Obstacle {
    let [low, high] = OBSTACLE_BOX_M;
    let center = std::array::from_fn(|i| rng.gen_range(low[i]..high[i]));
    if rng.gen_bool(0.5) {
        Obstacle::Sphere { center, radius: rng.gen_range(0.04..0.1) }
    } else {
        Obstacle::Box { center, half_extents: std::array::from_fn(|_| rng.gen_range(0.03..0.08)) }
    }
}

/// The reach task's environment.
pub struct PandaReach {
    config: ReachConfig,
    driven: DrivenArm,
    episode: ReachEpisode,
    steps: usize,
}

impl PandaReach {
    /// The environment for `config` (validated: see [`ReachConfig::problem`]); call
    /// [`Env::reset`] before stepping.
    ///
    /// # Panics
    /// If `config` has a problem.
    #[must_use]
    pub fn new(config: ReachConfig) -> Self {
        if let Some(problem) = config.problem() {
            panic!("invalid reach configuration: {problem}");
        }
        let driven = DrivenArm::new(franka_panda(), config.dt_secs, config.interpolation, &READY);
        let episode = ReachEpisode {
            start: READY.to_vec(),
            goal_position: [0.5, 0.0, 0.3],
            goal_q: READY.to_vec(),
            obstacles: Vec::new(),
            blocking: false,
        };
        Self { config, driven, episode, steps: 0 }
    }

    /// The current episode.
    #[must_use]
    pub fn episode(&self) -> &ReachEpisode {
        &self.episode
    }

    /// The clearances at `q` in this episode's world.
    #[must_use]
    pub fn clearance(&self, q: &[f64]) -> Clearance {
        self.description().clearance(q, &self.episode.obstacles, TABLE_TOP_Z)
    }

    /// The tool point's distance to the goal at `q`, metres.
    #[must_use]
    pub fn goal_distance(&self, q: &[f64]) -> f64 {
        distance(self.description().tool_frame(q).translation, self.episode.goal_position)
    }

    /// Franka's limits of this arm.
    #[must_use]
    pub fn limits(&self) -> &limits::JointLimits {
        self.driven.limits()
    }
}

impl ArmEnv for PandaReach {
    fn description(&self) -> &ArmDescription {
        self.driven.description()
    }

    fn violations(&self) -> Violations {
        self.driven.violations()
    }

    fn expert(&self, seed: u64) -> ArmExpert {
        self.episode.expert(self.description(), self.config.dt_secs, seed)
    }

    fn goal_position(&self) -> [f64; 3] {
        self.episode.goal_position
    }
}

/// Metres between two points.
pub(super) fn distance(a: [f64; 3], b: [f64; 3]) -> f64 {
    (0..3).map(|i| (a[i] - b[i]).powi(2)).sum::<f64>().sqrt()
}

/// The observation of joint angles `q` (rad) and speeds (rad/s).
pub(super) fn observation(q: &[f64], speed: &[f64]) -> Vec<f32> {
    q.iter().chain(speed).map(|v| *v as f32).collect()
}

impl Env for PandaReach {
    fn observation_dim(&self) -> usize {
        2 * self.description().joints.len()
    }

    fn action_dim(&self) -> usize {
        2 * self.description().joints.len()
    }

    fn max_episode_steps(&self) -> usize {
        self.config.max_episode_steps
    }

    fn dt(&self) -> f32 {
        self.config.dt_secs as f32
    }

    fn reset(&mut self, seed: u64) -> Vec<f32> {
        self.episode = ReachEpisode::draw(self.description(), &self.config, seed);
        let clearance = self.clearance(&self.episode.start).min();
        self.driven.reset(&self.episode.start, clearance);
        self.steps = 0;
        observation(&self.driven.joint_positions(), self.driven.joint_speeds())
    }

    fn goal_state(&self) -> Vec<f32> {
        self.episode
            .goal_q
            .iter()
            .map(|q| *q as f32)
            .chain(std::iter::repeat_n(0.0, self.episode.goal_q.len()))
            .collect()
    }

    fn goal_tool_point(&self) -> Option<ToolGoal> {
        Some(ToolGoal { position: self.episode.goal_position, pointing_down: false })
    }

    fn step(&mut self, action: &[f32]) -> Step {
        let obstacles = &self.episode.obstacles;
        let violated = self.driven.step(action, |arm, q| arm.clearance(q, obstacles, TABLE_TOP_Z).min());
        self.steps += 1;
        let q = self.driven.joint_positions();
        let at_goal = self.goal_distance(&q) <= self.config.goal_tolerance_m;
        Step {
            observation: observation(&q, self.driven.joint_speeds()),
            reward: if at_goal { 1.0 } else { 0.0 },
            terminated: at_goal,
            truncated: self.steps >= self.config.max_episode_steps,
            at_goal,
            violated: Some(violated),
        }
    }

    fn scene(&self) -> Scene {
        let episode = &self.episode;
        let goal = (episode.goal_position, self.config.goal_tolerance_m);
        arm_scene(self.description(), &self.driven.joint_positions(), &episode.obstacles, goal, [])
    }
}
