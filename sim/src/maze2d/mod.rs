//! Maze2D: D4RL's point mass in a walled maze, simulated by Rapier.
//!
//! Dynamics follow D4RL's MuJoCo model (`maze_model.py`): a ball of radius 0.1 m and density
//! 1000 kg/m³ (4.189 kg) on two slide joints with damping 1 N·s/m, pushed by motors of gear 100
//! (action ∈ [−1, 1]² ↦ force ∈ [−100, 100]² N), dt = 0.01 s, one physics step per action, no
//! gravity, frictionless contacts. Before each step the velocity is clipped to ±5 m/s per axis.
//! MuJoCo's Euler integrator treats the joint damping implicitly,
//! v' = (v + h F/m) / (1 + h b/m); Rapier gets the same update from the equivalent force
//! (F − b v)/(1 + h b/m) with one solver substep. Observation: (x, y, vx, vy); sparse reward 1
//! within 0.5 m of the goal; episodes run to the time limit.

mod braking;
mod collection;
mod expert;
mod feed_forward;
mod layout;
mod rollout;
mod tracker;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use rapier3d::prelude::*;

pub use braking::{Stop, free_flight_step};
pub use collection::collect;
pub use expert::WaypointExpert;
pub use feed_forward::FeedForwardTracker;
pub use layout::{Layout, WALL_HALF_SIDE, WALL_OFFSET};
pub use rollout::steps_near_end;
pub use tracker::{DiffuserTracker, track};

use crate::disturbance::Pushable;
use crate::env::{Env, Geometry, Scene, SceneShape, Step};

/// Seconds per step, as reported (the wire's `dt`, time axes): exactly 0.01.
pub const DT_SECS: f64 = 0.01;
/// Seconds per step in the simulator's f32 arithmetic ([`DT_SECS`] rounded; widened back to f64
/// it would read 0.009999999776482582).
pub const DT: f32 = DT_SECS as f32;
/// Ball radius, metres.
pub const BALL_RADIUS: f32 = 0.1;
/// Ball density, kg/m³ (mass 4/3·π·0.1³·1000 = 4.189 kg).
const BALL_DENSITY: f32 = 1000.0;
/// Ball mass, kg: the density times the ball's volume.
const BALL_MASS: f32 = BALL_DENSITY * 4.0 / 3.0 * std::f32::consts::PI * BALL_RADIUS * BALL_RADIUS * BALL_RADIUS;
/// Joint damping b, N·s/m.
const DAMPING: f32 = 1.0;
/// Motor gear: newtons per unit of action.
pub const GEAR: f32 = 100.0;
/// Velocity bound per axis, m/s, applied before each step.
pub const MAX_SPEED: f32 = 5.0;
/// Distance to the goal within which the reward is 1, metres.
pub const GOAL_RADIUS: f32 = 0.5;
/// Uniform jitter of start positions and random goals around a cell, metres.
pub const POSITION_JITTER: f32 = 0.1;
/// Standard deviation of the initial velocity, m/s.
const VELOCITY_NOISE: f32 = 0.1;

/// Where goals come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoalMode {
    /// The layout's fixed goal cell `G` (single-task, D4RL's v1 environments).
    Fixed,
    /// A random open cell with ±0.1 m jitter at every reset (Diffuser's "Multi2D").
    Random,
}

/// The Maze2D environment.
pub struct Maze2d {
    layout: Layout,
    goal_mode: GoalMode,
    world: PhysicsWorld,
    ball: RigidBodyHandle,
    goal: [f32; 2],
    /// Open cells resets draw starts and random goals from.
    reset_cells: Vec<(i64, i64)>,
    steps: usize,
    rng: ChaCha8Rng,
}

impl Maze2d {
    /// A maze of `layout` with goals from `goal_mode`; call [`Env::reset`] before stepping.
    #[must_use]
    pub fn new(layout: Layout, goal_mode: GoalMode) -> Self {
        let mut world = PhysicsWorld::new();
        world.gravity = Vector::ZERO;
        world.integration_parameters.dt = DT;
        world.integration_parameters.num_solver_iterations = 1;
        for (i, j) in layout.wall_cells() {
            let center = Vector::new(i as f32 + WALL_OFFSET, j as f32 + WALL_OFFSET, 0.0);
            world.insert_collider(
                ColliderBuilder::cuboid(WALL_HALF_SIDE, WALL_HALF_SIDE, 0.2).translation(center).friction(0.0),
                None,
            );
        }
        let (ball, _) = world.insert(
            RigidBodyBuilder::dynamic()
                .locked_axes(LockedAxes::TRANSLATION_LOCKED_Z | LockedAxes::ROTATION_LOCKED)
                .can_sleep(false),
            ColliderBuilder::ball(BALL_RADIUS).density(BALL_DENSITY).friction(0.0).restitution(0.0),
        );
        let (gi, gj) = layout.goal_cell();
        Self {
            layout,
            goal_mode,
            world,
            ball,
            goal: [gi as f32, gj as f32],
            reset_cells: layout.open_cells(),
            steps: 0,
            rng: ChaCha8Rng::seed_from_u64(0),
        }
    }

    /// Resets never place the ball or a random goal in `cells` (e.g. cells an obstacle of the
    /// task covers); the fixed goal stays the layout's.
    ///
    /// # Panics
    /// If `cells` covers every open cell of the layout.
    #[must_use]
    pub fn without_cells(mut self, cells: &[(i64, i64)]) -> Self {
        self.reset_cells.retain(|cell| !cells.contains(cell));
        assert!(!self.reset_cells.is_empty(), "every open cell of the {} maze is excluded", self.layout.name());
        self
    }

    /// The open cells resets draw from.
    #[must_use]
    pub fn reset_cells(&self) -> &[(i64, i64)] {
        &self.reset_cells
    }

    /// The layout.
    #[must_use]
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// The current goal position (x, y).
    #[must_use]
    pub fn goal(&self) -> [f32; 2] {
        self.goal
    }

    /// The goal as a state (x, y, vx, vy): its position at rest, the state a planner pins at
    /// the end of its plan.
    #[must_use]
    pub fn goal_observation(&self) -> Vec<f32> {
        vec![self.goal[0], self.goal[1], 0.0, 0.0]
    }

    /// Moves the goal (D4RL's `set_target`): a random open cell with jitter.
    pub fn set_random_goal(&mut self) {
        self.goal = self.random_open_position();
    }

    /// The ball's mass, kg.
    #[must_use]
    pub fn ball_mass(&self) -> f32 {
        self.world.bodies[self.ball].mass()
    }

    /// (x, y, vx, vy).
    #[must_use]
    pub fn observation(&self) -> Vec<f32> {
        let body = &self.world.bodies[self.ball];
        let (p, v) = (body.translation(), body.linvel());
        vec![p.x, p.y, v.x, v.y]
    }

    /// Places the ball at `position` with `velocity` (a state of the observation space).
    pub fn set_state(&mut self, position: [f32; 2], velocity: [f32; 2]) {
        let body = &mut self.world.bodies[self.ball];
        body.set_translation(Vector::new(position[0], position[1], 0.0), true);
        body.set_linvel(Vector::new(velocity[0], velocity[1], 0.0), true);
    }

    fn random_open_position(&mut self) -> [f32; 2] {
        let (i, j) = self.reset_cells[self.rng.gen_range(0..self.reset_cells.len())];
        let mut jitter = || self.rng.gen_range(-POSITION_JITTER..POSITION_JITTER);
        [i as f32 + jitter(), j as f32 + jitter()]
    }

    fn at_goal(&self, observation: &[f32]) -> bool {
        (observation[0] - self.goal[0]).hypot(observation[1] - self.goal[1]) <= GOAL_RADIUS
    }
}

impl Pushable for Maze2d {
    fn push(&mut self, velocity: &[f32]) {
        let body = &mut self.world.bodies[self.ball];
        let v = body.linvel();
        body.set_linvel(Vector::new(v.x + velocity[0], v.y + velocity[1], 0.0), true);
    }
}

impl Env for Maze2d {
    fn observation_dim(&self) -> usize {
        4
    }

    fn action_dim(&self) -> usize {
        2
    }

    fn max_episode_steps(&self) -> usize {
        self.layout.max_episode_steps()
    }

    fn dt(&self) -> f32 {
        DT
    }

    fn goal_state(&self) -> Vec<f32> {
        self.goal_observation()
    }

    fn reset(&mut self, seed: u64) -> Vec<f32> {
        self.rng = ChaCha8Rng::seed_from_u64(seed);
        self.steps = 0;
        let start = self.random_open_position();
        let mut noise = || VELOCITY_NOISE * self.rng.sample::<f32, _>(StandardNormal);
        let velocity = [noise(), noise()];
        self.set_state(start, velocity);
        match self.goal_mode {
            GoalMode::Fixed => {
                let (i, j) = self.layout.goal_cell();
                self.goal = [i as f32, j as f32];
            }
            GoalMode::Random => self.set_random_goal(),
        }
        self.observation()
    }

    fn step(&mut self, action: &[f32]) -> Step {
        let force = [action[0].clamp(-1.0, 1.0) * GEAR, action[1].clamp(-1.0, 1.0) * GEAR];
        let mass = self.ball_mass();
        let body = &mut self.world.bodies[self.ball];
        let v = body.linvel();
        let v = [v.x.clamp(-MAX_SPEED, MAX_SPEED), v.y.clamp(-MAX_SPEED, MAX_SPEED)];
        body.set_linvel(Vector::new(v[0], v[1], 0.0), true);
        // Implicit damping as MuJoCo's Euler integrator applies it (see the module docs).
        let implicit = 1.0 + DT * DAMPING / mass;
        body.reset_forces(true);
        body.add_force(
            Vector::new((force[0] - DAMPING * v[0]) / implicit, (force[1] - DAMPING * v[1]) / implicit, 0.0),
            true,
        );
        self.world.step();
        self.steps += 1;
        let observation = self.observation();
        let at_goal = self.at_goal(&observation);
        let reward = if at_goal { 1.0 } else { 0.0 };
        Step {
            observation,
            reward,
            terminated: false,
            truncated: self.steps >= self.max_episode_steps(),
            at_goal,
            violated: None,
        }
    }

    fn scene(&self) -> Scene {
        let mut shapes: Vec<SceneShape> = self
            .layout
            .wall_cells()
            .into_iter()
            .map(|(i, j)| SceneShape {
                label: "wall",
                center: [i as f32 + WALL_OFFSET, j as f32 + WALL_OFFSET, 0.0],
                geometry: Geometry::Cuboid { half_extents: [WALL_HALF_SIDE, WALL_HALF_SIDE, 0.2] },
            })
            .collect();
        shapes.push(SceneShape {
            label: "goal",
            center: [self.goal[0], self.goal[1], 0.0],
            geometry: Geometry::Sphere { radius: GOAL_RADIUS },
        });
        let observation = self.observation();
        shapes.push(SceneShape {
            label: "agent",
            center: [observation[0], observation[1], 0.0],
            geometry: Geometry::Sphere { radius: BALL_RADIUS },
        });
        Scene { shapes }
    }
}
