"""gradcalc: values and gradients of expressions by a staged graph and reverse-mode autodiff.

    >>> from gradcalc import evaluate
    >>> result = evaluate("3*(a+b*c)", {"a": 5, "b": 3, "c": 2})
    >>> result.value
    33.0
    >>> result.gradient
    {'a': 3.0, 'b': 6.0, 'c': 9.0}
"""
from __future__ import annotations

__version__ = "0.1.0"

from gradcalc.errors import (
    DataError,
    DomainError,
    ExitCode,
    GradcalcError,
    GradcalcWarning,
    ParseError,
    UnusedValueWarning,
    UsageError,
    ValueTypeError,
)

# The rest loads on first use, so that `gradcalc --help` or a usage error does not pay for it.
_VIEWS = ("View", "Result", "Trace", "Digits", "TraceDigits", "Hessian", "Check", "Gradient",
          "Paths", "DataResult", "Descent", "Circuit")
_LAZY = {"parse": "core.parse", "backward": "core.autodiff", "forward": "core.autodiff",
         "Graph": "core.graph", "Node": "core.graph", "lower": "core.graph",
         **dict.fromkeys(("evaluate", "gradient", "trace", "graph", "check", "grad", "hessian",
                          "paths", "descend"), "api"),
         "batch": "api",
         **dict.fromkeys(_VIEWS, "api.views")}

__all__ = [
    "evaluate", "gradient", "trace", "graph", "check", "grad", "hessian", "paths", "descend",
    "batch", "lower", "parse", "forward", "backward", "Graph", "Node", *_VIEWS,
    "GradcalcError", "ParseError", "UsageError", "ValueTypeError", "DomainError", "DataError",
    "GradcalcWarning", "UnusedValueWarning", "ExitCode", "__version__",
]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'gradcalc' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
