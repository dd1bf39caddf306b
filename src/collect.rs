//! `diffplan collect`: a D4RL-format Maze2D dataset from the scripted expert, generated the way
//! D4RL's `generate_maze2d_datasets.py` does it.
//!
//! One continuous stream: the environment is reset once; the expert drives to a random goal; when
//! it reaches the goal cell (or the episode's step limit passes) a new random goal is drawn and
//! `timeouts` marks that step, as in D4RL's released files. `rewards` are sparse against the
//! layout's fixed goal on the current observation (D4RL's relabelling). Unlike D4RL's script, the
//! step after a goal switch records the true state (D4RL records the stale one twice).

use std::path::PathBuf;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use planner::train::d4rl::{D4rlDataset, Table};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use sim::Env;
use sim::maze2d::{GOAL_RADIUS, GoalMode, Layout, Maze2d, WaypointExpert};

/// Arguments of `diffplan collect`.
#[derive(Debug, clap::Args)]
pub struct CollectArgs {
    /// Maze layout: umaze, medium or large.
    #[arg(long, value_parser = parse_layout)]
    layout: Layout,
    /// Number of steps to record (D4RL: 1 000 000).
    #[arg(long, default_value_t = 1_000_000)]
    samples: usize,
    /// Add N(0, 0.5²) noise to the expert's actions (D4RL's `--noisy`).
    #[arg(long)]
    noisy: bool,
    /// Seed of the start, the goals, the waypoint jitter and the action noise.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output HDF5 file.
    #[arg(long)]
    out: PathBuf,
}

/// Standard deviation of the expert's action noise with `--noisy`.
const ACTION_NOISE: f32 = 0.5;

/// Collects and writes the dataset.
pub fn run(args: &CollectArgs) -> anyhow::Result<()> {
    let dataset = collect(args.layout, args.samples, args.noisy, args.seed, true);
    dataset.write_hdf5(&args.out).with_context(|| format!("writing {}", args.out.display()))?;
    let goals_reached = dataset.timeouts.iter().filter(|&&t| t).count();
    eprintln!(
        "wrote {} steps of maze2d-{} to {} ({goals_reached} navigation goals reached)",
        dataset.len(),
        args.layout.name(),
        args.out.display()
    );
    Ok(())
}

/// Runs the expert for `samples` steps and returns the stream.
#[must_use]
pub fn collect(layout: Layout, samples: usize, noisy: bool, seed: u64, progress: bool) -> D4rlDataset {
    let mut env = Maze2d::new(layout, GoalMode::Random);
    let mut observation = env.reset(seed);
    let mut expert = WaypointExpert::new(layout, seed);
    // The same seed on another ChaCha stream: action noise independent of the environment's draws.
    let mut noise = ChaCha8Rng::seed_from_u64(seed);
    noise.set_stream(1);
    let (gi, gj) = layout.goal_cell();
    let fixed_goal = [gi as f32, gj as f32];
    let bar = if progress { ProgressBar::new(samples as u64) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} steps {eta}").unwrap_or(ProgressStyle::default_bar()),
    );
    let mut data = Stream::with_capacity(samples);
    let mut steps_to_goal = 0;
    for _ in 0..samples {
        let (mut action, solved) = expert.act(&observation, env.goal());
        if noisy {
            for a in &mut action {
                *a += ACTION_NOISE * noise.sample::<f32, _>(StandardNormal);
            }
        }
        let action = action.map(|a| a.clamp(-1.0, 1.0));
        let done = solved || steps_to_goal >= layout.max_episode_steps();
        let at_fixed_goal = (observation[0] - fixed_goal[0]).hypot(observation[1] - fixed_goal[1]) <= GOAL_RADIUS;
        data.push(&observation, action, env.goal(), if at_fixed_goal { 1.0 } else { 0.0 }, done);
        observation = env.step(&action).observation;
        steps_to_goal += 1;
        if done {
            env.set_random_goal();
            steps_to_goal = 0;
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    data.into_dataset()
}

/// The columns of a stream being recorded.
struct Stream {
    observations: Vec<f32>,
    actions: Vec<f32>,
    goals: Vec<f32>,
    rewards: Vec<f32>,
    timeouts: Vec<bool>,
}

impl Stream {
    fn with_capacity(samples: usize) -> Self {
        Self {
            observations: Vec::with_capacity(4 * samples),
            actions: Vec::with_capacity(2 * samples),
            goals: Vec::with_capacity(2 * samples),
            rewards: Vec::with_capacity(samples),
            timeouts: Vec::with_capacity(samples),
        }
    }

    fn push(&mut self, observation: &[f32], action: [f32; 2], goal: [f32; 2], reward: f32, timeout: bool) {
        self.observations.extend_from_slice(observation);
        self.actions.extend(action);
        self.goals.extend(goal);
        self.rewards.push(reward);
        self.timeouts.push(timeout);
    }

    fn into_dataset(self) -> D4rlDataset {
        let n = self.rewards.len();
        let column = |offset: usize| -> Table {
            let values = self.observations.chunks(4).flat_map(|o| [o[offset], o[offset + 1]]).collect();
            Table { values, width: 2 }
        };
        let (qpos, qvel) = (column(0), column(2));
        D4rlDataset {
            observations: Table { values: self.observations, width: 4 },
            actions: Table { values: self.actions, width: 2 },
            rewards: self.rewards,
            terminals: vec![false; n],
            timeouts: self.timeouts,
            infos: vec![
                ("goal".into(), Table { values: self.goals, width: 2 }),
                ("qpos".into(), qpos),
                ("qvel".into(), qvel),
            ],
        }
    }
}

/// Parses a layout name.
pub fn parse_layout(name: &str) -> Result<Layout, String> {
    Layout::from_name(name).ok_or_else(|| format!("{name:?} is not a maze layout: use umaze, medium or large"))
}
