"""The Python API: what the CLI calls, for scripts that want values and gradients directly."""
from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

from . import autodiff, floatmath
from .autodiff import Result
from .graph import Graph, lower
from .values import float_values, parse_at


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


def lower_gates(source: str, given: Iterable[str] = (), gates: str = "written") -> Graph:
    """The staged graph with gates of the chosen granularity (see gradcalc.gates)."""
    graph = lower(source, given=given)
    if gates == "written":
        return graph
    from .gates import rewrite

    return rewrite(graph, gates)


def gradient(source: str, **at: float) -> dict[str, float]:
    """Just the gradient: `gradient("x*y", x=2, y=3)` → `{'x': 3.0, 'y': 2.0}`."""
    return evaluate(source, at).gradient


def evaluate_text(source: str, at_options: Iterable[str], wrt: Sequence[str] | None = None,
                  gates: str = "written", nonfinite: str = "strict") -> tuple[Result, list[str]]:
    """The CLI's path: `--at` option texts in; the result and the given names nobody uses."""
    graph, values, unused = prepare_text(source, at_options, gates)
    return autodiff.evaluate(graph, values, wrt, nonfinite=nonfinite), unused


def prepare_text(source: str, at_options: Iterable[str], gates: str = "written",
                 m: Any = floatmath) -> tuple[Graph, dict[str, Any], list[str]]:
    """The graph, each input's value read in number system `m` (floats, exact, many digits),
    and the given names nobody uses."""
    texts = parse_at(at_options)
    graph = lower_gates(source, given=texts, gates=gates)
    values = float_values(texts, m)  # every value is checked, used or not
    autodiff.check_inputs(graph, values)
    unused = [name for name in texts if name not in set(graph.input_names)]
    return graph, {name: values[name] for name in graph.input_names}, unused
