"""An op declared in one place is known everywhere: `cube` is registered by the fixture below,
and nothing else in gradcalc names it; every command and format then handles it."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp
from helpers import S

from gradcalc.core.ops import Op, each, register, withdraw

CUBE = Op("cube", lambda m, x: x * x * x, each(lambda m, out, x: 3 * x * x), calls=("cube",),
          latex=r"{{{0}}}^{{3}}", label="x³", longhand=("x", "x*x*x"))

TEXT = "u = cube(x); f = u*y + x"
AT = ("--at", "x=1.5,y=-2")
FORM = S["x"] ** 3 * S["y"] + S["x"]  # the sympy oracle, written independently
POINT = {S["x"]: sp.Rational(3, 2), S["y"]: -2}


@pytest.fixture(autouse=True)
def cube():
    register(CUBE)
    yield
    withdraw("cube")


def exact(form) -> float:
    return float(form.xreplace(POINT))


def derivative(*names: str) -> float:
    return exact(sp.diff(FORM, *(S[n] for n in names)))


def test_eval_in_every_format(cli):
    out = cli("eval", TEXT, *AT, "--format", "json").json()
    assert out["value"] == pytest.approx(exact(FORM), rel=1e-15)
    assert out["gradient"] == pytest.approx({"x": derivative("x"), "y": derivative("y")}, rel=1e-15)
    table = cli("eval", TEXT, *AT)
    assert table.code == 0 and "f = -5.25" in table.stdout
    rows = cli("eval", TEXT, *AT, "--format", "csv").stdout.splitlines()
    assert rows[0] == "role,name,value,gradient" and rows[1].startswith("output,f,-5.25")


def test_trace_json_shows_the_stage_and_its_local_rule(cli):
    nodes = {n["name"]: n for n in cli("trace", TEXT, *AT, "--format", "json").json()["nodes"]}
    assert nodes["u"]["op"] == "cube" and nodes["u"]["expr"] == "cube(x)"
    assert nodes["u"]["local"] == [pytest.approx(3 * 1.5 ** 2)]


@pytest.mark.parametrize("fmt, shown", [("table", "cube(x)"), ("csv", "cube(x)"),
                                        ("markdown", "`3*x**2`"), ("latex", "{x}^{3}")])
def test_trace_in_every_format(cli, fmt, shown):
    run = cli("trace", TEXT, *AT, "--format", fmt)
    assert run.code == 0 and shown in run.stdout, run.stderr


def test_trace_as_python_runs_and_prints_what_eval_prints(cli, tmp_path):
    program = tmp_path / "backprop.py"
    program.write_text(cli("trace", TEXT, *AT, "--format", "python").stdout)
    printed = subprocess.run([sys.executable, str(program)], capture_output=True, text=True, check=True)
    assert json.loads(printed.stdout) == cli("eval", TEXT, *AT, "--format", "json").json()


@pytest.mark.parametrize("fmt, shown", [("dot", "x³"), ("mermaid", "x³"), ("svg", "x³")])
def test_graph_in_every_format(cli, fmt, shown):
    for at in ((), AT):
        run = cli("graph", TEXT, *at, "--format", fmt)
        assert run.code == 0 and shown in run.stdout, run.stderr


def test_the_page_draws_it_and_recomputes_with_its_own_rule(cli):
    page = cli("graph", TEXT, *AT, "--format", "html").stdout
    assert "x³" in page and '"cube/1": {f: (a) => a[0] * a[0] * a[0], d: [(out, a) => 3 * a[0] * a[0]]}' in page
    assert '"unscripted":[]' in page


def test_gate_modes(cli):
    for gates in ("written", "fused", "primitive"):
        out = cli("eval", TEXT, *AT, "--gates", gates, "--format", "json").json()
        assert out["gradient"]["x"] == pytest.approx(derivative("x"), rel=1e-14)
    nodes = cli("trace", TEXT, *AT, "--gates", "primitive", "--format", "json").json()["nodes"]
    assert "cube" not in {n["op"] for n in nodes}


def test_exact_digits_and_hessian(cli):
    out = cli("eval", TEXT, *AT, "--exact", "--format", "json").json()
    assert out["exact"]["value"] == str(FORM.xreplace(POINT))
    digits = cli("eval", TEXT, *AT, "--digits", "30", "--format", "json").json()
    assert digits["decimal"]["value"].startswith("-5.25")
    hessian = cli("eval", TEXT, *AT, "--hessian", "--format", "json").json()["hessian"]
    assert hessian["x"]["x"] == pytest.approx(derivative("x", "x"), rel=1e-14)
    assert hessian["x"]["y"] == pytest.approx(derivative("x", "y"), rel=1e-14)


def test_check_grad_and_paths(cli):
    assert cli("check", TEXT, *AT).code == 0
    formulas = cli("grad", TEXT, "--format", "json").json()["gradient"]
    assert sp.simplify(sp.sympify(formulas["x"], locals={"x": S["x"], "y": S["y"]})
                       - sp.diff(FORM, S["x"])) == 0
    paths = cli("paths", TEXT, *AT, "--wrt", "x", "--format", "json").json()
    assert paths["gradient"] == pytest.approx(derivative("x"), rel=1e-15)


def test_data_mode_against_the_numpy_formula(cli, tmp_path):
    x = np.linspace(-1.5, 2.0, 50)
    data = tmp_path / "points.csv"
    data.write_text("x\n" + "\n".join(repr(float(v)) for v in x) + "\n")
    out = cli("eval", TEXT, "--data", str(data), "--at", "y=-2", "--format", "json").json()
    assert out["value"] == pytest.approx(np.mean(x ** 3 * -2 + x), rel=1e-12)
    assert out["gradient"]["y"] == pytest.approx(np.mean(x ** 3), rel=1e-12)
