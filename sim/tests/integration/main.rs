//! The simulators against their specifications and independent references. The Panda's
//! kinematics test runs `tests/python/panda_fk_oracle.py` with `$DIFFPLAN_PYTHON` (set by
//! `scripts/test.sh`).

mod maze2d;
mod panda;
