"""The compiled graph: straight-line source generated from a validated graph, and descent
steps run through it.

Two promises are held here. The source holds no text the user typed — every token is a
generated name, a registry function's generated name or Python's own punctuation and
keywords — whatever the names and numbers of the program. And a descent through it gives
the batch engine's numbers bit for bit, with the batch engine's errors and skipped rows.
"""
from __future__ import annotations

import ast
import io
import math
import re
import tokenize

import numpy as np
import pytest
from helpers import NAMES, RATIONAL, SMOOTH, expressions
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import gradcalc
from gradcalc.core.compile import (
    GENERAL,
    NEGATED_RULE,
    ONE_RULE,
    compile_graph,
    compile_sweep,
    generate,
    leaves,
    rule_kind,
)
from gradcalc.core.graph import lower
from gradcalc.core.ops import REGISTRY
from gradcalc.data import descent
from gradcalc.errors import GradcalcError
from gradcalc.numbers import columns, floats

# Names a program may use that look like code, or like the compiler's own names.
# Names a program may use that look like code, or like the compiler's own names (Python's
# keywords and dunder names are parse errors before any of this).
HOSTILE_PROGRAM = (
    "exec = eval*os + 0.1; system = open/(getattr + 1e308*globals); "
    "run = sigmoid(compile*builtins) - log(given + 2.5) + exp(m*p) + tanh(ONE*ZERO); "
    "rm_rf = run*v0 + max(g1, f_mul, d0_mul) + pi*e + sqrt(exec**2 + 1) + subprocess/print"
)
USER_ONLY = {"exec", "eval", "os", "system", "open", "getattr", "globals", "compile", "builtins",
             "rm_rf", "subprocess", "print"}
GENERATED = re.compile(r"[vg][0-9]+|given|run|m|p|ONE|ZERO")
KEYWORDS = {"def", "return", "if", "else", "is"}
PUNCTUATION = {"(", ")", "[", "]", ",", "=", ":", "*", "+"}


def _registry_function(name: str, function) -> bool:
    """A bound name is a role (`f` forward, `dK` rule for argument K) and a registry op, and
    it is bound to that op's own function."""
    for op in REGISTRY.values():
        for role in ("f", *(f"d{k}" for k in range(8))):
            if re.fullmatch(rf"{role}_({re.escape(op.name)}|op[0-9]+)_*", name):
                rules = getattr(op.partial, "rules", None)
                if role == "f" and function is op.forward:
                    return True
                if role != "f" and (rules is None or function is rules[int(role[1:])]):
                    return True
    return False


def _tokens(source: str) -> list[tokenize.TokenInfo]:
    skip = {tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER}
    return [t for t in tokenize.generate_tokens(io.StringIO(source).readline) if t.type not in skip]


def _check_source(source: str, functions: dict) -> None:
    for token in _tokens(source):
        if token.type == tokenize.NAME:
            assert GENERATED.fullmatch(token.string) or token.string in KEYWORDS or \
                (token.string in functions and _registry_function(token.string, functions[token.string])), token
        elif token.type == tokenize.NUMBER:
            assert repr(float(token.string)) == token.string, token
        else:
            assert token.type == tokenize.OP and token.string in PUNCTUATION, token


def test_the_source_of_a_hostile_program_holds_generated_names_only():
    graph = lower(HOSTILE_PROGRAM)
    source, functions = generate(graph, leaves(graph))
    _check_source(source, functions)
    words = {t.string for t in _tokens(source) if t.type == tokenize.NAME}
    assert not words & USER_ONLY
    assert "0.1" not in source and "1e308" not in source and "2.5" not in source
    assert set(functions) >= {"f_sigmoid", "f_max", "d0_mul", "d1_sub"}


SWEEP_GENERATED = re.compile(r"[vgt][0-9]+|given|run|m|ONE|ZERO")


def test_the_sweep_s_source_of_a_hostile_program_holds_generated_names_only():
    """The data engine's compiled sweep: generated names (`t3` a term or a sum of terms),
    the registry's functions bound to generated names, punctuation; nothing the user typed."""
    graph = lower(HOSTILE_PROGRAM)
    inputs = graph.input_names
    run, signs = compile_sweep(graph, columns, inputs, range(len(graph.nodes)))
    functions = {name: value for name, value in run.__globals__.items()
                 if name not in ("__builtins__", "m", "ONE", "ZERO", "run")}
    for token in _tokens(run.source):
        if token.type == tokenize.NAME:
            assert SWEEP_GENERATED.fullmatch(token.string) or token.string in {"def", "return"} or \
                (token.string in functions and _registry_function(token.string, functions[token.string])), token
        else:
            assert token.type == tokenize.OP and token.string in PUNCTUATION | {"-"}, token
    assert run.__globals__["__builtins__"] == {}
    assert len(signs) == len(inputs) and set(signs) <= {1, -1}
    assert "-1" not in run.source and "0.1" not in run.source


def test_a_rule_is_taken_for_a_constant_only_when_it_reads_no_argument():
    """The sweep skips the product by a rule of ONE and turns a rule of -ONE into a sign; a
    rule that looks at its arguments in any way is computed."""
    def kind(op, k):
        return rule_kind(REGISTRY[op].partial.rules[k], columns, REGISTRY[op].arity[0])
    assert [kind("add", 0), kind("add", 1), kind("sub", 0), kind("sub", 1), kind("neg", 0),
            kind("copy", 0)] == [ONE_RULE, ONE_RULE, ONE_RULE, NEGATED_RULE, NEGATED_RULE, ONE_RULE]
    assert [kind("mul", 0), kind("log", 0), kind("sigmoid", 0), kind("abs", 0)] == [GENERAL] * 4
    looks = [lambda m, out, x: m.ONE if x else -m.ONE, lambda m, out, x: m.ONE if x > 0 else m.ONE,
             lambda m, out, x: -m.ONE if x == 0 else m.ONE, lambda m, out, x: columns.sign(x) * 0 + m.ONE]
    assert [rule_kind(rule, columns, 1) for rule in looks] == [GENERAL] * 4


def test_the_source_depends_on_the_graph_s_shape_alone():
    """The same structure under other names and numbers gives the same source."""
    hostile = lower("exec*os + 0.1 - sigmoid(getattr)")
    plain = lower("a*b + 7 - sigmoid(c)")
    assert generate(hostile, leaves(hostile))[0] == generate(plain, leaves(plain))[0]


def test_the_source_is_straight_line_calls_of_bound_names():
    graph = lower(HOSTILE_PROGRAM)
    source, functions = generate(graph, leaves(graph))
    tree = ast.parse(source)
    (run,) = tree.body
    assert isinstance(run, ast.FunctionDef) and run.name == "run"
    allowed = (ast.FunctionDef, ast.arguments, ast.arg, ast.Assign, ast.Return, ast.Name, ast.Call,
               ast.BinOp, ast.IfExp, ast.Compare, ast.Tuple, ast.List, ast.Load, ast.Store,
               ast.Mult, ast.Add, ast.Is)
    for node in ast.walk(run):
        assert isinstance(node, allowed), ast.dump(node)
        if isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name) and node.func.id in functions


def test_the_compiled_function_sees_no_builtins():
    graph = lower("sigmoid(w*x) + 1")
    run = compile_graph(graph, floats)
    assert run.__globals__["__builtins__"] == {}
    assert set(run.__globals__) == {"__builtins__", "m", "ONE", "ZERO", "run", "f_mul", "f_sigmoid",
                                    "f_add", "d0_add", "d0_sigmoid", "d0_mul", "d1_mul"}


def test_a_keyword_or_unusual_op_name_is_not_written_into_the_source():
    from gradcalc.core.ops import Op, each, register, withdraw

    register(Op("lambda", lambda m, x: x * x, each(lambda m, out, x: 2 * x), calls=("lam",)))
    try:
        graph = lower("lam(x) + x")
        source, functions = generate(graph, leaves(graph))
        assert "lambda" not in source
        _check_source(source, functions)
        run = compile_graph(graph, floats)
        values, grads = run([3.0])
        assert values[-1] == 12.0 and grads[0] == 7.0  # x² + x at 3, and 2x + 1
    finally:
        withdraw("lambda")


def test_given_nodes_must_include_every_leaf():
    graph = lower("sigmoid(w*x) + 1")
    with pytest.raises(ValueError, match="every leaf"):
        compile_graph(graph, floats, given=[0])


# ---- numbers: the batch engine's, bit for bit ----------------------------------------------

def _descend(*args, interpreted: bool, **options):
    """gradcalc.descend through the compiled steps however few, or (interpreted) the batch
    engine alone."""
    saved = descent.MAX_NODES, descent.MIN_STEPS
    descent.MAX_NODES, descent.MIN_STEPS = (-1, saved[1]) if interpreted else (saved[0], 0)
    try:
        return gradcalc.descend(*args, **options)
    finally:
        descent.MAX_NODES, descent.MIN_STEPS = saved


def _same(a, b) -> None:
    assert a.report.at == b.report.at
    assert a.report.losses == b.report.losses
    assert a.report.history == b.report.history
    assert (a.report.loss, a.report.initial_loss, a.report.gradient) == \
        (b.report.loss, b.report.initial_loss, b.report.gradient)
    assert (a.report.skipped, a.report.warnings) == (b.report.skipped, b.report.warnings)
    for x, y in zip([a.report.loss, *a.report.at.values()], [b.report.loss, *b.report.at.values()]):
        assert math.copysign(1, x) == math.copysign(1, y)  # zeros keep their sign too


NETWORK = open("examples/network/loss.txt", encoding="utf-8").read()
NETWORK_AT = {"w10": -7.8751, "w11": -8.3499, "b10": -3.9181, "b11": 3.8380, "w20": 5.0297,
              "w21": -4.0937, "b2": 1.6347}


@pytest.mark.parametrize("options", [{"reduce": "sum"}, {"reduce": "mean"},
                                     {"reduce": "sum", "batch_size": 7, "seed": 3}])
def test_the_network_descends_as_the_batch_engine_does(options):
    data = "examples/network/data.csv"
    fast = _descend(NETWORK, data, NETWORK_AT, lr=0.1, steps=200, interpreted=False, **options)
    slow = _descend(NETWORK, data, NETWORK_AT, lr=0.1, steps=200, interpreted=True, **options)
    _same(fast, slow)


@pytest.mark.parametrize("steps, engine_calls", [(20, 0), (19, 20)])
def test_the_compiled_steps_are_taken_from_twenty_steps(monkeypatch, steps, engine_calls):
    """On a clean full-batch descent of 20 steps or more the batch engine is not called at
    all; below that compiling would cost more than it saves, and every step is the engine's
    (plus the final loss)."""
    calls = []
    engine = descent.run
    monkeypatch.setattr(descent, "run", lambda *a, **k: calls.append(1) or engine(*a, **k))
    gradcalc.descend(NETWORK, "examples/network/data.csv", NETWORK_AT, lr=0.1, steps=steps,
                     reduce="sum")
    assert len(calls) == engine_calls


def _network_by_hand(start: dict, x: np.ndarray, y: np.ndarray, lr: float, steps: int) -> dict:
    """The lecture's backpropagation for this network, written out in numpy (the oracle)."""
    p = dict(start)

    def sig(t):
        return 1 / (1 + np.exp(-t))

    for _ in range(steps):
        h1, h2 = sig(p["w10"] * x + p["b10"]), sig(p["w11"] * x + p["b11"])
        yhat = sig(p["w20"] * h1 + p["w21"] * h2 + p["b2"])
        dz = yhat - y  # ∂L/∂(the output's pre-activation), summed log loss
        d1, d2 = dz * p["w20"] * h1 * (1 - h1), dz * p["w21"] * h2 * (1 - h2)
        grads = {"w20": dz @ h1, "w21": dz @ h2, "b2": dz.sum(), "w10": d1 @ x, "b10": d1.sum(),
                 "w11": d2 @ x, "b11": d2.sum()}
        p = {k: v - lr * grads[k] for k, v in p.items()}
    return p


def test_the_network_descends_as_the_formulas_say():
    x, y = np.loadtxt("examples/network/data.csv", delimiter=",", skiprows=1, unpack=True)
    got = gradcalc.descend(NETWORK, "examples/network/data.csv", NETWORK_AT, lr=0.1, steps=50,
                           reduce="sum")
    want = _network_by_hand(NETWORK_AT, x, y, 0.1, 50)
    assert got.at == pytest.approx(want, rel=1e-10)


def test_bad_rows_are_found_by_the_batch_engine_with_its_words():
    data = {"x": [1.0, -2.0, 3.0, 0.5], "y": [1.0, 1.0, 0.0, 2.0]}
    outcomes = {}
    for on_error in ("fail", "skip"):
        for interpreted in (False, True):
            try:
                d = _descend("log(w*x) - y", data, {"w": 0.5}, lr=0.01, steps=5,
                             on_error=on_error, interpreted=interpreted)
                outcomes[on_error, interpreted] = (d.report.at, d.report.losses, d.report.skipped,
                                                   d.report.warnings)
            except GradcalcError as exc:
                outcomes[on_error, interpreted] = (type(exc).__name__, str(exc))
    assert outcomes["fail", False] == outcomes["fail", True] == \
        ("DomainError", "step 0, row 2: stage u2 = log(u1): log of a negative number (u1 = -1)")
    assert outcomes["skip", False] == outcomes["skip", True]
    at, losses, skipped, warnings = outcomes["skip", False]
    assert losses[0] == pytest.approx(np.mean(np.log(0.5 * np.array([1, 3, 0.5])) - [1, 0, 2]), rel=1e-15)
    assert (skipped, warnings) == (6, ["skipped 6 row-steps with math errors (first: row 2: stage "
                                       "u2 = log(u1): log of a negative number (u1 = -1))"])


def test_a_sum_beyond_the_largest_float_is_the_batch_engine_s():
    """Each row's loss is finite, their sum is not: the mean is still a number, the sum an error."""
    outcomes = {}
    for reduce in ("mean", "sum"):
        for interpreted in (False, True):
            try:
                d = _descend("exp(w + x)", {"x": [709.5] * 4}, {"w": 0.0}, lr=1e-320, steps=2,
                             reduce=reduce, interpreted=interpreted)
                outcomes[reduce, interpreted] = (d.report.loss, d.report.losses)
            except GradcalcError as exc:
                outcomes[reduce, interpreted] = (type(exc).__name__, str(exc))
    assert outcomes["mean", False] == outcomes["mean", True]
    assert outcomes["mean", False][1][0] == pytest.approx(math.exp(709.5), rel=1e-14)
    assert outcomes["sum", False] == outcomes["sum", True]
    assert outcomes["sum", False][0] == "DomainError"
    assert "beyond the largest float" in outcomes["sum", False][1]


@pytest.mark.parametrize("gates", ["written", "fused", "primitive"])
def test_the_logistic_loss_descends_as_the_batch_engine_does_at_every_granularity(gates):
    loss = open("examples/logistic/loss.txt", encoding="utf-8").read()
    start = {"w1": 0.0, "w2": 0.0, "b": 0.0}
    fast = _descend(loss, "examples/logistic/data.csv", start, lr=0.5, steps=100, gates=gates,
                    interpreted=False)
    slow = _descend(loss, "examples/logistic/data.csv", start, lr=0.5, steps=100, gates=gates,
                    interpreted=True)
    _same(fast, slow)


EVERY_OP = ("a*x + b - y", "(a*x - y)**2 + b**2", "exp(a*x)/(1 + exp(b*y))", "sqrt(1 + (a*x)^2)",
            "log(1 + exp(a*x + b)) - y*(a*x + b)", "tanh(a*x) + sin(b) * cos(y) + atan(a)",
            "abs(a*x - y) + relu(b*x)", "max(a*x, y, b) - min(a, b*y)", "x^a + log(2 + x, 3)",
            "sinh(a)*cosh(b) + asin(sigmoid(a*x)) - acos(0.5*tanh(b))", "softplus(a*x) + tan(0.1*b)",
            "w = a*x; w = w*w + a; w/(1 + b^2) - pi*e", "c = a; c*x - y")


@pytest.mark.parametrize("loss", EVERY_OP)
@pytest.mark.parametrize("options", [{}, {"batch_size": 3, "seed": 1}])
def test_every_op_descends_as_the_batch_engine_does(loss, options):
    rng = np.random.default_rng(7)
    data = {"x": rng.uniform(0.1, 2, 10).tolist(), "y": rng.uniform(-1, 1, 10).tolist()}
    fast = _descend(loss, data, {"a": 0.3, "b": -0.2}, lr=0.05, steps=20, interpreted=False, **options)
    slow = _descend(loss, data, {"a": 0.3, "b": -0.2}, lr=0.05, steps=20, interpreted=True, **options)
    _same(fast, slow)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions(unary=SMOOTH, size=6, binary=RATIONAL),
       st.lists(st.floats(-3, 3), min_size=len(NAMES), max_size=len(NAMES)),
       st.sampled_from(["mean", "sum"]))
def test_random_losses_descend_as_the_batch_engine_does(tree, start, reduce):
    text, _ = tree
    rng = np.random.default_rng(0)
    data = {"x": rng.uniform(-2, 2, 6).tolist()}
    params = dict(zip(NAMES[1:], start))  # x is the column; y and z are trained
    used = [name for name in params if re.search(rf"\b{name}\b", text)]
    assume(used)  # something to train
    outcomes = []
    for interpreted in (False, True):
        try:
            d = _descend(text, data, {k: params[k] for k in used}, lr=0.01, steps=4, reduce=reduce,
                         interpreted=interpreted)
            outcomes.append((d.report.at, d.report.losses, d.report.loss, d.report.gradient))
        except GradcalcError as exc:
            outcomes.append((type(exc), str(exc)))
    assert outcomes[0] == outcomes[1]


def test_compiled_columns_match_the_batch_engine_node_by_node():
    """The generated function's values and gradients are the batch engine's for every node."""
    from gradcalc.data.batch import run

    graph = lower(NETWORK)
    x, y = np.loadtxt("examples/network/data.csv", delimiter=",", skiprows=1, unpack=True)
    env = {"x": x, "y": y, **{k: np.float64(v) for k, v in NETWORK_AT.items()}}
    given_values = [env[graph.nodes[i].name] if graph.nodes[i].op == "input" else np.float64(1.0)
                    for i in leaves(graph)]
    with np.errstate(all="ignore"):
        values, grads = compile_graph(graph, columns)(given_values)
    batch = run(graph, {"x": x, "y": y}, NETWORK_AT, np.arange(len(x)), tuple(NETWORK_AT))
    assert np.array_equal(values[graph.output], batch.value)
    for name in NETWORK_AT:
        assert np.array_equal(grads[graph.index[name]] + 0.0, batch.grads[name])
