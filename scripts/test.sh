#!/usr/bin/env bash
# Runs every check and test of the workspace. Installs what it needs on first use
# (scripts/setup.sh). Tests share the optimized `release` profile with the binary, so the stack
# is compiled once.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh

echo "== cargo fmt --check" >&2
cargo fmt --all --check
echo "== cargo clippy -D warnings" >&2
cargo clippy --release --workspace --all-targets --locked -- -D warnings
echo "== module cycles" >&2
python3 scripts/module_cycles.py planner/src sim/src bridge/src src
echo "== cargo doc" >&2
RUSTDOCFLAGS="-D warnings" cargo doc --release --workspace --no-deps --locked
echo "== cargo test" >&2
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
cargo test --release --workspace --locked 2>&1 | tee "$log"
# One closing line for the whole run (cargo prints one per test binary, the last often empty).
awk '/^test result:/ { passed += $4; failed += $6 } END { printf "%d passed, %d failed\n", passed, failed }' "$log"
