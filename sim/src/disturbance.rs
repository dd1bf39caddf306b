//! Pushes on the robot, to measure what closing the loop is worth: seeded random impulses and a
//! one-off shove of stated size at a stated step, around any [`Env`] that can be pushed.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use serde::Deserialize;

use crate::env::{Env, Scene, Step};

/// `[disturbance]` of a task file. A push changes the velocity of each actuated degree of
/// freedom at once (Maze2D: the ball's x and y velocity, m/s), before the step's action.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Disturbance {
    /// Mean random impulses per second, drawn as a Poisson process (0: none).
    #[serde(default)]
    pub impulses_per_s: f32,
    /// The change of velocity of each random impulse, in a uniformly random direction (m/s).
    #[serde(default)]
    pub impulse_speed: f32,
    /// A one-off shove.
    #[serde(default)]
    pub shove: Option<Shove>,
}

/// A one-off shove.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shove {
    /// The control step before which it happens (0: before the first action).
    pub step: usize,
    /// The change of velocity, one value per actuated degree of freedom (m/s).
    pub velocity: Vec<f32>,
}

impl Disturbance {
    /// Errors unless the rates and speeds are finite and non-negative and the shove has
    /// `dims` values.
    pub fn validate(&self, dims: usize) -> Result<(), String> {
        for (name, value) in [("impulses_per_s", self.impulses_per_s), ("impulse_speed", self.impulse_speed)] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(format!("disturbance.{name} is {value}; use a finite value ≥ 0"));
            }
        }
        if let Some(shove) = &self.shove {
            if shove.velocity.len() != dims {
                return Err(format!(
                    "disturbance.shove.velocity has {} values; the robot has {dims} actuated degrees of freedom",
                    shove.velocity.len()
                ));
            }
            if shove.velocity.iter().any(|v| !v.is_finite()) {
                return Err("disturbance.shove.velocity holds a value that is not finite".into());
            }
        }
        Ok(())
    }
}

/// An environment that can be pushed.
pub trait Pushable: Env {
    /// Adds `velocity` (one value per action dimension) to the robot's velocity now.
    fn push(&mut self, velocity: &[f32]);
}

/// `env` pushed by `disturbance`. The pushes of an episode are drawn from its reset seed alone,
/// so every policy meets the same pushes in the same episode.
pub struct Disturbed<E> {
    env: E,
    disturbance: Disturbance,
    rng: ChaCha8Rng,
    step: usize,
    /// Pushes so far in this episode.
    pushes: usize,
}

/// Mixed into the reset seed for the pushes' own generator (the reset draws stay untouched).
const SEED_SALT: u64 = 0x9E37_79B9_7F4A_7C15;

impl<E: Pushable> Disturbed<E> {
    /// `env` pushed by `disturbance`.
    pub fn new(env: E, disturbance: Disturbance) -> Self {
        Self { env, disturbance, rng: ChaCha8Rng::seed_from_u64(SEED_SALT), step: 0, pushes: 0 }
    }

    /// Pushes so far in this episode.
    #[must_use]
    pub fn pushes(&self) -> usize {
        self.pushes
    }

    /// A random impulse this step, if the Poisson process fires: rate × dt per step.
    fn impulse(&mut self) -> Option<Vec<f32>> {
        let chance = f64::from(self.disturbance.impulses_per_s * self.env.dt());
        if chance <= 0.0 || !self.rng.gen_bool(chance.min(1.0)) {
            return None;
        }
        let direction: Vec<f32> =
            (0..self.env.action_dim()).map(|_| self.rng.sample::<f32, _>(StandardNormal)).collect();
        let norm = direction.iter().map(|d| d * d).sum::<f32>().sqrt().max(f32::MIN_POSITIVE);
        Some(direction.iter().map(|d| d / norm * self.disturbance.impulse_speed).collect())
    }
}

impl<E: Pushable> Env for Disturbed<E> {
    fn observation_dim(&self) -> usize {
        self.env.observation_dim()
    }

    fn action_dim(&self) -> usize {
        self.env.action_dim()
    }

    fn max_episode_steps(&self) -> usize {
        self.env.max_episode_steps()
    }

    fn dt(&self) -> f32 {
        self.env.dt()
    }

    fn reset(&mut self, seed: u64) -> Vec<f32> {
        self.rng = ChaCha8Rng::seed_from_u64(seed ^ SEED_SALT);
        self.step = 0;
        self.pushes = 0;
        self.env.reset(seed)
    }

    fn goal_state(&self) -> Vec<f32> {
        self.env.goal_state()
    }

    fn step(&mut self, action: &[f32]) -> Step {
        // Drawn every step whether or not it fires, so the shove does not shift later impulses.
        let impulse = self.impulse();
        let shove = self.disturbance.shove.as_ref().filter(|s| s.step == self.step).map(|s| s.velocity.clone());
        for push in impulse.into_iter().chain(shove) {
            self.env.push(&push);
            self.pushes += 1;
        }
        self.step += 1;
        self.env.step(action)
    }

    fn scene(&self) -> Scene {
        self.env.scene()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::maze2d::{GoalMode, Layout, Maze2d};

    fn velocity(observation: &[f32]) -> [f32; 2] {
        [observation[2], observation[3]]
    }

    /// Oracle: the simulator's own update. Its implicit damping maps a velocity v to
    /// (v + dt F/m) / (1 + dt b/m), so a shove Δv before a step leaves Δv / (1 + dt b/m) after it.
    #[test]
    fn a_shove_changes_the_velocity_by_its_stated_size() {
        let shove = Shove { step: 2, velocity: vec![0.5, -0.3] };
        let disturbance = Disturbance { shove: Some(shove), ..Disturbance::default() };
        let mut pushed = Disturbed::new(Maze2d::new(Layout::Large, GoalMode::Fixed), disturbance);
        let mut plain = Maze2d::new(Layout::Large, GoalMode::Fixed);
        assert_eq!(pushed.reset(7), plain.reset(7), "the pushes do not change the reset");
        let action = [0.2, 0.1];
        for step in 0..3 {
            let (a, b) = (pushed.step(&action).observation, plain.step(&action).observation);
            let (va, vb) = (velocity(&a), velocity(&b));
            if step < 2 {
                assert_eq!(a, b, "step {step}: no push yet");
            } else {
                let implicit = 1.0 + 0.01 * 1.0 / (1000.0 * 4.0 / 3.0 * std::f32::consts::PI * 0.001);
                assert!((va[0] - vb[0] - 0.5 / implicit).abs() < 1e-5, "{va:?} vs {vb:?}");
                assert!((va[1] - vb[1] + 0.3 / implicit).abs() < 1e-5, "{va:?} vs {vb:?}");
            }
        }
        assert_eq!(pushed.pushes(), 1);
    }

    /// Oracle: a Poisson process of rate λ over T seconds fires λT ± √(λT) times; the same
    /// seed gives the same pushes.
    #[test]
    fn random_impulses_come_at_their_rate_and_repeat_with_the_seed() {
        let disturbance = Disturbance { impulses_per_s: 2.0, impulse_speed: 0.3, shove: None };
        let run = |seed: u64| {
            let mut env = Disturbed::new(Maze2d::new(Layout::Umaze, GoalMode::Fixed), disturbance.clone());
            let mut pushes = 0;
            let mut last = Vec::new();
            for episode in 0..100 {
                env.reset(seed + episode);
                for _ in 0..300 {
                    last = env.step(&[0.0, 0.0]).observation;
                }
                pushes += env.pushes();
            }
            (pushes, last)
        };
        let (pushes, last) = run(0);
        // 100 episodes × 3 s × 2 /s = 600 expected, standard deviation √600 ≈ 24.5.
        assert!((pushes as f64 - 600.0).abs() < 4.0 * 600f64.sqrt(), "{pushes} pushes");
        assert_eq!(run(0), (pushes, last.clone()));
        assert_ne!(run(1000).1, last);
    }

    #[test]
    fn bad_disturbances_are_refused_by_name() {
        let check = |disturbance: Disturbance, needle: &str| {
            let error = disturbance.validate(2).expect_err("refused");
            assert!(error.contains(needle), "{error}");
        };
        check(Disturbance { impulses_per_s: -1.0, ..Disturbance::default() }, "impulses_per_s");
        check(Disturbance { impulse_speed: f32::NAN, ..Disturbance::default() }, "impulse_speed");
        let shove = Shove { step: 0, velocity: vec![1.0] };
        check(Disturbance { shove: Some(shove), ..Disturbance::default() }, "shove.velocity has 1 values");
    }
}
