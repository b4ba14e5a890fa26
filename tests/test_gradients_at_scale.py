"""Gradients of big random expressions against independent oracles.

Hypothesis draws expression trees up to 12 deep that use every function of the registry and
reuse subtrees (shared subexpressions). Each tree is also built, node for node, as a sympy
expression (never by parsing text) whose derivative is the oracle; where sympy would be too
slow, the oracle is a central difference computed with mpmath at 50 digits. Kinks are avoided:
an op is drawn only where it is smooth at the point (abs and relu away from 0, max without ties).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import mpmath
import sympy as sp
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gradcalc import evaluate
from gradcalc.core.autodiff import evaluate as evaluate_graph
from gradcalc.core.gates import lower_gates
from gradcalc.core.ops import BINARY, FUNCTIONS, REGISTRY
from gradcalc.errors import DomainError

mpmath.mp.dps = 50
INPUTS = ("x0", "x1", "x2", "x3")
CONSTANTS = ("2", "0.5", "3", "1.25")
MAX_DEPTH = 12
SYMPY_SIZE = 60  # trees up to this many nodes (written out) are checked against sympy.diff


@dataclass(frozen=True)
class Spec:
    """One function or operator: how to write it, its sympy and mpmath forms, where it is smooth."""

    op: str  # the registry op it lowers to
    arity: int
    text: str  # format string over the argument texts
    sympy: Callable | None  # None: kinked, so sympy gets the branch taken at the point
    mpmath: Callable
    smooth: Callable = lambda *v: True  # noqa: E731


def _between(low: float, high: float) -> Callable:
    return lambda v: low <= v <= high


def _apart(*v) -> bool:
    return all(abs(a - b) > 1e-3 for i, a in enumerate(v) for b in v[i + 1:])


_sig = lambda m: lambda z: 1 / (1 + m.exp(-z))  # noqa: E731
SPECS: dict[str, Spec] = {
    "add": Spec("add", 2, "({} + {})", lambda a, b: a + b, lambda a, b: a + b),
    "sub": Spec("sub", 2, "({} - {})", lambda a, b: a - b, lambda a, b: a - b),
    "mul": Spec("mul", 2, "({}*{})", lambda a, b: a * b, lambda a, b: a * b,
                lambda a, b: abs(a * b) <= 1e3),
    "div": Spec("div", 2, "({}/{})", lambda a, b: a / b, lambda a, b: a / b,
                lambda a, b: abs(b) >= 0.1 and abs(a / b) <= 1e3),
    "pow^": Spec("pow", 2, "({})^({})", lambda a, b: a ** b, lambda a, b: a ** b,
                 lambda a, b: a >= 0.1 and abs(b) <= 4 and a ** b <= 1e3),
    "pow**": Spec("pow", 2, "({})**({})", lambda a, b: a ** b, lambda a, b: a ** b,
                  lambda a, b: a >= 0.1 and abs(b) <= 4 and a ** b <= 1e3),
    "neg": Spec("neg", 1, "(-{})", lambda a: -a, lambda a: -a),
    "exp": Spec("exp", 1, "exp({})", sp.exp, mpmath.exp, lambda v: v <= 6),
    "log": Spec("log", 1, "log({})", sp.log, mpmath.log, lambda v: v >= 0.05),
    "ln": Spec("log", 1, "ln({})", sp.log, mpmath.log, lambda v: v >= 0.05),
    "logb": Spec("logb", 2, "log({}, {})", lambda x, b: sp.log(x) / sp.log(b),
                 lambda x, b: mpmath.log(x) / mpmath.log(b),
                 lambda x, b: x >= 0.05 and b >= 0.05 and abs(math.log(b)) >= 0.1),
    "sqrt": Spec("sqrt", 1, "sqrt({})", sp.sqrt, mpmath.sqrt, lambda v: v >= 0.05),
    "abs": Spec("abs", 1, "abs({})", None, abs, lambda v: abs(v) >= 1e-3),
    "sin": Spec("sin", 1, "sin({})", sp.sin, mpmath.sin),
    "cos": Spec("cos", 1, "cos({})", sp.cos, mpmath.cos),
    "tan": Spec("tan", 1, "tan({})", sp.tan, mpmath.tan, lambda v: abs(math.cos(v)) >= 0.2),
    "asin": Spec("asin", 1, "asin({})", sp.asin, mpmath.asin, _between(-0.9, 0.9)),
    "acos": Spec("acos", 1, "acos({})", sp.acos, mpmath.acos, _between(-0.9, 0.9)),
    "atan": Spec("atan", 1, "atan({})", sp.atan, mpmath.atan),
    "sinh": Spec("sinh", 1, "sinh({})", sp.sinh, mpmath.sinh, _between(-6, 6)),
    "cosh": Spec("cosh", 1, "cosh({})", sp.cosh, mpmath.cosh, _between(-6, 6)),
    "tanh": Spec("tanh", 1, "tanh({})", sp.tanh, mpmath.tanh),
    "sigmoid": Spec("sigmoid", 1, "sigmoid({})", _sig(sp), _sig(mpmath), _between(-30, 30)),
    "relu": Spec("relu", 1, "relu({})", None, lambda v: max(v, 0), lambda v: abs(v) >= 1e-3),
    "softplus": Spec("softplus", 1, "softplus({})", lambda v: sp.log(1 + sp.exp(v)),
                     lambda v: mpmath.log(1 + mpmath.exp(v)), _between(-30, 30)),
    "max": Spec("max", 2, "max({}, {})", None, max, _apart),
    "max3": Spec("max", 3, "max({}, {}, {})", None, max, _apart),
    "min": Spec("min", 2, "min({}, {})", None, min, _apart),
}
SMOOTH_EVERYWHERE = {1: ["sin", "atan", "tanh", "neg"], 2: ["add", "sub"]}


@dataclass(eq=False)
class Tree:
    spec: str  # a key of SPECS, or "input" / "const"
    args: tuple = ()
    text: str = ""
    value: mpmath.mpf = None
    size: int = 1  # nodes when written out, shared subtrees counted each time
    height: int = 0  # edges on the longest path down to a leaf
    key: tuple = field(default=())  # what the graph hash-conses on


def _node(name: str, args: tuple[Tree, ...]) -> Tree:
    spec = SPECS[name]
    return Tree(name, args, spec.text.format(*(a.text for a in args)),
                spec.mpmath(*(a.value for a in args)), 1 + sum(a.size for a in args),
                1 + max(a.height for a in args), (spec.op, *(a.key for a in args)))


def _constant(text: str) -> Tree:
    return Tree("const", (), text, mpmath.mpf(text), key=("const", text))


# Longhand forms that `--gates fused` turns into its stable gates, with where they are accurate
# in float64 (1 - sigmoid(z) cancels for large z).
LONGHAND = {
    "log(sigmoid(z))": (lambda z: _node("log", (_node("sigmoid", (z,)),)), _between(-30, 30)),
    "log(1-sigmoid(z))": (
        lambda z: _node("log", (_node("sub", (_constant("1"), _node("sigmoid", (z,)))),)),
        _between(-30, 2)),
}


@st.composite
def problems(draw, depths=st.integers(1, MAX_DEPTH), leaf_odds: int = 6) -> tuple[Tree, dict]:
    """A random tree at most `depths` deep, and a point where every op in it is smooth."""
    point = {name: draw(st.floats(0.1, 2.0)) * draw(st.sampled_from([1, -1])) for name in INPUTS}
    pool: list[Tree] = []

    def leaf() -> Tree:
        if draw(st.booleans()):
            name = draw(st.sampled_from(INPUTS))
            return Tree("input", (), name, mpmath.mpf(point[name]), key=("input", name))
        return _constant(draw(st.sampled_from(CONSTANTS)))

    def build(depth: int) -> Tree:
        fits = [tree for tree in pool if tree.height <= depth]
        if fits and draw(st.integers(0, 3)) == 0:
            return draw(st.sampled_from(fits))  # a shared subexpression
        if depth == 0 or draw(st.integers(1, leaf_odds)) == 1:
            return leaf()
        name = draw(st.sampled_from(sorted(SPECS) + sorted(LONGHAND)))
        if name in LONGHAND and depth >= 3:
            make, smooth = LONGHAND[name]
            z = build(depth - 3)
            tree = make(z) if smooth(float(z.value)) else _node("tanh", (z,))
        else:
            name = name if name in SPECS else "sigmoid"
            args = tuple(build(depth - 1) for _ in range(SPECS[name].arity))
            if not SPECS[name].smooth(*(float(a.value) for a in args)):
                args = args[:2]  # no op of three arguments is smooth everywhere
                name = draw(st.sampled_from(SMOOTH_EVERYWHERE[len(args)]))
            tree = _node(name, args)
        pool.append(tree)
        return tree

    root = build(draw(depths))
    assume(root.spec not in ("input", "const"))
    return root, point


def sympy_gradient(root: Tree, point: dict[str, float]) -> dict[str, float]:
    """∂root/∂input from sympy.diff of the tree built node for node, evaluated at 40 digits."""
    symbols = {name: sp.Symbol(name, real=True) for name in INPUTS}
    built: dict[int, sp.Expr] = {}

    def expr(tree: Tree) -> sp.Expr:
        if id(tree) not in built:
            if tree.spec == "input":
                built[id(tree)] = symbols[tree.text]
            elif tree.spec == "const":
                built[id(tree)] = sp.Rational(tree.text)
            elif SPECS[tree.spec].sympy is None:
                built[id(tree)] = branch(tree)
            else:
                built[id(tree)] = SPECS[tree.spec].sympy(*(expr(a) for a in tree.args))
        return built[id(tree)]

    def branch(tree: Tree) -> sp.Expr:
        """abs, relu, max and min equal one smooth branch near the point (no kinks, no ties);
        sympy's own Max of nested Max takes minutes to differentiate and evaluate."""
        args = tree.args
        if tree.spec in ("abs", "relu"):
            if args[0].value > 0:
                return expr(args[0])
            return -expr(args[0]) if tree.spec == "abs" else sp.Integer(0)
        pick = max if tree.spec.startswith("max") else min
        return expr(pick(args, key=lambda a: a.value))

    f = expr(root)
    at = {symbols[name]: sp.Float(repr(value), 40) for name, value in point.items()}
    return {name: float(sp.diff(f, s).xreplace(at).evalf(40)) for name, s in symbols.items()
            if f.has(s)}


def central_difference_gradient(root: Tree, point: dict[str, float]) -> dict[str, float]:
    """∂root/∂input by (f(x+h) - f(x-h))/2h in 50-digit arithmetic, h = 1e-20."""
    h = mpmath.mpf(10) ** -20

    def value(at: dict) -> mpmath.mpf:
        memo: dict[int, mpmath.mpf] = {}

        def of(tree: Tree):
            if id(tree) not in memo:
                if tree.spec == "input":
                    memo[id(tree)] = at[tree.text]
                elif tree.spec == "const":
                    memo[id(tree)] = mpmath.mpf(tree.text)
                else:
                    memo[id(tree)] = SPECS[tree.spec].mpmath(*(of(a) for a in tree.args))
            return memo[id(tree)]

        return of(root)

    base = {name: mpmath.mpf(v) for name, v in point.items()}
    used = _inputs(root)
    return {name: float((value({**base, name: base[name] + h}) - value({**base, name: base[name] - h}))
                        / (2 * h)) for name in used}


def _inputs(root: Tree) -> set[str]:
    seen, stack, found = set(), [root], set()
    while stack:
        tree = stack.pop()
        if id(tree) in seen:
            continue
        seen.add(id(tree))
        if tree.spec == "input":
            found.add(tree.text)
        stack.extend(tree.args)
    return found


def _distinct(root: Tree) -> int:
    """Distinct subexpressions (what hash-consing leaves): one graph node each."""
    seen_trees, keys, stack = set(), set(), [root]
    while stack:
        tree = stack.pop()
        if id(tree) not in seen_trees:
            seen_trees.add(id(tree))
            keys.add(tree.key)
            stack.extend(tree.args)
    return len(keys)


def assert_close(got: dict[str, float], want: dict[str, float], tolerance: float = 1e-9) -> None:
    """Every component within `tolerance`, relative (absolute for components below 1)."""
    for name, g in want.items():
        assert abs(got[name] - g) <= tolerance * max(abs(g), 1.0), (name, got, want)


settings_at_scale = settings(max_examples=40, deadline=None,
                             suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def test_the_generator_covers_every_function_and_operator_of_the_registry():
    used = {spec.op for spec in SPECS.values()}
    scalar = {name for name in (*FUNCTIONS.values(), *BINARY.values()) if not REGISTRY[name].vector}
    assert scalar | {"neg", "logb"} <= used  # the vector ops: tests/test_vectors.py
    assert {"ln", "pow^", "pow**"} <= set(SPECS)  # both spellings of log and of power


@settings_at_scale
@given(problems(depths=st.just(MAX_DEPTH), leaf_odds=30))
def test_twelve_deep_trees_agree_with_sympy_or_a_50_digit_central_difference(problem):
    root, point = problem
    result = evaluate(root.text, point)
    want = (sympy_gradient if root.size <= SYMPY_SIZE else central_difference_gradient)(root, point)
    assert_close({name: result.gradient[name] for name in want}, want)
    assert len(result.graph.nodes) == _distinct(root)  # shared subexpressions are one node


@settings_at_scale
@given(problems())
def test_small_trees_agree_with_sympy(problem):
    root, point = problem
    assume(root.size <= SYMPY_SIZE)
    assert_close(evaluate(root.text, point).gradient, sympy_gradient(root, point))


@settings(settings_at_scale, max_examples=30)
@given(problems())
def test_gate_modes_give_the_same_gradient(problem):
    root, point = problem
    gradients = {}
    for mode in ("written", "fused", "primitive"):
        try:
            graph = lower_gates(root.text, gates=mode)
            gradients[mode] = evaluate_graph(graph, point).gradient
        except DomainError:  # primitive circuits overflow sooner (exp in sigmoid); not a mismatch
            assume(mode == "primitive")
            return
    assert_close(gradients["fused"], gradients["written"])
    assert_close(gradients["primitive"], gradients["written"])


def test_a_twelve_deep_chain_of_every_function():
    text = "x"
    for name in ("sin", "exp", "tanh", "sigmoid", "softplus", "sqrt", "log", "atan", "cosh",
                 "asin", "sinh", "cos"):
        text = f"{name}({text} * 0.5)"
    x = sp.Symbol("x", real=True)
    chain = x
    for f in (sp.sin, sp.exp, sp.tanh, lambda z: 1 / (1 + sp.exp(-z)),
              lambda z: sp.log(1 + sp.exp(z)), sp.sqrt, sp.log, sp.atan, sp.cosh, sp.asin,
              sp.sinh, sp.cos):
        chain = f(chain * sp.Rational(1, 2))
    want = float(sp.diff(chain, x).subs(x, sp.Rational(7, 10)).evalf(30))
    assert abs(evaluate(text, {"x": 0.7}).gradient["x"] - want) <= 1e-12
