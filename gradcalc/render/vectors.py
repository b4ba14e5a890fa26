"""The trace of vectors and matrices: each stage's shape, value and gradient, and the backward
pass as the vectorised rules of the lecture written out (`dW += du ⊗ x`, `dx += Wᵀ @ du`,
`db += sum(du)` for a broadcast bias).

Values are arrays of the array number system, but this module only reads them (`shape`,
`tolist`), so it never imports numpy itself.
"""
from __future__ import annotations

from typing import Any, Callable, Iterator, Sequence

from gradcalc.core.autodiff import Result
from gradcalc.core.ops import REGISTRY
from gradcalc.errors import UsageError, printable
from gradcalc.render.numerals import human, machine, text

RULES_TITLE = "backward pass (reverse order): d<input> += the vectorised rule of its stage"


def shape_label(shape: Sequence[int]) -> str:
    """`2×3`, `3`, or `scalar`: a stage's shape in a table or on a wire."""
    return "×".join(map(str, shape)) if shape else "scalar"


def refuse(result: Any, fmt: str) -> None:
    """Formats that show scalar local derivatives say so for vectors, in one line."""
    if getattr(result, "shapes", None) is not None:
        raise UsageError(f"trace --format {fmt} shows scalar stages; for vectors and matrices use "
                         "table, json or csv").about("fmt")


def rule(result: Result, i: int, k: int) -> str:
    """The backward step from stage i into its k-th input: `dW += du ⊗ x`."""
    graph, shapes = result.graph, result.shapes
    assert shapes is not None
    node = graph.nodes[i]
    names = (node.name, *(graph.nodes[j].name for j in node.inputs))
    into = names[k + 1]
    op = REGISTRY[node.op]
    if op.vjp_written is not None:
        return f"d{into} += {op.vjp_written(names, [shapes[i], *(shapes[j] for j in node.inputs)], k)}"
    assert op.partial is not None  # an elementwise op
    local = op.partial(_WRITTEN, _Text(names[0]), tuple(_Text(n) for n in names[1:]), k)
    flowing = _times(f"d{names[0]}", str(local))
    return f"d{into} += {_summed(flowing, shapes[i], shapes[node.inputs[k]])}"


def steps(result: Result) -> Iterator[tuple[int, int, int, Any, Any]]:
    """(stage, k, input, what flowed in, the input's gradient so far), in backward order."""
    totals: dict[int, Any] = {}
    for i, k, j, flowing in result.steps:
        totals[j] = totals[j] + flowing if j in totals else flowing
        yield i, k, j, flowing, totals[j]


def trace_table(result: Result, show: Callable[[Any], str] = human) -> Any:
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from gradcalc.render.layout import fitted

    graph, shapes = result.graph, result.shapes
    assert shapes is not None
    cell = lambda value: Text(printable(value))  # noqa: E731
    ahead = Table(title="forward pass (topological order)", title_justify="left")
    for column in ("stage", "op", "definition", "shape", "value", f"∂{printable(graph.output_name)}/∂stage"):
        ahead.add_column(column, justify="right" if column in ("value", "shape") else "left")
    for i, node in enumerate(graph.nodes):
        definition = "" if node.op == "input" else graph.definition(i)
        ahead.add_row(cell(node.name), node.op, cell(definition), shape_label(shapes[i]),
                      show(result.values[i]), show(result.grads[i]))
    back = Table(title=RULES_TITLE, title_justify="left")
    for column in ("step", "rule", "shape", "accumulated"):
        back.add_column(column, justify="right" if column in ("step", "shape") else "left")
    back.add_row("", cell(f"d{graph.output_name} = 1"), "scalar", "seed")
    for step, (i, k, j, flowing, total) in enumerate(steps(result), 1):
        back.add_row(str(step), cell(rule(result, i, k)), shape_label(shapes[j]),
                     cell(f"d{graph.nodes[j].name} = {show(total)}"))
    return Group(fitted(ahead), fitted(back))


def trace_document(result: Result, document: dict) -> dict:
    """The JSON of `trace`: each node with its shape and nested lists, then the rules."""
    graph, shapes = result.graph, result.shapes
    assert shapes is not None
    document["nodes"] = [
        {"name": node.name, "op": node.op, "inputs": [graph.nodes[j].name for j in node.inputs],
         "expr": graph.definition(i), "shape": list(shapes[i]), "value": machine(result.values[i]),
         "local": [None for _ in node.inputs], "grad": machine(result.grads[i])}
        for i, node in enumerate(graph.nodes)
    ]
    document["backward"] = [
        {"step": step, "rule": rule(result, i, k), "into": graph.nodes[j].name,
         "value": machine(flowing)}
        for step, (i, k, j, flowing, _) in enumerate(steps(result), 1)
    ]
    return document


def trace_rows(result: Result) -> tuple[list[str], Iterator[tuple]]:
    """The CSV of `trace`: one row per node, arrays as JSON nested lists."""
    graph, shapes = result.graph, result.shapes
    assert shapes is not None
    rows = ((node.name, node.op, ";".join(graph.nodes[j].name for j in node.inputs),
             graph.definition(i), "x".join(map(str, shapes[i])), text(result.values[i]),
             text(result.grads[i]))
            for i, node in enumerate(graph.nodes))
    return ["name", "op", "inputs", "expr", "shape", "value", "grad"], rows


# ---- writing a local rule as text ------------------------------------------------------------

class _Text:
    """A name or an expression in a written rule; arithmetic writes more of it."""

    __slots__ = ("text", "loose")

    def __init__(self, text: str, loose: bool = False):
        self.text, self.loose = text, loose  # loose: needs parentheses inside a product

    def __str__(self) -> str:
        return self.text

    def _tight(self) -> str:
        return f"({self.text})" if self.loose else self.text

    def __add__(self, other):
        return _Text(f"{_written(self)} + {_written(other)}", True)

    def __radd__(self, other):
        return _Text(f"{_written(other)} + {_written(self)}", True)

    def __sub__(self, other):
        return _Text(f"{_written(self)} - {_tight(other)}", True)

    def __rsub__(self, other):
        return _Text(f"{_written(other)} - {self._tight()}", True)

    def __mul__(self, other):
        return _Text(_times(_tight(self), _tight(other)))

    def __rmul__(self, other):
        return _Text(_times(_tight(other), self._tight()))

    def __truediv__(self, other):
        return _Text(f"{self._tight()}/{_tight(other)}")

    def __rtruediv__(self, other):
        return _Text(f"{_tight(other)}/{self._tight()}")

    def __neg__(self):
        return _Text(f"-{self._tight()}")


def _written(value) -> str:
    if isinstance(value, _Text):
        return value.text
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _tight(value) -> str:
    return value._tight() if isinstance(value, _Text) else _written(value)


def _times(left: str, right: str) -> str:
    """A product written out, without its factors of 1."""
    if right in ("1", "1.0"):
        return left
    if left in ("1", "1.0"):
        return right
    if right in ("-1", "-1.0"):
        return f"-{left}"
    return f"{left} * {right}"


class _WrittenMath:
    """The number-system namespace the local rules are written out with."""

    ZERO = _Text("0")
    ONE = _Text("1")

    def number(self, literal: str) -> _Text:
        return _Text(literal)

    def pow(self, base, exponent) -> _Text:  # noqa: A003
        return _Text(f"{_tight(base)}**{_tight(exponent)}")

    def __getattr__(self, name: str):
        return lambda *args: _Text(f"{name}({', '.join(map(_argument, args))})")


def _argument(value) -> str:
    if isinstance(value, tuple):
        return ", ".join(map(_argument, value))
    return _written(value)


_WRITTEN = _WrittenMath()


def _summed(flowing: str, out: Sequence[int], into: Sequence[int]) -> str:
    """`sum(du)` where the input was broadcast (a scalar, or a bias along the rows)."""
    if tuple(out) == tuple(into):
        return flowing
    if not into:
        return f"sum({flowing})"
    extra = len(out) - len(into)
    axes = [*range(extra), *(extra + k for k, n in enumerate(into) if n == 1 and out[extra + k] != 1)]
    shown = axes[0] if len(axes) == 1 else tuple(axes)
    return f"sum({flowing}, axis={shown})"
