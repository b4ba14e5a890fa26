"""The Python API: what the CLI calls, for scripts that want values and gradients directly."""
from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

from . import autodiff
from .autodiff import Result
from .graph import Graph, lower
from .values import float_values, parse_at


def evaluate(source: str | Graph, at: Mapping[str, Any] | None = None,
             wrt: Sequence[str] | None = None) -> Result:
    """Value and gradient of an expression or program at a point.

    >>> r = evaluate("3*(a+b*c)", {"a": 5, "b": 3, "c": 2})
    >>> r.value, r.gradient
    (33.0, {'a': 3.0, 'b': 6.0, 'c': 9.0})
    """
    at = {name: float(v) for name, v in (at or {}).items()}
    graph = source if isinstance(source, Graph) else lower(source, given=at)
    return autodiff.evaluate(graph, at, wrt)


def gradient(source: str, **at: float) -> dict[str, float]:
    """Just the gradient: `gradient("x*y", x=2, y=3)` → `{'x': 3.0, 'y': 2.0}`."""
    return evaluate(source, at).gradient


def evaluate_text(source: str, at_options: Iterable[str], wrt: Sequence[str] | None = None
                  ) -> tuple[Result, list[str]]:
    """The CLI's path: `--at` option texts in; the result and the given names nobody uses."""
    texts = parse_at(at_options)
    graph = lower(source, given=texts)
    autodiff.check_inputs(graph, texts)
    values = float_values({name: texts[name] for name in graph.input_names})
    unused = [name for name in texts if name not in set(graph.input_names)]
    return autodiff.evaluate(graph, values, wrt), unused
