#!/usr/bin/env bash
# The main job. Installs what it needs on first use (scripts/setup.sh), builds the release
# binary, checks the installation, then launches the U-maze robot stack: the Rapier simulator as a
# robot and the shipped model as a planner service, over Zenoh on loopback, ten episodes in
# lockstep (Diffuser's protocol), and prints the D4RL-normalized score table.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
cargo build --release --locked -p diffplan
target/release/diffplan doctor
target/release/diffplan launch launch/maze2d-umaze.toml --episodes 10
