# shellcheck shell=bash
# Sourced by the other scripts: where the PyTorch venv lives and how cargo finds libtorch.
# The venv sits in a cache folder outside the clone, so every clone on this machine reuses it.
DIFFPLAN_TORCH_VERSION="2.11.0"
DIFFPLAN_CACHE="${DIFFPLAN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/diffplan}"
DIFFPLAN_VENV="${DIFFPLAN_VENV:-$DIFFPLAN_CACHE/torch-$DIFFPLAN_TORCH_VERSION}"
export DIFFPLAN_TORCH_VERSION DIFFPLAN_CACHE DIFFPLAN_VENV
# torch-sys asks this python for torch's include and lib folders.
export LIBTORCH_USE_PYTORCH=1
export VIRTUAL_ENV="$DIFFPLAN_VENV"
export PATH="$DIFFPLAN_VENV/bin:$PATH"
# The tests run the PyTorch reference scripts with this interpreter.
export DIFFPLAN_PYTHON="$DIFFPLAN_VENV/bin/python"
