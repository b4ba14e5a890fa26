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
from typing import Any, Sequence

from gradcalc import limits
from gradcalc.analyses.formulas import written_size
from gradcalc.core import autodiff
from gradcalc.core.graph import Graph, lower
from gradcalc.core.values import Point
from gradcalc.errors import LimitError, UsageError


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


def symbolic_gradient(source: str | Graph, *, point: Point | None = None,
                      wrt: Sequence[str] | None = None, stages: bool = False,
                      simplify: bool = False) -> SymbolicGradient:
    """∂output/∂input as sympy expressions (and ∂output/∂stage with `stages`); with a
    point, each also evaluated exactly there."""
    from gradcalc.numbers import symbolic

    graph = source if isinstance(source, Graph) else lower(source, given=point.names if point else ())
    if graph.vectorised:  # the caller unrolls a graph of known shapes (gates scalar)
        raise UsageError("grad of vectors and matrices writes the formulas of their elements, "
                         "which needs their shapes: give their values with at x=[...]").about("at")
    with limits.seconds("GRADCALC_SYMBOLIC_SECONDS", "the symbolic gradient"):
        values = None if point is None else point.read(symbolic)  # every value is checked
        kept = named_stages(graph) if stages else []
        limits.check("GRADCALC_MAX_TERMS", written_size(graph, kept),
                     "the gradient written out would have more terms than that")
        # The named stages stay symbols: forward stops at them, backward uses them.
        cut = graph.with_inputs(kept)
        symbols = {name: symbolic.symbol(name) for name in cut.input_names}
        formal = autodiff.evaluate(cut, symbols, graph.input_names if wrt is None else wrt,
                                   m=symbolic)
        exact = None if values is None else autodiff.evaluate(graph, values, wrt, m=symbolic)
        grads = autodiff.backward(graph, formal.values, symbolic)[0] if kept else formal.grads

        def formula(i: int) -> Formula:
            return Formula(graph.nodes[i].name, grads[i], exact and exact.grads[i])

        report = SymbolicGradient(graph, [formula(graph.index[name]) for name in formal.wrt],
                                  [formula(i) for i in reversed(kept)],
                                  None if exact is None else exact.at,
                                  warnings=list(exact.warnings if exact else []))
        size = _printed_size(report)
        limits.check("GRADCALC_MAX_TERMS", size, f"the formulas would print {size:,} terms")
    if simplify:
        _simplify(report)
    return report


def named_stages(graph: Graph) -> list[int]:
    """The stages the user assigned a name to (`z = ...; yhat = sigmoid(z)`), but the output."""
    return sorted(i for i in graph.named if i != graph.output)


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
