"""`--exact`: rationals and surds, checked against sympy's own derivative of forms written here."""
from __future__ import annotations

import pytest
import sympy as sp
from helpers import (
    WORKED,
    S,
    at_option,
    exact_point,
    expressions,
    points,
    rational_expressions,
    staged,
)
from hypothesis import given, settings


def exact(cli, command: str, text: str, at: str, *options: str) -> dict:
    run = cli(command, text, "--at", at, "--exact", "--format", "json", *options)
    assert run.code == 0, run.stderr
    return run.json()


def test_the_first_worked_example_is_integers(cli):
    out = exact(cli, "eval", "3*(a+b*c)", "a=5,b=3,c=2")
    assert out["exact"] == {"value": "33", "gradient": {"a": "3", "b": "6", "c": "9"}}
    assert out["value"] == 33.0 and out["gradient"] == {"a": 3.0, "b": 6.0, "c": 9.0}


def test_surds_and_pi_stay_symbolic(cli):
    out = exact(cli, "eval", "sin(pi*x)", "x=1/4")
    assert out["exact"] == {"value": "sqrt(2)/2", "gradient": {"x": "sqrt(2)*pi/2"}}
    assert out["value"] == pytest.approx(2 ** 0.5 / 2, rel=1e-15)
    assert out["gradient"]["x"] == pytest.approx(sp.pi.evalf(20) * 2 ** 0.5 / 2, rel=1e-15)


def test_decimals_are_exact_rationals(cli):
    out = exact(cli, "eval", "x*y + 0.2", "x=0.1,y=1")
    assert out["exact"] == {"value": "3/10", "gradient": {"x": "1", "y": "1/10"}}
    assert cli("eval", "x*y + 0.2", "--at", "x=0.1,y=1", "--format", "json").json()["value"] \
        == 0.30000000000000004  # what float64 makes of it


@pytest.mark.parametrize("text, at, form", WORKED, ids=[w[0] for w in WORKED])
def test_worked_examples_equal_sympys_exact_derivatives(cli, text, at, form):
    out = exact(cli, "eval", text, at_option(at))
    point = exact_point(at)
    assert _same(out["exact"]["value"], form.xreplace(point))
    for name, got in out["exact"]["gradient"].items():
        assert _same(got, sp.diff(form, S[name]).xreplace(point)), name


def _same(text: str, value) -> bool:
    """Our exact string and sympy's exact value are the same number (to 60 digits: exactly
    equal rationals, and transcendental forms that sympy may write differently)."""
    ours = sp.sympify(text, locals={"E": sp.E})  # our own output, never user input
    if ours.is_Rational and value.is_Rational:
        return ours == value
    return abs((ours - value).evalf(60)) <= 10 ** -50 * max(1, abs(value.evalf(20)))


def test_trace_nodes_gain_exact_values_and_gradients(cli):
    out = exact(cli, "trace", "u = b*c; v = a + u; J = 3*v", "a=5,b=3,c=2")
    assert {node["name"]: node["exact"] for node in out["nodes"]}["u"] == {"value": "6", "grad": "3"}
    assert out["nodes"][-1]["exact"] == {"value": "33", "grad": "1"}
    assert out["nodes"][-1]["value"] == 33.0


def test_tables_print_the_exact_form_beside_a_decimal(cli):
    run = cli("eval", "sin(pi*x)", "--at", "x=1/4", "--exact")
    assert "f = sqrt(2)/2 ≈ 0.707107" in run.stdout
    assert "1/4 ≈ 0.25" in run.stdout and "sqrt(2)*pi/2 ≈ 2.22144" in run.stdout
    trace = cli("trace", "x*y", "--at", "x=1/3,y=3", "--exact").stdout
    assert "1/3 ≈ 0.333333" in trace and "backward pass" in trace


def test_csv_cells_hold_the_exact_strings(cli):
    run = cli("eval", "x*0.1", "--at", "x=1/3", "--exact", "--format", "csv")
    assert run.stdout == "role,name,value,gradient\noutput,f,1/30,\ninput,x,1/3,1/10\n"


@pytest.mark.parametrize("text, at, message", [
    ("log(x)", "x=0", "stage f = log(x): log of 0"),
    ("1/(x-1)", "x=1", "division by zero"),
    ("x^(1/3)", "x=-8", "negative base with a non-integer exponent"),
    ("sqrt(x)", "x=-1", "sqrt of a negative number"),
    ("log(x)", "x=-2", "log of a negative number"),
    ("asin(x)", "x=2", "outside [-1, 1]"),
    ("sqrt(x)", "x=0", "the derivative with respect to x is undefined"),
])
def test_domain_errors_are_math_errors_naming_the_stage_not_zoo_or_complex(cli, text, at, message):
    run = cli("eval", text, "--at", at, "--exact")
    assert run.code == 3 and run.stdout == ""
    assert message in run.stderr and run.stderr.startswith("error: stage")


def test_explosive_integer_powers_stop_at_the_digit_limit(cli, monkeypatch):
    run = cli("eval", "x^(10^10)", "--at", "x=2", "--exact")
    assert run.code == 2 and run.stdout == ""
    assert "GRADCALC_MAX_DIGITS" in run.stderr and "2**10000000000" in run.stderr
    assert cli("eval", "x^40000", "--at", "x=2", "--exact").code == 2  # 12,042 digits
    monkeypatch.setenv("GRADCALC_MAX_DIGITS", "20000")
    out = exact(cli, "eval", "x^40000", "x=2")
    assert out["exact"]["value"] == str(2 ** 40000)


def test_repeated_squaring_is_stopped_too(cli):
    program = "u = x*x" + "; u = u*u" * 20
    run = cli("eval", program, "--at", "x=3", "--exact")
    assert run.code == 2 and "GRADCALC_MAX_DIGITS" in run.stderr


def test_a_tiny_literal_does_not_become_a_huge_rational(cli):
    run = cli("eval", "x + 1e-100000000", "--at", "x=1", "--exact")
    assert run.code == 2 and "GRADCALC_MAX_DIGITS" in run.stderr


def test_slow_symbolic_work_stops_at_the_time_limit(cli, monkeypatch):
    monkeypatch.setenv("GRADCALC_SYMBOLIC_SECONDS", "1")
    nested = "x"
    for _ in range(16):
        nested = f"sigmoid({nested})"
    run = cli("eval", nested, "--at", "x=1", "--exact")
    assert run.code == 2 and run.stdout == ""
    assert "limit GRADCALC_SYMBOLIC_SECONDS reached" in run.stderr


def test_exact_and_digits_exclude_each_other(cli):
    run = cli("eval", "x", "--at", "x=1", "--exact", "--digits", "5")
    assert run.code == 2 and "exclude each other" in run.stderr


@settings(max_examples=40, deadline=None)
@given(rational_expressions, points)
def test_rational_expressions_give_exactly_sympys_rationals(expression, at):
    from gradcalc.core.autodiff import evaluate
    from gradcalc.numbers import symbolic

    text, form = expression
    graph, point = staged(text, at)
    values = point.read(symbolic, graph.input_names)
    result = evaluate(graph, values, m=symbolic)
    point = exact_point({name: at[name] for name in graph.input_names})
    assert result.value == form.xreplace(point)
    for name, grad in result.gradient.items():
        assert grad == sp.diff(form, S[name]).xreplace(point), (text, name)


@settings(max_examples=25, deadline=None)
@given(expressions(size=5), points)
def test_transcendental_expressions_agree_with_sympy_to_50_digits(expression, at):
    from gradcalc.core.autodiff import evaluate
    from gradcalc.numbers import symbolic

    text, form = expression
    graph, point = staged(text, at)
    values = point.read(symbolic, graph.input_names)
    result = evaluate(graph, values, m=symbolic)
    point = exact_point({name: at[name] for name in graph.input_names})
    for name, grad in result.gradient.items():
        want = sp.diff(form, S[name]).xreplace(point)
        assert abs((grad - want).evalf(50)) <= 1e-40 * max(1, abs(want.evalf(20))), (text, name)


@pytest.mark.parametrize("text, reason", [
    ("1/(log(x)-2*log(sqrt(x)))", "division by zero"),
    ("log(sin(x)^2+cos(x)^2-1)", "log of 0"),
    ("x/(sqrt(x)^2 - x) + 1", "division by zero"),
])
def test_a_zero_sympy_cannot_simplify_is_still_zero(cli, text, reason):
    exact = cli("eval", text, "--at", "x=3", "--exact", "--format", "json")
    assert exact.code == 3 and exact.stdout == "" and reason in exact.stderr
    digits = cli("eval", text, "--at", "x=3", "--digits", "30", "--format", "json")
    assert digits.code == 3  # the other oracle of exactness agrees that the point is refused


def test_a_tiny_number_that_is_not_zero_stays_exact(cli):
    out = cli("eval", "exp(-20000*x) + x - 1", "--at", "x=1", "--exact", "--format", "json").json()
    assert out["exact"]["value"] == "exp(-20000)"
