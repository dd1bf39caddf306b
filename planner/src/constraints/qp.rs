//! The joint projection when the per-row closed forms are not enough: rate limits couple rows,
//! or several constraints act on one point. A sequential QP solved with clarabel
//! (`min ½yᵀPy + qᵀy s.t. Ay + s = b, s ∈ K`):
//!
//! `min |y − x|²` over the free entries `y` (observation dims some constraint touches, on rows
//! that are not pinned; pinned entries enter as constants) subject to every box, half-space,
//! velocity and acceleration limit, an arm's clearance linearised at the iterate
//! (`clearance.rs`), and every obstacle linearised as
//! `∇b(p̂)·(y − p̂) + b(p̂) ≥ margin` at a point `p̂`: the row's own point if it is outside but
//! within [`ACTIVATION`], else the point where the row leaves the obstacle. The barriers are
//! convex, so the linearisation is a lower bound of `b` and its half-space lies outside the
//! obstacle: every QP solution keeps every linearised row out. Rows are re-linearised and the
//! QP re-solved, always towards the original `x`, until nothing is violated or [`MAX_ROUNDS`];
//! the planes of rows that were inside stay from round to round, so the rounds cannot cycle.
//!
//! Keeping out of an obstacle is not convex: which side a row leaves by is a choice, and with
//! rate limits the choices of neighbouring rows must agree. Without rate limits each row
//! leaves by its own nearest way (its RoS landing). With them the convex constraints are
//! solved first, and each run of consecutive rows inside an obstacle leaves on the side its
//! path passes; if that proves infeasible, all rows of an obstacle leave on one side across
//! the trajectory's way, trying both sides of up to three obstacles. This is a local method:
//! when no choice works (tight limits hugging an obstacle) the projection reports the failure
//! rather than a violating plan.
//!
//! Each interior-point solution is then polished: with its active set (`s_i < z_i`) as
//! equalities, the equality-constrained QP is solved again (with iterative refinement) and kept
//! if it is feasible and optimal (multipliers of the inequalities' sign, or no farther from `x`),
//! so convex projections are exact to rounding.

use clarabel::algebra::CscMatrix;
use clarabel::solver::{DefaultSettings, DefaultSolution, DefaultSolver, IPSolver, SolverStatus, SupportedConeT};

use super::layout::TrajectoryLayout;
use super::obstacle::Scratch;
use super::rates::{merged_limits, stencil};
use super::{Constraints, FEASIBLE_TOLERANCE};

/// QP solves at most with obstacles, each after re-linearising them (plus one without them
/// first when rate limits couple the rows).
pub(crate) const MAX_ROUNDS: usize = 10;
/// Obstacles are linearised on rows with `b < margin + ACTIVATION` (units of b). Rows further
/// out stay out of the QP; should the QP push one of them in, the next round catches it. For a
/// circle, 0.5 is the band out to ≈ 0.22 r beyond the boundary.
const ACTIVATION: f64 = 0.5;

/// What the QP did.
#[derive(Debug, Clone, Copy)]
pub(crate) struct QpRun {
    /// Solves that returned a solution.
    pub(crate) rounds: usize,
    /// The solver's status when a solve failed (e.g. infeasible); the trajectory then holds the
    /// last solution (or the closed-form pass).
    pub(crate) failure: Option<SolverStatus>,
}

/// Column of each free entry: row rank × qp dims + slot.
struct Variables {
    /// Per row, its rank among the free rows (`None`: pinned).
    rank: Vec<Option<usize>>,
    /// Per observation dim, its slot among the QP dims (`None`: not constrained).
    slot: Vec<Option<usize>>,
    dims: Vec<usize>,
    count: usize,
}

impl Variables {
    fn new(constraints: &Constraints, pinned: &[usize]) -> Self {
        let layout = &constraints.layout;
        let mut free = 0;
        let rank = (0..layout.horizon)
            .map(|h| {
                (!pinned.contains(&h)).then(|| {
                    free += 1;
                    free - 1
                })
            })
            .collect();
        let mut slot = vec![None; layout.observation_dim];
        for (j, &d) in constraints.qp_dims.iter().enumerate() {
            slot[d] = Some(j);
        }
        Self { rank, slot, dims: constraints.qp_dims.clone(), count: free * constraints.qp_dims.len() }
    }

    fn index(&self, h: usize, d: usize) -> Option<usize> {
        Some(self.rank[h]? * self.dims.len() + self.slot[d]?)
    }

    /// The free entries of `trajectory`, in column order.
    fn gather(&self, layout: &TrajectoryLayout, trajectory: &[f64]) -> Vec<f64> {
        let mut y = vec![0.0; self.count];
        for (h, rank) in self.rank.iter().enumerate() {
            if let Some(r) = rank {
                for (j, &d) in self.dims.iter().enumerate() {
                    y[r * self.dims.len() + j] = trajectory[layout.obs_index(h, d)];
                }
            }
        }
        y
    }

    /// Writes `y` back into the free entries of `trajectory`.
    fn scatter(&self, layout: &TrajectoryLayout, y: &[f64], trajectory: &mut [f64]) {
        for (h, rank) in self.rank.iter().enumerate() {
            if let Some(r) = rank {
                for (j, &d) in self.dims.iter().enumerate() {
                    trajectory[layout.obs_index(h, d)] = y[r * self.dims.len() + j];
                }
            }
        }
    }
}

/// Inequality rows `Σ v·y ≤ b` in triplet form.
#[derive(Debug, Clone, Default)]
struct Rows {
    i: Vec<usize>,
    j: Vec<usize>,
    v: Vec<f64>,
    b: Vec<f64>,
}

impl Rows {
    /// Adds `Σ coef·x[h, d] ≤ rhs` over `terms` `(h, d, coef)`; pinned entries move to the
    /// right-hand side, and a row without a free entry is dropped.
    fn push(
        &mut self,
        vars: &Variables,
        layout: &TrajectoryLayout,
        trajectory: &[f64],
        terms: impl IntoIterator<Item = (usize, usize, f64)>,
        rhs: f64,
    ) {
        let row = self.b.len();
        let mut rhs = rhs;
        let mut any = false;
        for (h, d, coef) in terms {
            match vars.index(h, d) {
                Some(column) => {
                    self.i.push(row);
                    self.j.push(column);
                    self.v.push(coef);
                    any = true;
                }
                None => rhs -= coef * trajectory[layout.obs_index(h, d)],
            }
        }
        if any {
            self.b.push(rhs);
        }
    }

    /// Adds every row of `other`.
    fn append(&mut self, other: &Rows) {
        let offset = self.b.len();
        self.i.extend(other.i.iter().map(|i| i + offset));
        self.j.extend_from_slice(&other.j);
        self.v.extend_from_slice(&other.v);
        self.b.extend_from_slice(&other.b);
    }

    fn matrix(&self, columns: usize) -> CscMatrix<f64> {
        CscMatrix::new_from_triplets(self.b.len(), columns, self.i.clone(), self.j.clone(), self.v.clone())
    }

    /// `A·y − b` per row.
    fn excess(&self, y: &[f64]) -> Vec<f64> {
        let mut out: Vec<f64> = self.b.iter().map(|b| -b).collect();
        for ((&i, &j), &v) in self.i.iter().zip(&self.j).zip(&self.v) {
            out[i] += v * y[j];
        }
        out
    }
}

/// Projects the free entries of `trajectory` (the closed-form pass's result, the first
/// linearisation point) towards `target` (the input) onto the constraints. Obstacles take part
/// only when `hard_obstacles`.
pub(crate) fn project(
    constraints: &Constraints,
    trajectory: &mut [f64],
    target: &[f64],
    pinned: &[usize],
    hard_obstacles: bool,
) -> QpRun {
    let layout = &constraints.layout;
    let vars = Variables::new(constraints, pinned);
    if vars.count == 0 {
        return QpRun { rounds: 0, failure: None };
    }
    let goal = vars.gather(layout, target);
    let fixed = fixed_rows(constraints, trajectory, &vars);
    if !hard_obstacles || (constraints.obstacles.is_empty() && constraints.clearance.is_none()) {
        // Convex constraints only: one QP is the exact projection.
        return match solve(&goal, &fixed) {
            Ok(y) => {
                vars.scatter(layout, &y, trajectory);
                QpRun { rounds: 1, failure: None }
            }
            Err(status) => QpRun { rounds: 0, failure: Some(status) },
        };
    }
    let coupled = !(constraints.velocity.is_empty() && constraints.acceleration.is_empty());
    let mut sqp = Sqp {
        c: constraints,
        sides: if coupled { Sides::Runs } else { Sides::Nearest },
        directions: vec![None; constraints.obstacles.len()],
        decided: Rows::default(),
        scratch: Scratch::new(constraints.widest_obstacle),
        vars,
        goal,
        fixed,
    };
    sqp.run(trajectory, pinned, coupled)
}

/// How the rows inside an obstacle are linearised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sides {
    /// Each row at its own landing point: rows are independent (no rate limits).
    Nearest,
    /// Each run of consecutive inside rows leaves on one side, the one the path passes
    /// ([`Obstacle::run_direction`](super::obstacle::Obstacle::run_direction)), each row
    /// linearised where it lands on that side: nearest-point tangents would send a run's halves
    /// to opposite sides, a jump no rate limit allows.
    Runs,
    /// Where the runs' sides conflict under the rate limits: every row that enters an obstacle
    /// leaves it on one side per obstacle; bit `o` of `flips` sends obstacle `o`'s rows to the
    /// other side of the path.
    Shared {
        /// Obstacles whose side is flipped, one bit each.
        flips: usize,
    },
}

/// Side assignments tried at most: the runs, then 2^3 sides of the first three obstacles.
const SIDE_TRIALS: usize = 8;

/// The sequential QP with obstacles.
struct Sqp<'a> {
    c: &'a Constraints,
    vars: Variables,
    goal: Vec<f64>,
    /// Boxes, half-spaces, rate limits.
    fixed: Rows,
    /// Planes of rows that were inside an obstacle. They stay for the later rounds (cutting
    /// planes): a row once sent to one side is not sent back, so the rounds cannot cycle.
    decided: Rows,
    sides: Sides,
    /// Per obstacle, the side its rows leave by in [`Sides::Shared`] (before flips).
    directions: Vec<Option<Vec<f64>>>,
    scratch: Scratch,
}

impl Sqp<'_> {
    fn run(&mut self, trajectory: &mut [f64], pinned: &[usize], coupled: bool) -> QpRun {
        let layout = &self.c.layout;
        let mut run = QpRun { rounds: 0, failure: None };
        if coupled {
            // First the convex constraints alone: their smooth solution, not the closed-form
            // pass (whose rows sit on every side of an obstacle), decides where rows leave.
            match solve(&self.goal, &self.fixed) {
                Ok(y) => self.vars.scatter(layout, &y, trajectory),
                Err(status) => return QpRun { rounds: 0, failure: Some(status) },
            }
            run.rounds = 1;
        }
        let start = trajectory.to_vec();
        let mut solves = 0;
        while solves < MAX_ROUNDS + SIDE_TRIALS {
            solves += 1;
            match self.round(trajectory) {
                Ok(y) => self.vars.scatter(layout, &y, trajectory),
                Err(status) => {
                    let Some(sides) = self.next_sides() else {
                        run.failure = Some(status);
                        break;
                    };
                    // Start over from the convex solution with other sides.
                    self.sides = sides;
                    self.decided = Rows::default();
                    trajectory.copy_from_slice(&start);
                    continue;
                }
            }
            run.rounds += 1;
            if self.c.free_violation(trajectory, pinned, true) <= FEASIBLE_TOLERANCE || run.rounds > MAX_ROUNDS {
                break;
            }
        }
        run
    }

    /// The side assignment to try after a failed one, if any is left.
    fn next_sides(&self) -> Option<Sides> {
        let assignments = 1 << self.c.obstacles.len().min(3);
        match self.sides {
            Sides::Nearest => None,
            Sides::Runs => Some(Sides::Shared { flips: 0 }),
            Sides::Shared { flips } => (flips + 1 < assignments).then_some(Sides::Shared { flips: flips + 1 }),
        }
    }

    /// One QP with the obstacles linearised at `trajectory`. The planes of rows near an
    /// obstacle keep them from entering, but they pin each such row to its side too: where that
    /// leaves no solution, the round goes without them.
    fn round(&mut self, trajectory: &[f64]) -> Result<Vec<f64>, SolverStatus> {
        let (inside, near) = self.obstacle_rows(trajectory);
        self.decided.append(&inside);
        let (clashing, clear) = self.clearance_rows(trajectory);
        let mut rows = self.fixed.clone();
        rows.append(&self.decided);
        rows.append(&clashing);
        let mut with_near = rows.clone();
        with_near.append(&near);
        with_near.append(&clear);
        match solve(&self.goal, &with_near) {
            Err(SolverStatus::PrimalInfeasible | SolverStatus::AlmostPrimalInfeasible)
                if !(near.b.is_empty() && clear.b.is_empty()) =>
            {
                solve(&self.goal, &rows)
            }
            other => other,
        }
    }

    /// Obstacle `o`'s side in [`Sides::Shared`]: fixed at its first use from the rows
    /// `entered` (inside it at the current iterate) and the trajectory's ends, then flipped as
    /// `flips` says.
    fn shared_direction(&mut self, o: usize, trajectory: &[f64], entered: &[usize]) -> Option<Vec<f64>> {
        let Sides::Shared { flips } = self.sides else { return None };
        if self.directions[o].is_none() && !entered.is_empty() {
            let (layout, ob) = (&self.c.layout, &self.c.obstacles[o]);
            let row = |h: usize| layout.split_row(trajectory, h).1;
            // Across the whole trajectory's way, start to end: the plan passes the obstacle on
            // one side or the other (the flips try both).
            let rows: Vec<&[f64]> = entered.iter().map(|&h| row(h)).collect();
            self.directions[o] = Some(ob.run_direction(&rows, row(0), row(layout.horizon - 1)));
        }
        let sign = if (flips >> o) & 1 == 1 { -1.0 } else { 1.0 };
        self.directions[o].as_ref().map(|d| d.iter().map(|v| sign * v).collect())
    }

    /// The arm's clearance linearised on the free rows inside the margin (first) and near it
    /// (second); nothing without an arm. Not kept between rounds: the clearance is not convex,
    /// so an old plane is no bound on it.
    fn clearance_rows(&self, trajectory: &[f64]) -> (Rows, Rows) {
        let (mut clashing, mut clear) = (Rows::default(), Rows::default());
        let Some(clearance) = &self.c.clearance else { return (clashing, clear) };
        let layout = &self.c.layout;
        let free: Vec<usize> = (0..layout.horizon).filter(|&h| self.vars.rank[h].is_some()).collect();
        for plane in clearance.planes(layout, trajectory, &free) {
            let rows = if plane.violated { &mut clashing } else { &mut clear };
            rows.push(&self.vars, layout, trajectory, plane.terms.iter().map(|&(d, a)| (plane.h, d, a)), plane.rhs);
        }
        (clashing, clear)
    }

    /// Each obstacle linearised on the free rows inside it (first) and near it (second).
    fn obstacle_rows(&mut self, trajectory: &[f64]) -> (Rows, Rows) {
        let (c, layout) = (self.c, &self.c.layout);
        let row = |h: usize| layout.split_row(trajectory, h).1;
        let (mut inside, mut near) = (Rows::default(), Rows::default());
        for (o, ob) in c.obstacles.iter().enumerate() {
            let barrier: Vec<f64> = (0..layout.horizon).map(|h| ob.barrier(row(h))).collect();
            let free: Vec<bool> = self.vars.rank.iter().map(Option::is_some).collect();
            let entered: Vec<usize> = (0..layout.horizon).filter(|&h| free[h] && barrier[h] < c.margin).collect();
            let shared = self.shared_direction(o, trajectory, &entered);
            let mut h = 0;
            while h < layout.horizon {
                let mut end = h;
                if !free[h] || barrier[h] >= c.margin + ACTIVATION {
                    h += 1;
                    continue;
                }
                let (rows, direction) = if barrier[h] >= c.margin {
                    (&mut near, None)
                } else {
                    let direction = match self.sides {
                        Sides::Nearest => None,
                        Sides::Runs => {
                            while end + 1 < layout.horizon && free[end + 1] && barrier[end + 1] < c.margin {
                                end += 1;
                            }
                            let run: Vec<&[f64]> = (h..=end).map(row).collect();
                            Some(ob.run_direction(
                                &run,
                                row(h.saturating_sub(1)),
                                row((end + 1).min(layout.horizon - 1)),
                            ))
                        }
                        Sides::Shared { .. } => shared.clone(),
                    };
                    (&mut inside, direction)
                };
                for r in h..=end {
                    let plane = match &direction {
                        Some(d) => ob.linearise_along(row(r), d, c.margin, &mut self.scratch),
                        None => ob.linearise(row(r), c.margin, &mut self.scratch),
                    };
                    if let Some((normal, rhs)) = plane {
                        rows.push(
                            &self.vars,
                            layout,
                            trajectory,
                            ob.dims.iter().zip(normal).map(|(&d, &a)| (r, d, a)),
                            rhs,
                        );
                    }
                }
                h = end + 1;
            }
        }
        (inside, near)
    }
}

/// Boxes, half-spaces and rate limits: the rows that do not depend on the iterate.
fn fixed_rows(c: &Constraints, trajectory: &[f64], vars: &Variables) -> Rows {
    let layout = &c.layout;
    let mut rows = Rows::default();
    let free_rows: Vec<usize> = (0..layout.horizon).filter(|&h| vars.rank[h].is_some()).collect();
    for &h in &free_rows {
        for &d in &c.state_bounds.dims {
            let (lower, upper) = (c.state_bounds.lower[d], c.state_bounds.upper[d]);
            if upper.is_finite() {
                rows.push(vars, layout, trajectory, [(h, d, 1.0)], upper);
            }
            if lower.is_finite() {
                rows.push(vars, layout, trajectory, [(h, d, -1.0)], -lower);
            }
        }
        for hs in &c.half_spaces {
            rows.push(vars, layout, trajectory, hs.dims.iter().zip(&hs.normal).map(|(&d, &n)| (h, d, n)), hs.offset);
        }
    }
    for limit in &c.acceleration {
        for (terms, bound) in limit.boundary_windows(layout) {
            for sign in [1.0, -1.0] {
                rows.push(vars, layout, trajectory, terms.iter().map(|&(h, d, w)| (h, d, sign * w)), bound);
            }
        }
    }
    for (order, limits) in [(1, &c.velocity), (2, &c.acceleration)] {
        let max = merged_limits(limits, layout.observation_dim);
        let weights = stencil(order);
        let scale = layout.dt.powi(order as i32);
        for d in (0..layout.observation_dim).filter(|&d| max[d].is_finite()) {
            for h in 0..layout.horizon.saturating_sub(order) {
                for sign in [1.0, -1.0] {
                    let terms = weights.iter().enumerate().map(|(i, w)| (h + i, d, sign * w));
                    rows.push(vars, layout, trajectory, terms, max[d] * scale);
                }
            }
        }
    }
    rows
}

fn settings() -> DefaultSettings<f64> {
    DefaultSettings { verbose: false, max_iter: 100, ..DefaultSettings::default() }
}

/// `argmin |y − goal|² s.t. rows`, polished; the solver's status if it found no solution.
fn solve(goal: &[f64], rows: &Rows) -> Result<Vec<f64>, SolverStatus> {
    let (n, m) = (goal.len(), rows.b.len());
    if m == 0 {
        return Ok(goal.to_vec());
    }
    let p = CscMatrix::identity(n);
    let q: Vec<f64> = goal.iter().map(|g| -g).collect();
    let a = rows.matrix(n);
    let cones = [SupportedConeT::NonnegativeConeT(m)];
    let mut solver =
        DefaultSolver::new(&p, &q, &a, &rows.b, &cones, settings()).map_err(|_| SolverStatus::NumericalError)?;
    solver.solve();
    let solution = &solver.solution;
    if !matches!(solution.status, SolverStatus::Solved | SolverStatus::AlmostSolved) {
        return Err(solution.status);
    }
    Ok(polish(goal, rows, solution).unwrap_or_else(|| solution.x.clone()))
}

/// `|y − goal|²`.
fn distance_squared(y: &[f64], goal: &[f64]) -> f64 {
    y.iter().zip(goal).map(|(a, b)| (a - b) * (a - b)).sum()
}

/// The exact solution on the interior-point solution's active set (`s_i < z_i`), if it is the
/// optimum: feasible, and with multipliers of the inequalities' sign or (where active rows are
/// linearly dependent and the multipliers not unique) no farther from `goal` than the
/// interior-point solution.
fn polish(goal: &[f64], rows: &Rows, solution: &DefaultSolution<f64>) -> Option<Vec<f64>> {
    let n = goal.len();
    let mut active_index = vec![None; rows.b.len()];
    let mut active = Rows::default();
    for (r, index) in active_index.iter_mut().enumerate() {
        if solution.s[r] < solution.z[r] {
            *index = Some(active.b.len());
            active.b.push(rows.b[r]);
        }
    }
    for ((&i, &j), &v) in rows.i.iter().zip(&rows.j).zip(&rows.v) {
        if let Some(r) = active_index[i] {
            active.i.push(r);
            active.j.push(j);
            active.v.push(v);
        }
    }
    let (y, signs_agree) = if active.b.is_empty() {
        (goal.to_vec(), true)
    } else {
        let (mut y, z) = solve_equalities(goal, &active)?;
        // KKT: y − goal + Aᵀz = 0; as inequalities Ay ≤ b the multipliers must be ≥ 0.
        let z_scale = 1.0 + z.iter().fold(0.0_f64, |m, z| m.max(z.abs()));
        let signs_agree = z.iter().all(|&z| z >= -1e-9 * z_scale);
        // Iterative refinement: the interior-point method stops at its tolerance (≈ 1e-11 on
        // the equalities, which a rate limit divides by dt²); min |δ|² s.t. A δ = b − A y
        // removes what is left.
        let zero = vec![0.0; n];
        let scale = 1.0 + active.b.iter().fold(0.0_f64, |m, b| m.max(b.abs()));
        for _ in 0..2 {
            let residual: Vec<f64> = active.excess(&y).iter().map(|e| -e).collect();
            if residual.iter().all(|r| r.abs() <= 1e-15 * scale) {
                break;
            }
            let (delta, _) = solve_equalities(&zero, &Rows { b: residual, ..active.clone() })?;
            for (y, d) in y.iter_mut().zip(&delta) {
                *y += d;
            }
        }
        (y, signs_agree)
    };
    let feasible = rows.excess(&y).iter().zip(&rows.b).all(|(e, b)| *e <= 1e-9 * (1.0 + b.abs()));
    let interior = distance_squared(&solution.x, goal);
    let optimal = signs_agree || distance_squared(&y, goal) <= interior + 1e-9 * (1.0 + interior);
    (feasible && optimal).then_some(y)
}

/// `argmin |y − goal|² s.t. A y = b` over `rows` as equalities: `y` and the multipliers `z`.
fn solve_equalities(goal: &[f64], rows: &Rows) -> Option<(Vec<f64>, Vec<f64>)> {
    let n = goal.len();
    let p = CscMatrix::identity(n);
    let q: Vec<f64> = goal.iter().map(|g| -g).collect();
    let cones = [SupportedConeT::ZeroConeT(rows.b.len())];
    let mut solver = DefaultSolver::new(&p, &q, &rows.matrix(n), &rows.b, &cones, settings()).ok()?;
    solver.solve();
    (solver.solution.status == SolverStatus::Solved).then(|| (solver.solution.x.clone(), solver.solution.z.clone()))
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // The expected values are exact by construction.
mod tests {
    use super::*;
    use crate::constraints::{BoxConfig, ConstraintConfig, HalfSpaceConfig, TrajectoryLayout};

    fn layout(horizon: usize) -> TrajectoryLayout {
        TrajectoryLayout { horizon, action_dim: 1, observation_dim: 3, dt: 0.1 }
    }

    // Reference: Euclidean projection onto a half-space, p − max(0, n·p − o)/|n|² n.
    #[test]
    fn qp_onto_a_half_space_equals_the_closed_form() {
        let config = ConstraintConfig {
            half_space: vec![HalfSpaceConfig { dims: vec![0, 2], normal: vec![1.0, -2.0], offset: 0.5 }],
            ..ConstraintConfig::default()
        };
        let c = Constraints::new(&config, layout(4)).unwrap();
        let x: Vec<f64> = (0..16).map(|i| (f64::from(i) * 0.37).sin() * 3.0).collect();
        let mut y = x.clone();
        let run = project(&c, &mut y, &x, &[], true);
        assert_eq!(run.rounds, 1);
        for h in 0..4 {
            let (p0, p2) = (x[h * 4 + 1], x[h * 4 + 3]);
            let excess = (p0 - 2.0 * p2 - 0.5).max(0.0) / 5.0;
            assert!((y[h * 4 + 1] - (p0 - excess)).abs() < 1e-12, "row {h}");
            assert!((y[h * 4 + 3] - (p2 + 2.0 * excess)).abs() < 1e-12, "row {h}");
            assert_eq!(y[h * 4 + 2], x[h * 4 + 2]);
        }
    }

    // Reference: Euclidean projection onto a box is the clamp.
    #[test]
    fn qp_onto_boxes_equals_the_clamp() {
        let config = ConstraintConfig {
            state_box: vec![
                BoxConfig { dims: vec![0, 1], lower: vec![-1.0, 0.0], upper: vec![1.0, 2.0] },
                BoxConfig { dims: vec![1], lower: vec![0.5], upper: vec![3.0] },
            ],
            ..ConstraintConfig::default()
        };
        let c = Constraints::new(&config, layout(5)).unwrap();
        let x: Vec<f64> = (0..20).map(|i| (f64::from(i) * 1.3).cos() * 4.0).collect();
        let mut y = x.clone();
        project(&c, &mut y, &x, &[2], true);
        for h in 0..5 {
            let pinned = h == 2;
            let clamp0 = if pinned { x[h * 4 + 1] } else { x[h * 4 + 1].clamp(-1.0, 1.0) };
            let clamp1 = if pinned { x[h * 4 + 2] } else { x[h * 4 + 2].clamp(0.5, 2.0) };
            assert!((y[h * 4 + 1] - clamp0).abs() < 1e-12 && (y[h * 4 + 2] - clamp1).abs() < 1e-12, "row {h}");
        }
    }
}
