#!/usr/bin/env bash
# The sdist runs its own tests: build it, unpack it into an empty folder, install it with the
# test extra into a fresh virtual environment and run the suite inside the unpacked tree.
#   bash scripts/sdist_check.sh [PYTHON]      (default: python3)
set -euo pipefail
cd "$(dirname "$0")/.."
python=${1:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet build
mkdir "$work/tree"  # built from a copy, so that no build leftovers land in the work tree
git ls-files -co --exclude-standard | tar -cf - -T - | tar -xf - -C "$work/tree"
"$work/venv/bin/python" -m build --sdist --outdir "$work/dist" "$work/tree"
mkdir "$work/unpacked"
tar -xzf "$work"/dist/*.tar.gz -C "$work/unpacked"
cd "$work"/unpacked/*/
"$work/venv/bin/python" -m pip install ".[test]"
"$work/venv/bin/python" -m pytest -q -p no:cacheprovider
