//! The planner crate's integration tests (one binary). Tests that need PyTorch run the
//! reference scripts in `tests/python/` with `$DIFFPLAN_PYTHON` (set by `scripts/test.sh`).
//!
//! The only other test binaries are `training.rs` and `value_training.rs`: they create models,
//! whose initial weights come from libtorch's global generator, so they need a process of
//! their own (see the comment at the top of each).

mod checkpoint_errors;
mod constraints;
mod dataset;
mod guidance;
mod import;
mod minari;
mod mixture_oracle;
mod parity;
mod picard;
mod planning;
mod reference;
mod sampler_parity;
