"""Exact vectors and matrices (`--exact`, `exact=True`): every vector op against sympy's own
matrix calculus, computed here from sympy Matrix expressions and `diff` per element; exact
against float64 to 1e-12; the exact strings of the table, JSON and CSV; the exact-mode rules
(zero tests, the clock) on vectors."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import gradcalc

W = [[1, -2, 3], [0, 1, -1]]
X = [2, -1, 1]
B = [1, -3]
AT = "W=[[1,-2,3],[0,1,-1]],x=[2,-1,1],b=[1,-3]"


def symbols(name: str, shape: tuple[int, ...]) -> sp.Matrix:
    """A sympy column vector or matrix of real symbols named like gradcalc's elements."""
    if len(shape) == 1:
        return sp.Matrix([sp.Symbol(f"{name}{k}", real=True) for k in range(shape[0])])
    return sp.Matrix(shape[0], shape[1], lambda i, j: sp.Symbol(f"{name}{i}{j}", real=True))


def at_point(symbolic: sp.Matrix, values) -> dict:
    return dict(zip(symbolic, sp.Matrix(values)))


def sympy_gradient(f, symbolic: sp.Matrix, point: dict) -> list:
    """∂f/∂element for each element of `symbolic`, by sympy, at the point, as nested lists."""
    grads = symbolic.applyfunc(lambda s: sp.diff(f, s).subs(point))
    return [grads[k] for k in range(grads.rows)] if grads.cols == 1 else grads.tolist()


def same(ours, theirs) -> bool:
    """Equal to 60 digits, each of ours exact (no float inside). Not simplify(a - b) == 0:
    sympy does not always find it (log(exp(-1) + E) is 1 + log(exp(-2) + 1))."""
    ours, theirs = np.array(ours, dtype=object).ravel(), np.array(theirs, dtype=object).ravel()
    return len(ours) == len(theirs) and all(
        not a.atoms(sp.Float) and abs(sp.N(a - b, 60)) < 1e-55 for a, b in zip(ours, theirs))


def sigmoid(z):
    return 1 / (1 + sp.exp(-z))


def refused(run, code: int) -> str:
    assert run.code == code and run.stdout == "", run.stderr
    lines = run.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    return lines[0]


# ---- against sympy's matrix calculus ------------------------------------------------------

def test_a_neuron_at_integer_weights_gives_sympys_exact_gradient():
    w, x, b = symbols("W", (2, 3)), symbols("x", (3,)), symbols("b", (2,))
    f = sum((w * x + b).applyfunc(sigmoid))
    point = {**at_point(w, W), **at_point(x, X), **at_point(b, B)}
    result = gradcalc.evaluate("sum(sigmoid(W@x + b))", W=W, x=X, b=B, exact=True)
    assert same([result.value], [f.subs(point)])
    assert same(result.gradient["W"], sympy_gradient(f, w, point))
    assert same(result.gradient["x"], sympy_gradient(f, x, point))
    assert same(result.gradient["b"], sympy_gradient(f, b, point))
    assert result.gradient["W"].shape == (2, 3)


def test_softmax_and_logsumexp_give_sympys_exact_gradient():
    x, y = symbols("x", (3,)), symbols("y", (3,))
    exps = x.applyfunc(sp.exp)
    softmax = exps / sum(exps)
    f = sp.log(sum(exps)) + softmax.dot(y)
    point = {**at_point(x, [1, 0, -2]), **at_point(y, [3, 1, 2])}
    result = gradcalc.evaluate("logsumexp(x) + dot(softmax(x), y)", x=[1, 0, -2], y=[3, 1, 2], exact=True)
    assert same([result.value], [f.subs(point)])
    assert same(result.gradient["x"], sympy_gradient(f, x, point))
    assert same(result.gradient["y"], sympy_gradient(f, y, point))


def test_the_other_vector_ops_give_sympys_exact_gradient():
    """Matrix products with a transpose, log_softmax along the rows, mean, norm, max, an index,
    a literal and a broadcast scalar, in one expression."""
    w, v, x = symbols("W", (2, 2)), symbols("V", (2, 2)), symbols("x", (2,))
    product = w * v.T
    rows = [product.row(i) for i in range(2)]
    log_softmax = sum(sum(row[j] - sp.log(sum(map(sp.exp, row))) for j in range(2)) for row in rows)
    f = (log_softmax + sp.sqrt(x.dot(x)) + sum(w) / 4 + w[1, 0] * x[0] + x.dot(sp.Matrix([1, 2]))
         + sp.Max(*x) + sum(2 * x.applyfunc(lambda e: e ** 2)))
    values = {"W": [[1, 2], [0, -1]], "V": [[1, 1], [2, 0]], "x": [3, 4]}
    point = {**at_point(w, values["W"]), **at_point(v, values["V"]), **at_point(x, values["x"])}
    result = gradcalc.evaluate("sum(log_softmax(W @ transpose(V))) + norm(x) + mean(W) + W[1, 0]*x[0]"
                               " + dot(x, [1, 2]) + max(x) + sum(2*x**2)", exact=True, **values)
    assert same([result.value], [f.subs(point)])
    for name, symbolic in (("W", w), ("V", v), ("x", x)):
        assert same(result.gradient[name], sympy_gradient(f, symbolic, point)), name


@settings(max_examples=12, deadline=None)
@given(st.integers(1, 3), st.integers(1, 3), st.data())
def test_neurons_of_random_shapes_give_sympys_exact_gradient(rows, columns, data):
    entries = st.integers(-3, 3)
    values = {"W": [[data.draw(entries) for _ in range(columns)] for _ in range(rows)],
              "x": [data.draw(entries) for _ in range(columns)], "b": [data.draw(entries) for _ in range(rows)]}
    w, x, b = symbols("W", (rows, columns)), symbols("x", (columns,)), symbols("b", (rows,))
    f = sum((w * x + b).applyfunc(sigmoid)) + sp.log(sum((w * x).applyfunc(sp.exp)))
    point = {**at_point(w, values["W"]), **at_point(x, values["x"]), **at_point(b, values["b"])}
    result = gradcalc.evaluate("sum(sigmoid(W@x + b)) + logsumexp(W@x)", exact=True, **values)
    assert same([result.value], [f.subs(point)])
    for name, symbolic in (("W", w), ("x", x), ("b", b)):
        assert same(result.gradient[name], sympy_gradient(f, symbolic, point)), name


@pytest.mark.parametrize("expression", [
    "sum(sigmoid(W@x + b))",
    "logsumexp(W@x) + norm(b) * mean(x)",
    "sum(softmax(W) * W) + sum(log_softmax(transpose(W))[0])",
    "sum(tanh(W) @ x) + dot(b, exp(-b)) + min(x) + sum(relu(x) / (1 + x**2))",
    "sum(sqrt(W*W + 1)) + sum(log(1 + b*b)) + max(x)",
])
def test_exact_and_float_agree_to_1e_12(expression):
    exact = gradcalc.evaluate(expression, W=W, x=X, b=B, exact=True)
    floats = gradcalc.evaluate(expression, W=W, x=X, b=B)
    assert math.isclose(float(exact.value), floats.value, rel_tol=1e-12, abs_tol=1e-12)
    for name, grad in floats.gradient.items():
        nearest = np.array([float(e) for e in np.ravel(exact.gradient[name])]).reshape(np.shape(grad))
        assert np.allclose(nearest, grad, rtol=1e-12, atol=1e-12), name


def test_values_given_as_float64_arrays_are_read_exactly():
    result = gradcalc.evaluate("sum(x*y)", x=np.array([0.1, 0.5]), y=[1, 2], exact=True)
    assert result.value == sp.Rational(11, 10)
    assert list(result.gradient["y"]) == [sp.Rational(1, 10), sp.Rational(1, 2)]


# ---- what the command line shows ----------------------------------------------------------

def test_eval_json_writes_exact_strings_as_nested_lists(cli):
    run = cli("eval", "sum(W@x)", "--at", "W=[[1,2],[3,4]],x=[1/3,2]", "--exact", "--format", "json")
    assert run.code == 0 and run.stderr == ""
    document = run.json()
    assert document["exact"] == {"value": "40/3",
                                 "gradient": {"W": [["1/3", "2"], ["1/3", "2"]], "x": ["4", "6"]}}
    assert document["value"] == 40 / 3 and document["gradient"]["x"] == [4.0, 6.0]
    assert document["at"]["x"] == [1 / 3, 2.0]


def test_trace_json_gives_each_stage_and_step_its_exact_values(cli):
    run = cli("trace", "u = W@x; L = sum(x)", "--at", "W=[[1,2],[3,4]],x=[1,1/2]", "--exact",
              "--format", "json")
    assert run.code == 0, run.stderr
    nodes = {node["name"]: node for node in run.json()["nodes"]}
    assert nodes["u"]["exact"] == {"value": ["2", "5"], "grad": ["0", "0"]}  # u does not reach L
    assert nodes["W"]["exact"]["grad"] == [["0", "0"], ["0", "0"]]
    assert nodes["x"]["shape"] == [2] and nodes["x"]["exact"]["value"] == ["1", "1/2"]
    assert run.json()["backward"] == [{"step": 1, "rule": "dx += dL (broadcast to 2)", "into": "x",
                                       "value": [1.0, 1.0], "exact": ["1", "1"]}]


def test_trace_csv_cells_hold_nested_lists_of_exact_strings(cli):
    run = cli("trace", "sum(x/3)", "--at", "x=[1,2]", "--exact", "--format", "csv")
    assert run.code == 0, run.stderr
    assert run.stdout.splitlines() == [
        "name,op,inputs,expr,shape,value,grad",
        'x,input,,x,2,"[""1"", ""2""]","[""1/3"", ""1/3""]"',
        "3,const,,3,,3,0",
        'u1,div,x;3,x/3,2,"[""1/3"", ""2/3""]","[""1"", ""1""]"',
        "f,sum,u1,sum(u1),,1,1",
    ]


def test_tables_show_each_element_as_scalar_exact_mode_does(cli):
    run = cli("eval", "sum(x/2) + norm(x)", "--at", "x=[1,1]", "--exact")
    assert run.code == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == "f = 1 + sqrt(2) ≈ 2.41421"
    assert "│ x     │ [1, 1] │ [1/2 + sqrt(2)/2 ≈ 1.20711, 1/2 + sqrt(2)/2 ≈ 1.20711] │" in lines


def test_the_readme_example_prints_as_shown(cli):
    run = cli("eval", "sum(sigmoid(W@x + b))", "--at", "W=[[1,-2],[0,1]],x=[1,-1],b=[-3,1]", "--exact")
    assert run.code == 0 and run.stderr == ""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    shown = "\n".join(f"    {line}" for line in run.stdout.splitlines())
    assert "--at W=[[1,-2],[0,1]],x=[1,-1],b=[-3,1] --exact\n" + shown + "\n\n" in readme


def test_the_trace_table_writes_the_vectorised_rules_with_exact_values(cli):
    run = cli("trace", "sum(W@x)", "--at", "W=[[1,2],[3,4]],x=[1,-1]", "--exact")
    assert run.code == 0, run.stderr
    assert "│    2 │ dW += du1 ⊗ x              │    2×2 │ dW = [[1, -1], [1, -1]] │" in run.stdout
    assert "│    3 │ dx += Wᵀ @ du1             │      2 │ dx = [4, 6]             │" in run.stdout


def test_a_batch_line_takes_exact_vectors(cli):
    line = '{"expr": "dot(w, x)", "at": {"w": ["1/2", 3], "x": [2, "1/3"]}, "exact": true}'
    run = cli("eval", "--batch", "-", stdin=line + "\n")
    assert run.code == 0, run.stderr
    assert '"exact": {"value": "2", "gradient": {"w": ["2", "1/3"], "x": ["1/2", "3"]}}' in run.stdout


# ---- the rules of exact mode, on vectors ---------------------------------------------------

def test_an_element_that_is_zero_only_exactly_is_refused_as_zero(cli):
    line = refused(cli("eval", "sum(log(x))", "--at", "x=[2, sin(1)**2 + cos(1)**2 - 1]", "--exact"), 3)
    assert line == "error: stage u1 = log(x): log of 0 at [1] (x[1] = 0)"


@pytest.mark.parametrize("expression, at, message", [
    ("sum(1/x)", "x=[1, 0]", "error: stage u1 = 1/x: division by zero at [1] (x[1] = 0)"),
    ("sum(log(x - 1))", "x=[2, 0]", "error: stage u2 = log(u1): log of a negative number at [1] (u1[1] = -1)"),
    ("sum(sqrt(x))", "x=[1, -1/2]", "error: stage u1 = sqrt(x): sqrt of a negative number at [1] (x[1] = -1/2)"),
])
def test_math_errors_name_the_first_element_at_fault(cli, expression, at, message):
    assert refused(cli("eval", expression, "--at", at, "--exact"), 3) == message


@pytest.mark.parametrize("mode", [("--exact", "--hessian"), ("--digits", "20")])
def test_hessian_and_digits_still_refuse_vectors_before_any_work(cli, mode):
    line = refused(cli("eval", "x*2", "--at", "x=[1,2]", *mode), 2)
    assert line.startswith("error: --at x: a 2-vector: vectors and matrices are computed at one point")


def test_a_shape_mismatch_is_the_same_one_line_as_in_float_mode(cli):
    args = ("eval", "sum(W@x)", "--at", "W=[[1,2,3],[4,5,6]],x=[1,2]")
    assert refused(cli(*args, "--exact"), 2) == refused(cli(*args), 2) == (
        "error: stage u1 = W @ x: shapes do not fit: W is a 2×3 matrix and x is a 2-vector: the inner "
        "dimensions differ (3 ≠ 2)")


def test_a_kink_warns_as_in_float_mode(cli):
    args = ("eval", "norm(x) + sum(relu(x))", "--at", "x=[0,0]", "--format", "json")
    run = cli(*args, "--exact")
    assert run.code == 0
    assert run.json()["exact"]["gradient"] == {"x": ["0", "0"]}
    assert run.stderr == cli(*args).stderr
    assert "warning: stage u1 = norm(x): norm is not differentiable at 0; using the subgradient 0\n" in run.stderr


@pytest.mark.parametrize("mode", [(), ("--exact",)])
def test_a_tie_in_the_max_of_a_vector_warns_and_splits_the_gradient(cli, mode):
    run = cli("eval", "max(x) + min(W)", "--at", "x=[1,3,3],W=[[0,2],[0,0]]", *mode, "--format", "json")
    assert run.code == 0
    assert run.json()["gradient"]["x"] == [0.0, 0.5, 0.5]
    assert run.stderr.splitlines() == [
        "warning: stage u2 = min(W): min has a 3-way tie; the gradient is split evenly between them",
        "warning: stage u1 = max(x): max has a 2-way tie; the gradient is split evenly between them"]


def test_an_element_of_too_many_digits_stops_at_the_digit_limit(cli):
    line = refused(cli("eval", "sum(x**(10**10))", "--at", "x=[1,2]", "--exact"), 2)
    assert line.startswith("error: limit GRADCALC_MAX_DIGITS reached: the exact power 2**10000000000 "
                           "would have about 3,010,299,957 digits")


def test_a_stage_that_grows_past_the_digit_limit_stops_there(cli, monkeypatch):
    monkeypatch.setenv("GRADCALC_MAX_DIGITS", "5")
    line = refused(cli("eval", "sum(x*x*x)", "--at", "x=[1000,1]", "--exact"), 2)
    assert line.startswith("error: limit GRADCALC_MAX_DIGITS reached: an exact number would have about 6 digits")


def test_slow_exact_vector_work_stops_at_the_time_limit(cli, monkeypatch):
    monkeypatch.setenv("GRADCALC_SYMBOLIC_SECONDS", "1")
    nested = "x"
    for _ in range(16):
        nested = f"sigmoid({nested})"
    run = cli("eval", f"sum({nested})", "--at", "x=[1,2]", "--exact")
    assert run.code == 2 and run.stdout == ""
    assert "limit GRADCALC_SYMBOLIC_SECONDS reached" in run.stderr


def test_scalar_exact_work_loads_no_numpy():
    import subprocess
    import sys

    code = ("import sys\nfrom gradcalc.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            "sys.__stderr__.write(str('numpy' in sys.modules))")
    args = ["eval", "x*y", "--at", "x=1/3,y=2", "--exact", "--format", "json"]
    run = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False)
    assert '"value": "2/3"' in run.stdout and run.stderr == "False"
