"""`eval --hessian`: forward-over-reverse through the registry's rules, against sympy's hessian
of forms written here."""
from __future__ import annotations

import math

import pytest
import sympy as sp
from helpers import LOSS, LOSS_AT, LOSS_FORM, S, at_option, exact_point, expressions
from hypothesis import given, settings

from gradcalc import lower
from gradcalc.analyses.hessian import hessian
from gradcalc.core.ops import REGISTRY, each

POINT = {"x": "0.7", "y": "-1.3", "z": "0.4"}


def sympy_hessian(form, names, at) -> dict:
    point = exact_point(at)
    return {r: {c: float(sp.diff(form, S[r], S[c]).xreplace(point).evalf(30)) for c in names}
            for r in names}


def test_json_has_the_matrix_by_row_and_column(cli):
    out = cli("eval", "3*x*y**2", "--at", "x=2,y=1", "--hessian", "--format", "json").json()
    assert out["hessian"] == {"x": {"x": 0.0, "y": 6.0}, "y": {"x": 6.0, "y": 12.0}}
    assert out["value"] == 6.0 and out["gradient"] == {"x": 3.0, "y": 12.0}


def test_the_log_loss_against_sympy(cli):
    out = cli("eval", LOSS, "--at", at_option(LOSS_AT), "--hessian", "--format", "json").json()
    want = sympy_hessian(LOSS_FORM, list(LOSS_AT), LOSS_AT)
    for row, columns in want.items():
        for column, value in columns.items():
            assert math.isclose(out["hessian"][row][column], value, rel_tol=1e-12, abs_tol=1e-14)


def test_wrt_restricts_rows_and_columns(cli):
    out = cli("eval", LOSS, "--at", at_option(LOSS_AT), "--hessian", "--wrt", "w1,b",
              "--format", "json").json()
    assert list(out["hessian"]) == ["w1", "b"] and list(out["hessian"]["b"]) == ["w1", "b"]
    sigma = 1 / (1 + math.exp(0.5))  # z = -0.5; ∂²L/∂b² = σ(z)(1 − σ(z))
    assert out["hessian"]["b"]["b"] == pytest.approx(sigma * (1 - sigma), rel=1e-14)


def test_a_table_after_the_gradient(cli):
    run = cli("eval", "x**2*y", "--at", "x=1.5,y=-2", "--hessian")
    assert "Hessian: ∂²f/∂row∂column" in run.stdout
    assert "∂f/∂input" in run.stdout and "-4" in run.stdout and "3" in run.stdout


def test_exact_hessian(cli):
    out = cli("eval", "x**2*y", "--at", "x=1/3,y=-2", "--hessian", "--exact",
              "--format", "json").json()
    assert out["exact"]["hessian"] == {"x": {"x": "-4", "y": "2/3"}, "y": {"x": "2/3", "y": "0"}}
    assert out["hessian"]["x"]["y"] == pytest.approx(2 / 3, rel=1e-15)


def test_csv_rows(cli):
    run = cli("eval", "x*y", "--at", "x=1,y=2", "--hessian", "--format", "csv")
    assert run.stdout.splitlines()[-4:] == ["hessian,x;x,0.0,", "hessian,x;y,1.0,",
                                            "hessian,y;x,1.0,", "hessian,y;y,0.0,"]


def test_it_differentiates_the_registry_rules(monkeypatch):
    """Plant a wrong rule for cos: sin's second derivative, which runs cos's rule, follows it."""
    graph = lower("sin(x)")
    assert hessian(graph, {"x": 0.5})["x"]["x"] == pytest.approx(-math.sin(0.5), rel=1e-15)
    monkeypatch.setitem(REGISTRY, "cos", REGISTRY["cos"]._replace(
        partial=each(lambda m, out, x: m.sin(x))))
    assert hessian(graph, {"x": 0.5})["x"]["x"] == pytest.approx(math.sin(0.5), rel=1e-15)


def test_second_derivatives_that_do_not_exist_are_math_errors(cli):
    run = cli("eval", "x^1.5", "--at", "x=0", "--hessian")
    assert run.code == 3 and run.stdout == ""
    assert run.stderr.startswith("error: second derivatives: stage f = x**1.5")


def test_huge_graphs_stop_at_the_limit(cli, monkeypatch):
    monkeypatch.setenv("GRADCALC_MAX_HESSIAN", "10")
    run = cli("eval", "x*y + y*z", "--at", "x=1,y=2,z=3", "--hessian")
    assert run.code == 2 and "GRADCALC_MAX_HESSIAN" in run.stderr


@settings(max_examples=40, deadline=None)
@given(expressions(size=7))
def test_random_expressions_against_sympy(expression):
    text, form = expression
    graph = lower(text)
    names = graph.input_names
    at = {name: float(POINT[name]) for name in names}
    got = hessian(graph, at)
    want = sympy_hessian(form, names, {name: POINT[name] for name in names})
    for row in names:
        for column in names:
            assert math.isclose(got[row][column], want[row][column], rel_tol=1e-9, abs_tol=1e-10), \
                (text, row, column)
