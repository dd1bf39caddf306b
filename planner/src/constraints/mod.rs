//! Hard constraints on one trajectory, projected on the host in the data's (user's) units:
//! boxes on observations and actions, half-spaces, velocity and acceleration limits, and
//! obstacles as barriers (SafeDiffuser, docs/ALGORITHMS.md §3).
//!
//! A trajectory is `H` rows of `A + O` values, row-major, actions first ([`TrajectoryLayout`]).
//! [`Constraints::project`] moves it as little as it can onto the constraints:
//! 1. a per-row closed form: boxes are clamped, half-spaces projected along their normal, and
//!    obstacles left by SafeDiffuser's RoS step with the point itself as reference (landing on
//!    `b = margin`, see `obstacle.rs`); ReS's relaxed pull instead at its soft steps;
//! 2. if that leaves every constraint within [`FEASIBLE_TOLERANCE`] and no row needed two convex
//!    corrections, done ([`Method::ClosedForm`]): a single correction onto a superset of the
//!    feasible set that lands inside it is the projection onto the set;
//! 3. otherwise a joint QP (clarabel): `min |y − x|²` over the constrained entries subject to
//!    every box, half-space, velocity and acceleration limit and every nearby obstacle (and an
//!    arm's clearance) linearised at the current iterate, re-linearised for up to 10 rounds
//!    ([`Method::Qp`], see `qp.rs`).
//!
//! In relaxed mode (ReS) the soft steps pull rows out of obstacles by the slack-relaxed step
//! first; obstacles then take no further part in that projection (neither the check nor the QP).
//!
//! Rows listed as pinned (inpainted start and goal) keep their observations bit for bit; a
//! feasible trajectory is returned unchanged, bit for bit.
//!
//! Where each part lives:
//! - `config.rs`: `[planner.constraints]` as parsed, and its validation;
//! - `layout.rs`: where a trajectory's values lie in its flat buffer ([`TrajectoryLayout`]);
//! - `barrier.rs`: the one obstacle barrier `b(p)`, its gradient, its tensor form (guidance)
//!   and its outline (drawing);
//! - `set.rs`: [`Constraints`], the validated and prepared set, and its residuals;
//! - `project.rs`: [`Constraints::project`], steps 1 and 2 above, and its checks;
//! - `pointwise.rs`, `rates.rs`, `obstacle.rs`: each kind's closed forms;
//! - `clearance.rs`: an arm's clearance to a request's obstacles and its table, linearised for
//!   the QP through the libtorch kinematics;
//! - `qp.rs`: step 3, the joint QP;
//! - `report.rs`: what a projection did;
//! - `tensor.rs`: the sampler's side, device tensors through the normalizer ([`Projection`]).

pub(crate) mod barrier;
mod clearance;
mod config;
mod layout;
mod obstacle;
mod pointwise;
mod project;
mod qp;
mod rates;
mod report;
mod set;
mod tensor;

pub use barrier::outline;
pub use config::{
    BoxConfig, ConstraintConfig, HalfSpaceConfig, ObstacleConfig, ObstacleMode, ObstacleShape, RateLimitConfig,
};
pub use layout::TrajectoryLayout;
pub use project::{FEASIBLE_TOLERANCE, FINAL_TOLERANCE, Stage};
pub use report::{Method, ProjectionReport, Residual};
pub use set::Constraints;
pub use tensor::{ConstraintSet, Projection, ProjectionStats, final_target, host_trajectories};
