//! Maze2D as a [`Task`]: D4RL's point mass in a walled maze (`sim::maze2d`). `[env]` names the
//! layout and the goals; the obstacles of `[planner.constraints]` decide which cells resets avoid.

use bridge::message::Component;
use planner::constraints::{ConstraintConfig, ObstacleConfig};
use planner::guidance::Reward;
use planner::train::d4rl::D4rlDataset;
use serde::Deserialize;
use sim::maze2d::{
    DiffuserTracker, FeedForwardTracker, GoalMode, Layout, MAX_SPEED, Maze2d, POSITION_JITTER, Stop, WALL_HALF_SIDE,
    WALL_OFFSET, WaypointExpert, free_flight_step, steps_near_end,
};
use sim::safety::{FilteredTracker, SafetyFilter, SafetyModel};
use sim::{Disturbance, Disturbed, Env, Policy, Tracker};

use super::dataset::d4rl_stream;
use super::{Bound, ControlConfig, RewardKind, RobotLimits, Task, TrackerKind};

/// `[env]` of a Maze2D task.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Maze2dConfig {
    /// Maze layout: `umaze`, `medium` or `large`.
    #[serde(deserialize_with = "layout")]
    pub layout: Layout,
    /// Goal of each episode.
    pub goals: Goals,
    /// Push the ball: seeded random impulses and a one-off shove (`[env.disturbance]`).
    #[serde(default)]
    pub disturbance: Option<Disturbance>,
}

/// Goal of each episode.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Goals {
    /// D4RL's maze2d-*-v1 goal cell.
    Fixed,
    /// A random open cell per episode (Diffuser's Multi2D).
    Random,
}

fn layout<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Layout, D::Error> {
    let name = String::deserialize(deserializer)?;
    Layout::from_name(&name)
        .ok_or_else(|| serde::de::Error::custom(format!("{name:?} is not a maze layout: use umaze, medium or large")))
}

/// A Maze2D task: its layout, goals and the open cells its obstacles cover.
pub struct Maze2dTask {
    config: Maze2dConfig,
    /// Open cells no reset uses (a plan cannot leave from inside a keep-out region).
    excluded: Vec<(i64, i64)>,
    /// The obstacles of the task's constraints, for the safety filter.
    obstacles: Vec<ObstacleConfig>,
}

impl Maze2dTask {
    /// The task of `config`, whose resets avoid the cells `constraints`' obstacles cover.
    pub fn new(config: Maze2dConfig, constraints: Option<&ConstraintConfig>) -> anyhow::Result<Self> {
        let layout = config.layout;
        if let Some(disturbance) = &config.disturbance {
            disturbance.validate(2).map_err(anyhow::Error::msg)?;
        }
        let excluded = covered_cells(layout, constraints);
        anyhow::ensure!(
            excluded.len() < layout.open_cells().len(),
            "the obstacles of [planner.constraints] cover every open cell of the {} maze; no episode \
             could start outside them. Shrink or move them.",
            layout.name()
        );
        anyhow::ensure!(
            !(matches!(config.goals, Goals::Fixed) && excluded.contains(&layout.goal_cell())),
            "an obstacle of [planner.constraints] covers the goal cell {:?} of the {} maze, so no plan \
             could reach it. Move the obstacle, or use goals = \"random\".",
            layout.goal_cell(),
            layout.name()
        );
        let obstacles = constraints.map(|c| c.obstacle.clone()).unwrap_or_default();
        Ok(Self { config, excluded, obstacles })
    }
}

impl Task for Maze2dTask {
    fn label(&self) -> String {
        let goals = match self.config.goals {
            Goals::Fixed => "fixed goal",
            Goals::Random => "random goals",
        };
        let pushed = if self.config.disturbance.is_some() { ", pushed" } else { "" };
        format!("maze2d-{} ({goals}{pushed})", self.config.layout.name())
    }

    fn id(&self) -> String {
        format!("maze2d-{}", self.config.layout.name())
    }

    fn components(&self) -> (Vec<Component>, Vec<Component>) {
        let free = |name: &str, unit: &str| Component { name: name.into(), unit: unit.into(), low: None, high: None };
        let command = |name: &str| Component { low: Some(-1.0), high: Some(1.0), ..free(name, "1") };
        (vec![free("x", "m"), free("y", "m"), free("vx", "m/s"), free("vy", "m/s")], vec![command("ax"), command("ay")])
    }

    fn limits(&self) -> RobotLimits {
        let rows = self.config.layout.rows();
        // The inside of the outer walls: open cells are 1..=n − 2, each a box of side 1 around
        // (i + WALL_OFFSET, j + WALL_OFFSET).
        let inside = |n: usize, component| Bound {
            component,
            kind: "workspace",
            low: 1.0 + WALL_OFFSET - WALL_HALF_SIDE,
            high: (n - 2) as f32 + WALL_OFFSET + WALL_HALF_SIDE,
        };
        // Diffuser's plans reach 5.23 m/s, the largest speed in the data (its normalizer's bound),
        // over the simulator's clip at 5; the tracker saturates there. A tenth over admits them.
        let most = 1.1 * MAX_SPEED;
        let speed = |component| Bound { component, kind: "speed", low: -most, high: most };
        let (observation, action) = self.components();
        RobotLimits {
            components: observation.into_iter().map(|c| (c.name, c.unit)).collect(),
            action_width: action.len(),
            dt: self.dt_secs(),
            bounds: vec![inside(rows.len(), 0), inside(rows[0].len(), 1), speed(2), speed(3)],
        }
    }

    fn goal_note(&self) -> String {
        "(x, y, 0, 0): the goal position with zero velocity, reached at rest (Diffuser's conditioning)".into()
    }

    fn fixed_goal(&self) -> Option<Vec<f32>> {
        matches!(self.config.goals, Goals::Fixed).then(|| {
            let mut env = self.make_env();
            env.reset(0);
            env.goal_state()
        })
    }

    fn dims(&self) -> (usize, usize) {
        (2, 4)
    }

    fn dt_secs(&self) -> f64 {
        sim::maze2d::DT_SECS
    }

    fn make_env(&self) -> Box<dyn Env> {
        let goal_mode = match self.config.goals {
            Goals::Fixed => GoalMode::Fixed,
            Goals::Random => GoalMode::Random,
        };
        let env = Maze2d::new(self.config.layout, goal_mode).without_cells(&self.excluded);
        match &self.config.disturbance {
            Some(disturbance) => Box::new(Disturbed::new(env, disturbance.clone())),
            None => Box::new(env),
        }
    }

    fn tracker(&self, control: &ControlConfig) -> Box<dyn Tracker> {
        let tracker: Box<dyn Tracker> = match control.tracker {
            TrackerKind::Diffuser => Box::new(DiffuserTracker),
            TrackerKind::FeedForward => Box::new(FeedForwardTracker::default()),
        };
        if control.safety_filter && !self.obstacles.is_empty() {
            let model = ObstacleSafety { obstacles: self.obstacles.clone() };
            Box::new(FilteredTracker::new(tracker, SafetyFilter::default(), model))
        } else {
            tracker
        }
    }

    fn expert(&self, seed: u64) -> Box<dyn Policy> {
        Box::new(WaypointExpert::new(self.config.layout, seed))
    }

    fn collect(&self, samples: usize, noisy: bool, seed: u64, on_step: &mut dyn FnMut()) -> D4rlDataset {
        let data = sim::maze2d::collect(self.config.layout, samples, noisy, seed, on_step);
        d4rl_stream(data, 2, 4, 2, 2)
    }

    fn reward(&self, kind: RewardKind) -> Box<dyn Reward> {
        Box::new(MazeReward { layout: self.config.layout, kind })
    }

    fn position(&self, state: &[f32]) -> [f32; 3] {
        [state[0], state[1], 0.0]
    }

    fn normalized_score(&self, episode_return: f64) -> f64 {
        self.config.layout.reference_returns().normalized(episode_return)
    }
}

/// The safety filter's view of Maze2D: the simulator's one-step update, and one barrier: of the
/// three ways to stop ([`Stop`]: braking straight, or turning left or right while braking), the
/// one whose path to rest keeps farthest inside every obstacle's constraint, valued by the
/// constraints' own barrier at that path's worst point. h ≥ 0: the ball can still come to rest
/// outside every obstacle; near one it may keep its speed so long as it could still swerve.
struct ObstacleSafety {
    obstacles: Vec<ObstacleConfig>,
}

/// Segments of each path to rest whose ends are checked.
const STOP_SEGMENTS: usize = 8;

impl ObstacleSafety {
    /// The smallest barrier value of any obstacle at any point of `stop`'s path from `state`.
    fn worst_on(&self, stop: Stop, state: &[f32]) -> f64 {
        let velocity = [f64::from(state[2]), f64::from(state[3])];
        stop.path(state, STOP_SEGMENTS)
            .iter()
            .flat_map(|p| {
                let at = [f64::from(p[0]), f64::from(p[1]), velocity[0], velocity[1]];
                // Validated constraints: every barrier is defined (`TaskFile::read`).
                self.obstacles.iter().map(move |obstacle| obstacle.barrier(&at).unwrap_or(f64::INFINITY))
            })
            .fold(f64::INFINITY, f64::min)
    }

    /// The stop whose path keeps farthest inside, and its barrier value.
    fn best_stop(&self, state: &[f32]) -> (Stop, f64) {
        Stop::ALL
            .into_iter()
            .map(|stop| (stop, self.worst_on(stop, state)))
            .fold((Stop::Straight, f64::NEG_INFINITY), |best, next| if next.1 > best.1 { next } else { best })
    }
}

impl SafetyModel for ObstacleSafety {
    fn predict(&self, state: &[f32], action: &[f32]) -> Vec<f32> {
        free_flight_step(state, action)
    }

    fn barriers(&self, state: &[f32]) -> Vec<f64> {
        vec![self.best_stop(state).1]
    }

    fn brake(&self, state: &[f32]) -> Vec<f32> {
        self.best_stop(state).0.action(state)
    }
}

/// The Maze2D rewards: walls hit by the planned ball, or a Rapier rollout of the plan.
struct MazeReward {
    layout: Layout,
    kind: RewardKind,
}

impl Reward for MazeReward {
    fn reward(&self, states: &[Vec<f32>], _actions: &[Vec<f32>]) -> f64 {
        match self.kind {
            RewardKind::Collision => {
                -(states.iter().filter(|s| self.layout.ball_overlaps_wall(s[0], s[1])).count() as f64)
            }
            RewardKind::Rollout => steps_near_end(self.layout, states) as f64,
        }
    }

    fn name(&self) -> String {
        format!("{:?}", self.kind).to_lowercase()
    }
}

/// Points per axis sampled over the square a reset may place the ball in (centre ± jitter).
const SAMPLES_PER_AXIS: u32 = 9;

/// The open cells of `layout` where some reset position (x, y) at rest lies inside one of the
/// `constraints`' obstacles (its barrier below the margin), in the layout's order. The
/// constraints are validated first ([`crate::task::TaskFile::read`]), so every barrier is defined.
fn covered_cells(layout: Layout, constraints: Option<&ConstraintConfig>) -> Vec<(i64, i64)> {
    let Some(constraints) = constraints.filter(|c| !c.obstacle.is_empty()) else {
        return Vec::new();
    };
    let jitter = f64::from(POSITION_JITTER);
    let offsets: Vec<f64> = (0..SAMPLES_PER_AXIS)
        .map(|k| -jitter + 2.0 * jitter * f64::from(k) / f64::from(SAMPLES_PER_AXIS - 1))
        .collect();
    let covered = |(i, j): (i64, i64)| {
        offsets.iter().any(|dx| {
            offsets.iter().any(|dy| {
                let observation = [i as f64 + dx, j as f64 + dy, 0.0, 0.0];
                constraints.obstacle.iter().any(|o| o.barrier(&observation).is_ok_and(|b| b < constraints.margin))
            })
        })
    };
    layout.open_cells().into_iter().filter(|&cell| covered(cell)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obstacles(toml: &str) -> ConstraintConfig {
        toml::from_str(toml).unwrap()
    }

    /// Oracle: SafeDiffuser's Maze2D-large obstacles (docs/ALGORITHMS.md §3.2) against D4RL's
    /// large grid, by hand. The circle (4.5, 5.3), r = 1, holds the centres of (4, 6) and (5, 6)
    /// (distance 0.86); the power-4 superellipse (1.5, 4.8), half-width 1, those of (1, 4) and
    /// (2, 4) (0.5⁴ + 0.8⁴ = 0.47 < 1). The nearest other reset squares stay outside: (5, 4)
    /// at distance 1.26 from the circle, (3, 4) at 1.4⁴ = 3.8 for the superellipse.
    #[test]
    fn safediffusers_large_obstacles_cover_four_cells() {
        let config = obstacles(
            "[[obstacle]]\ndims = [0, 1]\ncenter = [4.5, 5.3]\nradii = [1.0, 1.0]\npower = 2\n\
             [[obstacle]]\ndims = [0, 1]\ncenter = [1.5, 4.8]\nradii = [1.0, 1.0]\npower = 4\n",
        );
        assert_eq!(covered_cells(Layout::Large, Some(&config)), vec![(1, 4), (2, 4), (4, 6), (5, 6)]);
    }

    /// A circle of radius 0.05 next to a cell centre reaches only into the jitter of that cell.
    #[test]
    fn an_obstacle_inside_one_reset_square_covers_that_cell_alone() {
        let config = obstacles("[[obstacle]]\ndims = [0, 1]\ncenter = [3.08, 1.0]\nradii = [0.05, 0.05]\n");
        assert_eq!(covered_cells(Layout::Umaze, Some(&config)), vec![(3, 1)]);
        assert!(covered_cells(Layout::Umaze, None).is_empty());
    }

    #[test]
    fn the_collision_reward_counts_states_in_a_wall() {
        // Reference: (0.35, 1.0) lies 0.05 from the face of U-maze wall cell (0, 0), within the
        // ball's radius 0.1; (1, 1) is an open cell's centre.
        let reward = MazeReward { layout: Layout::Umaze, kind: RewardKind::Collision };
        let states = vec![vec![0.35, 1.0, 0.0, 0.0], vec![1.0, 1.0, 0.0, 0.0]];
        assert!((reward.reward(&states, &[]) + 1.0).abs() < f64::EPSILON);
    }
}
