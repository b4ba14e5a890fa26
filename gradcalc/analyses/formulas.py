"""The registry's rules run on formulas: each stage as a sympy expression of the inputs, each
local rule as a formula in the names of the stages, and — before sympy builds anything — how
many terms a formula would have written out (a number system whose numbers are sizes).
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from gradcalc import limits
from gradcalc.core.autodiff import forward
from gradcalc.core.graph import Graph
from gradcalc.core.ops import REGISTRY
from gradcalc.numbers import FUNCTIONS


def expressions(graph: Graph, inputs: Mapping[str, Any]) -> list:
    """Every node's value as a sympy expression of the inputs' symbols (forward on symbols)."""
    from gradcalc.numbers import symbolic

    return forward(graph, inputs, symbolic)


def local_rules(graph: Graph, i: int) -> list:
    """Each ∂stage/∂input of node i as a formula in the names of the stages, from the registry.

    `u3 = sigmoid(u2)` gives `[u3*(1 - u3)]`; `u1 = b*c` gives `[c, b]`.
    """
    from gradcalc.numbers import symbolic

    node = graph.nodes[i]
    if not node.inputs:
        return []
    names = [graph.nodes[j] for j in node.inputs]
    args = tuple(symbolic.constant(n.text) if n.text in ("pi", "e")
                 else symbolic.number(n.text) if n.op == "const"
                 else symbolic.symbol(n.name) for n in names)
    op = REGISTRY[node.op]
    assert op.partial is not None  # a node with inputs is not a leaf
    out = symbolic.symbol(node.name)
    return [op.partial(symbolic, out, args, k) for k in range(len(args))]


class Terms(int):
    """The size of a formula; arithmetic on sizes gives the size of the combined formula."""

    cap = 1 << 62

    def _join(self, other) -> "Terms":
        return Terms(min(self.cap, int(self) + int(other) + 1))

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _join
    # int's stubs type pow by its exponent (`x**0` is the literal 1) and a modulus, which sizes lack
    __truediv__ = __rtruediv__ = __pow__ = __rpow__ = _join  # type: ignore[assignment]

    def __neg__(self) -> "Terms":
        return Terms(min(self.cap, int(self) + 1))


def _grown(*args) -> Terms:
    """A function's formula: the function itself and its arguments."""
    return Terms(1 + sum(map(int, args)))


class TermsSystem:
    """A number system whose numbers are sizes of formulas: the registry's own rules, run on
    it, tell how many terms each value and local derivative has once written out."""

    ZERO = ONE = Terms(1)

    def number(self, text: str) -> Terms:
        return Terms(1)

    def constant(self, name: str) -> Terms:
        return Terms(1)

    def isfinite(self, size: Terms) -> bool:
        return True

    def settled(self, size: Terms) -> Terms:
        return size

    def tie_share(self, out, args, index) -> Terms:
        return Terms(1 + int(out) + sum(map(int, args)))


for _name in (*FUNCTIONS, "xlogy", "step", "sign"):
    setattr(TermsSystem, _name, staticmethod(_grown))


def written_size(graph: Graph, kept: Iterable[int] = ()) -> int:
    """About how many terms the output and its gradient formulas have, written out in the
    inputs (and the `kept` stages), counted on the graph before sympy builds anything.

    Shared subexpressions count at every use, as in sympy's trees, whose cost grows so, and
    an upstream gradient in every contribution it makes; a repeated argument counts once
    (sympy writes u*u as u**2). Capped just past the limit.
    """
    Terms.cap = limits.limit("GRADCALC_MAX_TERMS") + 1
    sizes, nodes, keep = TermsSystem(), graph.nodes, set(kept)
    value = [Terms(1)] * len(nodes)
    for i, node in enumerate(nodes):
        if node.inputs and i not in keep:
            args = tuple(value[j] if j not in node.inputs[:k] else Terms(1)
                         for k, j in enumerate(node.inputs))
            fn = REGISTRY[node.op].forward
            assert fn is not None  # only the leaves have none
            value[i] = fn(sizes, *args)
    grad = [0] * len(nodes)
    grad[graph.output] = 1
    for i in range(len(nodes) - 1, -1, -1):
        if grad[i] and nodes[i].inputs:
            op, args = REGISTRY[nodes[i].op], tuple(value[j] for j in nodes[i].inputs)
            assert op.partial is not None  # a node with inputs is not a leaf
            for j, k in {j: k for k, j in enumerate(nodes[i].inputs)}.items():  # u*u: once
                local = op.partial(sizes, value[i], args, k)
                grad[j] = min(Terms.cap, grad[j] + grad[i] + int(local) + 1)
    reported = sum(grad[i] for i in (*graph.inputs, *keep))
    return min(Terms.cap, int(value[graph.output]) + reported)


