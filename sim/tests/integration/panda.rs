//! The Panda against independent references: MuJoCo's forward kinematics of the committed URDF
//! (an engine that parses the file itself), and Rapier's simulated arm against those kinematics.
#![allow(clippy::float_cmp)] // Determinism means bit-for-bit equality; these comparisons are exact on purpose.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sim::panda::{
    Arm, ArmDescription, ArmEnv, CUBE_BALL_M, CUBE_HALF_M, Frame, Interpolation, PandaPickPlace, PandaReach,
    PickPlaceEpisode, ReachConfig, ReachEpisode, TABLE_TOP_Z, collect_arm, franka_limits, franka_panda,
};
use sim::{Env, Policy};

/// `n` joint configurations drawn uniformly within the Panda's limits.
fn configurations(arm: &ArmDescription, n: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| arm.joints.iter().map(|j| rng.gen_range(j.lower_rad..j.upper_rad)).collect()).collect()
}

/// The venv interpreter (with MuJoCo); the test fails loudly without it.
fn python() -> PathBuf {
    std::env::var_os("DIFFPLAN_PYTHON").map(PathBuf::from).expect(
        "DIFFPLAN_PYTHON is not set: run the tests through scripts/test.sh, which creates the venv \
         (with mujoco) and points DIFFPLAN_PYTHON at it",
    )
}

/// MuJoCo's poses and collision capsules at `configurations` (tests/python/panda_fk_oracle.py).
fn mujoco(configurations: &[Vec<f64>]) -> serde_json::Value {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let request = serde_json::json!({
        "urdf": root.join("assets/panda/panda.urdf"),
        "configurations": configurations,
    });
    let mut child = Command::new(python())
        .arg(root.join("tests/python/panda_fk_oracle.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("failed to start python");
    child.stdin.take().expect("stdin").write_all(request.to_string().as_bytes()).expect("writing the request");
    let output = child.wait_with_output().expect("the oracle ran");
    assert!(output.status.success(), "panda_fk_oracle.py failed: {}", output.status);
    serde_json::from_slice(&output.stdout).expect("the oracle writes JSON")
}

fn numbers(value: &serde_json::Value) -> Vec<f64> {
    value.as_array().expect("an array").iter().map(|v| v.as_f64().expect("a number")).collect()
}

/// The largest distance between two rotations' quaternions, up to sign.
fn quaternion_gap(a: [f64; 4], b: &[f64]) -> f64 {
    let gap = |sign: f64| a.iter().zip(b).map(|(x, y)| (sign * x - y).abs()).fold(0.0, f64::max);
    gap(1.0).min(gap(-1.0))
}

fn position_gap(a: [f64; 3], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

/// Reference: MuJoCo 4.0.0 (PyPI) loading `assets/panda/panda.urdf` with its own URDF parser.
/// Both compute in f64 from the same decimal numbers, so they agree to rounding; the issue asks
/// for 1e-6 m, and 1e-9 is asserted.
#[test]
fn forward_kinematics_matches_mujoco_on_the_committed_urdf() {
    let arm = franka_panda();
    let qs = configurations(&arm, 100, 0);
    let reference = mujoco(&qs);
    let bodies: Vec<&str> =
        reference["bodies"].as_array().expect("bodies").iter().map(|b| b.as_str().expect("a name")).collect();
    let (mut worst_position, mut worst_rotation, mut worst_capsule) = (0.0_f64, 0.0_f64, 0.0_f64);
    for (k, q) in qs.iter().enumerate() {
        let poses = reference["poses"][k].as_array().expect("poses");
        let mut ours: Vec<(String, Frame)> =
            arm.joints.iter().zip(arm.link_frames(q)).map(|(j, f)| (j.name.replace("joint", "link"), f)).collect();
        ours.push(("panda_hand_tcp".to_owned(), arm.tool_frame(q)));
        for (name, frame) in ours {
            let index = bodies.iter().position(|b| *b == name).unwrap_or_else(|| panic!("MuJoCo has no body {name}"));
            let pose = numbers(&poses[index]);
            worst_position = worst_position.max(position_gap(frame.translation, &pose[..3]));
            worst_rotation = worst_rotation.max(quaternion_gap(frame.quaternion(), &pose[3..]));
        }
        let theirs = reference["capsules"][k].as_array().expect("capsules");
        let capsules = arm.capsules_in_base(q);
        assert_eq!(capsules.len(), theirs.len(), "one capsule per MuJoCo geom");
        for ((_, capsule), geom) in capsules.iter().zip(theirs) {
            let geom = numbers(geom);
            let straight = position_gap(capsule.a, &geom[0..3]).max(position_gap(capsule.b, &geom[3..6]));
            let swapped = position_gap(capsule.b, &geom[0..3]).max(position_gap(capsule.a, &geom[3..6]));
            worst_capsule = worst_capsule.max(straight.min(swapped)).max((capsule.radius - geom[6]).abs());
        }
    }
    assert!(worst_position < 1e-9, "link origins differ from MuJoCo's by {worst_position:e} m");
    assert!(worst_rotation < 1e-9, "link rotations differ from MuJoCo's by {worst_rotation:e} (quaternion)");
    assert!(worst_capsule < 1e-9, "collision capsules differ from MuJoCo's geoms by {worst_capsule:e} m");
}

/// Reference: the f64 kinematics (checked against MuJoCo above). Rapier computes in f32.
#[test]
fn rapiers_arm_stands_where_the_kinematics_put_it() {
    let description = franka_panda();
    let mut arm = Arm::new(&description, 0.04);
    for q in configurations(&description, 20, 1) {
        arm.set_configuration(&q);
        let angles = arm.joint_positions();
        assert!(position_gap_n(&angles, &q) < 1e-6, "set {q:?}, read {angles:?}");
        for (rapier, ours) in arm.link_frames().iter().zip(description.link_frames(&q)) {
            assert!(position_gap(rapier.translation, &ours.translation) < 1e-5, "{q:?}: {rapier:?} vs {ours:?}");
            assert!(quaternion_gap(rapier.quaternion(), &ours.quaternion()) < 1e-5, "{q:?}: {rapier:?} vs {ours:?}");
        }
        assert!(arm.joint_velocities().iter().all(|v| *v == 0.0), "at rest after a reset");
    }
}

fn position_gap_n(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

/// A smooth joint trajectory within Franka's limits: each joint swings ±0.3 rad around the ready
/// pose with a 2 s period (speeds up to 0.94 rad/s, accelerations up to 3.0 rad/s²).
fn swing(t_secs: f64) -> (Vec<f64>, Vec<f64>) {
    let ready = [0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.785];
    let omega = std::f64::consts::PI;
    let phase = |i: usize| i as f64 * 0.7;
    let q = (0..7).map(|i| ready[i] + 0.3 * (omega * t_secs + phase(i)).sin()).collect();
    let qdot = (0..7).map(|i| 0.3 * omega * (omega * t_secs + phase(i)).cos()).collect();
    (q, qdot)
}

#[test]
fn the_servos_track_a_commanded_trajectory_within_a_stated_error() {
    const DT: f64 = 0.04;
    let description = franka_panda();
    let limits = franka_limits(&description);
    // Stated in docs/MANIPULATION.md: the servos follow a 0.94 rad/s swing within these (rad).
    for (interpolation, bound) in [(Interpolation::Cubic, 0.005), (Interpolation::Linear, 0.01)] {
        let mut arm = Arm::new(&description, DT).with_interpolation(interpolation);
        arm.set_configuration(&swing(0.0).0);
        let mut worst = 0.0_f64;
        for k in 1..=100 {
            let (q, qdot) = swing(f64::from(k) * DT);
            arm.step(&q, &qdot, |_| {});
            let error = position_gap_n(&arm.joint_positions(), &q);
            worst = worst.max(error);
            let speeds = arm.joint_velocities();
            let within = speeds.iter().zip(&limits.max_speed_rad_per_s).all(|(v, max)| v.abs() <= *max);
            assert!(within, "{interpolation:?}, step {k}: {speeds:?}");
        }
        eprintln!("{interpolation:?}: worst tracking error {worst} rad");
        assert!(worst < bound, "{interpolation:?}: tracking error {worst} rad");
    }
}

#[test]
fn the_same_commands_give_the_same_motion_bit_for_bit() {
    let description = franka_panda();
    let run = || {
        let mut arm = Arm::new(&description, 0.04);
        arm.set_configuration(&swing(0.0).0);
        (1..=25)
            .map(|k| {
                let (q, qdot) = swing(f64::from(k) * 0.04);
                arm.step(&q, &qdot, |_| {});
                [arm.joint_positions(), arm.joint_velocities()].concat()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(run(), run());
}

/// Whether the straight joint-space segment from `a` to `b` touches an obstacle (checked every
/// 0.01 rad).
fn straight_path_collides(env: &PandaReach, a: &[f64], b: &[f64]) -> bool {
    let checks = (a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max) / 0.01).ceil() as usize;
    (0..=checks).any(|i| {
        let q: Vec<f64> = a.iter().zip(b).map(|(x, y)| x + (y - x) * i as f64 / checks as f64).collect();
        env.clearance(&q).obstacles_m < 0.0
    })
}

#[test]
fn reach_episodes_come_from_their_seed_and_keep_their_promises() {
    let config = ReachConfig::default();
    let mut env = PandaReach::new(config.clone());
    let (mut blocking, mut blocked) = (0, 0);
    for seed in 0..40 {
        env.reset(seed);
        let episode = env.episode().clone();
        assert_eq!(
            &ReachEpisode::draw(env.description(), &config, seed),
            &episode,
            "seed {seed} draws another episode"
        );
        for q in [&episode.start, &episode.goal_q] {
            assert!(env.clearance(q).min() >= config.reset_margin_m, "seed {seed}: {q:?} is not clear");
        }
        assert!(env.goal_distance(&episode.goal_q) < 1e-3, "seed {seed}: the goal configuration misses the goal");
        assert!((1..=config.max_obstacles).contains(&episode.obstacles.len()));
        if episode.blocking {
            blocking += 1;
            blocked += usize::from(straight_path_collides(&env, &episode.start, &episode.goal_q));
        }
    }
    assert_eq!(blocked, blocking, "a blocking obstacle left the straight path free");
    assert!(blocking >= 20, "{blocking} of 40 episodes have a blocking obstacle, 0.7 expected");
}

#[test]
fn the_expert_reaches_the_goal_without_touching_anything_or_breaking_a_limit() {
    let config = ReachConfig::default();
    let mut env = PandaReach::new(config.clone());
    let mut reached = 0;
    for seed in 0..20 {
        env.reset(seed);
        let mut expert = env.expert(seed);
        assert!(expert.has_path(), "seed {seed}: no path");
        let goal = env.goal_state();
        let mut observation = env.reset(seed);
        loop {
            let step = env.step(&expert.act(&observation, &goal));
            observation = step.observation;
            if step.terminated || step.truncated {
                reached += usize::from(step.at_goal);
                break;
            }
        }
        let violations = env.violations();
        assert_eq!(
            (
                violations.collision_steps,
                violations.position_steps,
                violations.speed_steps,
                violations.acceleration_steps
            ),
            (0, 0, 0, 0),
            "seed {seed}: {violations:?}"
        );
    }
    assert!(reached >= 19, "the expert reached {reached} of 20 goals");
}

#[test]
fn a_collected_stream_is_whole_episodes_with_their_goals_and_no_violations() {
    let config = ReachConfig::default();
    let mut steps = 0;
    let collected = collect_arm(&mut PandaReach::new(config.clone()), 250, false, 7, &mut || steps += 1);
    let data = &collected.stream;
    assert_eq!(
        (steps, data.rewards.len(), data.observations.len(), data.actions.len(), data.goals.len()),
        (250, 250, 250 * 14, 250 * 14, 250 * 3)
    );
    // Two whole episodes of 100 steps, and the part of a third that fits, marked as ended.
    let ends: Vec<usize> = data.timeouts.iter().enumerate().filter(|(_, t)| **t).map(|(i, _)| i).collect();
    assert_eq!(ends, [99, 199, 249]);
    let reached_in_whole_episodes = data.rewards[..200].chunks(100).filter(|e| e.contains(&1.0)).count();
    assert_eq!(reached_in_whole_episodes, 2, "the expert reaches both whole episodes' goals");
    assert_eq!((collected.episodes, collected.skipped, collected.violating_steps), (3, 0, 0));
    for episode in data.goals.chunks(100 * 3) {
        assert!(episode.chunks(3).all(|g| g == &episode[..3]), "an episode keeps its goal");
    }
    // The same seed records the same stream.
    let again = collect_arm(&mut PandaReach::new(config), 250, false, 7, &mut || {});
    assert_eq!(again.stream.observations, data.observations);
}

/// The shipped pick-and-place task's episode settings (configs/tasks/panda-pick-place.toml).
fn pick_place_config() -> ReachConfig {
    ReachConfig {
        max_episode_steps: 200,
        goal_box_m: [[0.3, -0.3, 0.02], [0.6, 0.3, 0.2]],
        max_obstacles: 2,
        blocking_share: 0.5,
        ..ReachConfig::default()
    }
}

/// Reference: the f64 kinematics (checked against MuJoCo above) and the exact capsule clearance.
/// Every episode is its seed's; the grasp puts the tool point on the cube's centre pointing down
/// and the place on the goal; the cube lies on the table; start, grasp and place keep the reset
/// margin from every obstacle (the cube's ball too); a blocking obstacle blocks the straight
/// carry (the arm or the cube's ball touches it somewhere on the straight path).
#[test]
fn pick_place_episodes_come_from_their_seed_and_keep_their_promises() {
    let config = pick_place_config();
    let mut env = PandaPickPlace::new(config.clone());
    let arm = franka_panda();
    let (mut blocking, mut blocked) = (0, 0);
    for seed in 0..30 {
        env.reset(seed);
        let episode = env.episode().clone();
        assert_eq!(PickPlaceEpisode::draw(&arm, &config, seed), episode, "seed {seed}");
        assert!((episode.cube[2] - (TABLE_TOP_Z + CUBE_HALF_M)).abs() < 1e-12);
        for (q, point) in [(&episode.grasp_q, episode.cube), (&episode.place_q, episode.goal_position)] {
            let tool = arm.tool_frame(q);
            let gap = (0..3).map(|i| (tool.translation[i] - point[i]).powi(2)).sum::<f64>().sqrt();
            assert!(gap < 1e-3, "seed {seed}: the tool point is {gap} m from {point:?}");
            assert!(tool.rotate([0.0, 0.0, 1.0])[2] < -0.99, "seed {seed}: not pointing down");
        }
        let cube_ball = |q: &[f64]| {
            let center = arm.tool_frame(q).translation;
            let ball = sim::panda::Capsule { a: center, b: center, radius: CUBE_BALL_M };
            episode.obstacles.iter().map(|o| o.clearance(&ball)).fold(f64::INFINITY, f64::min)
        };
        for q in [&episode.start, &episode.grasp_q, &episode.place_q] {
            let clearance = arm.clearance(q, &episode.obstacles, TABLE_TOP_Z).obstacles_m;
            assert!(clearance >= config.reset_margin_m, "seed {seed}: {clearance}");
        }
        for q in [&episode.grasp_q, &episode.place_q] {
            assert!(cube_ball(q) >= config.reset_margin_m, "seed {seed}");
        }
        if episode.blocking {
            blocking += 1;
            let touches = (0..=100).any(|i| {
                let s = f64::from(i) / 100.0;
                let q: Vec<f64> = episode.grasp_q.iter().zip(&episode.place_q).map(|(a, b)| a + s * (b - a)).collect();
                arm.clearance(&q, &episode.obstacles, TABLE_TOP_Z).obstacles_m < 0.0 || cube_ball(&q) < 0.0
            });
            blocked += usize::from(touches);
        }
    }
    assert_eq!(blocked, blocking, "a blocking obstacle left the straight carry free");
    assert!(blocking >= 8, "{blocking} of 30 episodes have a blocking obstacle, 0.5 expected");
}

/// The expert grasps (the cube stays put until the hand rests on it, then moves with the hand)
/// and brings the cube to the goal in 10 episodes out of 10, touching nothing and breaking no
/// limit on the executed motion.
#[test]
fn the_pick_place_expert_carries_the_cube_to_the_goal_without_a_violation() {
    let config = pick_place_config();
    let mut env = PandaPickPlace::new(config.clone());
    for seed in 0..10 {
        let mut observation = env.reset(seed);
        let mut expert = env.expert(seed);
        assert!(expert.has_path(), "seed {seed}: no path");
        let (start_cube, mut grasped_at, mut reached) = (env.cube(), None, false);
        for step in 0..config.max_episode_steps {
            let result = env.step(&expert.act(&observation, &env.goal_state()));
            if env.holding() {
                grasped_at.get_or_insert(step);
            } else {
                assert_eq!(env.cube(), start_cube, "seed {seed}: the cube moved before the grasp");
            }
            assert_eq!(result.observation[14..], env.cube().map(|v| v as f32), "the observation ends with the cube");
            observation = result.observation;
            reached |= result.at_goal;
        }
        assert!(grasped_at.is_some() && reached, "seed {seed}: grasped at {grasped_at:?}, reached {reached}");
        let violations = env.violations();
        assert_eq!(violations.count(), 0, "seed {seed}: {violations:?}");
    }
}

/// The carried cube counts as part of the arm: once held, pressing it 1.5 cm into the table (the
/// tool point lowered there by inverse kinematics, the hand itself still clear of the table) is
/// counted as a collision, while the expert's way there counted none.
#[test]
fn a_held_cube_pressed_into_the_table_is_a_counted_collision() {
    let config = pick_place_config();
    let mut env = PandaPickPlace::new(config);
    let seed = 1;
    let mut observation = env.reset(seed);
    let mut expert = env.expert(seed);
    while !env.holding() {
        observation = env.step(&expert.act(&observation, &env.goal_state())).observation;
    }
    assert_eq!(env.violations().count(), 0);
    let arm = franka_panda();
    let cube = env.cube();
    let lowered = [cube[0], cube[1], cube[2] - 0.015];
    let grasp = env.episode().grasp_q.clone();
    let pressed = arm
        .inverse_kinematics(&sim::panda::ToolGoal { position: lowered, pointing_down: true }, &grasp, 1e-4, 0)
        .expect("a reachable point");
    assert!(arm.clearance(&pressed, &[], TABLE_TOP_Z).table_m > 0.0, "the hand itself stays above the table");
    for step in 1..=25 {
        let s = (f64::from(step) / 10.0).min(1.0);
        // Trajectory points at rest at each step's angles.
        let target: Vec<f32> = grasp.iter().zip(&pressed).map(|(a, b)| (a + s * (b - a)) as f32).collect();
        env.step(&[target.clone(), vec![0.0; target.len()]].concat());
    }
    let violations = env.violations();
    assert!(violations.collision_steps > 0 && violations.min_clearance_m < 0.0, "{violations:?}");
}
