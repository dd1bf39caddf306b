//! An arm kept clear of its workspace: `g_k(q_h) ≥ margin` on every row `h` and keep-out `k`
//! (each obstacle of the request, and the table), `g` the soft-minimum clearance of
//! [`crate::workspace`] in metres and `q_h` the row's joint angles.
//!
//! `g` is not convex in the angles, so there is no closed form: the QP takes it linearised at
//! its current iterate, `g(q̂) + ∇g(q̂)·(q − q̂) ≥ margin + AIM_M`, on the rows within
//! [`ACTIVATION_M`] of the margin, and re-linearises every round (the gradient comes from the
//! libtorch kinematics by autograd). Aiming [`AIM_M`] beyond the margin absorbs the curvature the
//! linearisation misses, so a round usually lands feasible rather than just short of it.

use super::layout::TrajectoryLayout;
use super::report::Residual;
use crate::workspace::Workspace;

/// Rows whose clearance is below `margin + ACTIVATION_M` take part in the QP (metres).
pub(crate) const ACTIVATION_M: f64 = 0.05;
/// How far beyond the margin a linearised row aims (metres).
const AIM_M: f64 = 1e-3;

/// The arm, the request's obstacles and the clearance every row keeps.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ArmClearance {
    pub(crate) workspace: Workspace,
    /// Metres every ball keeps from every keep-out.
    pub(crate) margin_m: f64,
}

/// One linearised row: `Σ coefficient · angle ≤ rhs` on row `h`'s joint angles, and whether the
/// row is inside the margin (else only near it).
pub(crate) struct Plane {
    pub(crate) h: usize,
    pub(crate) terms: Vec<(usize, f64)>,
    pub(crate) rhs: f64,
    pub(crate) violated: bool,
}

impl ArmClearance {
    fn angles(&self, layout: &TrajectoryLayout, trajectory: &[f64], rows: &[usize]) -> Vec<Vec<f64>> {
        let dims = &self.workspace.body.angle_dims;
        rows.iter().map(|&h| dims.iter().map(|&d| trajectory[layout.obs_index(h, d)]).collect()).collect()
    }

    /// Per row of `rows`, per keep-out, how far the clearance is below the margin (≤ 0: clear),
    /// metres.
    pub(crate) fn shortfalls(&self, layout: &TrajectoryLayout, trajectory: &[f64], rows: &[usize]) -> Vec<Vec<f64>> {
        let values = self.workspace.clearances(&self.angles(layout, trajectory, rows));
        values.into_iter().map(|row| row.into_iter().map(|g| self.margin_m - g).collect()).collect()
    }

    /// Per keep-out, `clearance to <name>`: its largest shortfall over every row (metres) and
    /// its smallest clearance.
    pub(crate) fn residuals(&self, layout: &TrajectoryLayout, trajectory: &[f64]) -> Vec<Residual> {
        let rows: Vec<usize> = (0..layout.horizon).collect();
        let shortfalls = self.shortfalls(layout, trajectory, &rows);
        (self.workspace.names().into_iter().enumerate())
            .map(|(k, name)| {
                let worst = shortfalls.iter().map(|row| row[k]).fold(f64::NEG_INFINITY, f64::max);
                Residual {
                    name: format!("clearance to {name}"),
                    max_violation: worst.max(0.0),
                    min_barrier: Some(self.margin_m - worst),
                }
            })
            .collect()
    }

    /// The planes of the free `rows` within [`ACTIVATION_M`] of the margin, linearised at
    /// `trajectory`: `−∇g·q ≤ g(q̂) − ∇g·q̂ − margin − AIM_M` on each row's angle dims.
    pub(crate) fn planes(&self, layout: &TrajectoryLayout, trajectory: &[f64], rows: &[usize]) -> Vec<Plane> {
        let dims = &self.workspace.body.angle_dims;
        let at = self.angles(layout, trajectory, rows);
        let shortfalls = self.shortfalls(layout, trajectory, rows);
        let near: Vec<usize> = (0..rows.len()).filter(|&i| shortfalls[i].iter().any(|s| -s < ACTIVATION_M)).collect();
        if near.is_empty() {
            return Vec::new();
        }
        let linear = self.workspace.linearise(&near.iter().map(|&i| at[i].clone()).collect::<Vec<_>>());
        let mut planes = Vec::new();
        for (n, &i) in near.iter().enumerate() {
            for (k, (&g, gradient)) in linear.values[n].iter().zip(&linear.gradients[n]).enumerate() {
                if g - self.margin_m >= ACTIVATION_M {
                    continue;
                }
                let along: f64 = gradient.iter().zip(&at[i]).map(|(a, q)| a * q).sum();
                planes.push(Plane {
                    h: rows[i],
                    terms: dims.iter().zip(gradient).map(|(&d, &a)| (d, -a)).collect(),
                    rhs: g - along - self.margin_m - AIM_M,
                    violated: shortfalls[i][k] > 0.0,
                });
            }
        }
        planes
    }
}
