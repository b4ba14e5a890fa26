"""`--hessian` and `--digits` of vectors and matrices: computed on the scalar circuit of their
elements and reported by their shapes; checked against sympy's matrix calculus (the Hessian of
the expression built here with sympy matrices, over the flattened inputs) and mpmath (the
neuron's value and gradient written out by hand at 60 digits)."""
from __future__ import annotations

import mpmath
import pytest
import sympy as sp
from helpers import one_error

import gradcalc

AT = "W=[[1,-2],[0.5,1]],x=[1,-1],b=[0.5,-0.5]"
NEURON = "sum(sigmoid(W@x + b))"
W_, X_, B_ = [[1, -2], [sp.Rational(1, 2), 1]], [1, -1], [sp.Rational(1, 2), -sp.Rational(1, 2)]
LABELS = ["W[0, 0]", "W[0, 1]", "W[1, 0]", "W[1, 1]", "x[0]", "x[1]", "b[0]", "b[1]"]


def sympy_neuron():
    """sum(sigmoid(W x + b)) in sympy matrices, its flattened inputs and their values."""
    W = sp.Matrix(2, 2, sp.symbols("W00 W01 W10 W11"))
    x = sp.Matrix(sp.symbols("x0 x1"))
    b = sp.Matrix(sp.symbols("b0 b1"))
    z = W * x + b
    f = sum(1 / (1 + sp.exp(-z[k])) for k in range(2))
    inputs = [*W, *x, *b]
    values = [v for row in W_ for v in row] + X_ + B_
    return f, inputs, dict(zip(inputs, values))


def test_the_hessian_of_a_neuron_is_sympys_over_the_flattened_inputs(cli):
    run = cli("eval", NEURON, "--at", AT, "--hessian", "--format", "json")
    assert run.code == 0 and run.stderr == ""
    out = run.json()
    f, inputs, point = sympy_neuron()
    expected = sp.hessian(f, inputs).subs(point)
    assert list(out["hessian"]) == LABELS
    for i, row in enumerate(LABELS):
        assert list(out["hessian"][row]) == LABELS
        for j, column in enumerate(LABELS):
            assert out["hessian"][row][column] == pytest.approx(float(expected[i, j]), rel=1e-12, abs=1e-15)
    assert out["at"] == {"W": [[1.0, -2.0], [0.5, 1.0]], "x": [1.0, -1.0], "b": [0.5, -0.5]}
    gradient = [sp.diff(f, v).subs(point) for v in inputs]
    flat = [g for row in out["gradient"]["W"] for g in row] + out["gradient"]["x"] + out["gradient"]["b"]
    assert flat == pytest.approx([float(g) for g in gradient], rel=1e-12)


def test_the_exact_hessian_on_small_integer_matrices_is_sympys_exactly(cli):
    run = cli("eval", "sum((A@x)**2) + dot(x, x)*x[0]", "--at", "A=[[1,2],[3,-1]],x=[2,-1]",
              "--hessian", "--exact", "--format", "json")
    assert run.code == 0, run.stderr
    A = sp.Matrix(2, 2, sp.symbols("a00 a01 a10 a11"))
    x = sp.Matrix(sp.symbols("x0 x1"))
    f = sum(((A * x)[k]) ** 2 for k in range(2)) + (x.T * x)[0] * x[0]
    inputs = [*A, *x]
    point = dict(zip(inputs, [1, 2, 3, -1, 2, -1]))
    expected = sp.hessian(f, inputs).subs(point)
    labels = ["A[0, 0]", "A[0, 1]", "A[1, 0]", "A[1, 1]", "x[0]", "x[1]"]
    exact = run.json()["exact"]
    assert [[sp.sympify(exact["hessian"][r][c]) for c in labels] for r in labels] == expected.tolist()
    assert exact["gradient"]["x"] == [str(sp.diff(f, v).subs(point)) for v in x]


def test_the_hessian_over_some_arrays_and_in_table_and_csv(cli):
    table = cli("eval", NEURON, "--at", AT, "--hessian", "--wrt", "x")
    assert table.code == 0, table.stderr
    assert "│ x     │ [1, -1] │ [0.126759, 0.139706] │" in table.stdout
    assert "│ x[0] │ -0.00407054 │  0.0989988 │" in table.stdout
    csv = cli("eval", NEURON, "--at", AT, "--hessian", "--wrt", "x", "--format", "csv").stdout.splitlines()
    assert csv[2] == 'input,x,"[1.0, -1.0]","[0.1267589905004765, 0.13970588548201066]"'
    assert [line.split(",")[1] for line in csv[3:]] == ["x[0];x[0]", "x[0];x[1]", "x[1];x[0]", "x[1];x[1]"]


def test_the_python_api_labels_the_hessian_by_elements_and_shapes_the_gradient():
    h = gradcalc.hessian(NEURON, W=[[1, -2], [0.5, 1]], x=[1, -1], b=[0.5, -0.5], wrt=["x"])
    assert list(h.matrix) == ["x[0]", "x[1]"]
    assert h.gradient["x"].shape == (2,)


def neuron_at_60_digits():
    """The neuron's value and gradient in mpmath, by its formulas: s = σ(z)(1 − σ(z)),
    dW = s ⊗ x, dx = Wᵀ s, db = s."""
    with mpmath.workdps(60):
        W = [[mpmath.mpf(1), mpmath.mpf(-2)], [mpmath.mpf("0.5"), mpmath.mpf(1)]]
        x, b = [mpmath.mpf(1), mpmath.mpf(-1)], [mpmath.mpf("0.5"), mpmath.mpf("-0.5")]
        a = [1 / (1 + mpmath.exp(-(W[i][0] * x[0] + W[i][1] * x[1] + b[i]))) for i in range(2)]
        s = [a[i] * (1 - a[i]) for i in range(2)]
        return (a[0] + a[1], [[s[i] * x[j] for j in range(2)] for i in range(2)],
                [W[0][j] * s[0] + W[1][j] * s[1] for j in range(2)], s)


def agree(written: str, exact, digits: int) -> bool:
    with mpmath.workdps(60):
        return abs(mpmath.mpf(written) - exact) <= abs(exact) * mpmath.mpf(10) ** (1 - digits)


def test_digits_of_a_neuron_are_mpmaths_as_nested_lists_of_decimal_strings(cli):
    run = cli("eval", NEURON, "--at", AT, "--digits", "40", "--format", "json")
    assert run.code == 0 and run.stderr == ""
    decimal = run.json()["decimal"]
    value, dW, dx, db = neuron_at_60_digits()
    assert agree(decimal["value"], value, 40)
    assert all(agree(decimal["gradient"]["W"][i][j], dW[i][j], 40) for i in range(2) for j in range(2))
    assert all(agree(decimal["gradient"]["x"][j], dx[j], 40) for j in range(2))
    assert all(agree(decimal["gradient"]["b"][i], db[i], 40) for i in range(2))
    assert all(len(g.lstrip("-0.").replace(".", "")) == 40 for g in decimal["gradient"]["x"])
    assert run.json()["gradient"]["x"] == pytest.approx([float(d) for d in dx], rel=1e-15)


def test_digits_in_the_table_and_the_python_api():
    digits = gradcalc.evaluate(NEURON, W=[[1, -2], [0.5, 1]], x=[1, -1], b=[0.5, -0.5], digits=25)
    _, _, dx, _ = neuron_at_60_digits()
    assert [agree(g, d, 25) for g, d in zip(digits.gradient["x"], dx)] == [True, True]
    assert "[0.1267589905004764861084002, 0.1397058854820107328580491]" in str(digits.gradient["x"]).replace("'", "")


def test_a_trace_to_n_digits_of_vectors_says_to_trace_the_scalar_circuit(cli):
    assert one_error(cli("trace", NEURON, "--at", AT, "--digits", "20")) == (
        "error: --digits on a trace of vectors and matrices: trace their scalar circuit with --gates "
        "scalar, or evaluate (eval gives the value and the gradient to N digits as arrays)")
    assert cli("trace", NEURON, "--at", AT, "--digits", "20", "--gates", "scalar").code == 0


# ---- grad and paths: the formulas and paths of the elements' scalar circuit ---------------

def test_grad_of_vectors_writes_the_formulas_of_the_elements_as_sympys_matrix_calculus(cli):
    run = cli("grad", NEURON, "--at", AT, "--format", "json")
    assert run.code == 0, run.stderr
    names = ["W_0_0", "W_0_1", "W_1_0", "W_1_1", "x_0", "x_1", "b_0", "b_1"]
    W = sp.Matrix(2, 2, sp.symbols(names[:4]))
    x, b = sp.Matrix(sp.symbols(names[4:6])), sp.Matrix(sp.symbols(names[6:]))
    z = W * x + b
    f = sum(1 / (1 + sp.exp(-z[k])) for k in range(2))
    formulas = run.json()["gradient"]
    assert list(formulas) == names
    for name, symbol in zip(names, [*W, *x, *b]):
        assert sp.simplify(sp.sympify(formulas[name]) - sp.diff(f, symbol)) == 0
    assert [run.json()["values"][n]["value"] for n in names[4:6]] == pytest.approx(
        [float(d) for d in neuron_at_60_digits()[2]], rel=1e-15)


def test_grad_of_vectors_without_their_values_says_to_give_them(cli):
    assert one_error(cli("grad", NEURON)) == (
        "error: grad of vectors and matrices writes the formulas of their elements, which needs their "
        "shapes: give their values with --at x=[...]")
    with pytest.raises(gradcalc.UsageError, match="^grad of vectors and matrices writes"):
        gradcalc.grad(NEURON)
    assert list(gradcalc.grad("dot(w, x)", w=[1, 2], x=[3, 4], wrt=["w"]).formulas) == ["w_0", "w_1"]


def test_paths_of_vectors_follow_the_scalar_circuit_and_sum_to_the_vectorised_gradient(cli):
    gradient = cli("eval", NEURON, "--at", AT, "--format", "json").json()["gradient"]
    run = cli("paths", NEURON, "--at", AT, "--wrt", "x_1", "--format", "json")
    assert run.code == 0, run.stderr
    out = run.json()
    assert out["paths"] == 2 and out["shown"][0]["stages"][0] == "f" and out["shown"][0]["stages"][-1] == "x_1"
    assert sum(p["product"] for p in out["shown"]) == pytest.approx(gradient["x"][1], rel=1e-14)
    assert gradcalc.paths(NEURON, W=[[1, -2], [0.5, 1]], x=[1, -1], b=[0.5, -0.5], wrt="x_1").count == 2
    assert one_error(cli("paths", NEURON, "--at", AT, "--wrt", "x")) == (
        "error: paths needs one input: name it with --wrt (one of: W_0_0, W_0_1, W_1_0, W_1_1, x_0, x_1, "
        "b_0, b_1)")


def test_csv_cells_of_vectors_hold_floats_or_decimal_strings_never_a_mix(cli):
    import csv
    import json

    digits = cli("eval", "sum(x*x*x)", "--at", "x=[0.5,2]", "--digits", "1", "--format", "csv").stdout
    rows = list(csv.reader(digits.splitlines()))
    assert rows[2][:2] == ["input", "x"]
    assert json.loads(rows[2][2]) == ["0.5", "2"] and json.loads(rows[2][3]) == ["0.8", "1e+1"]
    hessian = cli("eval", "sum(x*x*x)", "--at", "x=[0.5,2]", "--hessian", "--format", "csv").stdout
    assert list(csv.reader(hessian.splitlines()))[2] == ["input", "x", "[0.5, 2.0]", "[0.75, 12.0]"]
