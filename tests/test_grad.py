"""`gradcalc grad`: symbolic gradients from the backward pass, against sympy's diff of forms
written here."""
from __future__ import annotations

import sympy as sp
from helpers import LOSS, LOSS_AT, S, at_option, expressions, sigma
from hypothesis import given, settings

from gradcalc.analyses.grad import symbolic_gradient


def test_the_first_worked_example(cli):
    run = cli("grad", "3*(a+b*c)")
    assert run.code == 0
    assert run.stdout == "∂f/∂a = 3\n∂f/∂b = 3*c\n∂f/∂c = 3*b\n"


def test_the_log_loss_simplifies_to_sigmoid_minus_y_times_the_input():
    report = symbolic_gradient(LOSS, simplify=True)
    z = S["w1"] * S["x1"] + S["w2"] * S["x2"] + S["b"]
    want = {"w1": S["x1"], "w2": S["x2"], "b": 1, "x1": S["w1"], "x2": S["w2"]}
    got = {f.name: f.expression for f in report.inputs}
    for name, factor in want.items():
        assert sp.simplify(got[name] - factor * (sigma(z) - S["y"])) == 0, name
    assert sp.simplify(got["y"] + z) == 0  # ∂L/∂y = log(1-σ) - log(σ) = -z
    assert report.simplified


def test_in_terms_of_the_named_stages_dl_dz_is_yhat_minus_y(cli):
    run = cli("grad", LOSS, "--stages", "--simplify", "--format", "json")
    out = run.json()
    yhat, y = sp.Symbol("yhat", real=True), S["y"]
    local = {"yhat": yhat, "y": y, "x1": S["x1"], "w1": S["w1"]}
    parse = lambda text: sp.sympify(text, locals=local)  # noqa: E731  (our own output)
    assert parse(out["stages"]["z"]) == yhat - y
    assert parse(out["gradient"]["w1"]) == S["x1"] * (yhat - y)
    assert sp.simplify(parse(out["stages"]["yhat"]) - (-y / yhat + (1 - y) / (1 - yhat))) == 0
    assert list(out["stages"]) == ["yhat", "z"]  # from the output back, as backprop meets them
    text = cli("grad", LOSS, "--stages", "--simplify").stdout
    assert "∂L/∂z = -y + yhat" in text and "∂L/∂w1 = x1*(-y + yhat)" in text


def test_values_at_a_point_are_exact(cli):
    run = cli("grad", "sin(pi*x)", "--at", "x=1/4")
    assert run.stdout == "∂f/∂x = pi*cos(pi*x) = sqrt(2)*pi/2 ≈ 2.22144\n"
    out = cli("grad", "sin(pi*x)", "--at", "x=1/4", "--format", "json").json()
    assert out["values"]["x"]["exact"] == "sqrt(2)*pi/2"
    assert out["at"] == {"x": 0.25}


def test_simplified_values_of_the_log_loss(cli):
    run = cli("grad", LOSS, "--stages", "--simplify", "--at", at_option(LOSS_AT), "--wrt", "w1")
    assert "∂L/∂z = -y + yhat = -1/(1 + exp(1/2)) ≈ -0.377541" in run.stdout
    assert "∂L/∂w1 = x1*(-y + yhat) = -3/(2 + 2*exp(1/2)) ≈ -0.566311" in run.stdout


def test_latex(cli):
    run = cli("grad", "3*(a+b*c)", "--format", "latex", "--wrt", "b,c")
    assert run.stdout == ("\\frac{\\partial f}{\\partial b} = 3 c \\\\\n"
                          "\\frac{\\partial f}{\\partial c} = 3 b\n")


def test_wrt_restricts_and_checks_its_names(cli):
    assert cli("grad", "x*y", "--wrt", "y").stdout == "∂f/∂y = x\n"
    run = cli("grad", "x*y", "--wrt", "z")
    assert run.code == 2 and "--wrt names z" in run.stderr


def test_simplification_that_takes_too_long_is_left_undone_with_a_warning(cli, monkeypatch):
    monkeypatch.setenv("GRADCALC_SIMPLIFY_SECONDS", "1")
    nested = "x*y"
    for _ in range(6):
        nested = f"sigmoid({nested})"
    run = cli("grad", nested, "--simplify", "--format", "json")
    assert run.code == 0
    assert run.json()["simplified"] is False
    assert "GRADCALC_SIMPLIFY_SECONDS" in run.stderr and "shown unsimplified" in run.stderr


def test_formulas_too_long_to_print_stop_at_the_limit_at_once(cli, monkeypatch):
    doubling = "u = x*x + x" + "; u = u*u + u" * 24  # each stage uses the last one twice
    run = cli("grad", doubling)
    assert run.code == 2 and run.stdout == ""
    assert "limit GRADCALC_MAX_TERMS reached" in run.stderr  # counted before sympy starts
    assert cli("grad", "u = x*x + x" + "; u = u*u + u" * 4).code == 0
    monkeypatch.setenv("GRADCALC_MAX_TERMS", "100")
    assert cli("grad", "u = x*x + x" + "; u = u*u + u" * 4).code == 2


@settings(max_examples=30, deadline=None)
@given(expressions(size=6))
def test_random_expressions_equal_sympys_derivative(expression):
    text, form = expression
    report = symbolic_gradient(text)
    point = {S["x"]: sp.Rational(3, 7), S["y"]: sp.Rational(-5, 4), S["z"]: sp.Rational(1, 3)}
    for formula in report.inputs:
        difference = (formula.expression - sp.diff(form, S[formula.name])).xreplace(point)
        assert abs(difference.evalf(40)) < 1e-30, (text, formula.name)
