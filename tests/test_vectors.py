"""Vectors and matrices: values, the new syntax, every vector op against numpy formulas written
here by hand (and central differences), broadcasting, shape errors, the staged trace with its
vectorised backward rules, `check` element by element, and the modes that refuse vectors."""
from __future__ import annotations

import numpy as np
import pytest
from helpers import one_error

import gradcalc
from gradcalc.core.ops import REGISTRY
from gradcalc.core.parse import parse
from gradcalc.errors import ParseError

W = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
X = [1.0, 0.0, -1.0]
B = [0.5, -0.5]
AT = "W=[[1,2,3],[4,5,6]],x=[1,0,-1],b=[0.5,-0.5]"
NEURON = "sum(sigmoid(W@x + b))"


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def central(f, values: dict, name: str, h: float = 1e-6) -> np.ndarray:
    """∂f/∂values[name], element by element, by central differences."""
    base = np.array(values[name], dtype=float)
    grad = np.zeros_like(base)
    for k in range(base.size):
        up, down = base.copy(), base.copy()
        up.flat[k] += h
        down.flat[k] -= h
        grad.flat[k] = (f(**{**values, name: up}) - f(**{**values, name: down})) / (2 * h)
    return grad


# ---- values ------------------------------------------------------------------------------

def test_nested_brackets_give_a_matrix_and_vectors(cli):
    out = cli("eval", NEURON, "--at", AT, "--format", "json").json()
    assert out["at"] == {"W": W, "x": X, "b": B}
    z = np.array(W) @ np.array(X) + np.array(B)
    assert out["value"] == pytest.approx(sigmoid(z).sum(), rel=1e-15)
    s = sigmoid(z) * (1 - sigmoid(z))
    assert np.array(out["gradient"]["W"]) == pytest.approx(np.outer(s, X), rel=1e-14)
    assert np.array(out["gradient"]["x"]) == pytest.approx(np.array(W).T @ s, rel=1e-14)
    assert np.array(out["gradient"]["b"]) == pytest.approx(s, rel=1e-14)


def test_the_shorthand_still_expands_to_scalars_when_the_expression_names_them(cli):
    out = cli("eval", "sigmoid(w0*x0+w1*x1+w2)", "--at", "w=[2,-3,-3],x=[-1,-2]", "--format", "json")
    assert out.code == 0 and out.stderr == ""
    assert list(out.json()["gradient"]) == ["w0", "x0", "w1", "x1", "w2"]


def test_a_vector_is_one_value_when_the_expression_names_it(cli):
    out = cli("eval", "dot(w, x)", "--at", "w=[2,-3],x=[-1,-2]", "--format", "json")
    assert out.code == 0 and out.stderr == ""
    assert out.json() == {"output": "f", "value": 4.0, "at": {"w": [2.0, -3.0], "x": [-1.0, -2.0]},
                          "gradient": {"w": [-1.0, -2.0], "x": [2.0, -3.0]}}


def test_naming_the_vector_and_its_elements_at_once_is_an_error(cli):
    assert one_error(cli("eval", "sum(w) + w0", "--at", "w=[1,2]")) == (
        "error: --at w: the expression names both the vector w and its elements (w0): use one or the other")


@pytest.mark.parametrize("value, message", [
    ("W=[[1,0],[2]]", "error: --at W=[[1,0],[2]]: row W[1] has 1 element and row W[0] 2 elements: "
                      "a matrix is rectangular"),
    ("W=[[1,0],[2,y]]", "error: --at W[1, 1]=y: a value must be a number or a constant expression; "
                        "'y' is not a known constant (nan and inf are not allowed)"),
    ("W=[[1,0],2]", "error: --at W=[[1,0],2]: W[1] is a number but the other rows are vectors: "
                    "a matrix is written [[a, b], [c, d]]"),
    ("W=[[1,],[2,3]]", "error: --at W=[[1,],[2,3]]: W[0, 1] is empty: write a number"),
    ("W=[[[1]]]", "error: --at W=[[[1]]]: W[0, 0] is not a number: values are vectors or matrices "
                  "(at most two levels of brackets)"),
    ("W=[1/0,2]", "error: --at W[0]=1/0: stage f = 1/0: division by zero"),
])
def test_a_bad_element_is_named(cli, value, message):
    assert one_error(cli("eval", "sum(W)", "--at", value)) == message


def test_a_repeated_matrix_must_agree(cli):
    assert cli("eval", "sum(W)", "--at", "W=[[1,2]]", "--at", "W=[[1, 2.0]]").code == 0
    assert one_error(cli("eval", "sum(W)", "--at", "W=[[1,2]]", "--at", "W=[[1,3]]")) == (
        "error: --at gives W two different values: [[1,2]] and [[1,3]]")


def test_python_values_may_be_nested_lists_or_numpy_arrays():
    by_list = gradcalc.evaluate(NEURON, W=W, x=X, b=B)
    by_array = gradcalc.evaluate(NEURON, W=np.array(W), x=np.array(X), b=np.array(B))
    assert float(by_list.value) == float(by_array.value)
    assert np.array_equal(by_list.gradient["W"], by_array.gradient["W"])
    assert by_list.to_dict()["gradient"]["b"] == pytest.approx(
        (sigmoid(np.array(W) @ X + B) * (1 - sigmoid(np.array(W) @ X + B))).tolist(), rel=1e-14)


# ---- syntax ------------------------------------------------------------------------------

def test_at_is_a_product_of_the_precedence_of_times():
    assert [item[:2] for item in parse("a*W@x").statements[0].rpn] == [
        ("name", "a"), ("name", "W"), ("bin", "*"), ("name", "x"), ("bin", "@")]


@pytest.mark.parametrize("text, message", [
    ("z[-1]", "negative indices are not supported: count from 0 (z[0] is the first element) at column 3: z[-1]"),
    ("z[i]", "an index is a non-negative integer literal: z[0], W[1, 2] at column 2: z[i]"),
    ("z[1.5]", "an index is a non-negative integer literal: z[0], W[1, 2] at column 2: z[1.5]"),
    ("[]", "an empty vector '[]' has no elements: write [1, 2] at column 1: []"),
    ("2[1]", "a number cannot be indexed: '2[' (for a product write 2*[...]) at column 2: 2[1]"),
    ("[a, b", "add the missing ']' for the '[' at column 1: [a, b"),
    ("(a]", "']' closes nothing here: the '(' at column 1 is open; add ')' first at column 3: (a]"),
    ("[a)", "')' closes nothing here: the '[' at column 1 is open; add ']' first at column 3: [a)"),
    ("a]", "unbalanced ']': no '[' to close; remove it or add the '[' it closes at column 2: a]"),
])
def test_bad_brackets_say_where_and_what_to_write(text, message):
    with pytest.raises(ParseError) as caught:
        parse(text)
    assert str(caught.value) == message


def test_literals_and_indices_in_expressions(cli):
    out = cli("eval", "dot(w, [1, 2]) + W[1, 0] * z[2]", "--at", "w=[3,4],W=[[1,2],[5,6]],z=[7,8,9]",
              "--format", "json").json()
    assert out["value"] == 3 + 8 + 5 * 9
    assert out["gradient"] == {"w": [1.0, 2.0], "W": [[0.0, 0.0], [9.0, 0.0]], "z": [0.0, 0.0, 5.0]}


def test_a_matrix_literal_is_a_stage(cli):
    out = cli("trace", "sum([[a, 2], [3, a]] @ [1, 1])", "--at", "a=2", "--format", "json").json()
    assert out["value"] == 9.0 and out["gradient"] == {"a": 2.0}
    assert [n["expr"] for n in out["nodes"] if n["op"] == "vector"] == ["[a, 2]", "[3, a]", "[u1, u2]", "[1, 1]"]


# ---- every vector op against numpy written by hand ---------------------------------------------

def logsumexp(v):
    return np.log(np.exp(v - v.max()).sum()) + v.max()


OPS = {  # expression over W (2×3), x (3), v (2): the function in numpy, written independently
    "sum(W)": lambda W, x, v: W.sum(),
    "mean(W)": lambda W, x, v: W.mean(),
    "dot(x, x)": lambda W, x, v: x @ x,
    "sum(W@x)": lambda W, x, v: (W @ x).sum(),
    "v@W@x": lambda W, x, v: v @ W @ x,
    "sum(transpose(W)@v)": lambda W, x, v: (W.T @ v).sum(),
    "sum(W@transpose(W))": lambda W, x, v: (W @ W.T).sum(),
    "dot(softmax(x), [1, 2, 3])": lambda W, x, v: np.exp(x) / np.exp(x).sum() @ [1, 2, 3],
    "sum(log_softmax(W) * W)": lambda W, x, v: ((W - np.log(np.exp(W).sum(1, keepdims=True))) * W).sum(),
    "logsumexp(x)": lambda W, x, v: np.log(np.exp(x).sum()),
    "sum(logsumexp(W))": lambda W, x, v: np.log(np.exp(W).sum(1)).sum(),
    "norm(W)": lambda W, x, v: np.sqrt((W ** 2).sum()),
    "max(x * x)": lambda W, x, v: (x * x).max(),
    "min(W)": lambda W, x, v: W.min(),
    "W[1, 2] * x[0]": lambda W, x, v: W[1, 2] * x[0],
    "sum(W[0] * x)": lambda W, x, v: (W[0] * x).sum(),
    "sum(tanh(W) * x + v[0])": lambda W, x, v: (np.tanh(W) * x + v[0]).sum(),
    "sum(exp(W) / (1 + transpose([v, v, v])))": lambda W, x, v: (np.exp(W) / (1 + np.array([v, v, v]).T)).sum(),
    "sum(max(W, 0.2) ** 2)": lambda W, x, v: (np.maximum(W, 0.2) ** 2).sum(),
    "sum(x ** [1, 2, 3])": lambda W, x, v: (x ** np.array([1, 2, 3])).sum(),
}
POINT = {"W": np.array([[0.3, -1.2, 0.8], [1.5, 0.1, -0.4]]), "x": np.array([0.7, -0.2, 1.1]),
         "v": np.array([0.9, -1.3])}


@pytest.mark.parametrize("expression", sorted(OPS))
def test_every_vector_op_matches_numpy_and_central_differences(expression):
    f = OPS[expression]
    result = gradcalc.evaluate(expression, **POINT)
    assert float(result.value) == pytest.approx(f(**POINT), rel=1e-13)
    for name, grad in result.gradient.items():
        assert np.asarray(grad) == pytest.approx(central(f, POINT, name), rel=1e-7, abs=1e-9), name


def test_softmax_and_logsumexp_stay_finite_far_out(cli):
    out = cli("eval", "logsumexp(x) + dot(softmax(x), [1, 2])", "--at", "x=[1000,0]", "--format", "json")
    assert out.code == 0
    assert out.json()["value"] == pytest.approx(1000 + 1, rel=1e-15)
    assert out.json()["gradient"]["x"] == [1.0, 0.0]


def test_broadcasting_follows_numpy_and_the_bias_gradient_is_summed(cli):
    out = cli("eval", "sum(W*x + c)", "--at", "W=[[1,2,3],[4,5,6]],x=[1,0,-1],c=2", "--format", "json").json()
    assert out["value"] == (np.array(W) * X + 2).sum()
    assert out["gradient"]["c"] == 6.0  # the sum over the 2×3 elements it was added to
    assert out["gradient"]["x"] == [5.0, 7.0, 9.0]  # summed over the rows


def test_every_registry_function_applies_elementwise():
    x = np.array([0.2, 0.5, 0.7])
    for name in ("exp", "log", "sqrt", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh",
                 "tanh", "sigmoid", "softplus", "relu", "abs"):
        result = gradcalc.evaluate(f"sum({name}(x))", x=x)
        scalar = [gradcalc.evaluate(f"{name}(x)", x=float(v)) for v in x]
        assert float(result.value) == pytest.approx(sum(r.value for r in scalar), rel=1e-14), name
        assert result.gradient["x"] == pytest.approx([r.gradient["x"] for r in scalar], rel=1e-14), name


def test_a_math_error_names_the_element(cli):
    assert one_error(cli("eval", "sum(log(x))", "--at", "x=[1,0]"), code=3) == (
        "error: stage u1 = log(x): log of 0 at [1] (x[1] = 0)")


# ---- shapes ------------------------------------------------------------------------------

@pytest.mark.parametrize("expression, message", [
    ("sum(W@x)", "error: stage u1 = W @ x: shapes do not fit: W is a 2×3 matrix and x is a 2-vector: "
                 "the inner dimensions differ (3 ≠ 2)"),
    ("sum(W + x)", "error: stage u1 = W + x: shapes do not fit: W is a 2×3 matrix and x is a 2-vector: "
                   "they do not broadcast (numpy's rule: each trailing dimension equal, or 1)"),
    ("dot(W, x)", "error: stage f = dot(W, x): shapes do not fit: W is a 2×3 matrix and x is a "
                  "2-vector: dot takes two vectors (for matrices use '@')"),
    ("x[2]", "error: stage f = x[2]: index [2] is out of range for x, a 2-vector (indices count from 0)"),
    ("sum(W)[0]", "error: stage f = u1[0]: u1 is a scalar: a scalar has no elements"),
    ("W@x", "error: stage f = W @ x: shapes do not fit: W is a 2×3 matrix and x is a 2-vector: "
            "the inner dimensions differ (3 ≠ 2)"),
    ("W[0]", "error: the output f is a 3-vector: a gradient needs a scalar output; reduce it "
             "(sum(f), norm(...)) or take one element (f[0]), or give --jacobian for the gradient of "
             "each element"),
    ("sum([x, W])", "error: stage u1 = [x, W]: shapes do not fit: x is a 2-vector and W is a 2×3 "
                    "matrix: the elements of a vector or matrix literal must have one shape (a matrix "
                    "is rectangular)"),
])
def test_a_shape_error_is_one_line_naming_the_stage_and_both_shapes(cli, expression, message):
    assert one_error(cli("eval", expression, "--at", "W=[[1,2,3],[4,5,6]],x=[1,2]")) == message


# ---- trace -------------------------------------------------------------------------------

def test_trace_writes_the_vectorised_backward_rules(cli):
    out = cli("trace", "z = W@x + b; L = sum(sigmoid(z))", "--at", AT, "--format", "json").json()
    assert [step["rule"] for step in out["backward"]] == [
        "du2 += dL (broadcast to 2)", "dz += du2 * u2 * (1 - u2)", "du1 += dz", "db += dz",
        "dW += du1 ⊗ x", "dx += Wᵀ @ du1"]
    nodes = {node["name"]: node for node in out["nodes"]}
    assert nodes["W"]["shape"] == [2, 3] and nodes["L"]["shape"] == []
    assert nodes["z"]["value"] == (np.array(W) @ X + B).tolist()
    assert nodes["W"]["grad"] == out["gradient"]["W"]


def test_matrix_products_and_broadcast_biases_have_their_rules(cli):
    out = cli("trace", "Z = W@X; L = sum(Z + c)", "--at", "W=[[1,2],[3,4]],X=[[1,0],[0,1]],c=1",
              "--format", "json").json()
    assert [step["rule"] for step in out["backward"]] == [
        "du1 += dL (broadcast to 2×2)", "dZ += du1", "dc += sum(du1)", "dW += dZ @ Xᵀ", "dX += Wᵀ @ dZ"]


def test_trace_table_shows_shapes_values_and_rules(cli):
    run = cli("trace", NEURON, "--at", AT)
    assert run.code == 0
    assert "dW += du1 ⊗ x" in run.stdout and "dx += Wᵀ @ du1" in run.stdout
    assert "│ W     │ input   │             │    2×3 │  [[1, 2, 3], [4, │" in run.stdout


def test_long_vectors_are_cut_in_tables_and_whole_in_json(cli):
    at = "x=[" + ",".join(str(k) for k in range(100)) + "]"
    table = cli("eval", "sum(x)", "--at", at).stdout
    assert "[0, 1, 2, …, 98, 99] (100)" in table
    assert cli("eval", "sum(x)", "--at", at, "--format", "json").json()["at"]["x"] == list(map(float, range(100)))


def test_trace_csv_has_a_shape_column_and_nested_lists(cli):
    lines = cli("trace", "dot(w, x)", "--at", "w=[1,2],x=[3,4]", "--format", "csv").stdout.splitlines()
    assert lines[0] == "name,op,inputs,expr,shape,value,grad"
    assert lines[1] == 'w,input,,w,2,"[1.0, 2.0]","[3.0, 4.0]"'
    assert lines[-1] == "f,dot,w;x,\"dot(w, x)\",,11.0,1.0"


# ---- check -------------------------------------------------------------------------------

def test_check_perturbs_every_element_of_every_input_and_stage(cli):
    run = cli("check", NEURON, "--at", AT, "--nodes", "--format", "json")
    assert run.code == 0
    out = run.json()
    assert [row["name"] for row in out["inputs"]] == [
        "W[0, 0]", "W[0, 1]", "W[0, 2]", "W[1, 0]", "W[1, 1]", "W[1, 2]", "x[0]", "x[1]", "x[2]", "b[0]", "b[1]"]
    assert [row["name"] for row in out["stages"]] == ["u1[0]", "u1[1]", "u2[0]", "u2[1]", "u3[0]", "u3[1]"]
    assert all(row["status"] == "ok" for row in out["inputs"] + out["stages"])


def test_check_finds_a_wrong_vector_rule(cli, monkeypatch):
    matmul = REGISTRY["matmul"]
    monkeypatch.setitem(REGISTRY, "matmul", matmul._replace(
        vjp=lambda m, out, args, i, g: 2 * matmul.vjp(m, out, args, i, g)))
    run = cli("check", NEURON, "--at", AT)
    assert run.code == 4
    assert run.stderr.splitlines()[-1] == ("error: 7 of 11 gradients disagree with their oracles "
                                          "(rtol 1e-06, atol 1e-09)")


# ---- what does not take vectors yet --------------------------------------------------------

def test_nonfinite_ieee_on_a_trace_of_vectors_points_to_the_scalar_circuit(cli):
    assert one_error(cli("trace", NEURON, "--at", AT, "--nonfinite", "ieee")) == (
        "error: --nonfinite 'ieee' works with scalars: vectors and matrices are strict here (a "
        "non-finite element is an error); the scalar circuit of their elements (--gates scalar) "
        "takes it, as the eval command does")


def test_the_scalar_path_never_loads_numpy_but_a_vector_does():
    import subprocess
    import sys

    probe = ("import sys; from gradcalc.cli import main\n"
             "try:\n    main(sys.argv[1:], prog_name='gradcalc')\nexcept SystemExit:\n    pass\n"
             "sys.__stderr__.write(str('numpy' in sys.modules))")
    scalar = subprocess.run([sys.executable, "-c", probe, "eval", "x*y", "--at", "x=1,y=2", "--format", "json"],
                            capture_output=True, text=True)
    vector = subprocess.run([sys.executable, "-c", probe, "eval", "sum(x)", "--at", "x=[1,2]", "--format", "json"],
                            capture_output=True, text=True)
    assert scalar.stderr.endswith("False") and vector.stderr.endswith("True")


# ---- the seeds' network in matrix form -------------------------------------------------------

EXAMPLES = __import__("pathlib").Path(__file__).resolve().parent.parent / "examples" / "network"
MATRIX_START = "W1=[[-7.8751],[-8.3499]],b1=[-3.9181,3.8380],w2=[5.0297,-4.0937],b2=1.6347"
SCALAR_START = "w1=[-7.8751,-8.3499],b1=[-3.9181,3.8380],w2=[5.0297,-4.0937],b2=1.6347"
SCALAR = ("-f", str(EXAMPLES / "loss.txt"), "--data", str(EXAMPLES / "data.csv"), "--reduce", "sum")


def matrix_gradient(cli, at: str) -> dict:
    points = (EXAMPLES / "points.txt").read_text().strip()
    run = cli("eval", "-f", str(EXAMPLES / "matrix.txt"), "--at", points, "--at", at,
              "--wrt", "W1,b1,w2,b2", "--format", "json")
    assert run.code == 0 and run.stderr == ""
    return run.json()


def flattened(gradient: dict) -> list[float]:
    """The matrix program's seven gradients in the scalar program's names."""
    return {"w10": gradient["W1"][0][0], "w11": gradient["W1"][1][0], "b10": gradient["b1"][0],
            "b11": gradient["b1"][1], "w20": gradient["w2"][0], "w21": gradient["w2"][1],
            "b2": gradient["b2"]}


def test_the_matrix_network_gives_12_017_and_the_scalar_programs_seven_gradients(cli):
    matrix = matrix_gradient(cli, MATRIX_START)
    scalar = cli("eval", *SCALAR, "--at", SCALAR_START, "--format", "json").json()
    assert round(matrix["value"], 3) == 12.017
    assert matrix["value"] == pytest.approx(scalar["value"], rel=1e-13)
    assert flattened(matrix["gradient"]) == pytest.approx(scalar["gradient"], rel=1e-12)


def test_the_matrix_network_descends_as_the_scalar_program_does(cli):
    """Twenty steps of lr 0.1 on the matrix program (through the Python API) land where
    `gradcalc descend` takes the scalar program."""
    points = (EXAMPLES / "points.txt").read_text().strip()
    data = dict(part.split("=", 1) for part in points.replace("]],y=", "]]\ty=").split("\t"))
    X, y = eval(data["X"]), eval(data["y"])  # noqa: S307  (the example's own file, lists of numbers)
    params = {"W1": np.array([[-7.8751], [-8.3499]]), "b1": np.array([-3.9181, 3.8380]),
              "w2": np.array([5.0297, -4.0937]), "b2": 1.6347}
    graph = gradcalc.lower((EXAMPLES / "matrix.txt").read_text(), given={"X", "y", *params})
    for _ in range(20):
        gradient = gradcalc.evaluate(graph, {**params, "X": X, "y": y}, wrt=list(params)).gradient
        params = {name: params[name] - 0.1 * np.asarray(gradient[name]) for name in params}
    descended = cli("descend", *SCALAR, "--at", SCALAR_START, "--lr", "0.1", "--steps", "20",
                    "--format", "json").json()["at"]
    trained = {"w10": params["W1"][0, 0], "w11": params["W1"][1, 0], "b10": params["b1"][0],
               "b11": params["b1"][1], "w20": params["w2"][0], "w21": params["w2"][1], "b2": float(params["b2"])}
    assert trained == pytest.approx(descended, rel=1e-10)


def test_the_trace_of_the_network_writes_its_matrix_rules(cli):
    points = (EXAMPLES / "points.txt").read_text().strip()
    out = cli("trace", "-f", str(EXAMPLES / "matrix.txt"), "--at", points, "--at", MATRIX_START,
              "--wrt", "W1,b1,w2,b2", "--format", "json").json()
    rules = [step["rule"] for step in out["backward"]]
    assert {"db2 += sum(du5)", "dH += du4 ⊗ w2", "dw2 += Hᵀ @ du4", "db1 += sum(du3, axis=0)",
            "du1 += Xᵀ @ du2", "dW1 += du1ᵀ"} <= set(rules)


def test_values_may_come_from_a_file(cli, tmp_path):
    values = tmp_path / "values.txt"
    values.write_text("W=[[1,2,3],[4,5,6]],\nx=[1,0,-1]\n\nb=[0.5,-0.5]\n")
    by_file = cli("eval", NEURON, "--at", f"@{values}", "--format", "json")
    assert by_file.code == 0 and by_file.json() == cli("eval", NEURON, "--at", AT, "--format", "json").json()
    missing = tmp_path / "none.txt"
    assert one_error(cli("eval", NEURON, "--at", f"@{missing}")) == (
        f"error: --at @{missing}: cannot read {missing}: No such file or directory (see 'gradcalc eval --help')")


PROGRAMS = [
    ("z = W@x + b; a = sigmoid(z); L = sum(a)", "W=[[1,-2],[0.5,1]],x=[1,-1],b=0.5"),
    ("sum(log_softmax(W@x) * [1, 0]) + logsumexp(x) + W[1, 0] + norm(x) + max(x) + dot(x, x) "
     "+ mean(transpose(W)@[1,2]) + sum(softmax(x)*x) + sum(W*x + c)/c**2 + sum(relu(x)) "
     "+ sum(max(x, 0.5)) + sum(W@transpose(W)) + sum([x, x] @ x) + sum(x ** 2 - tanh(x))",
     "W=[[1,-2],[0.5,1]],x=[1,-1],c=3"),
]


@pytest.mark.parametrize("expression, at", PROGRAMS)
def test_format_python_is_numpy_code_that_prints_what_eval_prints(cli, tmp_path, expression, at):
    import os
    import subprocess
    import sys

    program = cli("trace", expression, "--at", at, "--format", "python").stdout
    assert "dW = np.outer(du1, x)" in program or "W.T @" in program
    path = tmp_path / "backprop.py"
    path.write_text(program)
    root = str(__import__("pathlib").Path(gradcalc.__file__).resolve().parent.parent)
    ran = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": root})
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == cli("eval", expression, "--at", at, "--format", "json").stdout


def test_graph_wires_carry_shapes_and_small_values(cli):
    mermaid = cli("graph", "L = sum(sigmoid(W@x))", "--at", "W=[[1,-2,3],[0.5,1,2],[1,1,1]],x=[1,-1,1]",
                  "--format", "mermaid").stdout
    assert '-->|"value 3×3, grad …"|' in mermaid
    assert '-->|"value 3-vector [1, -1, 1], grad [0.274, 0.341, 0.502]"|' in mermaid
    assert '-->|"value 2.55, grad 1"| output' in mermaid
    svg = cli("graph", "L = sum(sigmoid(W@x))", "--at", "W=[[1,-2,3],[0.5,1,2],[1,1,1]],x=[1,-1,1]",
              "--format", "svg").stdout
    assert "3-vector [1, -1, 1]" in svg


def test_an_evaluation_leaves_no_reference_cycle_behind():
    """Its arrays are freed when the caller drops the result, not at the next garbage
    collection: a 1000×1000 gradient per call would otherwise pile up."""
    import gc

    graph = gradcalc.lower(NEURON)
    gradcalc.evaluate(graph, W=np.array(W), x=np.array(X), b=np.array(B))
    gc.collect()
    gc.disable()
    try:
        gradcalc.evaluate(graph, W=np.array(W), x=np.array(X), b=np.array(B))
        gradcalc.evaluate("x*y", x=1, y=2)
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_elements_may_be_constant_expressions_and_big_matrices_read_fast(cli, tmp_path):
    out = cli("eval", "sum(W)", "--at", "W=[[.5, 1/2], [pi, -1e-3]]", "--format", "json").json()
    assert out["at"]["W"] == [[0.5, 0.5], [np.pi, -0.001]]
    rng = np.random.default_rng(7)
    big = rng.normal(size=(300, 200))
    values = tmp_path / "big.txt"
    values.write_text(f"W={big.tolist()},\nx={rng.normal(size=200).tolist()}\n")
    out = cli("eval", "sum(tanh(W@x))", "--at", f"@{values}", "--format", "json").json()
    x = np.array(out["at"]["x"])
    assert np.array_equal(np.array(out["at"]["W"]), big)
    assert np.array(out["gradient"]["W"]) == pytest.approx(np.outer(1 - np.tanh(big @ x) ** 2, x), rel=1e-13)


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "logsumexp"])
def test_the_last_axis_reductions_refuse_a_scalar(cli, name):
    assert one_error(cli("eval", f"sum({name}(x))", "--at", "x=2")) == (
        f"error: stage u1 = {name}(x): shapes do not fit: x is a scalar: {name} takes a vector or a matrix")


@pytest.mark.parametrize("mode", [(), ("--nonfinite", "ieee"), ("--hessian",), ("--exact",)])
def test_max_and_min_of_one_scalar_are_that_scalar(cli, mode):
    out = cli("eval", "max(x) + 3*min(x)", "--at", "x=2", *mode, "--format", "json")
    assert out.code == 0, out.stderr
    assert out.json()["value"] == 8.0 and out.json()["gradient"] == {"x": 4.0}


def test_depth_and_collapse_are_for_scalar_traces(cli):
    assert one_error(cli("trace", NEURON, "--at", AT, "--depth", "2")) == (
        "error: --depth and --collapse fold long scalar traces; a trace of vectors and matrices "
        "(one row per operation written) is shown whole: leave them out")


def test_a_matrix_the_expression_names_whole_is_never_taken_apart_into_its_elements(monkeypatch):
    """Naming each element costs a Python step per element: only a circuit of elements needs it."""
    import gradcalc.core.values as values

    monkeypatch.setattr(values, "element_names", lambda *_: pytest.fail("every element was named"))
    result = gradcalc.evaluate("sum(W@x)", W=np.ones((300, 300)), x=np.arange(300.0))
    assert result.value == 300 * sum(range(300))
    assert np.array_equal(result.gradient["x"], np.full(300, 300.0))
