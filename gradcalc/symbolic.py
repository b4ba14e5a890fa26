"""The sympy number system: the same registry, run on sympy objects.

Used for printing local rules as formulas, and as the base of exact arithmetic. sympy is
imported only when this module is, never on the float path.
"""
from __future__ import annotations

import sympy as sp

from .graph import Graph
from .ops import REGISTRY

ZERO = sp.Integer(0)
ONE = sp.Integer(1)

exp, log, sqrt = sp.exp, sp.log, sp.sqrt
sin, cos, tan, asin, acos, atan = sp.sin, sp.cos, sp.tan, sp.asin, sp.acos, sp.atan
sinh, cosh, tanh = sp.sinh, sp.cosh, sp.tanh
abs, max, min, sign = sp.Abs, sp.Max, sp.Min, sp.sign  # noqa: A001
pi, e = sp.pi, sp.E


def number(text: str):
    """A literal as an exact rational: 0.1 is 1/10."""
    return sp.Rational(text)


def constant(name: str):
    return {"pi": sp.pi, "e": sp.E}[name]


def isfinite(value) -> bool:
    return value.is_finite is not False and not value.has(sp.nan, sp.zoo, sp.oo, -sp.oo)


def pow(base, exponent):  # noqa: A001
    return base ** exponent


def xlogy(x, y):
    return x * sp.log(y)


def sigmoid(x):
    return 1 / (1 + sp.exp(-x))


def softplus(x):
    return sp.log(1 + sp.exp(x))


def log_sigmoid(x):
    return -sp.log(1 + sp.exp(-x))


def relu(x):
    return sp.Max(x, 0)


def step(x):
    return sp.Heaviside(x, 0)


def tie_share(out, args, index):
    ties = sp.Add(*[sp.Piecewise((1, sp.Eq(a, out)), (0, True)) for a in args])
    return sp.Piecewise((1 / ties, sp.Eq(args[index], out)), (0, True))


def symbol(name: str) -> sp.Symbol:
    return sp.Symbol(name, real=True)


def local_rules(graph: Graph, i: int) -> list:
    """Each ∂stage/∂input of node i as a formula in the names of the stages, from the registry.

    `u3 = sigmoid(u2)` gives `[u3*(1 - u3)]`; `u1 = b*c` gives `[c, b]`.
    """
    import sys

    node = graph.nodes[i]
    if not node.inputs:
        return []
    names = [graph.nodes[j] for j in node.inputs]
    args = tuple(constant(n.text) if n.text in ("pi", "e") else number(n.text) if n.op == "const"
                 else symbol(n.name) for n in names)
    op = REGISTRY[node.op]
    this = sys.modules[__name__]
    out = symbol(node.name)
    return [op.partial(this, out, args, k) for k in range(len(args))]
