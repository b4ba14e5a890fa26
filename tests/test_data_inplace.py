"""The data engine's sweep traced down to the ufuncs (`data.inplace`): its source holds
generated names, numpy's operators, the number system's functions and the graph's constants
as floats, nothing else the user typed; it writes into arrays no later step reads; a rule it
cannot trace leaves the graph to the sweep with the registry's functions. Its numbers are
the checked loops', bit for bit: `tests/test_data_sweep.py` runs every comparison through it."""
from __future__ import annotations

import io
import re
import tokenize

import numpy as np

from gradcalc.core.graph import lower
from gradcalc.core.ops import Op, each, register, withdraw
from gradcalc.data import batch
from gradcalc.data.inplace import compile_inplace
from gradcalc.numbers import NAMES, columns

LOSS = "z = w1*x1 + w2*x2 + b; a = sigmoid(z); L = -y*log(a) - (1-y)*log(1-a)"
# Names that look like code or like the generated ones, and numbers to find in the source.
HOSTILE = ("exec = eval*os + 0.1; system = open/(getattr + 1e300*globals); "
           "run = sigmoid(compile*builtins) - log(given + 2.5) + exp(t1*f0) + tanh(out*c2); "
           "rm_rf = run*ONE + relu(ZERO - 3) + pi*e + sqrt(exec**2 + 1) + subprocess/print + abs(t7)")
GENERATED = re.compile(r"[tcf][0-9]+|given|run|out|def|return")
OPERATORS = {np.add, np.subtract, np.multiply, np.true_divide, np.negative, np.power}


def traced(source, columns_, wrt):
    graph = lower(source)
    sweep = batch.sweep(graph, columns_, wrt)
    return graph, compile_inplace(graph, columns_, wrt, sweep.returned)


def _tokens(source):
    skip = {tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER}
    return [t for t in tokenize.generate_tokens(io.StringIO(source).readline) if t.type not in skip]


def test_the_source_of_a_hostile_program_holds_generated_names_and_float_literals_only():
    graph, code = traced(HOSTILE, ("os", "getattr", "compile", "t1", "out"), ("eval", "globals", "f0"))
    assert code is not None
    for token in _tokens(code.source):
        if token.type == tokenize.NAME:
            assert GENERATED.fullmatch(token.string), token
        elif token.type == tokenize.NUMBER:  # a constant, or the constants' arithmetic (pi*e)
            assert repr(float(token.string)) == token.string, token
        else:
            assert token.type == tokenize.OP and token.string in {"(", ")", ",", "=", ":"}, token
    bound = {name: value for name, value in code.run.__globals__.items() if name != "run"}
    assert bound.pop("__builtins__") == {}
    assert bound.pop("ONE") is columns.ONE and bound.pop("ZERO") is columns.ZERO
    system = {id(getattr(columns, name)) for name in NAMES}
    assert all(fn in OPERATORS or id(fn) in system for fn in bound.values()), bound
    for word in ("exec", "eval", "os", "open", "globals", "subprocess", "print", "1e300"):
        assert word not in code.source
    assert "1e+300" in code.source and repr(np.pi * np.e) in code.source  # floats, as repr writes them


def test_the_source_depends_on_the_graph_s_shape_and_constants_alone():
    hostile = traced("exec*os + 0.5 - sigmoid(getattr)*out", ("os", "out"), ("exec", "getattr"))[1]
    plain = traced("a*b + 0.5 - sigmoid(c)*d", ("b", "d"), ("a", "c"))[1]
    assert hostile.source == plain.source


def test_new_columns_go_into_arrays_no_later_step_reads():
    """The loss as written: 22 steps after the leaves (the sigmoid is one call), 15 of them
    written into the array of a value no later step reads; `1 - a` (t16 = f5(1.0, t11), a
    being t11) is made once, for the loss and for the sigmoid's derivative a·(1 - a)."""
    _, code = traced(LOSS, ("x1", "x2", "y"), ("w1", "w2", "b"))
    lines = [line.strip() for line in code.source.splitlines()[2:-1]]
    assert len(lines) == 22 and sum("out=" in line for line in lines) == 15
    assert "t11 = f2(t10)" in lines and code.run.__globals__["f2"] is columns.sigmoid
    assert [line for line in lines if "f5(1.0, t11" in line] == ["t16 = f5(1.0, t11)"]
    assert "t25 = f0(t11, t16, out=t16)" in lines  # a·(1 - a), into 1 - a's array: its last use


def test_the_traced_sweep_gives_the_stage_by_stage_sweep_s_numbers(monkeypatch):
    """On a chunk of 5,000 rows, where every array is written into many times over."""
    graph = lower(LOSS)
    rng = np.random.default_rng(7)
    data = {"x1": rng.normal(size=5000), "x2": rng.normal(size=5000), "y": (rng.random(5000) < 0.4) * 1.0}
    params = {"w1": 0.7, "w2": -1.3, "b": 0.2}
    rows = np.arange(1, 5001)
    traced_ = batch.run(graph, data, params, rows, tuple(params))
    monkeypatch.setattr(batch, "COMPILED_NODES", 0)
    staged = batch.run(graph, data, params, rows, tuple(params))
    assert traced_.totals == staged.totals
    assert traced_.value.tobytes() == staged.value.tobytes()
    for name in params:
        assert traced_.grads[name].tobytes() == staged.grads[name].tobytes()
    z = 0.7 * data["x1"] - 1.3 * data["x2"] + 0.2  # and the lecture's formulas, to rounding
    assert np.allclose(traced_.grads["b"], 1 / (1 + np.exp(-z)) - data["y"], rtol=1e-12, atol=1e-15)


def test_a_rule_that_looks_at_its_arguments_is_not_traced_and_the_graph_is_swept_anyway():
    register(Op("ramp", lambda m, x: m.relu(x), each(lambda m, out, x: 1.0 if x > 0 else 0.0),
                calls=("ramp",)))
    try:
        graph, code = traced("ramp(w*x)*y", ("x", "y"), ("w",))
        assert code is None
        assert traced("max(x, w)*y", ("x", "y"), ("w",))[1] is None  # its rule takes all arguments
    finally:
        withdraw("ramp")
