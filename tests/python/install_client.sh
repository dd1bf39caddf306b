#!/usr/bin/env bash
# The Python client package as a user gets it: creates a fresh venv in VENV_DIR, installs
# clients/python into it with pip (which fetches eclipse-zenoh, or takes it from pip's cache),
# runs the package's unit tests against the installed copy, then plans with it against the
# `diffplan serve --stream` at ENDPOINT on NAMESPACE (tests/python/plan_with_client.py), whose
# one JSON line is this script's only stdout. Called by tests/app/network.rs.
# Usage: install_client.sh VENV_DIR ENDPOINT NAMESPACE
set -euo pipefail
if (($# != 3)); then
    echo "usage: $0 VENV_DIR ENDPOINT NAMESPACE" >&2
    exit 2
fi
venv="$1" endpoint="$2" namespace="$3"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
[[ ! -e "$venv" ]] || { echo "install_client.sh: $venv exists; the point is a fresh venv" >&2; exit 2; }
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --no-input --disable-pip-version-check -q "$root/clients/python" >&2
# From the tests' folder, which holds no copy of the package: the installed one is imported.
(cd "$root/clients/python/tests" && "$venv/bin/python" -m unittest discover -q -s . 2>&1) >&2
"$venv/bin/python" "$root/tests/python/plan_with_client.py" "$endpoint" "$namespace"
