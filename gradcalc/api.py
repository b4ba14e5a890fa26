"""The Python API: values and gradients for scripts, without the command line."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from gradcalc.core import autodiff
from gradcalc.core.autodiff import Result
from gradcalc.core.graph import Graph, lower


def evaluate(source: str | Graph, at: Mapping[str, Any] | None = None,
             wrt: Sequence[str] | None = None, nonfinite: str = "strict") -> Result:
    """Value and gradient of an expression or program at a point.

    >>> r = evaluate("3*(a+b*c)", {"a": 5, "b": 3, "c": 2})
    >>> r.value, r.gradient
    (33.0, {'a': 3.0, 'b': 6.0, 'c': 9.0})

    Strict by default (a non-finite value or derivative raises DomainError);
    `nonfinite="ieee"` lets inf and nan flow through and lists them in `r.warnings`.
    """
    at = {name: float(v) for name, v in (at or {}).items()}
    graph = source if isinstance(source, Graph) else lower(source, given=at)
    return autodiff.evaluate(graph, at, wrt, nonfinite=nonfinite)


def gradient(source: str, **at: float) -> dict[str, float]:
    """Just the gradient: `gradient("x*y", x=2, y=3)` → `{'x': 3.0, 'y': 2.0}`."""
    return evaluate(source, at).gradient
