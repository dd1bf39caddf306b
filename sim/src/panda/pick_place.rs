//! Pick and place among obstacles: bring a 4 cm cube lying on the table to within
//! `goal_tolerance_m` of a seeded goal without touching the obstacles or the table.
//!
//! The grasp attaches (as Diffuser's Kuka experiments did): when the tool point has come to
//! within [`GRASP_TOLERANCE_M`] of the cube's centre and every joint has slowed below
//! [`GRASP_SPEED_RAD_PER_S`], the cube is held and moves with the hand from then on. The fingers
//! are not modelled, so the resting cube is no obstacle to the arm (a hand closing on it touches
//! it). The carried cube's collisions are checked with the ball around it (half its diagonal):
//! against the obstacles, and against the table when its centre sinks below its resting height.
//!
//! An episode is drawn from its seed alone, with a [`ReachConfig`]: the start as the reach task's;
//! the cube on the table at a point of `goal_box_m`'s footprint, with a grasp configuration that
//! puts the tool point at its centre pointing down; the goal at a point of `goal_box_m` at least
//! 2 × `goal_tolerance_m` from the cube, with a place configuration (tool point there, pointing
//! down); one to `max_obstacles` obstacles. With probability `blocking_share` the first is a ball
//! on the tool point of the midway configuration of the straight joint-space path from grasp to
//! place. Every obstacle leaves `reset_margin_m` of clearance to the arm at the start, grasp and
//! place configurations, and to the cube's ball at the last two.
//!
//! Observation: joint angles (7, rad), joint speeds (7, rad/s), the cube's centre (3, metres).
//! Action: a joint trajectory point (7 angles, rad; 7 speeds, rad/s), as the reach task's. The goal state is the grasp
//! configuration at rest with the cube where it lies until the cube is held, then the place
//! configuration at rest with the cube at the goal. Reward 1 with the cube at the goal; an
//! episode ends there or at the step limit.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::description::{ArmDescription, Capsule};
use super::driven::{DrivenArm, Violations};
use super::expert::{ArmExpert, Free, Leg, PLANNING_MARGIN_M};
use super::frame::Frame;
use super::limits::franka_limits;
use super::obstacles::Obstacle;
use super::reach::{
    READY, ReachConfig, TABLE_TOP_Z, arm_scene, distance, draw_episode, draw_obstacles, draw_start, observation,
};
use super::{ArmEnv, franka_panda};
use crate::env::{Env, Geometry, Scene, SceneShape, Step};
use crate::tool_goal::ToolGoal;

/// Half the cube's edge, metres: it rests with its centre this high above the table.
pub const CUBE_HALF_M: f64 = 0.02;
/// Radius of the ball around the cube (half its diagonal, rounded up), metres: the carried
/// cube's collisions are checked with it.
pub const CUBE_BALL_M: f64 = 0.035;
/// The tool point must be this close to the cube's centre for the grasp, metres.
pub const GRASP_TOLERANCE_M: f64 = 0.01;
/// Every joint must be slower than this for the grasp, rad/s.
pub const GRASP_SPEED_RAD_PER_S: f64 = 0.1;
/// How far the carried cube's centre may sink below its resting height before it counts as
/// pressed into the table, metres.
pub const CUBE_SINK_M: f64 = 0.005;

/// One episode's world, drawn from its seed.
#[derive(Debug, Clone, PartialEq)]
pub struct PickPlaceEpisode {
    /// Joint angles at the start, rad.
    pub start: Vec<f64>,
    /// The cube's centre at the start, metres.
    pub cube: [f64; 3],
    /// A configuration with the tool point on the cube's centre, pointing down, rad.
    pub grasp_q: Vec<f64>,
    /// Where the cube's centre must go, metres.
    pub goal_position: [f64; 3],
    /// A configuration with the tool point there, pointing down, rad.
    pub place_q: Vec<f64>,
    /// What neither the arm nor the carried cube may touch.
    pub obstacles: Vec<Obstacle>,
    /// The first obstacle blocks the straight joint-space path from grasp to place.
    pub blocking: bool,
}

impl PickPlaceEpisode {
    /// The episode of `seed`.
    ///
    /// # Panics
    /// If no episode can be drawn in 1 000 tries (a validated configuration always gets one).
    #[must_use]
    pub fn draw(arm: &ArmDescription, config: &ReachConfig, seed: u64) -> Self {
        draw_episode(config, seed, "pick-and-place", |blocking, rng| Self::try_draw(arm, config, blocking, rng))
    }

    fn try_draw(arm: &ArmDescription, config: &ReachConfig, blocking: bool, rng: &mut ChaCha8Rng) -> Option<Self> {
        let margin = config.reset_margin_m;
        let start = draw_start(arm, config, rng);
        let [low, high] = config.goal_box_m;
        let cube = [rng.gen_range(low[0]..high[0]), rng.gen_range(low[1]..high[1]), TABLE_TOP_Z + CUBE_HALF_M];
        let goal_position: [f64; 3] = std::array::from_fn(|i| rng.gen_range(low[i]..high[i]));
        if distance(cube, goal_position) < 2.0 * config.goal_tolerance_m {
            return None;
        }
        let down = |position| ToolGoal { position, pointing_down: true };
        let grasp_q = arm.inverse_kinematics(&down(cube), &READY, 1e-3, rng.r#gen())?;
        let place_q = arm.inverse_kinematics(&down(goal_position), &grasp_q, 1e-3, rng.r#gen())?;
        let table = |q: &[f64]| arm.clearance(q, &[], TABLE_TOP_Z).table_m;
        // The hand holds the cube 4 cm above the table: the grasp and place keep the expert's margin.
        if table(&start) < margin || table(&grasp_q) < PLANNING_MARGIN_M || table(&place_q) < PLANNING_MARGIN_M {
            return None;
        }
        let midway: Vec<f64> = grasp_q.iter().zip(&place_q).map(|(a, b)| 0.5 * (a + b)).collect();
        let blocking_at = blocking.then(|| arm.tool_frame(&midway).translation);
        let clear = |o: &Obstacle| {
            let obstacle = std::slice::from_ref(o);
            [&start, &grasp_q, &place_q].iter().all(|q| arm.clearance(q, obstacle, TABLE_TOP_Z).obstacles_m >= margin)
                && [&grasp_q, &place_q].iter().all(|q| cube_clearance(arm, q, obstacle) >= margin)
        };
        let obstacles = draw_obstacles(config, blocking_at, &clear, rng)?;
        Some(Self { start, cube, grasp_q, goal_position, place_q, obstacles, blocking })
    }

    /// The two legs, start to grasp (the arm clear) and grasp to place (the arm and the cube's
    /// ball clear, the cube above the table), each configuration kept `margin` clear.
    fn legs<'a>(&'a self, free: [Free<'a>; 2]) -> [Leg<'a>; 2] {
        [
            Leg { from: &self.start, to: &self.grasp_q, free: free[0] },
            Leg { from: &self.grasp_q, to: &self.place_q, free: free[1] },
        ]
    }

    /// The scripted expert of this episode for an arm of `description` stepping every
    /// `dt_secs`; `seed` seeds its searches.
    #[must_use]
    pub fn expert(&self, description: &ArmDescription, dt_secs: f64, seed: u64) -> ArmExpert {
        let arm_free = |q: &[f64]| description.clearance(q, &self.obstacles, TABLE_TOP_Z).min() >= PLANNING_MARGIN_M;
        let carrying_free = |q: &[f64]| {
            arm_free(q) && {
                let tool = description.tool_frame(q).translation;
                ball_clearance(tool, &self.obstacles) >= PLANNING_MARGIN_M
                    && tool[2] >= TABLE_TOP_Z + CUBE_HALF_M - CUBE_SINK_M / 2.0
            }
        };
        ArmExpert::plan(&franka_limits(description), &self.legs([&arm_free, &carrying_free]), dt_secs, seed)
    }

    /// The naive baseline: straight joint-space paths to the grasp and to the place
    /// configuration, timed as the expert's.
    #[must_use]
    pub fn naive(&self, description: &ArmDescription, dt_secs: f64) -> ArmExpert {
        ArmExpert::straight(&franka_limits(description), &self.legs([&|_| true, &|_| true]), dt_secs)
    }
}

/// The cube centred at `center` (metres) as a shape to draw.
#[must_use]
pub fn cube_shape(center: [f32; 3]) -> SceneShape {
    SceneShape { label: "cube", center, geometry: Geometry::Cuboid { half_extents: [CUBE_HALF_M as f32; 3] } }
}

/// Clearance of the cube's ball, held at the tool point of configuration `q`, to `obstacles`
/// (metres; infinite without obstacles).
fn cube_clearance(arm: &ArmDescription, q: &[f64], obstacles: &[Obstacle]) -> f64 {
    ball_clearance(arm.tool_frame(q).translation, obstacles)
}

/// Clearance of the cube's ball centred at `center` to `obstacles`, metres.
fn ball_clearance(center: [f64; 3], obstacles: &[Obstacle]) -> f64 {
    let ball = Capsule { a: center, b: center, radius: CUBE_BALL_M };
    obstacles.iter().map(|o| o.clearance(&ball)).fold(f64::INFINITY, f64::min)
}

/// `point` (in the parent) in `frame`'s coordinates.
fn in_frame(frame: &Frame, point: [f64; 3]) -> [f64; 3] {
    let d: [f64; 3] = std::array::from_fn(|i| point[i] - frame.translation[i]);
    std::array::from_fn(|j| (0..3).map(|i| frame.rotation[i][j] * d[i]).sum())
}

/// The pick-and-place environment.
pub struct PandaPickPlace {
    config: ReachConfig,
    driven: DrivenArm,
    episode: PickPlaceEpisode,
    /// The cube's centre now, metres.
    cube: [f64; 3],
    /// Where the held cube's centre is in the tool frame; `None` until the grasp.
    held_at: Option<[f64; 3]>,
    steps: usize,
}

impl PandaPickPlace {
    /// The environment for `config` (validated: see [`ReachConfig::problem`]); call
    /// [`Env::reset`] before stepping.
    ///
    /// # Panics
    /// If `config` has a problem.
    #[must_use]
    pub fn new(config: ReachConfig) -> Self {
        if let Some(problem) = config.problem() {
            panic!("invalid pick-and-place configuration: {problem}");
        }
        let driven = DrivenArm::new(franka_panda(), config.dt_secs, config.interpolation, &READY);
        let cube = [0.5, 0.0, CUBE_HALF_M];
        let episode = PickPlaceEpisode {
            start: READY.to_vec(),
            cube,
            grasp_q: READY.to_vec(),
            goal_position: cube,
            place_q: READY.to_vec(),
            obstacles: Vec::new(),
            blocking: false,
        };
        Self { config, driven, episode, cube, held_at: None, steps: 0 }
    }

    /// The current episode.
    #[must_use]
    pub fn episode(&self) -> &PickPlaceEpisode {
        &self.episode
    }

    /// The cube's centre now, metres.
    #[must_use]
    pub fn cube(&self) -> [f64; 3] {
        self.cube
    }

    /// Whether the cube is held.
    #[must_use]
    pub fn holding(&self) -> bool {
        self.held_at.is_some()
    }

    fn observation(&self) -> Vec<f32> {
        let mut values = observation(&self.driven.joint_positions(), self.driven.joint_speeds());
        values.extend(self.cube.map(|v| v as f32));
        values
    }
}

impl ArmEnv for PandaPickPlace {
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

impl Env for PandaPickPlace {
    fn observation_dim(&self) -> usize {
        2 * self.description().joints.len() + 3
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
        self.episode = PickPlaceEpisode::draw(self.description(), &self.config, seed);
        let clearance = self.description().clearance(&self.episode.start, &self.episode.obstacles, TABLE_TOP_Z).min();
        self.driven.reset(&self.episode.start, clearance);
        self.cube = self.episode.cube;
        self.held_at = None;
        self.steps = 0;
        self.observation()
    }

    fn goal_state(&self) -> Vec<f32> {
        let (q, cube) = if self.holding() {
            (&self.episode.place_q, self.episode.goal_position)
        } else {
            (&self.episode.grasp_q, self.episode.cube)
        };
        let rest = std::iter::repeat_n(0.0, q.len());
        q.iter().map(|v| *v as f32).chain(rest).chain(cube.map(|v| v as f32)).collect()
    }

    /// The cube's centre, pointing down, until it is held; then the goal, pointing down.
    fn goal_tool_point(&self) -> Option<ToolGoal> {
        let position = if self.holding() { self.episode.goal_position } else { self.episode.cube };
        Some(ToolGoal { position, pointing_down: true })
    }

    fn step(&mut self, action: &[f32]) -> Step {
        let (obstacles, held_at) = (&self.episode.obstacles, self.held_at);
        let violated = self.driven.step(action, |arm, q| {
            let mut clearance = arm.clearance(q, obstacles, TABLE_TOP_Z).min();
            if let Some(offset) = held_at {
                let center = arm.tool_frame(q).apply(offset);
                clearance = clearance.min(ball_clearance(center, obstacles));
                let sunk = TABLE_TOP_Z + CUBE_HALF_M - CUBE_SINK_M - center[2];
                if sunk > 0.0 {
                    clearance = clearance.min(-sunk);
                }
            }
            clearance
        });
        self.steps += 1;
        let q = self.driven.joint_positions();
        let tool = self.description().tool_frame(&q);
        if let Some(offset) = self.held_at {
            self.cube = tool.apply(offset);
        } else {
            let slow = self.driven.joint_speeds().iter().all(|v| v.abs() < GRASP_SPEED_RAD_PER_S);
            if slow && distance(tool.translation, self.cube) <= GRASP_TOLERANCE_M {
                self.held_at = Some(in_frame(&tool, self.cube));
            }
        }
        let at_goal = self.holding() && distance(self.cube, self.episode.goal_position) <= self.config.goal_tolerance_m;
        Step {
            observation: self.observation(),
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
        let cube = cube_shape(self.cube.map(|v| v as f32));
        arm_scene(self.description(), &self.driven.joint_positions(), &episode.obstacles, goal, [cube])
    }
}
