"""What each command path imports: start-up time is mostly imports, so heavy modules load only
where they are used (timings are in bench/, never in tests)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

# Runs the CLI in a fresh interpreter and prints the modules it ended up with.
PROBE = """
import json, sys
from gradcalc.cli import main
try:
    main(sys.argv[1:], prog_name="gradcalc")
except SystemExit:
    pass
sys.__stderr__.write(json.dumps(sorted(sys.modules)))
"""
POINT = ("3*(a+b*c)", "--at", "a=5,b=3,c=2")


def modules_loaded(*args: str) -> set[str]:
    run = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True)
    return set(json.loads(run.stderr.splitlines()[-1]))


def loaded_from(modules: set[str], *packages: str) -> set[str]:
    return {m for m in modules if m.split(".")[0] in packages}


@pytest.mark.parametrize("command", ["eval", "trace"])
def test_json_output_loads_neither_sympy_nor_rich_nor_numpy(command):
    modules = modules_loaded(command, *POINT, "--format", "json")
    assert not loaded_from(modules, "sympy", "rich", "numpy", "mpmath")


@pytest.mark.parametrize("command", ["eval", "trace"])
def test_tables_load_rich_but_not_sympy_or_numpy(command):
    modules = modules_loaded(command, *POINT)
    assert loaded_from(modules, "rich") and not loaded_from(modules, "sympy", "numpy", "mpmath")


@pytest.mark.parametrize("args", [("eval", "3*(a+b*c", "--at", "a=5"), ("eval", "x", "--bogus")])
def test_usage_errors_load_neither_rich_nor_sympy(args):
    assert not loaded_from(modules_loaded(*args), "sympy", "rich", "numpy")


def test_a_usage_error_loads_no_evaluation_code():
    modules = modules_loaded("eval", "x", "--bogus")
    assert not {"gradcalc.core.autodiff", "gradcalc.api", "gradcalc.render.table"} & modules
