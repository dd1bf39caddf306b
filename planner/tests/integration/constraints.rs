//! Properties and oracles of `planner::constraints`: hard-constraint projection of one
//! trajectory in the user's units (SafeDiffuser's RoS/ReS barriers, docs/ALGORITHMS.md §3, plus
//! boxes, half-spaces and rate limits through a clarabel QP). Random inputs come from seeded
//! ChaCha8.
#![allow(clippy::float_cmp)] // Pinned values and no-op projections are exact on purpose.

use std::time::Instant;

use planner::Error;
use planner::constraints::{ConstraintConfig, Constraints, Method, Stage, TrajectoryLayout};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Random cases per property.
const CASES: usize = 200;

const LAYOUT: TrajectoryLayout = TrajectoryLayout { horizon: 12, action_dim: 2, observation_dim: 3, dt: 0.1 };

const BOXES: &str = r"
[[state_box]]
dims = [0, 1]
lower = [-1.0, -2.0]
upper = [1, 0.5]
[[state_box]]
dims = [2]
lower = [-0.5]
upper = [0.5]
";
const ACTION_BOX: &str = "[[action_box]]\ndims = [0, 1]\nlower = [-1, -1]\nupper = [1, 1]\n";
const HALF_SPACES: &str = r"
[[half_space]]
dims = [0, 1]
normal = [1.0, 1.0]
offset = 0.5
[[half_space]]
dims = [1, 2]
normal = [-2.0, 1.0]
offset = 1.0
";
const VELOCITY: &str = "[[velocity_limit]]\ndims = [0, 1, 2]\nmax = [2.0, 3.0, 1.0]\n";
const ACCELERATION: &str = "[[acceleration_limit]]\ndims = [0, 1]\nmax = [10.0, 20.0]\n";
const CIRCLE: &str =
    "[[obstacle]]\nname = \"pillar\"\ndims = [0, 1]\ncenter = [0.3, -0.2]\nradii = [0.5, 0.5]\npower = 2\n";
const SQUARE: &str = "[[obstacle]]\ndims = [0, 2]\ncenter = [-0.4, 0.1]\nradii = [0.6, 0.3]\npower = 4\n";
const BOX_OBSTACLE: &str = "[[obstacle]]\ndims = [1, 2]\ncenter = [0.2, 0.0]\nradii = [0.4, 0.6]\nshape = \"box\"\n";

fn constraints(toml: &str, layout: TrajectoryLayout) -> Constraints {
    let config: ConstraintConfig = toml::from_str(toml).expect("test configs parse");
    Constraints::new(&config, layout).expect("test configs are valid")
}

/// Every kind alone and the mixtures the properties run on, by name.
fn kinds() -> Vec<(&'static str, String)> {
    vec![
        ("state boxes", BOXES.into()),
        ("action box", ACTION_BOX.into()),
        ("half-spaces", HALF_SPACES.into()),
        ("velocity", VELOCITY.into()),
        ("acceleration", ACCELERATION.into()),
        ("circle", format!("margin = 0.01\n{CIRCLE}")),
        ("superellipse", SQUARE.into()),
        ("box obstacle", BOX_OBSTACLE.into()),
        ("three obstacles", format!("margin = 0.01\n{CIRCLE}{SQUARE}{BOX_OBSTACLE}")),
        ("box + velocity + obstacle", format!("margin = 0.01\n{BOXES}{VELOCITY}{CIRCLE}")),
        ("convex mixture", format!("{BOXES}{ACTION_BOX}{HALF_SPACES}{VELOCITY}{ACCELERATION}")),
    ]
}

fn convex_kinds() -> Vec<(&'static str, String)> {
    kinds()
        .into_iter()
        .filter(|(name, _)| !name.contains("obstacle") && !matches!(*name, "circle" | "superellipse"))
        .collect()
}

fn random_trajectory(rng: &mut ChaCha8Rng, layout: TrajectoryLayout, scale: f64) -> Vec<f64> {
    (0..layout.values()).map(|_| rng.gen_range(-scale..scale)).collect()
}

fn distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>().sqrt()
}

fn max_difference(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).fold(0.0, |m, (x, y)| m.max((x - y).abs()))
}

// Reference: a projection is idempotent, P(P(x)) = P(x).
#[test]
fn projection_is_idempotent_for_each_kind_and_mixtures() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for (name, toml) in kinds() {
        let c = constraints(&toml, LAYOUT);
        for case in 0..CASES {
            let mut once = random_trajectory(&mut rng, LAYOUT, 3.0);
            c.project(&mut once, &[], Stage::Final).unwrap_or_else(|e| panic!("{name}, case {case}: {e}"));
            let mut twice = once.clone();
            let report = c.project(&mut twice, &[], Stage::Final).unwrap();
            assert!(max_difference(&once, &twice) <= 1e-9, "{name}, case {case}");
            assert_eq!(report.method, Method::ClosedForm, "{name}, case {case}");
        }
    }
}

// Reference: Stage::Final's contract: every residual ≤ 1e-6 or an error.
#[test]
fn final_projection_satisfies_every_constraint() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    for (name, toml) in kinds() {
        let c = constraints(&toml, LAYOUT);
        for case in 0..CASES {
            let mut x = random_trajectory(&mut rng, LAYOUT, 3.0);
            let report = c.project(&mut x, &[], Stage::Final).unwrap_or_else(|e| panic!("{name}, case {case}: {e}"));
            assert!(report.max_after() <= 1e-6, "{name}, case {case}: {:?}", report.after);
            assert_eq!(report.after, c.residuals(&x));
        }
    }
}

// Reference: projection onto a set leaves its points where they are (here bit for bit).
#[test]
fn feasible_input_is_returned_bit_for_bit() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for (name, toml) in kinds() {
        let c = constraints(&toml, LAYOUT);
        for case in 0..CASES {
            // Feasible by construction: small values near a feasible point, or a projection.
            let mut x = random_trajectory(&mut rng, LAYOUT, 3.0);
            if case % 2 == 0 {
                c.project(&mut x, &[], Stage::Final).unwrap();
            }
            if c.residuals(&x).iter().any(|r| r.max_violation > 1e-9) {
                continue;
            }
            let bits: Vec<u64> = x.iter().map(|v| v.to_bits()).collect();
            let report = c.project(&mut x, &[], Stage::Final).unwrap();
            assert_eq!(bits, x.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), "{name}, case {case}");
            assert_eq!(report.before, report.after);
        }
    }
}

// Reference: Euclidean projection onto a closed convex set is non-expansive,
// |P(x) − P(y)| ≤ |x − y| (Bauschke & Combettes, Prop. 4.16).
#[test]
fn convex_projection_is_non_expanding() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    for (name, toml) in convex_kinds() {
        let c = constraints(&toml, LAYOUT);
        for case in 0..CASES {
            let x = random_trajectory(&mut rng, LAYOUT, 3.0);
            // Near pairs as well as far ones: the closed-form/QP switch must not expand either.
            let spread = if case % 2 == 0 { 3.0 } else { 0.05 };
            let y: Vec<f64> = x.iter().map(|v| v + rng.gen_range(-spread..spread)).collect();
            let (mut px, mut py) = (x.clone(), y.clone());
            c.project(&mut px, &[], Stage::Final).unwrap();
            c.project(&mut py, &[], Stage::Final).unwrap();
            assert!(distance(&px, &py) <= distance(&x, &y) + 1e-9, "{name}, case {case}");
        }
    }
}

// Reference: Euclidean projection onto {x ≤ 1, y ≥ 0, x + y ≤ 1} from (2, 0.5) is the vertex
// (1, 0) (KKT with multipliers 0.25, 0.75, 0.25); the sequential clamp-then-plane gives
// (0.75, 0.25), so this needs the joint QP.
#[test]
fn box_and_half_space_conflict_takes_the_qp_to_the_true_projection() {
    let toml = "[[state_box]]\ndims = [0, 1]\nlower = [0, 0]\nupper = [1, 1]\n\
                [[half_space]]\ndims = [0, 1]\nnormal = [1, 1]\noffset = 1\n";
    let layout = TrajectoryLayout { horizon: 1, action_dim: 0, observation_dim: 2, dt: 1.0 };
    let c = constraints(toml, layout);
    let mut x = vec![2.0, 0.5];
    let report = c.project(&mut x, &[], Stage::Final).unwrap();
    assert_eq!(report.method, Method::Qp { rounds: 1 });
    assert!((x[0] - 1.0).abs() < 1e-9 && x[1].abs() < 1e-9, "{x:?}");
}

// Reference: min |y − x|² s.t. |y − p| ≤ v·dt per dim with p fixed is the clamp of x into
// [p − v·dt, p + v·dt].
#[test]
fn velocity_limit_pulls_the_free_row_to_exactly_max_dt_from_the_pinned_one() {
    let layout = TrajectoryLayout { horizon: 2, action_dim: 1, observation_dim: 2, dt: 0.1 };
    let c = constraints("[[velocity_limit]]\ndims = [0, 1]\nmax = [5.0, 5.0]\n", layout);
    let mut x = vec![9.0, 1.0, 2.0, -7.0, 4.0, -5.0];
    let report = c.project(&mut x, &[0], Stage::Final).unwrap();
    assert!(matches!(report.method, Method::Qp { .. }));
    assert_eq!(&x[..3], &[9.0, 1.0, 2.0]);
    assert_eq!(x[3], -7.0);
    assert!((x[4] - 1.5).abs() < 1e-12 && (x[5] - 1.5).abs() < 1e-12, "{x:?}");
    let mut free = vec![0.0, 0.0, 0.0, 0.0, 4.0, -5.0];
    c.project(&mut free, &[], Stage::Final).unwrap();
    // Unpinned: both rows meet half-way, 0.5 apart per dim.
    assert!((free[4] - free[1] - 0.5).abs() < 1e-12 && (free[2] - free[5] - 0.5).abs() < 1e-12, "{free:?}");
}

/// A point of the obstacle's dims inside it, uniformly in its bounding box.
fn inside_point(rng: &mut ChaCha8Rng, c: &Constraints, center: [f64; 2], radii: [f64; 2]) -> [f64; 2] {
    loop {
        let p = [center[0] + radii[0] * rng.gen_range(-1.0..1.0), center[1] + radii[1] * rng.gen_range(-1.0..1.0)];
        if c.residuals(&p)[0].max_violation > 1e-3 {
            return p;
        }
    }
}

// Reference: the nearest point outside a circle is radial: |p' − c| = r√(1 + margin), and with
// margin 0 the displacement is r − |p − c| (SafeDiffuser's "Truncate" baseline,
// docs/ALGORITHMS.md §3.1).
#[test]
fn circle_moves_an_inside_point_radially_onto_its_margin() {
    let layout = TrajectoryLayout { horizon: 1, action_dim: 0, observation_dim: 2, dt: 1.0 };
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for margin in [0.0_f64, 0.01, 0.2] {
        let toml = format!("margin = {margin}\n[[obstacle]]\ndims = [0, 1]\ncenter = [4.5, 5.3]\nradii = [1.0, 1.0]\n");
        let c = constraints(&toml, layout);
        for case in 0..CASES {
            let p = inside_point(&mut rng, &c, [4.5, 5.3], [0.7, 0.7]);
            let mut x = p.to_vec();
            let report = c.project(&mut x, &[], Stage::Final).unwrap();
            assert_eq!(report.method, Method::ClosedForm);
            let before = distance(&p, &[4.5, 5.3]);
            let after = distance(&x, &[4.5, 5.3]);
            assert!((after - (1.0 + margin).sqrt()).abs() < 1e-9, "margin {margin}, case {case}: {after}");
            if margin == 0.0 {
                assert!((distance(&x, &p) - (1.0 - before)).abs() < 1e-9, "case {case}");
            }
            let cross = (p[0] - 4.5) * (x[1] - 5.3) - (p[1] - 5.3) * (x[0] - 4.5);
            assert!(cross.abs() < 1e-9, "not radial, case {case}");
        }
    }
}

// Reference: SafeDiffuser's power-4 "square" (docs/ALGORITHMS.md §3.2): the result satisfies
// b ≥ margin and lies on the boundary when the input was inside.
#[test]
fn superellipse_power_four_lands_on_its_boundary() {
    let layout = TrajectoryLayout { horizon: 1, action_dim: 0, observation_dim: 2, dt: 1.0 };
    let toml = "margin = 0.01\n[[obstacle]]\ndims = [0, 1]\ncenter = [1.5, 4.8]\nradii = [1.0, 0.5]\npower = 4\n";
    let c = constraints(toml, layout);
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    for case in 0..CASES {
        let p = inside_point(&mut rng, &c, [1.5, 4.8], [1.0, 0.5]);
        let mut x = p.to_vec();
        c.project(&mut x, &[], Stage::Final).unwrap();
        let b = c.residuals(&x)[0].min_barrier.unwrap();
        assert!((0.01 - 1e-9..=0.01 + 1e-6).contains(&b), "case {case}: b = {b}");
    }
    // The exact centre is left along the first dim.
    let mut x = vec![1.5, 4.8];
    c.project(&mut x, &[], Stage::Final).unwrap();
    assert!((x[0] - (1.5 + 1.01_f64.powf(0.25))).abs() < 1e-9 && x[1] == 4.8, "{x:?}");
}

// Reference: the exact projection out of a box moves one coordinate, the one of least
// penetration, onto the face r_i (1 + margin) from the centre.
#[test]
fn box_obstacle_is_left_by_the_shortest_axis_move() {
    let layout = TrajectoryLayout { horizon: 1, action_dim: 0, observation_dim: 2, dt: 1.0 };
    let toml = "margin = 0.1\n[[obstacle]]\ndims = [0, 1]\ncenter = [0.0, 0.0]\nradii = [1.0, 2.0]\nshape = \"box\"\n";
    let c = constraints(toml, layout);
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for case in 0..CASES {
        let p = inside_point(&mut rng, &c, [0.0, 0.0], [1.1, 2.2]);
        let gaps = [1.1 - p[0].abs(), 2.2 - p[1].abs()];
        let mut x = p.to_vec();
        c.project(&mut x, &[], Stage::Final).unwrap();
        assert!((distance(&x, &p) - gaps[0].min(gaps[1])).abs() < 1e-12, "case {case}");
        assert!((c.residuals(&x)[0].min_barrier.unwrap() - 0.1).abs() < 1e-12);
    }
}

// Reference: ReS (docs/ALGORITHMS.md §3.1): min |u|² + ρ² s.t. ∇b·u + b − wρ ≥ margin has
// u = (margin − b) ∇b/(|∇b|² + w²); its last `hard_steps` steps and the final plan are hard.
#[test]
fn relaxed_mode_pulls_by_the_res_fraction_early_and_is_hard_at_the_end() {
    let layout = TrajectoryLayout { horizon: 1, action_dim: 0, observation_dim: 2, dt: 1.0 };
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    for weight in [100.0, 1.0] {
        let toml = format!(
            "margin = 0.01\nobstacle_mode = \"relaxed\"\nrelaxed_weight = {weight}\nhard_steps = 10\n\
             [[obstacle]]\ndims = [0, 1]\ncenter = [4.5, 5.3]\nradii = [2.0, 2.0]\n"
        );
        let c = constraints(&toml, layout);
        for case in 0..CASES {
            let p = inside_point(&mut rng, &c, [4.5, 5.3], [1.4, 1.4]);
            let (dx, dy) = (p[0] - 4.5, p[1] - 5.3);
            let b = (dx * dx + dy * dy) / 4.0 - 1.0;
            let gradient = [dx / 2.0, dy / 2.0];
            let gain = (0.01 - b) / (gradient[0] * gradient[0] + gradient[1] * gradient[1] + weight * weight);
            let mut soft = p.to_vec();
            c.project(&mut soft, &[], Stage::Intermediate { k: 9, steps: 20 }).unwrap();
            assert!((soft[0] - (p[0] + gain * gradient[0])).abs() < 1e-12, "w {weight}, case {case}");
            assert!((soft[1] - (p[1] + gain * gradient[1])).abs() < 1e-12, "w {weight}, case {case}");
            for stage in [Stage::Intermediate { k: 10, steps: 20 }, Stage::Final] {
                let mut hard = p.to_vec();
                c.project(&mut hard, &[], stage).unwrap();
                assert!(c.residuals(&hard)[0].min_barrier.unwrap() >= 0.01 - 1e-9, "{stage:?}, case {case}");
            }
        }
    }
}

// Reference: boxes whose ranges on one dim do not overlap admit no trajectory.
#[test]
fn disjoint_boxes_on_one_dim_are_refused_at_new() {
    let toml = "[[state_box]]\ndims = [0]\nlower = [0]\nupper = [1]\n[[state_box]]\ndims = [2, 0]\nlower = [0, 2]\nupper = [1, 3]\n";
    let config: ConstraintConfig = toml::from_str(toml).unwrap();
    match Constraints::new(&config, LAYOUT) {
        Err(Error::Config { field, message }) => {
            assert_eq!(field, "constraints.state_box[1].lower");
            assert!(message.contains("do not overlap"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

// Reference: inpainted observations never move (Diffuser's apply_conditioning, docs/ALGORITHMS.md
// §1.4), so a goal inside an obstacle cannot be fixed: an error at the end, left alone before.
#[test]
fn pinned_goal_inside_an_obstacle_is_infeasible_at_the_end() {
    let layout = TrajectoryLayout { horizon: 8, action_dim: 1, observation_dim: 2, dt: 0.1 };
    let c = constraints(&format!("margin = 0.01\n{CIRCLE}"), layout);
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let mut x = random_trajectory(&mut rng, layout, 3.0);
    x[7 * 3 + 1..8 * 3].copy_from_slice(&[0.35, -0.1]);
    let goal = x[7 * 3 + 1..].to_vec();
    let mut intermediate = x.clone();
    c.project(&mut intermediate, &[0, 7], Stage::Intermediate { k: 3, steps: 20 }).unwrap();
    assert_eq!(&intermediate[7 * 3 + 1..], goal.as_slice());
    for h in 1..7 {
        let (px, py) = (intermediate[h * 3 + 1], intermediate[h * 3 + 2]);
        assert!(((px - 0.3).powi(2) + (py + 0.2).powi(2)) / 0.25 - 1.0 >= 0.01 - 1e-9, "row {h}");
    }
    match c.project(&mut x, &[0, 7], Stage::Final) {
        Err(Error::Infeasible { constraint, violation, hint }) => {
            assert_eq!(constraint, "obstacle pillar at pinned row 7");
            assert!(violation > 0.9 && hint.contains("start/goal"), "{violation} {hint}");
        }
        other => panic!("{other:?}"),
    }
}

// Reference: rows 0 and 4 pinned 10 apart per dim with |Δ| ≤ 1·0.1 per row: no path of 4 steps.
#[test]
fn velocity_limit_too_tight_between_pinned_rows_is_infeasible() {
    let layout = TrajectoryLayout { horizon: 5, action_dim: 1, observation_dim: 2, dt: 0.1 };
    let c = constraints("[[velocity_limit]]\ndims = [0, 1]\nmax = [1.0, 1.0]\n", layout);
    let mut x = vec![0.0; 15];
    x[13] = 10.0;
    x[14] = 10.0;
    match c.project(&mut x.clone(), &[0, 4], Stage::Final) {
        Err(Error::Infeasible { constraint, violation, .. }) => {
            assert_eq!(constraint, "velocity_limit[0]");
            assert!(violation > 1.0, "{violation}");
        }
        other => panic!("{other:?}"),
    }
    // Before the end: best effort, no error.
    c.project(&mut x, &[0, 4], Stage::Intermediate { k: 0, steps: 10 }).unwrap();
    assert_eq!((x[13], x[14]), (10.0, 10.0));
}

// Reference: inpainting pins observations exactly (Diffuser's apply_conditioning,
// docs/ALGORITHMS.md §1.4); the projection may move their actions. Inputs: a feasible plan through
// the pins plus a random-walk drift, the way a denoiser's estimate strays around one.
#[test]
fn pinned_observations_never_move() {
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    let toml = format!("margin = 0.01\n{BOXES}{ACTION_BOX}{VELOCITY}{ACCELERATION}{CIRCLE}");
    let c = constraints(&toml, LAYOUT);
    let (w, last) = (LAYOUT.row_width(), LAYOUT.horizon - 1);
    let mut solved = 0;
    for case in 0..CASES {
        let mut x = random_trajectory(&mut rng, LAYOUT, 3.0);
        c.project(&mut x, &[], Stage::Final).unwrap();
        let mut drift = [0.0; 5];
        for h in 1..last {
            for (j, d) in drift.iter_mut().enumerate() {
                *d += rng.gen_range(-0.2..0.2);
                x[h * w + j] += *d;
            }
        }
        x[0] = 5.0;
        let pinned: Vec<u64> = x[2..w].iter().chain(&x[last * w + 2..]).map(|v| v.to_bits()).collect();
        let result = c.project(&mut x, &[0, last], Stage::Final);
        let after: Vec<u64> = x[2..w].iter().chain(&x[last * w + 2..]).map(|v| v.to_bits()).collect();
        assert_eq!(pinned, after, "case {case}");
        assert_eq!(x[0], 1.0, "a pinned row's action is clamped like any other");
        match result {
            Ok(report) => {
                assert!(report.max_after() <= 1e-6, "case {case}");
                solved += 1;
            }
            Err(error) => assert!(matches!(error, Error::Infeasible { .. }), "case {case}: {error}"),
        }
    }
    // Around an obstacle the problem is not convex: the sequential QP is a local method and may
    // miss the way around (it then reports Infeasible, never a violating plan).
    assert!(solved >= CASES * 98 / 100, "{solved} of {CASES} solved");
}

/// Parses `toml` and prepares it for `LAYOUT`, returning the error's field.
fn refused_field(toml: &str) -> String {
    let config: ConstraintConfig = toml::from_str(toml).unwrap_or_else(|e| panic!("{toml}: {e}"));
    match Constraints::new(&config, LAYOUT) {
        Err(error @ Error::Config { .. }) => {
            let Error::Config { field, message } = &error else { unreachable!() };
            assert!(error.to_string().contains(field.as_str()) && message.len() > 20, "{error}");
            field.clone()
        }
        other => panic!("{toml}: {other:?}"),
    }
}

// Reference: STYLE.md, configs are parsed then validated, every error naming its field.
#[test]
fn every_validation_error_names_its_field() {
    let cases = [
        ("[[state_box]]\ndims = [0, 3]\nlower = [0, 0]\nupper = [1, 1]", "constraints.state_box[0].dims"),
        ("[[action_box]]\ndims = [2]\nlower = [0]\nupper = [1]", "constraints.action_box[0].dims"),
        ("[[state_box]]\ndims = [0, 0]\nlower = [0, 0]\nupper = [1, 1]", "constraints.state_box[0].dims"),
        ("[[state_box]]\ndims = [0, 1]\nlower = [0]\nupper = [1, 1]", "constraints.state_box[0].lower"),
        ("[[state_box]]\ndims = [1]\nlower = [2]\nupper = [1]", "constraints.state_box[0].upper"),
        ("[[state_box]]\ndims = [1]\nlower = [nan]\nupper = [1]", "constraints.state_box[0].lower"),
        ("[[state_box]]\ndims = [1]\nlower = [0]\nupper = [inf]", "constraints.state_box[0].upper"),
        (
            "[[state_box]]\ndims = [1]\nlower = [0]\nupper = [1]\n[[state_box]]\ndims = [1]\nlower = [2]\nupper = [3]",
            "constraints.state_box[1].lower",
        ),
        ("[[half_space]]\ndims = []\nnormal = []\noffset = 1", "constraints.half_space[0].dims"),
        ("[[half_space]]\ndims = [0, 1]\nnormal = [0, 0]\noffset = 1", "constraints.half_space[0].normal"),
        ("[[half_space]]\ndims = [0]\nnormal = [1]\noffset = nan", "constraints.half_space[0].offset"),
        (
            "[[state_box]]\ndims = [0]\nlower = [2]\nupper = [3]\n[[half_space]]\ndims = [0]\nnormal = [1]\noffset = 1",
            "constraints.half_space[0].offset",
        ),
        ("[[velocity_limit]]\ndims = [0]\nmax = [0.0]", "constraints.velocity_limit[0].max"),
        (
            "[[velocity_limit]]\ndims = [0]\nmax = [1]\n[[velocity_limit]]\ndims = [5]\nmax = [1]",
            "constraints.velocity_limit[1].dims",
        ),
        ("[[acceleration_limit]]\ndims = [0, 1]\nmax = [1, -2]", "constraints.acceleration_limit[0].max"),
        ("[[obstacle]]\ndims = [0, 1]\ncenter = [0]\nradii = [1, 1]", "constraints.obstacle[0].center"),
        ("[[obstacle]]\ndims = [0, 1]\ncenter = [0, 0]\nradii = [1, 0]", "constraints.obstacle[0].radii"),
        ("[[obstacle]]\ndims = [0, 1]\ncenter = [0, 0]\nradii = [1, 1]\npower = 3", "constraints.obstacle[0].power"),
        ("[[obstacle]]\ndims = [0, 1]\ncenter = [0, 0]\nradii = [1, 1]\npower = 2.5", "constraints.obstacle[0].power"),
        ("[[obstacle]]\ndims = [0, 1]\ncenter = [0, 0]\nradii = [1, 1]\npower = 0", "constraints.obstacle[0].power"),
        (
            "[[obstacle]]\ndims = [0, 1]\ncenter = [0, 0]\nradii = [1, 1]\npower = 2\nshape = \"box\"",
            "constraints.obstacle[0].power",
        ),
        (
            "[[obstacle]]\nname = \"a\"\ndims = [0]\ncenter = [0]\nradii = [1]\n\
             [[obstacle]]\nname = \"a\"\ndims = [1]\ncenter = [0]\nradii = [1]",
            "constraints.obstacle[1].name",
        ),
        ("margin = -0.1", "constraints.margin"),
        ("relaxed_weight = 10.0", "constraints.relaxed_weight"),
        ("hard_steps = 5", "constraints.hard_steps"),
        ("obstacle_mode = \"relaxed\"\nrelaxed_weight = 0.0", "constraints.relaxed_weight"),
    ];
    for (toml, field) in cases {
        assert_eq!(refused_field(toml), field, "{toml}");
    }
    let config = ConstraintConfig::default();
    let bad_dt = TrajectoryLayout { dt: 0.0, ..LAYOUT };
    assert!(matches!(Constraints::new(&config, bad_dt), Err(Error::Config { field, .. }) if field == "layout.dt"));
}

// Regression: a task with `dims = [0, 7]` on a 4-dim observation once panicked at an index
// (the app evaluated a barrier before validating). Validation names the field instead.
#[test]
fn a_constraint_on_a_dimension_the_observation_lacks_is_refused_by_name() {
    let maze = TrajectoryLayout { horizon: 8, action_dim: 2, observation_dim: 4, dt: 0.1 };
    let refused = |toml: &str| {
        let config: ConstraintConfig = toml::from_str(toml).expect("parses");
        let error = config.validate(&maze).expect_err("validated");
        assert!(matches!(&error, Error::Config { .. }), "{error:?}");
        error.to_string()
    };
    let out_of_range = refused("[[obstacle]]\ndims = [0, 7]\ncenter = [0, 0]\nradii = [1, 1]");
    assert!(out_of_range.starts_with("invalid constraints.obstacle[0].dims:"), "{out_of_range}");
    assert!(out_of_range.contains("index 7"), "{out_of_range}");
    let short_center = refused("[[obstacle]]\ndims = [0, 1]\ncenter = [0]\nradii = [1, 1]");
    assert!(short_center.starts_with("invalid constraints.obstacle[0].center:"), "{short_center}");
    let short_radii = refused("[[obstacle]]\ndims = [0, 1]\ncenter = [0, 0]\nradii = [1]");
    assert!(short_radii.starts_with("invalid constraints.obstacle[0].radii:"), "{short_radii}");
    // Embedded in a task file, the field names its table.
    let config: ConstraintConfig =
        toml::from_str("[[obstacle]]\ndims = [0, 7]\ncenter = [0, 0]\nradii = [1, 1]").expect("parses");
    let error = config.validate(&maze).expect_err("validated").within("planner");
    assert!(error.to_string().starts_with("invalid planner.constraints.obstacle[0].dims:"), "{error}");
}

// Reference: STYLE.md, descriptors reject unknown fields (a typo must not silently drop a
// constraint).
#[test]
fn unknown_keys_are_refused() {
    for toml in [
        "marign = 0.1",
        "[[state_box]]\ndims = [0]\nlower = [0]\nupper = [1]\nupper_bound = [2]",
        "[[obstacle]]\ndims = [0]\ncenter = [0]\nradius = [1]",
        "obstacle_mode = \"soft\"",
        "[[obstacle]]\ndims = [0]\ncenter = [0]\nradii = [1]\nshape = \"sphere\"",
    ] {
        let error = toml::from_str::<ConstraintConfig>(toml).expect_err(toml).to_string();
        assert!(error.contains("unknown"), "{toml}: {error}");
    }
}

// Reference: the `[planner.constraints]` example of the task files; serialising it gives it back.
#[test]
fn the_documented_example_parses_validates_and_round_trips() {
    let task = r#"
[planner.constraints]
margin = 0.01
obstacle_mode = "relaxed"
relaxed_weight = 100.0
hard_steps = 10
[[planner.constraints.state_box]]
dims = [0, 1]
lower = [0.4, 0.4]
upper = [7.6, 10.6]
[[planner.constraints.action_box]]
dims = [0, 1]
lower = [-1, -1]
upper = [1, 1]
[[planner.constraints.half_space]]
dims = [0, 1]
normal = [1.0, 1.0]
offset = 12.0
[[planner.constraints.velocity_limit]]
dims = [0, 1]
max = [5.0, 5.0]
[[planner.constraints.acceleration_limit]]
dims = [0, 1]
max = [50.0, 50.0]
[[planner.constraints.obstacle]]
name = "pillar"
dims = [0, 1]
center = [4.5, 5.3]
radii = [1.0, 1.0]
power = 2
[[planner.constraints.obstacle]]
dims = [0, 1]
center = [1.5, 4.8]
radii = [1.0, 1.0]
power = 4
[[planner.constraints.obstacle]]
dims = [2, 3]
center = [0.0, 0.0]
radii = [0.5, 0.5]
shape = "box"
"#;
    let table: toml::Table = toml::from_str(task).unwrap();
    let config: ConstraintConfig = table["planner"]["constraints"].clone().try_into().unwrap();
    let layout = TrajectoryLayout { horizon: 384, action_dim: 2, observation_dim: 4, dt: 0.01 };
    let c = Constraints::new(&config, layout).unwrap();
    assert!(!c.is_empty() && Constraints::new(&ConstraintConfig::default(), layout).unwrap().is_empty());
    let names: Vec<String> = c.residuals(&vec![2.0; layout.values()]).into_iter().map(|r| r.name).collect();
    assert_eq!(
        names,
        [
            "state_box[0]",
            "action_box[0]",
            "half_space[0]",
            "velocity_limit[0]",
            "acceleration_limit[0]",
            "obstacle pillar",
            "obstacle 1",
            "obstacle 2"
        ]
    );
    let written = toml::to_string(&config).unwrap();
    assert_eq!(toml::from_str::<ConstraintConfig>(&written).unwrap(), config, "{written}");
}

/// Maze2D-large's two SafeDiffuser obstacles (docs/ALGORITHMS.md §3.2) on a straight line through
/// both, H = 384, O = 4 (qpos, qvel), A = 2.
fn maze_case(extra: &str) -> (Constraints, Vec<f64>) {
    let layout = TrajectoryLayout { horizon: 384, action_dim: 2, observation_dim: 4, dt: 0.01 };
    let toml = format!(
        "margin = 0.01\n[[obstacle]]\ndims = [0, 1]\ncenter = [4.5, 5.3]\nradii = [1.0, 1.0]\npower = 2\n\
         [[obstacle]]\ndims = [0, 1]\ncenter = [1.5, 4.8]\nradii = [1.0, 1.0]\npower = 4\n{extra}"
    );
    let mut x = vec![0.0; layout.values()];
    for h in 0..layout.horizon {
        let s = h as f64 / 383.0;
        x[h * 6 + 2] = 0.3 + 6.7 * s;
        x[h * 6 + 3] = 4.5 + 1.0 * s;
    }
    (constraints(&toml, layout), x)
}

/// Mean wall time of `project` on `x`, in microseconds.
fn time_projection(c: &Constraints, x: &[f64], repeats: usize) -> (f64, Method) {
    let mut method = Method::ClosedForm;
    let start = Instant::now();
    for _ in 0..repeats {
        let mut y = x.to_vec();
        method = c.project(&mut y, &[0, 383], Stage::Final).expect("the timing cases are feasible").method;
    }
    (start.elapsed().as_secs_f64() * 1e6 / repeats as f64, method)
}

// Timing, not a property: `cargo test --release -p planner --test constraints -- --ignored --nocapture`.
#[test]
#[ignore = "timing; run by hand"]
fn timing_h384_two_obstacles() {
    let (c, x) = maze_case("");
    let (us, method) = time_projection(&c, &x, 2000);
    println!("H=384, 2 obstacles, closed form: {us:.1} µs per project ({method:?})");
    let mut feasible = x.clone();
    c.project(&mut feasible, &[], Stage::Final).unwrap();
    let (us, method) = time_projection(&c, &feasible, 2000);
    println!("H=384, 2 obstacles, feasible input: {us:.1} µs per project ({method:?})");
    let (c, x) = maze_case("[[velocity_limit]]\ndims = [0, 1]\nmax = [5.0, 5.0]\n");
    let (us, method) = time_projection(&c, &x, 20);
    println!("H=384, 2 obstacles + velocity limit, QP: {:.2} ms per project ({method:?})", us / 1000.0);
}
