#!/usr/bin/env bash
# The main job. Installs what it needs on first use (scripts/setup.sh), builds the release
# binary, checks the installation, then plans and drives the shipped U-maze model through ten
# Maze2D episodes (Diffuser's protocol, D4RL-normalized scores). Later work grows this into
# `diffplan launch launch/<task>.toml`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
cargo build --release --locked -p diffplan
target/release/diffplan doctor
target/release/diffplan eval --config configs/tasks/maze2d-umaze.toml --episodes 10
