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
from typing import TYPE_CHECKING, Callable, NamedTuple, Sequence

from gradcalc import limits
from gradcalc.errors import GradcalcError, LimitError

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
          stages: bool = False, rtol: float = RTOL, atol: float = ATOL) -> Check:
    """Compare backprop with finite differences and sympy at the point."""
    from gradcalc.core import autodiff

    values = point.read()  # every value is checked, used or not
    result = autodiff.evaluate(graph, values, wrt)
    warnings: list[str] = []
    symbolic = _symbolic_gradient(graph, point, result.wrt, warnings)
    judge = lambda row: row._replace(status=_judge(row, rtol, atol, bool(result.warnings)))  # noqa: E731
    inputs = [judge(Row(name, result.grads[i], *_finite_difference(result, i, warnings),
                        symbolic.get(name)))
              for name, i in ((name, graph.index[name]) for name in result.wrt)]
    staged = [judge(Row(graph.nodes[i].name, result.grads[i],
                        *_finite_difference(result, i, warnings)))
              for i in (_checked_stages(graph) if stages else ())]
    if any(row.status == "kink" for row in inputs + staged):
        warnings.append("the point is at a non-differentiable kink: gradcalc uses the min-norm "
                        "subgradient there, which the oracles need not match; rows that differ "
                        "are marked 'kink' and not judged")
    return Check(result, inputs, staged, rtol, atol, warnings)


def _checked_stages(graph: Graph) -> list[int]:
    """Every stage whose gradient is computed and not trivially 1 (the output)."""
    return [i for i in graph.operations
            if graph.varying[i] and graph.live[i] and i != graph.output]


def _judge(row: Row, rtol: float, atol: float, kinks: bool) -> str:
    references = [(row.finite_difference, row.fd_error or 0.0), (row.symbolic, 0.0)]
    checked = [(ref, slack) for ref, slack in references if ref is not None]
    if not checked:
        return "unchecked"
    if all(abs(row.backprop - ref) <= atol + rtol * abs(ref) + slack for ref, slack in checked):
        return "ok"
    return "kink" if kinks else "mismatch"


# --- finite differences -------------------------------------------------------------------

def _finite_difference(result: Result, i: int, warnings: list[str]) -> tuple[float | None, float | None]:
    """d output / d node i, by perturbing node i's value and re-running what depends on it."""
    f = _downstream(result, i)
    x = result.values[i]
    step = 0.01 * max(abs(x), 1.0)
    for _ in range(8):  # a big first step may leave the domain (log(x) at x = 0.001): shrink it
        try:
            return ridders(f, x, step)
        except GradcalcError:
            step /= 10
    warnings.append(f"no finite difference for {result.graph.nodes[i].name}: the output is "
                    "undefined at every step tried around the point")
    return None, None


def _downstream(result: Result, i: int) -> Callable[[float], float]:
    """The output as a function of node i's value, everything not downstream of i held fixed."""
    from gradcalc.core import autodiff

    graph = result.graph
    affected = [False] * len(graph.nodes)
    for k in range(i + 1, len(graph.nodes)):
        affected[k] = any(affected[j] or j == i for j in graph.nodes[k].inputs)
    # The nodes that do not change become inputs holding their values, so forward computes
    # only the stages downstream of i.
    cut = graph.with_inputs(k for k in range(len(graph.nodes)) if not affected[k])
    fixed = {node.name: result.values[k] for k, node in enumerate(graph.nodes) if not affected[k]}
    name = graph.nodes[i].name

    def output(value: float) -> float:
        return autodiff.forward(cut, {**fixed, name: value})[graph.output]

    return output


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
