#!/usr/bin/env bash
# One-time set-up, safe to re-run: Debian packages (a C++ compiler, pkg-config, the HDF5
# library for D4RL-format datasets, openssl for a secured lab's certificates), then a virtual environment with torch==2.11.0 (+ numpy,
# safetensors, h5py for the reference scripts and tests, minari for the Minari reader's test, mujoco
# for the Panda's kinematics test) in a
# cache folder outside the clone.
# Every other script sources this first.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=env.sh
source "$here/env.sh"

need_apt=()
command -v g++ >/dev/null || need_apt+=(g++)
command -v pkg-config >/dev/null || need_apt+=(pkg-config)
python3 -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv)
pkg-config --exists hdf5 2>/dev/null || need_apt+=(libhdf5-dev)
# scripts/lab-certs.sh (a secured lab's certificates, and the security tests) uses the openssl CLI.
command -v openssl >/dev/null || need_apt+=(openssl)
if ((${#need_apt[@]})); then
    echo "setup: installing Debian packages: ${need_apt[*]}" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi

stamp="$DIFFPLAN_VENV/.diffplan-ready"
if [[ ! -f "$stamp" ]]; then
    echo "setup: creating $DIFFPLAN_VENV with torch==$DIFFPLAN_TORCH_VERSION (about 4.6 GB, once)" >&2
    mkdir -p "$DIFFPLAN_CACHE"
    [[ -x "$DIFFPLAN_VENV/bin/python" ]] || python3 -m venv "$DIFFPLAN_VENV"
    "$DIFFPLAN_VENV/bin/pip" install --no-input --disable-pip-version-check -q \
        "torch==$DIFFPLAN_TORCH_VERSION" "numpy>=2,<3" "safetensors>=0.4"
    touch "$stamp"
fi
"$DIFFPLAN_PYTHON" -c 'import h5py' 2>/dev/null ||
    "$DIFFPLAN_VENV/bin/pip" install --no-input --disable-pip-version-check -q "h5py>=3.10,<4"
# The Python Zenoh client of the protocol test (tests/python/plan_client.py): the same Zenoh as the crate.
"$DIFFPLAN_PYTHON" -c 'import zenoh' 2>/dev/null ||
    "$DIFFPLAN_VENV/bin/pip" install --no-input --disable-pip-version-check -q "eclipse-zenoh==1.10.2"
# The recording test's reader (tests/python/read_recording.py): the same Rerun as the crate.
"$DIFFPLAN_PYTHON" -c 'import rerun; assert rerun.__version__ == "0.36.3"' 2>/dev/null ||
    "$DIFFPLAN_VENV/bin/pip" install --no-input --disable-pip-version-check -q "rerun-sdk==0.36.3"
# The Minari reader's test writes its datasets with the real package (tests/python/make_minari_dataset.py).
# Its HDF5 storage imports PIL without declaring it; pillow is named so that it is there without rerun-sdk.
"$DIFFPLAN_PYTHON" -c 'import minari, PIL; assert minari.__version__ == "0.5.4"' 2>/dev/null ||
    "$DIFFPLAN_VENV/bin/pip" install --no-input --disable-pip-version-check -q "minari[hdf5]==0.5.4" "pillow"
# The ROS 2 test's independent CDR codec and type hashes (tests/python/ros2_robot.py): pure Python.
"$DIFFPLAN_PYTHON" -c 'import importlib.metadata as m; assert m.version("rosbags") == "0.11.9"' 2>/dev/null ||
    "$DIFFPLAN_VENV/bin/pip" install --no-input --disable-pip-version-check -q "rosbags==0.11.9"
# The Panda's forward-kinematics oracle (tests/python/panda_fk_oracle.py): MuJoCo parses the
# committed URDF with its own reader. Wheels only, no GL needed for kinematics.
"$DIFFPLAN_PYTHON" -c 'import mujoco; assert mujoco.__version__ == "4.0.0"' 2>/dev/null ||
    "$DIFFPLAN_VENV/bin/pip" install --no-input --disable-pip-version-check -q "mujoco==4.0.0"
# An independent JSON Schema validator for the results test (docs/schema/).
"$DIFFPLAN_PYTHON" -c 'import jsonschema' 2>/dev/null ||
    "$DIFFPLAN_VENV/bin/pip" install --no-input --disable-pip-version-check -q "jsonschema>=4.20,<5"

found="$("$DIFFPLAN_PYTHON" -c 'import torch; print(torch.__version__.split("+")[0])')"
if [[ "$found" != "$DIFFPLAN_TORCH_VERSION" ]]; then
    echo "setup: $DIFFPLAN_VENV has torch $found, diffplan needs $DIFFPLAN_TORCH_VERSION;" \
         "delete that folder and run scripts/setup.sh again" >&2
    exit 1
fi
