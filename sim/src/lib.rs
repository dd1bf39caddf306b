//! Rapier environments behind one `Env` trait, their scripted experts and D4RL scoring.
//!
//! Every environment is fixed-dt, seeded and deterministic: the same seed and the same actions
//! give the same observations bit for bit.

pub mod collected;
pub mod control;
pub mod disturbance;
pub mod env;
pub mod maze2d;
pub mod panda;
pub mod safety;
pub mod score;
pub mod tool_goal;

pub use collected::Collected;
pub use control::{Interventions, Policy, Tracker};
pub use disturbance::{Disturbance, Disturbed, Pushable};
pub use env::{Env, Geometry, Scene, SceneShape, Step};
