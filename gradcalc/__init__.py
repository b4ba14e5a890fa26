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

from .api import evaluate, gradient  # noqa: E402
from .autodiff import Result, backward, forward  # noqa: E402
from .errors import (  # noqa: E402
    DataError,
    DomainError,
    ExitCode,
    GradcalcError,
    ParseError,
    UsageError,
)
from .graph import Graph, Node, lower  # noqa: E402
from .parse import parse  # noqa: E402

__all__ = [
    "evaluate", "gradient", "lower", "parse", "forward", "backward", "Graph", "Node", "Result",
    "GradcalcError", "ParseError", "UsageError", "DomainError", "DataError", "ExitCode",
    "__version__",
]
