//! The planner crate's integration tests (one binary). Tests that need PyTorch run the
//! reference scripts in `tests/python/` with `$DIFFPLAN_PYTHON` (set by `scripts/test.sh`).

mod checkpoint_errors;
mod dataset;
mod guidance;
mod mixture_oracle;
mod parity;
mod picard;
mod planning;
mod reference;
mod sampler_parity;
