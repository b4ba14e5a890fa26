"""`--nonfinite ieee`: inf and nan flow through with PyTorch's conventions; strict stays the default.

The expected numbers are PyTorch's (torch 2.x, float64) for the same expressions and points.
"""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcalc import evaluate
from gradcalc.errors import DomainError
from gradcalc.numbers.ieee import IEEE

INF, NAN = math.inf, math.nan

# expression, point, value, gradient — as torch.autograd gives them
TORCH = [
    ("log(x)", "x=0", -INF, {"x": INF}),
    ("log(x)", "x=-1", NAN, {"x": -1.0}),
    ("sqrt(x)", "x=0", 0.0, {"x": INF}),  # sqrt'(0) = inf
    ("sqrt(x)", "x=-1", NAN, {"x": NAN}),
    ("x/y", "x=1,y=0", INF, {"x": INF, "y": -INF}),
    ("x/y", "x=-1,y=0", -INF, {"x": INF, "y": INF}),
    ("x/y", "x=1,y=-0", -INF, {"x": -INF, "y": -INF}),
    ("x/y", "x=0,y=0", NAN, {"x": INF, "y": NAN}),
    ("exp(x)", "x=1000", INF, {"x": INF}),
    ("exp(x)*y", "x=1000,y=0", NAN, {"x": NAN, "y": INF}),  # 0*inf = nan
    ("x^y", "x=0,y=-1", INF, {"x": -INF, "y": -INF}),
    ("sinh(x)", "x=-1000", -INF, {"x": INF}),
    ("asin(x)", "x=2", NAN, {"x": NAN}),
    ("sin(exp(x))", "x=1000", NAN, {"x": NAN}),
    ("exp(log(x))", "x=0", 0.0, {"x": NAN}),
    ("sigmoid(exp(x))", "x=1000", 1.0, {"x": NAN}),
]


def same(a, b) -> bool:
    """Equal as IEEE values: nan matches nan, and the sign of inf matters."""
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    return (math.isnan(a) and math.isnan(b)) or a == b


def spelled(x: float):
    """How JSON spells a number: non-finite ones as strings."""
    return x if math.isfinite(x) else ("nan" if math.isnan(x) else ("inf" if x > 0 else "-inf"))


@pytest.mark.parametrize("expression, at, value, gradient", TORCH)
def test_ieee_mode_follows_pytorch(cli, expression, at, value, gradient):
    run = cli("eval", expression, "--at", at, "--nonfinite", "ieee", "--format", "json")
    assert run.code == 0
    out = run.json()
    assert same(out["value"], spelled(value))
    assert out["gradient"].keys() == gradient.keys()
    for name, want in gradient.items():
        assert same(out["gradient"][name], spelled(want)), (name, out["gradient"])


@pytest.mark.parametrize("expression, at, value, gradient", TORCH)
def test_strict_is_the_default_and_stops_with_exit_3(cli, expression, at, value, gradient):
    run = cli("eval", expression, "--at", at, "--format", "json")
    assert run.code == 3 and run.stdout == "" and run.stderr.startswith("error: stage ")


def test_ieee_warns_once_per_stage_on_stderr(cli):
    run = cli("eval", "log(x) + sqrt(y)", "--at", "x=0,y=0", "--nonfinite", "ieee")
    lines = run.stderr.splitlines()
    assert run.code == 0 and all(line.startswith("warning: stage ") for line in lines)
    stages = [line.split(":")[1] for line in lines]
    assert len(stages) == len(set(stages))
    assert "warning: stage u1 = log(x): non-finite value -inf: log of 0 (x = 0)" in lines
    assert "warning: stage u2 = sqrt(y): non-finite ∂/∂y = inf (y = 0)" in lines


def test_no_warning_when_everything_is_finite(cli):
    run = cli("eval", "log(x)", "--at", "x=2", "--nonfinite", "ieee")
    assert run.code == 0 and run.stderr == ""


def test_table_and_csv_print_inf_and_nan(cli):
    table = cli("eval", "x/y", "--at", "x=0,y=0", "--nonfinite", "ieee").stdout
    assert "f = nan" in table and "inf" in table
    csv = cli("eval", "log(x)", "--at", "x=0", "--nonfinite", "ieee", "--format", "csv").stdout
    assert csv.splitlines()[1:] == ["output,f,-inf,", "input,x,0.0,inf"]


def test_trace_json_spells_non_finite_locals_as_strings(cli):
    run = cli("trace", "sqrt(x)", "--at", "x=0", "--nonfinite", "ieee", "--format", "json")
    nodes = run.json()["nodes"]
    assert nodes[-1]["local"] == ["inf"] and nodes[0]["grad"] == "inf"


def test_ieee_is_for_single_points_not_data(cli, tmp_path):
    data = tmp_path / "rows.csv"
    data.write_text("x\n1\n")
    run = cli("eval", "log(x)", "--data", str(data), "--nonfinite", "ieee")
    assert run.code == 2 and "--nonfinite ieee" in run.stderr


def test_python_api_takes_the_mode_and_returns_plain_floats():
    with pytest.raises(DomainError):
        evaluate("log(x)", {"x": 0})
    result = evaluate("log(x)", {"x": 0}, nonfinite="ieee")
    assert result.value == -INF and result.gradient == {"x": INF}
    assert type(result.value) is float and result.warnings


@pytest.mark.parametrize("base, exponent, want", [
    (0.0, -1.0, INF), (-0.0, -1.0, -INF), (-0.0, -2.0, INF), (0.0, -0.5, INF),
    (-2.0, 0.5, NAN), (10.0, 400.0, INF), (-10.0, 401.0, -INF), (-INF, 0.5, INF), (NAN, 0.0, 1.0),
])
def test_powers_follow_c99_where_python_raises(base, exponent, want):
    assert same(float(IEEE(base) ** IEEE(exponent)), want)


@pytest.mark.parametrize("a, b, want", [(1.0, 0.0, INF), (-1.0, 0.0, -INF), (1.0, -0.0, -INF),
                                        (0.0, 0.0, NAN), (NAN, 0.0, NAN), (INF, INF, NAN)])
def test_division_by_zero_keeps_both_signs(a, b, want):
    assert same(float(IEEE(a) / b), want) and same(float(a / IEEE(b)), want)


finite = st.floats(-20, 20, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(x=finite, y=finite)
def test_where_everything_is_finite_both_modes_agree_exactly(x, y):
    text = "sigmoid(x*y) + tanh(x) - exp(sin(y))/(2 + cos(x)) + max(x, y)^2"
    strict, ieee = evaluate(text, {"x": x, "y": y}), evaluate(text, {"x": x, "y": y}, nonfinite="ieee")
    assert (strict.value, strict.gradient) == (ieee.value, ieee.gradient)
    assert not [w for w in ieee.warnings if "non-finite" in w]
