"""Gate granularity: fused and primitive graphs compute the same gradients as the written one,
checked against sympy's derivative built independently, and against the seeds' circuit."""
from __future__ import annotations

import math
import time

import pytest
import sympy as sp
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from gradcalc import DomainError, evaluate, lower
from gradcalc.core.gates import MODES, fused_patterns, primitive_forms, rewrite
from gradcalc.core.ops import REGISTRY
from gradcalc.numbers import floats

PRIMITIVE = primitive_forms()
FUSED = fused_patterns()

NEURON = {"w0": 2, "w1": -3, "w2": -3, "x0": -1, "x1": -2}
NEURON_GRADIENT = {"w0": -0.19661193324148185, "w1": -0.3932238664829637, "w2": 0.19661193324148185,
                   "x0": 0.3932238664829637, "x1": -0.5898357997244456}
LOSS = "z = w1*x1 + w2*x2 + b; yhat = sigmoid(z); L = -y*log(yhat) - (1-y)*log(1-yhat)"
LOSS_AT = {"x1": 1.5, "x2": 2.5, "w1": -4, "w2": 3, "b": -1, "y": 1}
LOSS_GRADIENT = {"b": -0.37754066879814546, "w1": -0.5663110031972182, "w2": -0.9438516719953636,
                 "x1": 1.5101626751925818, "x2": -1.1326220063944363, "y": -0.5}


def ops(graph) -> list[str]:
    return [node.op for node in graph.nodes if node.op not in ("input", "const")]


def sigma(a):
    return 1 / (1 + sp.exp(-a))


def test_fused_turns_the_longhand_neuron_into_one_sigmoid_gate():
    graph = rewrite(lower("1/(1+exp(-(w0*x0+w1*x1+w2)))"), "fused")
    assert ops(graph) == ["mul", "mul", "add", "add", "sigmoid"]
    assert evaluate(graph, NEURON).gradient == pytest.approx(NEURON_GRADIENT, rel=1e-12)


def test_primitive_gives_the_seed_circuit_and_its_numbers():
    graph = rewrite(lower("sigmoid(w0*x0+w1*x1+w2)"), "primitive")
    assert ops(graph) == ["mul", "mul", "add", "add", "neg", "exp", "add", "div"]
    result = evaluate(graph, NEURON)
    stages = [i for i in graph.operations][-4:]  # ×(−1), exp, +1, 1/x as the seed draws them
    assert [round(result.values[i], 2) for i in stages] == [-1.0, 0.37, 1.37, 0.73]
    assert [round(result.grads[i], 2) for i in stages] == [-0.2, -0.53, -0.53, 1.0]
    assert result.gradient == pytest.approx(NEURON_GRADIENT, rel=1e-12)


@pytest.mark.parametrize("text, fused", [
    ("log(1+exp(x*y))", ["mul", "softplus"]),
    ("log(exp(x)+1)", ["softplus"]),
    ("(exp(x)-exp(-x))/(exp(x)+exp(-x))", ["tanh"]),
    ("(exp(x)-exp(-x))/(exp(-x)+exp(x))", ["tanh"]),
    ("log(sigmoid(x))", ["log_sigmoid"]),
    ("log(1/(1+exp(-x)))", ["log_sigmoid"]),
    ("log(1-sigmoid(x))", ["neg", "log_sigmoid"]),
    ("-y*log(sigmoid(z)) - (1-y)*log(1-sigmoid(z))", ["logloss"]),
    ("-y*log(1/(1+exp(-z))) - (1-y)*log(1-1/(1+exp(-z)))", ["logloss"]),
    ("-(y*log(sigmoid(z)) + (1-y)*log(1-sigmoid(z)))", ["logloss"]),
    ("-(log(sigmoid(z))*y) - log(1-sigmoid(z))*(1-y)", ["logloss"]),
])
def test_fused_recognises_the_longhand_patterns(text, fused):
    assert ops(rewrite(lower(text), "fused")) == fused


def test_the_log_loss_program_becomes_one_gate_with_the_seed_gradient():
    graph = rewrite(lower(LOSS), "fused")
    assert ops(graph)[-1] == "logloss" and graph.output_name == "L"
    assert [n.name for n in graph.nodes if n.op == "logloss"] == ["L"]
    assert "yhat" not in graph.index  # a named stage used only inside the pattern is absorbed
    result = evaluate(graph, LOSS_AT)
    assert result.value == pytest.approx(0.4740769841801067, rel=1e-12)
    assert result.gradient == pytest.approx(LOSS_GRADIENT, rel=1e-12)


@pytest.mark.parametrize("text", [
    "1/(1+exp(-x)) + exp(-x)",  # exp(-x) has a consumer outside the pattern
    "s = sigmoid(z); f = log(s) + s",  # so does the sigmoid
    "u = 1 + exp(-x); f = 1/u + u",
])
def test_nothing_is_fused_away_that_another_stage_still_uses(text):
    written = lower(text)
    assert ops(rewrite(written, "fused")) == ops(written)


def test_fusion_keeps_input_names_output_name_and_the_other_stage_names():
    written = lower("a = x*y; s = 1/(1+exp(-a)); out = s*a")
    fused = rewrite(written, "fused")
    assert fused.input_names == written.input_names and fused.output_name == "out"
    assert [n.name for n in fused.nodes if n.op != "const"] == ["x", "y", "a", "s", "out"]


def test_log_sigmoid_far_out_is_finite_only_when_fused(cli):
    run = cli("eval", "log(sigmoid(x))", "--at", "x=-1000", "--gates", "fused", "--format", "json")
    assert run.code == 0 and run.json()["value"] == -1000.0 and run.json()["gradient"] == {"x": 1.0}
    out = cli("eval", "log(1-sigmoid(x))", "--at", "x=1000", "--gates", "fused", "--format", "json").json()
    assert out["value"] == -1000.0 and out["gradient"] == {"x": -1.0}
    assert cli("eval", "log(sigmoid(x))", "--at", "x=-1000").code == 3


def test_gates_option_on_eval_and_trace(cli):
    out = cli("trace", LOSS, "--at", "x1=1.5,x2=2.5,w1=-4,w2=3,b=-1,y=1", "--gates", "fused",
              "--format", "json").json()
    assert [n["op"] for n in out["nodes"]][-1] == "logloss"
    assert out["gradient"] == pytest.approx(LOSS_GRADIENT, rel=1e-12)
    primitive = cli("eval", "tanh(x)", "--at", "x=0.5", "--gates", "primitive", "--format", "json").json()
    assert primitive["gradient"]["x"] == pytest.approx(1 - math.tanh(0.5) ** 2, rel=1e-12)
    run = cli("eval", "x", "--at", "x=1", "--gates", "coarse")
    assert run.code == 2 and "coarse" in run.stderr and run.stdout == ""


@pytest.mark.parametrize("op", sorted(PRIMITIVE))
def test_every_primitive_circuit_uses_only_primitive_gates_and_matches_the_op(op):
    names, text = PRIMITIVE[op]
    circuit = lower(text)
    assert not set(ops(circuit)) & set(PRIMITIVE)
    point = dict(zip(names.split(), (0.7, 1.9)))
    want = REGISTRY[op].forward(floats, *point.values())
    assert evaluate(circuit, point).value == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("pattern, replacement", FUSED)
def test_every_fused_gate_computes_its_pattern(pattern, replacement):
    graph = lower(pattern)
    for point in ({"x": 0.3, "y": 0.2, "z": -1.1}, {"x": -2.0, "y": 1.0, "z": 2.5}):
        at = {name: point[name] for name in graph.input_names}
        args = [-at[a[1]] if isinstance(a, tuple) else at[a] for a in replacement[1:]]
        want = evaluate(graph, at).value
        assert REGISTRY[replacement[0]].forward(floats, *args) == pytest.approx(want, rel=1e-12)


def test_rewriting_is_iterative_and_linear_on_deep_graphs():
    depth = 3000
    text = "x"
    for _ in range(depth):
        text = f"1/(1+exp(-({text})))"
    start = time.perf_counter()
    fused = rewrite(lower(text), "fused")
    assert ops(fused) == ["sigmoid"] * depth
    primitive = rewrite(fused, "primitive")
    assert len(ops(primitive)) == 4 * depth
    assert time.perf_counter() - start < 10
    assert evaluate(primitive, {"x": 0.5}).gradient["x"] == pytest.approx(
        evaluate(fused, {"x": 0.5}).gradient["x"], rel=1e-9)


# ---- random expressions with longhand patterns: every mode against sympy ----

X, Y = sp.Symbol("x", real=True), sp.Symbol("y", real=True)
UNARY = [
    (lambda a: f"1/(1+exp(-({a})))", sigma),
    (lambda a: f"sigmoid({a})", sigma),
    (lambda a: f"log(1+exp({a}))", lambda a: sp.log(1 + sp.exp(a))),
    (lambda a: f"softplus({a})", lambda a: sp.log(1 + sp.exp(a))),
    (lambda a: f"(exp({a})-exp(-({a})))/(exp({a})+exp(-({a})))", sp.tanh),
    (lambda a: f"tanh({a})", sp.tanh),
    (lambda a: f"log(sigmoid({a}))", lambda a: sp.log(sigma(a))),
    (lambda a: f"log(1-sigmoid({a}))", lambda a: sp.log(1 - sigma(a))),
    (lambda a: f"log(1/(1+exp(-({a}))))", lambda a: sp.log(sigma(a))),
    (lambda a: f"sinh({a})/3", lambda a: sp.sinh(a) / 3),
    (lambda a: f"cosh({a})/3", lambda a: sp.cosh(a) / 3),
]
BINARY = [
    (lambda a, b: f"({a} + {b})", lambda a, b: a + b),
    (lambda a, b: f"({a} - {b})", lambda a, b: a - b),
    (lambda a, b: f"({a}*{b})", lambda a, b: a * b),
    (lambda a, b: f"(-({a})*log(sigmoid({b})) - (1-({a}))*log(1-sigmoid({b})))",
     lambda a, b: -a * sp.log(sigma(b)) - (1 - a) * sp.log(1 - sigma(b))),
]


@st.composite
def longhand_expressions(draw):
    """Random expressions mixing longhand patterns and calls; earlier subtrees are reused, so
    some pattern intermediates have consumers elsewhere and must not be fused away."""
    pool = [("x", X), ("y", Y), ("0.5", sp.Rational(1, 2))]
    for _ in range(draw(st.integers(1, 6))):
        if draw(st.booleans()):
            text, form = draw(st.sampled_from(UNARY))
            a = draw(st.sampled_from(pool))
            pool.append((text(a[0]), form(a[1])))
        else:
            text, form = draw(st.sampled_from(BINARY))
            a, b = draw(st.sampled_from(pool)), draw(st.sampled_from(pool))
            pool.append((text(a[0], b[0]), form(a[1], b[1])))
    return pool[-1]


@settings(max_examples=120, deadline=None)
@given(longhand_expressions(), st.floats(-2, 2), st.floats(-2, 2))
def test_gradients_agree_across_modes_and_with_sympy(expression, x, y):
    text, form = expression
    written = lower(text)
    at = {name: {"x": x, "y": y}[name] for name in written.input_names}
    results = {}
    for mode in MODES:
        graph = rewrite(written, mode)
        assert graph.input_names == written.input_names and graph.output_name == written.output_name
        try:
            results[mode] = evaluate(graph, at)
        except DomainError:
            assume(False)
    symbols = {"x": X, "y": Y}
    for name in written.input_names:
        want = float(sp.diff(form, symbols[name]).subs({X: x, Y: y}).evalf(30))
        for mode, result in results.items():
            assert result.gradient[name] == pytest.approx(want, rel=1e-6, abs=1e-9), (mode, name)
    sizes = [len(ops(rewrite(written, mode))) for mode in ("fused", "written", "primitive")]
    assert sizes == sorted(sizes)
