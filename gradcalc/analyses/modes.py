"""eval and trace in the number system asked for: float64, exact (`exact=True`) or N confirmed
digits (`digits=N`), with second derivatives (`hessian=True`) on request.

Each mode is the same graph, registry and autodiff run on another namespace
(gradcalc.numbers.symbolic, gradcalc.numbers.precise, or dual numbers over either), and
names the renderer that shows its numbers.
"""
from __future__ import annotations

from typing import Any, NamedTuple, Sequence

from gradcalc.core import autodiff
from gradcalc.core.graph import Graph
from gradcalc.core.values import Point
from gradcalc.errors import UsageError


class OnElements(NamedTuple):
    """A result computed on the scalar circuit of vectors' and matrices' elements, and the
    shapes of the arrays among its inputs (the renderers fold the elements back)."""

    result: Any
    shapes: dict[str, tuple[int, ...]]


class Evaluation(NamedTuple):
    renderer: str  # a command of gradcalc.render.RENDERERS: "eval --exact", "trace --digits"...
    shown: Any  # what that renderer takes: a Result, digits.Decimals or hessian.Hessian
    warnings: list[str]


def compute(command: str, graph: Graph, point: Point, *, wrt: Sequence[str] | None = None,
             exact: bool = False, digits: int | None = None, hessian: bool = False,
             steps: bool = False, exact_arrays: Any = None) -> Evaluation:
    """`command` is eval or trace; `exact` and `digits` exclude each other; `steps`: the
    output shows the backward pass step by step (trace's table), so its digits are confirmed.
    `exact_arrays`: the number system of exact vectors and matrices, given by the caller
    (gradcalc.numbers.exact_arrays: numpy stays out of this layer)."""
    if exact and digits is not None:
        raise UsageError("exact and digits exclude each other: exact values have every digit")
    if graph.vectorised and (hessian or digits is not None):
        return _on_elements(command, graph, point, wrt=wrt, exact=exact, digits=digits,
                            hessian=hessian, steps=steps)
    exact_vectors = (graph.vectorised or point.shaped) and exact and not hessian and digits is None
    if graph.vectorised and not (exact_vectors and exact_arrays is not None):
        mode = "hessian" if hessian else "digits" if digits is not None else "exact"
        raise autodiff.vectors_refused(graph, mode).about(mode)
    if hessian and digits is not None:
        raise UsageError("hessian works with float64 or exact values, not with digits")
    if digits is not None:
        from gradcalc.analyses.digits import evaluate_digits

        shown = "point" if command == "eval" else "steps" if steps else "stages"
        decimals = evaluate_digits(graph, point, digits=digits, wrt=wrt, shown=shown)
        return Evaluation(f"{command} --digits", decimals, decimals.warnings)
    from gradcalc.numbers import floats

    m: Any = floats
    if exact_vectors and exact_arrays is not None:
        m = exact_arrays
    elif exact:
        from gradcalc.numbers import symbolic as m
    values = point.read(m)  # every value is checked, used or not
    result = autodiff.evaluate(graph, values, wrt, m=m)
    if hessian:
        from gradcalc.analyses.hessian import Hessian
        from gradcalc.analyses.hessian import hessian as second_derivatives

        matrix = second_derivatives(graph, values, result.wrt, m)
        return Evaluation("eval --hessian", Hessian(result, matrix, exact), result.warnings)
    return Evaluation(f"{command} --exact" if exact else command, result, result.warnings)


def _on_elements(command: str, graph: Graph, point: Point, *, wrt: Sequence[str] | None,
                 **modes: Any) -> Evaluation:
    """The Hessian and N digits of vectors and matrices: computed on the scalar circuit of
    their elements (as gates scalar unrolls it), the Hessian over the flattened inputs,
    and reported by the arrays' shapes (`shapes`: the renderers fold the elements back)."""
    from gradcalc.core.unroll import element_inputs, unroll

    if command != "eval":
        raise UsageError("digits on a trace of vectors and matrices: trace their scalar circuit "
                         "with gates scalar, or evaluate (eval gives the value and the gradient "
                         "to N digits as arrays)").about("digits", "gates")
    shapes = dict(point.shapes)
    scalar = unroll(graph, shapes)
    elements = None if wrt is None else element_inputs(wrt, shapes, scalar.input_names)
    evaluation = compute(command, scalar, point.fitted(scalar), wrt=elements, **modes)
    evaluation.shown.shapes = shapes
    return evaluation


def compute_outputs(command: str, graph: Graph, point: Point, *, wrt: Sequence[str] | None = None,
                    exact: bool = False, digits: int | None = None, steps: bool = False) -> Evaluation:
    """`compute` for each of the graph's outputs, seeded at it: the rows of the Jacobian,
    and for trace one backward pass per output."""
    from gradcalc.analyses.jacobian import Outputs

    if graph.vectorised or point.shaped:
        if command != "eval":
            raise UsageError("a trace of several outputs that are vectors or matrices: trace one "
                             "output with seed_output NAME, or its scalar circuit with gates scalar; eval "
                             "gives their Jacobian").about("seed_output", "gates")
        scalar, fitted, elements, shapes = on_elements(graph, point, wrt)
        evaluation = compute_outputs(command, scalar, fitted, wrt=elements, exact=exact,
                                     digits=digits, steps=steps)
        evaluation.shown.shapes = shapes
        return evaluation
    rows, warnings = [], []
    for i in graph.outputs:
        evaluation = compute(command, graph.seeded_at(i), point, wrt=wrt, exact=exact,
                             digits=digits, steps=steps)
        rows.append(evaluation.shown)
        warnings += evaluation.warnings
    number = "exact" if exact else "float" if digits is None else "digits"
    return Evaluation(f"{command} --outputs", Outputs(graph, rows, number), list(dict.fromkeys(warnings)))


def on_elements(graph: Graph, point: Point, wrt: Sequence[str] | None
                ) -> tuple[Graph, Point, tuple[str, ...] | None, dict[str, tuple[int, ...]]]:
    """The scalar circuit of a graph of vectors and matrices with every element of its outputs
    an output, the point and `wrt` in its elements, and the shapes of the arrays among the
    inputs and the outputs (what folds the elements back)."""
    from gradcalc.core.unroll import element_inputs, unroll_outputs

    shapes = dict(point.shapes)
    scalar, output_shapes = unroll_outputs(graph, shapes)
    elements = None if wrt is None else element_inputs(wrt, shapes, scalar.input_names)
    return scalar, point.fitted(scalar), elements, {**shapes, **output_shapes}


def jacobian_at(graph: Graph, point: Point, *, wrt: Sequence[str] | None = None,
                mode: str = "auto", m: Any = None) -> Any:
    """The Jacobian at the point, in number system `m` (floats by default); of vectors and
    matrices over the flattened inputs and outputs, on the scalar circuit of their elements."""
    from gradcalc.analyses.jacobian import jacobian
    from gradcalc.numbers import floats

    m = floats if m is None else m
    if not (graph.vectorised or point.shaped):
        return jacobian(graph, point.read(m), wrt=wrt, mode=mode, m=m)
    scalar, fitted, elements, shapes = on_elements(graph, point, wrt)
    computed = jacobian(scalar, fitted.read(m), wrt=elements, mode=mode, m=m)
    computed.shapes = shapes
    return computed


def ieee_on_elements(graph: Graph, point: Point, wrt: Sequence[str] | None = None) -> Evaluation:
    """Value and gradient of vectors and matrices with inf and nan flowing through as IEEE
    arithmetic has them: on the scalar circuit of their elements, one warning per stage of it."""
    from gradcalc.core.unroll import element_inputs, unroll

    shapes = dict(point.shapes)
    scalar = unroll(graph, shapes)
    elements = None if wrt is None else element_inputs(wrt, shapes, scalar.input_names)
    result = autodiff.evaluate(scalar, point.fitted(scalar).read(), elements, nonfinite="ieee")
    return Evaluation("eval --elements", OnElements(result, shapes), result.warnings)
