"""`gradcalc grad`: the gradient as formulas, by reverse accumulation on sympy expressions.

The backward pass of autodiff runs on the sympy number system with the inputs as symbols,
so each partial derivative is built from the registry's own local rules, the way backprop
builds it — not by differentiating a flattened expression. With `stages`, the stages the
user named are symbols too, so the rules read as the seeds derive them: through a sigmoid
`yhat`, the log loss gives ∂L/∂z = yhat − y (after --simplify). With values, each formula is
also evaluated exactly (the `--exact` evaluation of the same graph).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from . import autodiff, limits
from .errors import LimitError
from .graph import Graph, lower


@dataclass
class Formula:
    name: str  # the input or stage the output is differentiated by
    expression: Any  # sympy
    value: Any = None  # exact value at the point, when values were given


@dataclass
class SymbolicGradient:
    graph: Graph
    inputs: list[Formula]
    stages: list[Formula]  # ∂output/∂stage for each named stage, output first (with `stages`)
    at: dict[str, Any] | None  # the point's exact values, when given
    simplified: bool = False
    warnings: list[str] = field(default_factory=list)


def symbolic_gradient(source: str, wrt: Sequence[str] | None = None, stages: bool = False,
                      simplify: bool = False, at_options: Iterable[str] = ()
                      ) -> tuple[SymbolicGradient, list[str]]:
    """∂output/∂input as sympy expressions (and ∂output/∂stage with `stages`); also the
    --at names the expression does not use."""
    from . import symbolic

    with limits.seconds("GRADCALC_SYMBOLIC_SECONDS", "the symbolic gradient"):
        graph, point, unused = lower(source), None, []
        if at_options:
            from .api import prepare_text

            graph, point, unused = prepare_text(source, at_options, m=symbolic)
        kept = named_stages(graph) if stages else []
        limits.check("GRADCALC_MAX_TERMS", written_size(graph, kept),
                     "the gradient written out would have more terms than that")
        # The named stages stay symbols: forward stops at them, backward uses them.
        cut = graph.with_inputs(kept)
        symbols = {name: symbolic.symbol(name) for name in cut.input_names}
        formal = autodiff.evaluate(cut, symbols, graph.input_names if wrt is None else wrt,
                                   m=symbolic)
        exact = None if point is None else autodiff.evaluate(graph, point, wrt, m=symbolic)
        grads = autodiff.backward(graph, formal.values, symbolic)[0] if kept else formal.grads

        def formula(i: int) -> Formula:
            return Formula(graph.nodes[i].name, grads[i], exact and exact.grads[i])

        report = SymbolicGradient(graph, [formula(graph.index[name]) for name in formal.wrt],
                                  [formula(i) for i in reversed(kept)],
                                  exact and exact.at, warnings=list(exact.warnings if exact else []))
        size = _printed_size(report)
        limits.check("GRADCALC_MAX_TERMS", size, f"the formulas would print {size:,} terms")
    if simplify:
        _simplify(report)
    return report, unused


def named_stages(graph: Graph) -> list[int]:
    """The stages the user assigned a name to (`z = ...; yhat = sigmoid(z)`), but the output."""
    from .parse import parse

    targets = {s.target for s in parse(graph.source).statements if s.target}
    return [i for i in graph.operations
            if i != graph.output and graph.nodes[i].name.split("'")[0] in targets]


class _Terms(int):
    """The size of a formula; arithmetic on sizes gives the size of the combined formula."""

    cap = 1 << 62

    def _join(self, other) -> "_Terms":
        return _Terms(min(self.cap, int(self) + int(other) + 1))

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _join
    __truediv__ = __rtruediv__ = __pow__ = __rpow__ = _join

    def __neg__(self) -> "_Terms":
        return _Terms(min(self.cap, int(self) + 1))


class _TermsSystem:
    """A number system whose numbers are sizes of formulas: the registry's own rules, run on
    it, tell how many terms each value and local derivative has once written out."""

    ZERO = ONE = _Terms(1)

    def tie_share(self, out, args, index) -> _Terms:
        return _Terms(1 + int(out) + sum(map(int, args)))

    def __getattr__(self, name: str):  # every other function: itself and its arguments
        return lambda *args: _Terms(1 + sum(map(int, args)))


def written_size(graph: Graph, kept: Iterable[int] = ()) -> int:
    """About how many terms the output and its gradient formulas have, written out in the
    inputs (and the `kept` stages), counted on the graph before sympy builds anything.

    Shared subexpressions count at every use, as in sympy's trees, whose cost grows so, and
    an upstream gradient in every contribution it makes; a repeated argument counts once
    (sympy writes u*u as u**2). Capped just past the limit.
    """
    from .ops import REGISTRY

    _Terms.cap = limits.limit("GRADCALC_MAX_TERMS") + 1
    sizes, nodes, keep = _TermsSystem(), graph.nodes, set(kept)
    value = [_Terms(1)] * len(nodes)
    for i, node in enumerate(nodes):
        if node.inputs and i not in keep:
            args = [value[j] if j not in node.inputs[:k] else _Terms(1)
                    for k, j in enumerate(node.inputs)]
            value[i] = REGISTRY[node.op].forward(sizes, *args)
    grad = [0] * len(nodes)
    grad[graph.output] = 1
    for i in range(len(nodes) - 1, -1, -1):
        if grad[i] and nodes[i].inputs:
            op, args = REGISTRY[nodes[i].op], tuple(value[j] for j in nodes[i].inputs)
            for j, k in {j: k for k, j in enumerate(nodes[i].inputs)}.items():  # u*u: once
                local = op.partial(sizes, value[i], args, k)
                grad[j] = min(_Terms.cap, grad[j] + grad[i] + int(local) + 1)
    reported = sum(grad[i] for i in (*graph.inputs, *keep))
    return min(_Terms.cap, int(value[graph.output]) + reported)


def _printed_size(report: SymbolicGradient) -> int:
    """How many terms the formulas print as: shared subexpressions count at every use."""
    sizes: dict[int, int] = {}

    def size(expr) -> int:
        stack = [expr]
        while stack:  # iteratively, post-order: a deep formula must not overflow the stack
            node = stack[-1]
            pending = [a for a in node.args if id(a) not in sizes]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            sizes[id(node)] = 1 + sum(sizes[id(a)] for a in node.args)
        return sizes[id(expr)]

    return sum(size(f.expression) for f in report.inputs + report.stages)


def _simplify(report: SymbolicGradient) -> None:
    """sympy's simplify, formula by formula (and value), for at most GRADCALC_SIMPLIFY_SECONDS
    in all; what is left when time runs out stays as built, with a warning."""
    import sympy as sp

    formulas = report.stages + report.inputs
    done = 0
    try:
        with limits.seconds("GRADCALC_SIMPLIFY_SECONDS", "simplification"):
            for formula in formulas:
                formula.expression = sp.simplify(formula.expression)
                if formula.value is not None:
                    formula.value = sp.simplify(formula.value)
                done += 1
    except LimitError as exc:
        left = ", ".join(f.name for f in formulas[done:])
        report.warnings.append(f"{exc}; ∂{report.graph.output_name}/∂({left}) shown unsimplified")
    report.simplified = done == len(formulas)
