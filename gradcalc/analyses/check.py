"""`gradcalc check`: the backpropagated gradient against two oracles that do not use it.

For every input: a central finite difference refined by Richardson extrapolation (Ridders'
method, which also estimates its own error), and sympy's derivative of the whole expression
evaluated exactly at the point. With `stages=True`, every stage too: ∂output/∂stage against
a finite difference that perturbs the stage's value and re-runs only the graph downstream of
it. Neither oracle calls a local derivative rule of the registry, so a wrong rule shows up
as a mismatch.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Callable, NamedTuple, Sequence

from gradcalc import limits
from gradcalc.errors import GradcalcError, LimitError, listed

if TYPE_CHECKING:  # the CLI imports this module for its tolerances: no evaluation code here
    from gradcalc.core.autodiff import Result
    from gradcalc.core.graph import Graph
    from gradcalc.core.values import Point

RTOL = 1e-6  # default relative tolerance: the oracles are good to about 1e-10
ATOL = 1e-9  # default absolute tolerance, for gradients that are 0


class Row(NamedTuple):  # tuples, not dataclasses: the CLI imports this module at start-up
    """One gradient and its oracles; `symbolic` is None for stages (and if sympy gave up)."""

    name: str
    backprop: float
    finite_difference: float | None
    fd_error: float | None  # Ridders' estimate of the finite difference's own error
    symbolic: float | None = None
    status: str = "ok"  # ok, mismatch, kink (at a non-differentiable point: not judged), unchecked

    @property
    def rel_error_fd(self) -> float | None:
        return relative_error(self.backprop, self.finite_difference)

    @property
    def rel_error_symbolic(self) -> float | None:
        return relative_error(self.backprop, self.symbolic)


class Check(NamedTuple):
    result: Result
    inputs: list[Row]
    stages: list[Row]
    rtol: float
    atol: float
    warnings: list[str]

    @property
    def mismatches(self) -> list[Row]:
        return [row for row in self.inputs + self.stages if row.status == "mismatch"]

    @property
    def agree(self) -> bool:
        return not self.mismatches


def verdict(report: Check) -> str:
    """One line: how many of the gradients judged agree, within which tolerances, and which
    were not judged (at a kink, or without an oracle): a verdict never covers a row it did
    not judge."""
    rows = report.inputs + report.stages
    judged = sum(1 for row in rows if row.status in ("ok", "mismatch"))
    skipped = _not_judged(rows)
    if not judged:
        return "no gradient judged: " + "; ".join(skipped)
    tolerance = f"rtol {report.rtol:g}, atol {report.atol:g}"
    wrong = len(report.mismatches)
    if wrong:
        said = f"{wrong:,} of {_gradients(judged)} {_agree(wrong, 'disagree')}"
    elif judged == 1 or skipped:
        said = f"{_gradients(judged)} {_agree(judged, 'agree')}"
    else:
        said = f"all {_gradients(judged)} {_agree(judged, 'agree')}"
    return "; ".join([f"{said} ({tolerance})", *(f"{note}, not judged" for note in skipped)])


def _agree(n: int, verb: str) -> str:
    return f"{verb}s with its oracles" if n == 1 else f"{verb} with their oracles"


def _not_judged(rows: list[Row]) -> list[str]:
    """`x is at a kink`, `y, z have no oracle`: the rows not judged, by reason."""
    notes = []
    for status, one, many in (("kink", "is at a kink", "are at a kink"),
                              ("unchecked", "has no oracle", "have no oracle")):
        names = [row.name for row in rows if row.status == status]
        if names:
            shown = ", ".join(names[:5]) + (f" and {len(names) - 5:,} more" if len(names) > 5 else "")
            notes.append(f"{shown} {one if len(names) == 1 else many}")
    return notes


def _gradients(n: int) -> str:
    return f"{n:,} gradient{'' if n == 1 else 's'}"


def relative_error(a: float, b: float | None) -> float | None:
    """|a − b| / max(|a|, |b|): 0 when both are 0."""
    if b is None:
        return None
    scale = max(abs(a), abs(b))
    return abs(a - b) / scale if scale else 0.0


def check(graph: Graph, point: Point, *, wrt: Sequence[str] | None = None,
          stages: bool = False, rtol: float = RTOL, atol: float = ATOL, m: Any = None) -> Check:
    """Compare backprop with finite differences and sympy at the point; `m` is the number
    system (the array system for vectors and matrices: each element is perturbed)."""
    from gradcalc.core import autodiff
    from gradcalc.numbers import floats

    m = floats if m is None else m
    values = point.read(m)  # every value is checked, used or not
    result = autodiff.evaluate(graph, values, wrt, m=m)
    checked = _checked_stages(graph) if stages else []
    if result.shapes is not None:
        return _check_elements(result, checked, rtol, atol, m)
    work = _stage_work(graph, checked)
    limits.check("GRADCALC_MAX_CHECK_WORK", work,
                 f"checking {len(checked):,} stages would re-run {work:,} stages in all")
    warnings: list[str] = []
    symbolic = _symbolic_gradient(graph, point, result.wrt, warnings)
    judge = lambda row: row._replace(status=_judge(row, rtol, atol, bool(result.warnings)))  # noqa: E731
    consumers = _consumers(graph)
    inputs = [judge(Row(name, result.grads[i], *_finite_difference(result, i, consumers, warnings),
                        symbolic.get(name)))
              for name, i in ((name, graph.index[name]) for name in result.wrt)]
    staged = [judge(Row(graph.nodes[i].name, result.grads[i],
                        *_finite_difference(result, i, consumers, warnings)))
              for i in checked]
    unreliable = [row.name for row in inputs if _fd_unreliable(row, rtol, atol)]
    if unreliable:
        warnings.append(f"the finite difference is unreliable at this point for {listed(unreliable)}: "
                        "it disagrees with sympy's exact derivative, so those gradients are judged "
                        "against sympy alone")
    if any(row.status == "kink" for row in inputs + staged):
        warnings.append("the point is at a non-differentiable kink: gradcalc uses the min-norm "
                        "subgradient there, which the oracles need not match; rows that differ "
                        "are marked 'kink' and not judged")
    return Check(result, inputs, staged, rtol, atol, warnings)


def _check_elements(result: Result, checked: list[int], rtol: float, atol: float, m: Any) -> Check:
    """Vectors and matrices: every element of every input (and stage) against a finite
    difference that perturbs that element alone; sympy has no column here."""
    graph, shapes = result.graph, result.shapes
    assert shapes is not None
    items = [graph.index[name] for name in result.wrt]
    work = sum(_size(shapes[i]) * max(graph.output - i, 1) for i in items + checked)
    limits.check("GRADCALC_MAX_CHECK_WORK", work,
                 f"perturbing every element would re-run {work:,} stages in all")
    warnings = ["no symbolic column for vectors and matrices: each element is judged against "
                "its finite difference"]
    consumers = _consumers(graph)
    kinks = bool(result.warnings)
    rows = {i: [row._replace(status=_judge(row, rtol, atol, kinks))
                for row in _element_rows(result, i, consumers, warnings, m)] for i in items + checked}
    inputs = [row for i in items for row in rows[i]]
    staged = [row for i in checked for row in rows[i]]
    if any(row.status == "kink" for row in inputs + staged):
        warnings.append("the point is at a non-differentiable kink: gradcalc uses the min-norm "
                        "subgradient there, which the oracles need not match; rows that differ "
                        "are marked 'kink' and not judged")
    return Check(result, inputs, staged, rtol, atol, warnings)


def _element_rows(result: Result, i: int, consumers: list[list[int]], warnings: list[str],
                  m: Any) -> list[Row]:
    """One row per element of node i: `W[1, 2]`, its backprop gradient and finite difference."""
    from gradcalc.core.autodiff import element_text

    shape = m.shape(result.values[i])
    f = _downstream(result, i, consumers, m)
    name, value, grads = result.graph.nodes[i].name, result.values[i], m.flat(result.grads[i])
    rows = []
    for flat in range(_size(shape)):
        def of_element(v: float, flat: int = flat) -> float:
            return f(m.replaced(value, flat, v))
        x, element = float(m.flat(value)[flat]), f"{name}{element_text(tuple(shape), flat)}"
        rows.append(Row(element, float(grads[flat]), *_estimate(of_element, x, element, warnings)))
    return rows


def _size(shape: Sequence[int]) -> int:
    return math.prod(shape)


def _checked_stages(graph: Graph) -> list[int]:
    """Every stage whose gradient is computed and not trivially 1 (the output)."""
    return [i for i in graph.operations
            if graph.varying[i] and graph.live[i] and i != graph.output]


def _stage_work(graph: Graph, stages: Sequence[int]) -> int:
    """What checking the stages costs, counted before it starts: each re-runs at most the
    stages after it, tens of times (a chain of n stages costs about n²/2)."""
    return sum(graph.output - i for i in stages)


def _close(value: float, reference: float, rtol: float, atol: float, slack: float = 0.0) -> bool:
    return abs(value - reference) <= atol + rtol * abs(reference) + slack


def _judge(row: Row, rtol: float, atol: float, kinks: bool) -> str:
    """sympy's exact derivative, where there is one, is the oracle to trust; otherwise the
    finite difference within its own error estimate. A finite difference can be wrong where
    the function turns fast (sin(2000*x)); an exact derivative cannot."""
    if row.symbolic is not None:
        reference, slack = row.symbolic, 0.0
    elif row.finite_difference is not None:
        reference, slack = row.finite_difference, row.fd_error or 0.0
    else:
        return "unchecked"
    if _close(row.backprop, reference, rtol, atol, slack):
        return "ok"
    return "kink" if kinks else "mismatch"


def _fd_unreliable(row: Row, rtol: float, atol: float) -> bool:
    """The two oracles disagree with each other, and the exact one is right by definition."""
    return (row.symbolic is not None and row.finite_difference is not None
            and not _close(row.finite_difference, row.symbolic, rtol, atol, row.fd_error or 0.0))


# --- finite differences -------------------------------------------------------------------

_STARTS = 4  # first steps of Ridders' method tried, each 100 times smaller than the last
_AGREE = 1e-9  # relative difference of two estimates that counts as agreement


def _finite_difference(result: Result, i: int, consumers: list[list[int]],
                       warnings: list[str]) -> tuple[float | None, float | None]:
    """d output / d node i, by perturbing node i's value and re-running what depends on it."""
    return _estimate(_downstream(result, i, consumers), result.values[i],
                     result.graph.nodes[i].name, warnings)


def _estimate(f: Callable[[float], float], x: float, name: str,
              warnings: list[str]) -> tuple[float | None, float | None]:
    """Ridders' estimate of f'(x) from the first steps that stay in f's domain."""
    step = 0.01 * max(abs(x), 1.0)
    found: list[tuple[float, float]] = []
    for _ in range(8):  # a big first step may leave the domain (log(x) at x = 0.001): shrink it
        try:
            found.append(ridders(f, x, step))
        except GradcalcError:
            pass
        if len(found) == _STARTS:
            break
        step /= 100 if found else 10
    if not found:
        warnings.append(f"no finite difference for {name}: the output is "
                        "undefined at every step tried around the point")
        return None, None
    return _most_certain(found)


def _agreeing(found: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The estimates from neighbouring first steps that agree within their error estimates
    (Ridders' estimate is rough: twice it, or 1e-9 relative, counts as agreement)."""
    return [min(a, b, key=lambda estimate: estimate[1]) for a, b in zip(found, found[1:])
            if abs(a[0] - b[0]) <= 2 * (a[1] + b[1]) + _AGREE * max(abs(a[0]), abs(b[0]))]


def _most_certain(found: list[tuple[float, float]]) -> tuple[float, float]:
    """The estimate confirmed from two first steps with the smallest error; when no two agree
    (the function turns faster than every step tried), the smallest error, widened to the
    spread of all the estimates: an estimate that is not confirmed blames nothing."""
    agreeing = _agreeing(found)
    if agreeing:
        return min(agreeing, key=lambda estimate: estimate[1])
    value, error = min(found, key=lambda estimate: estimate[1])
    spread = max(v for v, _ in found) - min(v for v, _ in found)
    return value, max(error, spread)


def _consumers(graph: Graph) -> list[list[int]]:
    """For each node, the nodes that take it as an input."""
    consumers: list[list[int]] = [[] for _ in graph.nodes]
    for k, node in enumerate(graph.nodes):
        for j in set(node.inputs):
            consumers[j].append(k)
    return consumers


def _downstream(result: Result, i: int, consumers: list[list[int]], m: Any = None) -> Callable[[Any], float]:
    """The output as a function of node i's value, everything not downstream of i held fixed.

    The function runs a graph of the downstream stages alone, whose other arguments are inputs
    holding their values: its cost is the size of what depends on node i, not of the graph.
    """
    from gradcalc.core import autodiff
    from gradcalc.core.graph import Graph, Node

    graph = result.graph
    affected, seen = [], {i}
    frontier = [i]
    while frontier:
        for k in consumers[frontier.pop()]:
            if k not in seen:
                seen.add(k)
                affected.append(k)
                frontier.append(k)
    if graph.output not in seen:  # (an input only a stage the output does not use reads)
        return lambda value: result.values[graph.output]
    affected.sort()
    held = sorted({j for k in affected for j in graph.nodes[k].inputs} - set(affected))
    renumbered = {old: new for new, old in enumerate(held + affected)}
    nodes = tuple([Node(graph.nodes[j].name, "input") for j in held]
                  + [graph.nodes[k]._replace(inputs=tuple(renumbered[j] for j in graph.nodes[k].inputs))
                     for k in affected])
    cut = Graph(nodes, renumbered[graph.output], graph.output_name, graph.source)
    fixed = {graph.nodes[j].name: result.values[j] for j in held}
    name, output = graph.nodes[i].name, renumbered[graph.output]

    def value_at(value: Any) -> float:
        if m is None:
            return autodiff.forward(cut, {**fixed, name: value})[output]
        return float(autodiff.forward(cut, {**fixed, name: value}, m)[output])

    return value_at


_SHRINK, _TABLE, _SAFE = 1.4, 10, 2.0  # Ridders' step ratio, tableau size, stopping factor


def ridders(f: Callable[[float], float], x: float, step: float) -> tuple[float, float]:
    """Central differences at shrinking steps, extrapolated to step 0 (Ridders 1982, as in
    Numerical Recipes' dfridr): the derivative and an estimate of its error."""
    tableau = [[0.0] * _TABLE for _ in range(_TABLE)]
    tableau[0][0] = _central(f, x, step)
    best, error = tableau[0][0], math.inf
    for i in range(1, _TABLE):
        step /= _SHRINK
        tableau[0][i] = _central(f, x, step)
        factor = _SHRINK ** 2
        for j in range(1, i + 1):
            tableau[j][i] = (tableau[j - 1][i] * factor - tableau[j - 1][i - 1]) / (factor - 1)
            factor *= _SHRINK ** 2
            change = max(abs(tableau[j][i] - tableau[j - 1][i]),
                         abs(tableau[j][i] - tableau[j - 1][i - 1]))
            if change <= error:
                best, error = tableau[j][i], change
        if abs(tableau[i][i] - tableau[i - 1][i - 1]) >= _SAFE * error:
            break  # higher orders only add rounding error now
    return best, error


def _central(f: Callable[[float], float], x: float, step: float) -> float:
    up, down = x + step, x - step  # the steps actually taken, after rounding
    return (f(up) - f(down)) / (up - down)


# --- the symbolic oracle ------------------------------------------------------------------

def _symbolic_gradient(graph: Graph, point: Point, wrt: Sequence[str],
                       warnings: list[str]) -> dict[str, float]:
    """sympy's derivative of the whole expression, evaluated exactly at the point, as floats.

    Skipped with a warning when sympy needs more than GRADCALC_SYMBOLIC_SECONDS.
    """
    try:
        with limits.seconds("GRADCALC_SYMBOLIC_SECONDS", "the symbolic derivative"):
            return _sympy_derivatives(graph, point, wrt)
    except LimitError as exc:  # time, the size of the formula, or of an exact number
        warnings.append(f"no symbolic column: {exc}")
        return {}


def _sympy_derivatives(graph: Graph, point: Point, wrt: Sequence[str]) -> dict[str, float]:
    import sympy as sp

    from gradcalc.analyses.formulas import expressions, written_size
    from gradcalc.numbers import symbolic

    values = point.read(symbolic, [name for name in graph.input_names if name in point.texts])
    limits.check("GRADCALC_MAX_TERMS", written_size(graph),
                 "the derivatives written out would have more terms than that")
    symbols = {name: symbolic.symbol(name) for name in graph.input_names}
    expression = expressions(graph, symbols)[graph.output]
    exact = {symbols[name]: value for name, value in values.items()}
    derivatives = {}
    for name in wrt:
        value = symbolic.decimal(sp.diff(expression, symbols[name]).xreplace(exact), 30)
        if value.is_real and value.is_finite:
            derivatives[name] = float(value)
    return derivatives
