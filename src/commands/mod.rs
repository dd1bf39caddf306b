//! One file per subcommand: its arguments and `run`. Commands import downwards only (nodes,
//! episodes, tasks, telemetry, the libraries); nothing imports from here.

pub mod bench;
pub mod collect;
pub mod conformance;
pub mod doctor;
pub mod eval;
pub mod fuzz;
pub mod import;
pub mod launch;
pub mod plan;
pub mod robot;
pub mod router;
pub mod serve;
pub mod ship;
pub mod train;
