#!/usr/bin/env bash
# The lower bounds: install the lowest version that pyproject.toml allows of every direct
# dependency (uv's lowest-direct resolution) into a fresh virtual environment, with the
# lowest supported Python, and run the test suite there. Raise a floor when it fails.
#   bash scripts/lowest.sh [PYTHON]      (default: pyenv's newest 3.10, else python3.10)
set -euo pipefail
cd "$(dirname "$0")/.."
python=${1:-$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.10.*/bin/python3 2>/dev/null | sort -V | tail -n 1)}
python=${python:-python3.10}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git ls-files -co --exclude-standard | tar -cf - -T - | tar -xf - -C "$work"  # the tree, no build leftovers
"$python" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet uv
"$work/venv/bin/python" -m uv pip install --python "$work/venv/bin/python" --resolution lowest-direct "$work[test]"
"$work/venv/bin/python" -m uv pip list --python "$work/venv/bin/python"
cd "$work" && "$work/venv/bin/python" -m pytest -q -p no:cacheprovider
