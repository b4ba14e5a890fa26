"""`--gates scalar`: vector expressions unrolled into the scalar circuit of their elements give
the gradients of the vectorised float mode, element by element (W_0_1 is W[0, 1])."""
from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import one_error
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gradcalc
from gradcalc.core.gates import lower_gates
from gradcalc.core.unroll import element_names

AT = "W=[[1,-2],[0.5,1]],x=[1,-1],b=[0.5,-0.5]"
NEURON = "z = W@x + b; a = sigmoid(z); L = sum(a)"

# Expressions over W (k×n), x (n), b (k) and c (a scalar): every vector op and broadcasting.
EXPRESSIONS = [
    "sum(sigmoid(W@x + b))",
    "dot(tanh(W@x), b) + c",
    "logsumexp(W@x + b*c)",
    "sum(softmax(W@x) * b)",
    "sum(log_softmax(W) * W)",
    "sum(logsumexp(W))",
    "mean(W * x + c)",
    "norm(W@x + 3) + norm(W)",
    "max(W@x + b) - min(x*c)",
    "sum(transpose(W) @ b) + (x @ x)",
    "sum(b @ W) * c",
    "sum(W @ transpose(W))",
    "(W@x)[0] * x[0] + W[0, 0]",
    "dot([c, 1] @ [[1, 2], [3, 4]], [b[0], c])",
    "sum(max(W, 0.25) + exp(-x))",
]


def from_elements(gradient: dict, name: str, shape: tuple) -> np.ndarray:
    """The gradient of a vector input, put back together from its elements (x_0, x_1, ...)."""
    if not shape:
        return np.asarray(gradient[name])
    return np.array([gradient[element] for element in element_names(name, shape)]).reshape(shape)


@st.composite
def points(draw):
    k, n = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    number = st.floats(-2, 2, allow_nan=False, allow_infinity=False).map(lambda t: round(t, 3))

    def array(*shape):
        size = int(np.prod(shape))
        return np.array(draw(st.lists(number, min_size=size, max_size=size))).reshape(shape)

    return {"W": array(k, n), "x": array(n), "b": array(k), "c": draw(number)}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(EXPRESSIONS), points())
def test_the_scalar_circuit_gives_the_vectorised_gradients_on_random_shapes(text, point):
    try:
        vectorised = gradcalc.evaluate(text, **point)
    except gradcalc.GradcalcError as exc:  # shapes that do not fit are refused alike
        with pytest.raises(type(exc)) as unrolled:
            gradcalc.evaluate(text, gates="scalar", **point)
        assert str(unrolled.value) == str(exc)
        return
    if any("norm is not differentiable at 0" in warning for warning in vectorised.warnings):
        with pytest.raises(gradcalc.DomainError, match=r"sqrt\(u\d+\): the derivative .* is undefined"):
            gradcalc.evaluate(text, gates="scalar", **point)  # sqrt(0) has no derivative
        return
    scalar = gradcalc.evaluate(text, gates="scalar", **point)
    assert float(scalar.value) == pytest.approx(float(vectorised.value), rel=1e-12, abs=1e-12)
    for name, grad in vectorised.gradient.items():
        unrolled = from_elements(scalar.gradient, name, np.shape(grad))
        assert unrolled == pytest.approx(np.asarray(grad), rel=1e-12, abs=1e-12), (text, name)


def test_the_neuron_trace_in_scalar_gates_names_each_element(cli):
    run = cli("trace", NEURON, "--at", AT, "--gates", "scalar", "--format", "json")
    assert run.code == 0 and run.stderr == ""
    nodes = {node["name"]: node for node in run.json()["nodes"]}
    assert [name for name in nodes if "_" in name] == \
        ["W_0_0", "W_0_1", "W_1_0", "W_1_1", "x_0", "x_1", "u1_0", "u1_1", "b_0", "b_1",
         "z_0", "z_1", "a_0", "a_1"]
    assert nodes["z_0"]["expr"] == "u1_0 + b_0" and nodes["L"]["expr"] == "a_0 + a_1"
    written = gradcalc.evaluate(NEURON, W=[[1, -2], [0.5, 1]], x=[1, -1], b=[0.5, -0.5])
    gradient = run.json()["gradient"]
    for name, shape in (("W", (2, 2)), ("x", (2,)), ("b", (2,))):
        assert from_elements(gradient, name, shape) == pytest.approx(written.gradient[name], rel=1e-12)


def test_the_matrix_network_gives_the_same_loss_and_seven_gradients_as_the_vector_mode(cli):
    at = ["--at", "@examples/network/points.txt", "--at",
          "W1=[[-7.8751],[-8.3499]],b1=[-3.9181,3.8380],w2=[5.0297,-4.0937],b2=1.6347",
          "--wrt", "W1,b1,w2,b2", "--format", "json"]
    vectorised = cli("eval", "-f", "examples/network/matrix.txt", *at).json()
    run = cli("eval", "-f", "examples/network/matrix.txt", *at, "--gates", "scalar")
    assert run.code == 0 and run.stderr == ""
    scalar = run.json()
    assert round(scalar["value"], 3) == 12.017
    assert scalar["value"] == pytest.approx(vectorised["value"], rel=1e-12)
    assert list(scalar["gradient"]) == ["W1_0_0", "W1_1_0", "b1_0", "b1_1", "w2_0", "w2_1", "b2"]
    for name, shape in (("W1", (2, 1)), ("b1", (2,)), ("w2", (2,)), ("b2", ())):
        assert from_elements(scalar["gradient"], name, shape) == \
            pytest.approx(np.asarray(vectorised["gradient"][name]), rel=1e-12)


def test_check_and_graph_run_on_the_unrolled_circuit(cli):
    run = cli("check", "sum(softmax(W)*[1,2]) + norm(x)", "--at", AT, "--gates", "scalar")
    assert run.code == 0 and run.stdout.startswith("f = ") and "all 6 gradients agree" in run.stdout
    drawn = cli("graph", NEURON, "--at", AT, "--gates", "scalar", "--format", "dot")
    assert drawn.code == 0 and '"W_0_1"' in drawn.stdout and "z_1" in drawn.stdout


def test_scalar_gates_without_vectors_are_the_written_gates():
    text = "sigmoid(w0*x0+w1*x1+w2)"
    given = {"w0", "w1", "w2", "x0", "x1"}
    assert lower_gates(text, given, gates="scalar") == lower_gates(text, given)
    assert lower_gates(text, given, gates="scalar", shapes={"w": (3,)}) == lower_gates(text, given)


def test_the_shorthand_and_naming_both_stay_as_in_the_vector_mode(cli):
    run = cli("eval", "sigmoid(w0*x0+w1*x1+w2)", "--at", "w=[2,-3,-3],x=[-1,-2]", "--gates", "scalar",
              "--format", "json")
    assert run.code == 0 and list(run.json()["gradient"]) == ["w0", "x0", "w1", "x1", "w2"]
    assert one_error(cli("eval", "sum(x) + x0", "--at", "x=[1,2]", "--gates", "scalar")) == \
        "error: --at x: the expression names both the vector x and its elements (x0): use one or the other"


def test_shape_and_index_errors_are_those_of_the_vector_mode(cli):
    assert one_error(cli("eval", "sum(W@x)", "--at", "W=[[1,2,3],[4,5,6]],x=[1,2]", "--gates", "scalar")) == \
        ("error: stage u1 = W @ x: shapes do not fit: W is a 2×3 matrix and x is a 2-vector: the "
         "inner dimensions differ (3 ≠ 2)")
    assert one_error(cli("eval", "W[2, 0]", "--at", "W=[[1,2],[3,4]]", "--gates", "scalar")) == \
        "error: stage f = W[2, 0]: index [2, 0] is out of range for W, a 2×2 matrix (indices count from 0)"
    assert one_error(cli("eval", "softmax(x)", "--at", "x=[1,2]", "--gates", "scalar")) == \
        ("error: the output f is a 2-vector: a gradient needs a scalar output; reduce it (sum(f), "
         "norm(...)) or take one element (f[0]), or give --jacobian for the gradient of each element")


def test_an_element_name_the_expression_already_uses_is_refused(cli):
    assert one_error(cli("eval", "sum(x) + x_1", "--at", "x=[1,2],x_1=3", "--gates", "scalar")) == \
        ("error: --gates scalar names the element x[1] x_1, a name the expression already uses: "
         "rename x_1")


def test_a_big_matrix_is_refused_by_the_unrolling_limit(cli, monkeypatch):
    monkeypatch.setenv("GRADCALC_MAX_UNROLLED", "50")
    at = "W=" + str(np.ones((6, 6)).tolist()).replace(" ", "") + ",x=[1,1,1,1,1,1]"
    assert one_error(cli("eval", "sum(W@x)", "--at", at, "--gates", "scalar")) == \
        ("error: limit GRADCALC_MAX_UNROLLED reached: --gates scalar needs more scalar stages for "
         "stage u1 = W @ x (W is a 6×6 matrix, x is a 6-vector) (at most 50 scalar stages of a "
         "circuit unrolled from vectors; the written gates keep them whole); raise it with the "
         "environment variable GRADCALC_MAX_UNROLLED=N")
    assert cli("eval", "sum(W@x)", "--at", at).code == 0


def test_the_python_api_takes_gates_scalar_with_numpy_arrays():
    result = gradcalc.evaluate("sum(W@x)", W=np.eye(2), x=[1, 2], gates="scalar")
    assert result.value == 3.0
    assert result.gradient == {"W_0_0": 1.0, "W_0_1": 2.0, "W_1_0": 1.0, "W_1_1": 2.0, "x_0": 1.0, "x_1": 1.0}


def test_batch_lines_unroll_each_point_by_its_own_shapes(cli):
    lines = "".join(f'{{"expr": "sum(W@x)", "at": {{"W": {w}, "x": {x}}}, "gates": "scalar"}}\n'
                    for w, x in (("[[1, 2], [3, 4]]", "[1, 1]"), ("[[1, 2, 3], [3, 4, 5]]", "[1, 1, 1]")))
    run = cli("eval", "--batch", "-", stdin=lines)
    assert run.code == 0 and run.stderr == ""
    answers = [json.loads(line) for line in run.stdout.splitlines()]
    assert [answer["value"] for answer in answers] == [10.0, 18.0]
    assert answers[1]["gradient"] == {"W_0_0": 1.0, "W_0_1": 1.0, "W_0_2": 1.0, "W_1_0": 1.0,
                                      "W_1_1": 1.0, "W_1_2": 1.0, "x_0": 4.0, "x_1": 6.0, "x_2": 8.0}


def test_wrt_names_a_vector_whole_in_python_too():
    result = gradcalc.evaluate("sum(W@x)", W=[[1, 2], [3, 4]], x=[1, 1], wrt=["x"], gates="scalar")
    assert result.gradient == {"x_0": 4.0, "x_1": 6.0}


def test_exact_on_the_unrolled_circuit_agrees_with_sympys_matrix_calculus():
    import sympy as sp

    W, x = sp.Matrix([[1, -2], [3, 4]]), sp.Matrix([2, -1])
    result = gradcalc.evaluate("dot(W@x, x) + sum(W)", W=W.tolist(), x=list(x), exact=True, gates="scalar")
    assert result.value == (W * x).dot(x) + sum(W)
    dW, dx = x * x.T + sp.ones(2, 2), (W + W.T) * x  # ∂(xᵀWx)/∂W = x xᵀ, ∂/∂x = (W + Wᵀ) x
    assert [result.gradient[name] for name in element_names("W", (2, 2))] == list(dW)
    assert [result.gradient[name] for name in element_names("x", (2,))] == list(dx)


def test_a_numpy_vector_given_for_its_elements_w0_w1_is_read():
    # the shorthand from Python: a 1-D array for an expression that names w0, w1 (this was a KeyError)
    assert gradcalc.evaluate("w0*w1", w=np.array([1.0, 2.0])).gradient == {"w0": 2.0, "w1": 1.0}


def test_the_elements_of_a_vector_stage_are_outputs_whose_jacobian_is_softmaxs(cli):
    run = cli("eval", "z = softmax(x); L = sum(z)", "--at", "x=[1,2,0.5]", "--gates", "scalar",
              "--output", "z_0,z_1,z_2,L", "--format", "json")
    assert run.code == 0 and run.stderr == ""
    s = np.exp([1, 2, 0.5]) / np.exp([1, 2, 0.5]).sum()
    jacobian = np.diag(s) - np.outer(s, s)  # ∂softmax_i/∂x_j = s_i (δ_ij − s_j)
    rows = [[run.json()["jacobian"][z][x] for x in ("x_0", "x_1", "x_2")] for z in ("z_0", "z_1", "z_2")]
    assert np.array(rows) == pytest.approx(jacobian, rel=1e-12, abs=1e-15)


def test_data_rows_feed_the_unrolled_circuit_of_a_vector_parameter(cli):
    run = cli("eval", "dot(w, [y, 1])", "--data", "examples/network/data.csv", "--at", "w=[0.5,0.5]",
              "--gates", "scalar", "--format", "json", "-q")
    assert run.code == 0, run.stderr
    y = np.loadtxt("examples/network/data.csv", delimiter=",", skiprows=1)[:, 1]
    gradient = run.json()["gradient"]
    assert gradient["w_0"] == pytest.approx(y.mean(), rel=1e-12) and gradient["w_1"] == pytest.approx(1.0)


def test_a_vector_op_without_a_scalar_definition_is_refused_in_one_line(cli):
    from gradcalc.core.ops import Op, register, withdraw

    register(Op("doubled", lambda m, x: x * 2, None, calls=("doubled",),
                vjp=lambda m, out, args, i, g: g * 2, vjp_written=lambda names, shapes, i: "2 * d"))
    try:
        assert cli("eval", "sum(doubled(x))", "--at", "x=[1,2]").code == 0
        assert one_error(cli("eval", "sum(doubled(x))", "--at", "x=[1,2]", "--gates", "scalar")) == \
            ("error: stage u1 = doubled(x): --gates scalar cannot unroll doubled, which has no scalar "
             "definition: keep it whole with the written gates")
    finally:
        withdraw("doubled")
