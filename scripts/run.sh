#!/usr/bin/env bash
# The main job. Installs what it needs on first use (scripts/setup.sh), builds the release
# binary, and runs it. Today the end-to-end path is the installation check; later work grows
# this into `diffplan launch launch/<task>.toml`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
cargo build --release --locked -p diffplan
target/release/diffplan doctor
