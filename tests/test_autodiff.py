"""Reverse accumulation against an independent oracle: sympy's symbolic derivative of the same
expression, built directly as sympy objects (never by parsing our text with sympy)."""
from __future__ import annotations

import math

import pytest
import sympy as sp
from helpers import NAMES
from helpers import expressions as trees
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcalc import evaluate, lower
from gradcalc.core.autodiff import backward, forward
from gradcalc.errors import DomainError

SYMBOLS = {name: sp.Symbol(name, real=True) for name in NAMES}

# Each builder writes text and the sympy form side by side, keeping values in safe domains.
BINARY = {
    "add": (lambda a, b: f"({a} + {b})", lambda a, b: a + b),
    "sub": (lambda a, b: f"({a} - {b})", lambda a, b: a - b),
    "mul": (lambda a, b: f"({a}*{b})", lambda a, b: a * b),
    "div": (lambda a, b: f"({a}/(2 + ({b})^2))", lambda a, b: a / (2 + b ** 2)),
    "max": (lambda a, b: f"max({a}, {b} + 0.25)", lambda a, b: sp.Max(a, b + sp.Rational(1, 4))),
}


def expressions():
    """Random trees of the smooth functions and these operations (max among them)."""
    return trees(binary=BINARY, size=12)


points = st.fixed_dictionaries({name: st.floats(-2, 2).map(lambda v: round(v, 3)) for name in NAMES})


@settings(max_examples=80, deadline=None)
@given(expressions(), points)
def test_gradient_matches_sympy_derivative(expression, at):
    text, form = expression
    result = evaluate(text, at)
    subs = {SYMBOLS[n]: sp.Rational(str(v)) for n, v in at.items()}
    # exact values substituted first: evalf(subs=...) fails on some kinks of Max (sympy 1.14
    # finds '0.e-165' not comparable at max(x - y, x + 0.25), x = y = 1)
    assert math.isclose(result.value, float(form.subs(subs).evalf(30)), rel_tol=1e-9, abs_tol=1e-12)
    for name, grad in result.gradient.items():
        want = float(sp.diff(form, SYMBOLS[name]).subs(subs).evalf(30))
        assert math.isclose(grad, want, rel_tol=1e-9, abs_tol=1e-11), (text, name, grad, want)


def test_fifty_thousand_term_sum():
    text = "+".join(f"{k % 7 + 1}*x{k % 50}" for k in range(50_000))
    result = evaluate(text, {f"x{i}": 1.0 for i in range(50)})
    assert result.value == sum(k % 7 + 1 for k in range(50_000))
    assert result.gradient["x0"] == sum(k % 7 + 1 for k in range(0, 50_000, 50))


def test_ten_thousand_nested_parentheses():
    result = evaluate("(" * 10_000 + "x" + ")" * 10_000 + "*2", {"x": 3.0})
    assert result.value == 6.0 and result.gradient == {"x": 2.0}


def test_a_deep_chain_backpropagates_without_recursion():
    text = "y = x" + "".join(f"; y = sin(y) + {k % 3}" for k in range(20_000))
    result = evaluate(text, {"x": 0.5})
    assert math.isfinite(result.gradient["x"])


def test_one_graph_serves_many_points():
    graph = lower("x*y + sin(x)")
    values = forward(graph, {"x": 1.0, "y": 2.0})
    grads, _, _ = backward(graph, values)
    again = evaluate(graph, {"x": 3.0, "y": -1.0})
    assert grads[graph.index["x"]] == 2.0 + math.cos(1.0)
    assert again.gradient == {"x": -1.0 + math.cos(3.0), "y": 3.0}


def test_gradients_of_shared_nodes_accumulate_over_every_path():
    result = evaluate("x**2*(3*x+1) - sin(x**2)", {"x": 1.5})
    x = 1.5
    assert math.isclose(result.gradient["x"], 3 * x ** 2 + 2 * x * (3 * x + 1 - math.cos(x ** 2)), rel_tol=1e-14)


def test_dead_stages_get_gradient_zero():
    result = evaluate("u = sin(x); J = 2*y", {"x": 1.0, "y": 1.0})
    assert result.gradient == {"x": 0.0, "y": 2.0}


def test_a_local_derivative_nobody_needs_is_kept_where_defined_and_none_where_not():
    # ∂(x**2)/∂2 = x**2·log(x): defined for x > 0, undefined (not an error) for x < 0
    positive, negative = evaluate("x**2", {"x": 1.5}), evaluate("x**2", {"x": -1.5})
    assert positive.locals[-1] == (2 * 1.5, 1.5 ** 2 * math.log(1.5))
    assert negative.locals[-1] == (2 * -1.5, None) and negative.gradient == {"x": -3.0}


def test_finite_stages_whose_sum_overflows_are_still_fine():
    # every value is finite, but adding them all up (the float loop's one check) overflows
    result = evaluate("y = x*1e308; f = y - y", {"x": 1.5})
    assert result.value == 0.0 and result.gradient == {"x": 0.0}


def test_the_first_failing_stage_is_named_whichever_loop_meets_it():
    with pytest.raises(DomainError, match=r"stage u2 = log\(u1\): log of 0"):
        evaluate("log(x - 1) + log(x)", {"x": 1.0})
    with pytest.raises(DomainError, match=r"stage u1 = sqrt\(x\): the derivative with respect to x"):
        evaluate("sqrt(x) + x", {"x": 0.0})
