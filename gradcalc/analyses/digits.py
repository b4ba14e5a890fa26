"""N confirmed digits (`digits=N`): the graph run twice in randomized rounding, at a working
precision and at twice it, until every number the output shows agrees beyond its N-th digit.

Each run evaluates the graph in `gradcalc.numbers.precise`, whose inexact operations round up
or down at random, so a digit lost to rounding shows as a disagreement. A quantity that keeps
disagreeing while shrinking with the precision is 0 to within the last bound, printed as 0
with a warning; any other disagreement is an error.
"""
from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from typing import Sequence

import mpmath

from gradcalc import limits
from gradcalc.core import autodiff
from gradcalc.core.autodiff import Result
from gradcalc.core.graph import Graph
from gradcalc.core.values import Point
from gradcalc.errors import DomainError
from gradcalc.numbers import precise
from gradcalc.numbers.precise import ZERO, significant

GUARD = 10  # digits the first run works with beyond the N asked for
MARGIN = 3  # digits beyond the N-th on which two runs must agree
EXTRA = 1000  # the last run may work with up to N + EXTRA digits (or 4 times the first)


@dataclass
class Decimals:
    """An evaluation whose shown numbers are confirmed to `digits` significant digits;
    `result` holds those of the most precise run, made at `dps` digits."""

    result: Result
    digits: int
    dps: int
    warnings: list[str]
    # vectors and matrices, computed on the scalar circuit of their elements: their shapes
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)

    def show(self, value) -> str:
        return "—" if value is None else significant(value, self.digits)


def evaluate_digits(graph: Graph, point: Point, *, digits: int,
                    wrt: Sequence[str] | None = None, shown: str = "point") -> Decimals:
    """Value and gradient to `digits` confirmed significant digits, and what else `shown`
    names: "point" (the output's value, the point and the gradient), "stages" (every stage's
    value, local derivatives and gradient) or "steps" (also each backward step)."""
    limits.check("GRADCALC_MAX_DIGITS", digits, f"digits={digits:,}", parameter="digits")
    first = digits + GUARD
    last = builtins.max(4 * first, digits + EXTRA)
    with limits.seconds("GRADCALC_SYMBOLIC_SECONDS", f"the evaluation to {digits:,} digits"):
        runs = [_run(graph, point, wrt, shown, first, seed=1)]
        while True:
            dps = builtins.min(2 * runs[-1][0], last)
            runs.append(_run(graph, point, wrt, shown, dps, seed=len(runs) + 1))
            (low_dps, _, low), (_, high, numbers) = runs[-2], runs[-1]
            unsettled = [(a, b) for a, b in zip(low, numbers) if not _agree(a[1], b[1], digits)]
            if not unsettled or dps >= last:
                break
        warnings = [_settle(high, a, b, low_dps, dps) for a, b in unsettled]
    return Decimals(high, digits, dps, high.warnings + warnings)


def _run(graph: Graph, point: Point, wrt: Sequence[str] | None, shown: str, dps: int,
         seed: int) -> tuple:
    """One evaluation at `dps` digits: (dps, the result, the numbers shown)."""
    with mpmath.workdps(dps):
        precise.reseed(seed)
        values = point.read(precise)  # every value, used or not, at this precision
        result = autodiff.evaluate(graph, values, wrt, m=precise)
        return dps, result, _quantities(result, shown)


def _quantities(result: Result, shown: str) -> list[tuple[tuple, object]]:
    """The numbers the output shows, each with where it lives: ("value", i), ("grad", i),
    ("local", i, k) or ("step", n)."""
    graph = result.graph
    if shown == "point":
        reported = [graph.index[name] for name in result.wrt]
        return ([(("value", i), result.values[i]) for i in (graph.output, *graph.inputs)]
                + [(("grad", i), result.grads[i]) for i in reported])
    numbers = ([(("value", i), v) for i, v in enumerate(result.values)]
               + [(("grad", i), g) for i, g in enumerate(result.grads)]
               + [(("local", i, k), p) for i, local in enumerate(result.locals)
                  for k, p in enumerate(local)])
    if shown == "steps":
        steps = autodiff.backward_steps(result)
        numbers += [(("step", n), number) for n, step in enumerate(steps, 1) for number in step[4:]]
    return numbers


def _agree(a, b, digits: int) -> bool:
    """Two runs agree beyond the `digits`-th digit and round to the same `digits` digits."""
    if a is None or b is None or a == b:
        return a is None and b is None or a == b
    with mpmath.workdps(digits + 2 * MARGIN):
        close = mpmath.fabs(a - b) <= mpmath.fabs(b) * mpmath.power(10, -(digits + MARGIN))
    return close and significant(a, digits) == significant(b, digits)


def _settle(high: Result, low_quantity: tuple, high_quantity: tuple, low_dps: int,
            dps: int) -> str:
    """A quantity that never agreed: 0 if it shrinks with the precision (then say so), else an error."""
    (key, a), (_, b) = low_quantity, high_quantity
    label, stage = _label(high, key)
    scale = builtins.max([mpmath.fabs(v) for v in (*high.values, *high.grads)] + [mpmath.mpf(1)])
    noise = lambda v, p: mpmath.fabs(v) <= scale * mpmath.power(10, -(p // 2))  # noqa: E731
    if a is None or b is None or not (noise(a, low_dps) and noise(b, dps)):
        raise DomainError(f"{label}: could not confirm its digits (it changes when the precision "
                          "doubles, as at a discontinuity)", stage)
    if key[0] == "step":
        raise DomainError(f"{label}: could not confirm its digits (a running sum that cancels "
                          "to about 0); the json format shows every stage without the steps", stage)
    bound = mpmath.nstr(builtins.max(mpmath.fabs(a), mpmath.fabs(b)), 1)
    if key[0] == "value":
        high.values[key[1]] = ZERO
    elif key[0] == "grad":
        high.grads[key[1]] = ZERO
    else:
        i, k = key[1:]
        high.locals[i] = high.locals[i][:k] + (ZERO,) + high.locals[i][k + 1:]
    return f"{label} is 0 to within {bound} (shown as 0; none of its digits could be confirmed)"


def _label(result: Result, key: tuple) -> tuple[str, str]:
    """How a warning names a quantity, and the stage it belongs to."""
    graph = result.graph
    if key[0] == "step":
        return f"step {key[1]} of the backward pass", graph.output_name
    node = graph.nodes[key[1]]
    if key[0] == "value":
        return f"the value of {node.name}", node.name
    if key[0] == "grad":
        return f"∂{graph.output_name}/∂{node.name}", node.name
    wrt = graph.nodes[node.inputs[key[2]]].name
    return f"the local derivative ∂{node.name}/∂{wrt} of stage {node.name}", node.name




def tangents_to_digits(graph: Graph, point: Point, *, digits: int, wrt: str | None = None):
    """Forward mode to `digits` confirmed digits: every stage's value, local derivatives and
    tangent agree between two runs in randomized rounding, the second at twice the first's
    precision (doubling until they do, as `evaluate_digits` does)."""
    from gradcalc.analyses.jacobian import tangents

    limits.check("GRADCALC_MAX_DIGITS", digits, f"digits={digits:,}", parameter="digits")
    first = digits + GUARD
    last = builtins.max(4 * first, digits + EXTRA)

    def run(dps: int, seed: int):
        with mpmath.workdps(dps):
            precise.reseed(seed)
            computed = tangents(graph, point.read(precise), wrt, m=precise)
            numbers = [*computed.values, *computed.tangents,
                       *(p for local in computed.locals for p in (local or ()))]
            return computed, numbers

    with limits.seconds("GRADCALC_SYMBOLIC_SECONDS", f"the evaluation to {digits:,} digits"):
        _, low_numbers = run(first, 1)
        dps, seed = first, 1
        while True:
            dps, seed = builtins.min(2 * dps, last), seed + 1
            high, numbers = run(dps, seed)
            unsettled = [k for k, (a, b) in enumerate(zip(low_numbers, numbers))
                         if not _agree(a, b, digits)]
            if not unsettled or dps >= last:
                break
            low_numbers = numbers
    if unsettled:
        raise DomainError(f"forward mode to {digits:,} digits: {len(unsettled):,} of its numbers "
                          "could not be confirmed (they change when the precision doubles); "
                          "reverse mode (without --mode forward) settles values that are 0")
    high.exact, high.digits = False, digits
    return high
