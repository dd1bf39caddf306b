//! Maze2D against its specification: D4RL's dynamics, walls that hold, determinism, the expert.
#![allow(clippy::float_cmp)] // Determinism means bit-for-bit equality; these comparisons are exact on purpose.

use sim::Env;
use sim::maze2d::{BALL_RADIUS, DT, GEAR, GoalMode, Layout, MAX_SPEED, Maze2d, WaypointExpert};

/// Runs `actions` from a reset with `seed`; returns every observation.
fn rollout(env: &mut Maze2d, seed: u64, actions: &[[f32; 2]]) -> Vec<Vec<f32>> {
    let mut observations = vec![env.reset(seed)];
    observations.extend(actions.iter().map(|a| env.step(a).observation));
    observations
}

#[test]
fn the_same_seed_and_actions_give_the_same_trajectory() {
    let actions: Vec<[f32; 2]> = (0..300).map(|k| [(k as f32 * 0.1).sin(), (k as f32 * 0.07).cos()]).collect();
    let mut env = Maze2d::new(Layout::Medium, GoalMode::Random);
    let first = rollout(&mut env, 7, &actions);
    let goal = env.goal();
    let again = rollout(&mut Maze2d::new(Layout::Medium, GoalMode::Random), 7, &actions);
    assert_eq!(first, again, "same seed, different trajectory");
    let other = rollout(&mut env, 8, &actions);
    assert_ne!(first[0], other[0], "the seed does not change the start");
    assert_ne!(goal, env.goal(), "the seed does not change the random goal");
}

#[test]
fn free_flight_follows_mujocos_implicit_euler_update() {
    // Reference: MuJoCo's Euler integrator with joint damping b = 1 on a 4.18879 kg ball,
    // v' = (v + h·100·a/m)/(1 + h·b/m), q' = q + h·v' (D4RL's point-mass model).
    let mut env = Maze2d::new(Layout::Large, GoalMode::Fixed);
    env.reset(0);
    let mass = 1000.0 * 4.0 / 3.0 * std::f64::consts::PI * 0.1f64.powi(3);
    assert!((f64::from(env.ball_mass()) - mass).abs() < 1e-4, "mass {}", env.ball_mass());
    // The middle of the large maze's open row 3, far from walls for these 12 steps.
    env.set_state([3.0, 3.0], [0.0, 0.2]);
    let (mut q, mut v) = ([3.0f64, 3.0], [0.0f64, 0.2]);
    let h = f64::from(DT);
    for k in 0..12 {
        let action = [0.3f64, if k < 6 { 0.8 } else { -1.0 }];
        let observation = env.step(&[action[0] as f32, action[1] as f32]).observation;
        for axis in 0..2 {
            v[axis] = (v[axis] + h * f64::from(GEAR) * action[axis] / mass) / (1.0 + h / mass);
            q[axis] += h * v[axis];
            assert!((f64::from(observation[axis]) - q[axis]).abs() < 1e-5, "step {k} position {axis}");
            assert!((f64::from(observation[2 + axis]) - v[axis]).abs() < 1e-5, "step {k} velocity {axis}");
        }
    }
}

#[test]
fn walls_stop_the_ball_at_full_force_and_speed_stays_clipped() {
    // U-maze row 3 runs from y = 1 to y = 3; the wall cell (3, 4) is a box centred at
    // y = 3.8 with its face at y = 3.3. At full force the ball reaches its top speed and hits
    // the wall face-on 300 times in a row. Soft contacts let it sink in a little; it must stay
    // within 0.05 m (half its radius) of the face, so nothing comes near passing through a 1 m
    // wall.
    let mut env = Maze2d::new(Layout::Umaze, GoalMode::Fixed);
    env.reset(0);
    env.set_state([3.0, 1.0], [0.0, 0.0]);
    let top_speed = MAX_SPEED + DT * GEAR / env.ball_mass();
    let mut fastest = 0.0f32;
    for _ in 0..300 {
        let observation = env.step(&[0.0, 1.0]).observation;
        assert!(observation[1] <= 3.3 - BALL_RADIUS + PENETRATION, "ball inside the wall at y = {}", observation[1]);
        fastest = fastest.max(observation[3].abs());
        assert!(observation[3].abs() <= top_speed + 1e-4, "speed {} above the clip", observation[3]);
    }
    assert!(fastest > 4.0, "the ball never got fast ({fastest} m/s), so the test proves nothing");
    // Into a corner diagonally, and back the other way along the row.
    let mut deepest = 0.0f32;
    for action in [[1.0, 1.0], [-1.0, -1.0]] {
        for _ in 0..300 {
            let o = env.step(&action).observation;
            let (x_range, y_range) = (2.3 + BALL_RADIUS..=3.3 - BALL_RADIUS, 0.3 + BALL_RADIUS..=3.3 - BALL_RADIUS);
            deepest = deepest.max(outside(o[0], &x_range)).max(outside(o[1], &y_range));
        }
    }
    println!("deepest penetration {deepest:.4} m");
    assert!(deepest <= PENETRATION, "the ball sank {deepest} m into a wall");
}

/// How far `value` lies outside `range`.
fn outside(value: f32, range: &std::ops::RangeInclusive<f32>) -> f32 {
    (range.start() - value).max(value - range.end()).max(0.0)
}

/// Deepest allowed penetration of the ball into a wall, metres.
const PENETRATION: f32 = 0.05;

#[test]
fn the_expert_reaches_every_goal() {
    for layout in Layout::ALL {
        let mut reached = 0;
        for seed in 0..5 {
            let mut env = Maze2d::new(layout, GoalMode::Random);
            let mut observation = env.reset(seed);
            let mut expert = WaypointExpert::new(layout, seed);
            let mut total = 0.0;
            for _ in 0..layout.max_episode_steps() {
                let (action, _) = expert.act(&observation, env.goal());
                let step = env.step(&action);
                total += step.reward;
                observation = step.observation;
            }
            reached += usize::from(total > 0.0);
        }
        assert_eq!(reached, 5, "{layout:?}: the expert reached {reached} of 5 goals");
    }
}

#[test]
fn the_scene_shows_walls_goal_and_agent() {
    let mut env = Maze2d::new(Layout::Umaze, GoalMode::Fixed);
    env.reset(3);
    let scene = env.scene();
    let count = |label| scene.shapes.iter().filter(|s| s.label == label).count();
    assert_eq!(count("wall"), Layout::Umaze.wall_cells().len());
    assert_eq!((count("goal"), count("agent")), (1, 1));
    assert_eq!(env.goal(), [1.0, 1.0]);
}

/// The open cell a position lies in (cells are unit squares centred on integer coordinates).
fn cell_of(observation: &[f32]) -> (i64, i64) {
    (observation[0].round() as i64, observation[1].round() as i64)
}

#[test]
fn resets_never_use_excluded_cells() {
    let excluded = [(1, 4), (2, 4), (4, 6), (5, 6)];
    let mut plain = Maze2d::new(Layout::Large, GoalMode::Random);
    let mut fenced = Maze2d::new(Layout::Large, GoalMode::Random).without_cells(&excluded);
    assert_eq!(fenced.reset_cells().len(), Layout::Large.open_cells().len() - excluded.len());
    let mut plain_hits = 0;
    for seed in 0..400 {
        let start = fenced.reset(seed);
        assert!(!excluded.contains(&cell_of(&start)), "seed {seed} started in {:?}", cell_of(&start));
        assert!(!excluded.contains(&cell_of(&fenced.goal())), "seed {seed} drew its goal in an excluded cell");
        plain_hits += usize::from(excluded.contains(&cell_of(&plain.reset(seed))));
    }
    // Without the exclusion, 4 of the large maze's open cells are hit about 400·4/n times.
    assert!(plain_hits > 0, "the unfenced maze never started in the 4 cells over 400 resets");
}

#[test]
#[should_panic(expected = "every open cell")]
fn excluding_every_open_cell_is_refused() {
    let _ = Maze2d::new(Layout::Umaze, GoalMode::Fixed).without_cells(&Layout::Umaze.open_cells());
}
