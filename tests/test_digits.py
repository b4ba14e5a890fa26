"""`--digits N`: every printed digit correct, checked against sympy's evalf at more digits on
forms written here (never the same code path)."""
from __future__ import annotations

import mpmath
import pytest
import sympy as sp
from helpers import WORKED, S, at_option, exact_point, expressions, points, staged
from hypothesis import given, settings

from gradcalc.numbers.precise import significant


def digits(cli, command: str, text: str, at: str, n: int, *options: str):
    run = cli(command, text, "--at", at, "--digits", str(n), "--format", "json", *options)
    assert run.code == 0, run.stderr
    return run.json(), run.stderr


def correctly_rounded(text: str, truth, n: int) -> bool:
    """`text` has n significant digits and is `truth` rounded to n digits (within half a unit)."""
    mantissa = text.lstrip("-").split("e")[0].replace(".", "").lstrip("0")
    if truth == 0:
        return text == "0"
    with mpmath.workdps(n + 40):
        ours, want = mpmath.mpf(text), mpmath.mpf(str(truth.evalf(n + 30)))
        unit = mpmath.power(10, mpmath.floor(mpmath.log10(abs(want))) - (n - 1))
        return len(mantissa) == n and abs(ours - want) <= unit / 2


@pytest.mark.parametrize("text, at, form", WORKED, ids=[w[0] for w in WORKED])
def test_100_digits_of_the_worked_examples_against_evalf_at_120(cli, text, at, form):
    out, _ = digits(cli, "eval", text, at_option(at), 100)
    point = exact_point(at)
    assert correctly_rounded(out["decimal"]["value"], form.xreplace(point).evalf(120), 100)
    for name, got in out["decimal"]["gradient"].items():
        truth = sp.diff(form, S[name]).xreplace(point).evalf(120)
        assert correctly_rounded(got, truth, 100), name
    assert out["value"] == pytest.approx(float(form.xreplace(point)), rel=1e-15)  # floats stay


def test_a_thousand_digits_of_e(cli):
    out, _ = digits(cli, "eval", "exp(x)", "x=1", 1000)
    assert out["decimal"]["value"] == out["decimal"]["gradient"]["x"]
    assert correctly_rounded(out["decimal"]["value"], sp.E.evalf(1030), 1000)


def test_inputs_are_read_at_full_precision(cli):
    out, _ = digits(cli, "eval", "x*3", "x=0.1", 40)
    assert out["decimal"]["value"] == "0.3000000000000000000000000000000000000000"
    assert out["decimal"]["gradient"] == {"x": "3.000000000000000000000000000000000000000"}


def test_trace_nodes_gain_decimal_values_and_gradients(cli):
    out, _ = digits(cli, "trace", "u = b*c; v = a + u; J = 3*v", "a=5,b=3,c=2", 5)
    nodes = {node["name"]: node for node in out["nodes"]}
    assert nodes["u"]["decimal"] == {"value": "6.0000", "grad": "3.0000"}
    assert nodes["J"]["decimal"] == {"value": "33.000", "grad": "1.0000"}


def test_the_trace_table_shows_both_passes_to_n_digits(cli):
    run = cli("trace", "x**2*(3*x+1) - sin(x**2)", "--at", "x=1.5", "--digits", "12")
    assert run.code == 0 and "backward pass" in run.stdout
    x = sp.Rational(3, 2)
    dx_total = sp.diff(S["x"] ** 2 * (3 * S["x"] + 1) - sp.sin(S["x"] ** 2), S["x"]).subs(S["x"], x)
    assert "dx += " in run.stdout and str(dx_total.evalf(12)) in run.stdout.replace("\n", "")


def test_tables_wrap_long_numbers_instead_of_cutting_them(cli):
    run = cli("eval", "exp(x)", "--at", "x=1", "--digits", "200")
    assert "…" not in run.stdout
    assert "".join(run.stdout.split())[:60] == "f=" + str(sp.E.evalf(60))[:58]


def test_digits_lost_to_cancellation_are_recovered(cli):
    """exp(1000) + 1 - exp(1000) is 0 at any fixed precision below 435 digits."""
    out, _ = digits(cli, "eval", "(exp(x) + 1) - exp(x)", "x=1000", 20)
    assert out["decimal"]["value"] == "1.0000000000000000000"
    assert out["decimal"]["gradient"] == {"x": "0"}  # exp(x)·1 − exp(x)·1: exactly 0


def test_sigmoid_far_out_has_its_true_tiny_gradient(cli):
    out, _ = digits(cli, "eval", "sigmoid(x)", "x=1000", 30)
    truth = sp.exp(-1000) / (1 + sp.exp(-1000)) ** 2
    assert correctly_rounded(out["decimal"]["gradient"]["x"], truth.evalf(60), 30)
    assert out["decimal"]["value"] == "1." + "0" * 29


@pytest.mark.parametrize("text, form", [
    ("softplus(x)", lambda t: sp.log(1 + sp.exp(t))),
    ("log(sigmoid(x))", lambda t: -sp.log(1 + sp.exp(-t))),
    ("sigmoid(x)", lambda t: 1 / (1 + sp.exp(-t))),
])
@pytest.mark.parametrize("z", ["-1000", "1000", "-30", "30"])
def test_stable_forms_are_accurate_far_out(cli, text, form, z):
    out, _ = digits(cli, "eval", text, f"x={z}", 25)
    t, x = sp.Integer(z), S["x"]
    # 600 digits: at 60, sympy's own evalf rounds log(1 + exp(-1000)) to 0
    assert correctly_rounded(out["decimal"]["value"], form(t).evalf(600), 25)
    assert correctly_rounded(out["decimal"]["gradient"]["x"],
                             sp.diff(form(x), x).xreplace({x: t}).evalf(600), 25)


def test_a_value_that_is_exactly_zero_is_printed_as_zero_with_a_warning(cli):
    out, warnings = digits(cli, "eval", "sin(pi*x)", "x=1", 25)
    assert out["decimal"]["value"] == "0" and out["value"] == 0.0
    assert correctly_rounded(out["decimal"]["gradient"]["x"], -sp.pi.evalf(50), 25)
    assert "the value of f is 0 to within" in warnings


def test_more_digits_than_the_limit_is_refused(cli, monkeypatch):
    run = cli("eval", "x", "--at", "x=1", "--digits", "10001")
    assert run.code == 2 and "GRADCALC_MAX_DIGITS" in run.stderr and run.stdout == ""
    monkeypatch.setenv("GRADCALC_MAX_DIGITS", "20000")
    assert cli("eval", "x", "--at", "x=1", "--digits", "10001", "--format", "json").code == 0


def test_domain_errors_keep_their_exit_code(cli):
    run = cli("eval", "log(x)", "--at", "x=0", "--digits", "30")
    assert run.code == 3 and "stage f = log(x): log of 0 (x = 0)" in run.stderr


@pytest.mark.parametrize("value, n, text", [
    ("33", 5, "33.000"), ("1.5e-20", 5, "1.5000e-20"), ("-0.000123456", 3, "-0.000123"),
    ("123456", 3, "1.23e+5"), ("9.9996", 4, "10.00"), ("0.5", 1, "0.5"), ("2.5", 1, "2"),
])
def test_significant_digits_are_written_like_g_format(value, n, text):
    with mpmath.workdps(50):
        assert significant(mpmath.mpf(value), n) == text


@settings(max_examples=30, deadline=None)
@given(expressions(size=6), points)
def test_random_expressions_are_correctly_rounded_to_30_digits(expression, at):
    from gradcalc.analyses.digits import evaluate_digits

    text, form = expression
    decimals = evaluate_digits(*staged(text, at), digits=30)
    result = decimals.result
    point = exact_point({name: at[name] for name in result.graph.input_names})
    assert correctly_rounded(decimals.show(result.value), form.xreplace(point).evalf(70), 30)
    for name, grad in result.gradient.items():
        truth = sp.diff(form, S[name]).xreplace(point).evalf(70)
        assert correctly_rounded(decimals.show(grad), truth, 30), (text, name)
