"""eval and trace in the number system the options ask for: float64, exact (`--exact`) or N
confirmed digits (`--digits N`), with second derivatives (`--hessian`) on request.

One call for the command line; each mode is the same graph, registry and autodiff run on
another namespace (gradcalc.symbolic, gradcalc.precise, gradcalc.hessian), and names the
renderer that shows its numbers.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from . import autodiff
from .errors import UsageError


@dataclass
class Evaluation:
    renderer: str  # a command of gradcalc.render.RENDERERS: "eval --exact", "trace --digits"...
    shown: Any  # what that renderer takes: a Result, precise.Decimals or hessian.Hessian
    unused: list[str]  # --at names the expression does not use
    warnings: list[str]


def evaluate(command: str, source: str, at_options: Iterable[str],
             wrt: Sequence[str] | None = None, gates: str = "written", exact: bool = False,
             digits: int | None = None, hessian: bool = False, steps: bool = False) -> Evaluation:
    """`command` is eval or trace; `exact` and `digits` exclude each other; `steps`: the
    output shows the backward pass step by step (trace's table), so its digits are confirmed."""
    if exact and digits is not None:
        raise UsageError("--exact and --digits exclude each other: exact values have every digit")
    if hessian and digits is not None:
        raise UsageError("--hessian works with float64 or --exact values, not with --digits")
    if digits is not None:
        from .precise import evaluate_digits

        shown = "point" if command == "eval" else "steps" if steps else "stages"
        decimals, unused = evaluate_digits(source, at_options, digits, wrt, gates, shown)
        return Evaluation(f"{command} --digits", decimals, unused, decimals.warnings)
    from . import api, floatmath

    m = floatmath
    if exact:
        from . import symbolic as m
    graph, values, unused = api.prepare_text(source, at_options, gates, m=m)
    result = autodiff.evaluate(graph, values, wrt, m=m)
    if hessian:
        from .hessian import Hessian, hessian as second_derivatives

        matrix = second_derivatives(graph, values, result.wrt, m)
        return Evaluation("eval --hessian", Hessian(result, matrix, exact), unused, result.warnings)
    return Evaluation(f"{command} --exact" if exact else command, result, unused, result.warnings)
