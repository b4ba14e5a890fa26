"""The trace of vectors and matrices: each stage's shape, value and gradient, and the backward
pass as the vectorised rules of the lecture written out (`dW += du ⊗ x`, `dx += Wᵀ @ du`,
`db += sum(du)` for a broadcast bias).

Values are arrays of the array number system, but this module only reads them (`shape`,
`tolist`), so it never imports numpy itself.
"""
from __future__ import annotations

import keyword
import math
from typing import Any, Callable, Iterator, Sequence

from gradcalc.core.autodiff import Result
from gradcalc.core.ops import REGISTRY
from gradcalc.errors import UsageError, printable
from gradcalc.render.numerals import human, machine, text

RULES_TITLE = "backward pass (reverse order): d<input> += the vectorised rule of its stage"


def shape_label(shape: Sequence[int]) -> str:
    """`2×3`, `3`, or `scalar`: a stage's shape in a table or on a wire."""
    return "×".join(map(str, shape)) if shape else "scalar"


def refuse_outline(depth: int | None, collapse: bool | None) -> None:
    """A vector trace is one row per stage written: it is shown whole."""
    if depth is not None or collapse is not None:
        raise UsageError("depth and collapse fold long scalar traces; a trace of vectors and "
                         "matrices (one row per operation written) is shown whole: leave them out"
                         ).about("depth", "collapse")


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
    local = op.partial(_WRITTEN, Written(names[0]), tuple(Written(n) for n in names[1:]), k)
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


def trace_rows(result: Result, show: Callable[[Any], str] = text) -> tuple[list[str], Iterator[tuple]]:
    """The CSV of `trace`: one row per node, arrays as JSON nested lists (`show` writes them)."""
    graph, shapes = result.graph, result.shapes
    assert shapes is not None
    rows = ((node.name, node.op, ";".join(graph.nodes[j].name for j in node.inputs),
             graph.definition(i), "x".join(map(str, shapes[i])), show(result.values[i]),
             show(result.grads[i]))
            for i, node in enumerate(graph.nodes))
    return ["name", "op", "inputs", "expr", "shape", "value", "grad"], rows


# ---- writing a local rule as text ------------------------------------------------------------

class Written:
    """A name or an expression in a written rule (or program); arithmetic writes more of it.
    `shape`: the shape of the array it stands for, where a rule needs it."""

    __slots__ = ("text", "loose", "shape")

    def __init__(self, text: str, loose: bool = False, shape: tuple = ()):
        self.text, self.loose, self.shape = text, loose, shape  # loose: needs parentheses in a product

    def __str__(self) -> str:
        return self.text

    def _tight(self) -> str:
        return f"({self.text})" if self.loose else self.text

    def __add__(self, other):
        return Written(f"{_written(self)} + {_written(other)}", True)

    def __radd__(self, other):
        return Written(f"{_written(other)} + {_written(self)}", True)

    def __sub__(self, other):
        return Written(f"{_written(self)} - {_tight(other)}", True)

    def __rsub__(self, other):
        return Written(f"{_written(other)} - {self._tight()}", True)

    def __mul__(self, other):
        return Written(_times(_tight(self), _tight(other)))

    def __rmul__(self, other):
        return Written(_times(_tight(other), self._tight()))

    def __truediv__(self, other):
        return Written(f"{self._tight()}/{_tight(other)}")

    def __rtruediv__(self, other):
        return Written(f"{_tight(other)}/{self._tight()}")

    def __neg__(self):
        return Written(f"-{self._tight()}")

    def __pow__(self, other):
        return Written(f"{self._tight()}**{_tight(other)}")

    def __rpow__(self, other):
        return Written(f"{_tight(other)}**{self._tight()}")


def _written(value) -> str:
    if isinstance(value, Written):
        return value.text
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _tight(value) -> str:
    return value._tight() if isinstance(value, Written) else _written(value)


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

    ZERO = Written("0")
    ONE = Written("1")

    def number(self, literal: str) -> Written:
        return Written(literal)

    def pow(self, base, exponent) -> Written:  # noqa: A003
        return Written(f"{_tight(base)}**{_tight(exponent)}")

    def __getattr__(self, name: str):
        return lambda *args: Written(f"{name}({', '.join(map(_argument, args))})")


def _argument(value) -> str:
    if isinstance(value, tuple):
        return ", ".join(map(_argument, value))
    return _written(value)


_WRITTEN = _WrittenMath()


def summed_axes(out: Sequence[int], into: Sequence[int]) -> int | tuple[int, ...] | None:
    """The axes a gradient of shape `out` is summed along into an input of shape `into` that
    was broadcast (`()`: every axis, for a scalar), or None where it was not broadcast."""
    if tuple(out) == tuple(into):
        return None
    if not into:
        return ()
    extra = len(out) - len(into)
    axes = [*range(extra), *(extra + k for k, n in enumerate(into) if n == 1 and out[extra + k] != 1)]
    return axes[0] if len(axes) == 1 else tuple(axes)


def _summed(flowing: str, out: Sequence[int], into: Sequence[int]) -> str:
    """`sum(du)` where the input was broadcast (a scalar, or a bias along the rows)."""
    axes = summed_axes(out, into)
    if axes is None:
        return flowing
    return f"sum({flowing})" if axes == () else f"sum({flowing}, axis={axes})"


# ---- the trace as a numpy program -------------------------------------------------------------

class _NumpyCode(_WrittenMath):
    """The number-system namespace writing numpy code: the registry's forward functions and
    vector–Jacobian rules, run on it, write the program's lines. What numpy has is written as
    numpy (`np.tanh`, `@`, `.T`); the stable forms gradcalc adds (sigmoid, softmax, ...) are
    called from gradcalc's array system, `m`, so the program computes what eval computes."""

    ZERO = Written("0.0")
    ONE = Written("1.0")
    NUMPY = {"exp": "exp", "log": "log", "sqrt": "sqrt", "abs": "abs", "sin": "sin", "cos": "cos",
             "tan": "tan", "asin": "arcsin", "acos": "arccos", "atan": "arctan", "sinh": "sinh",
             "cosh": "cosh", "tanh": "tanh", "sign": "sign", "mean": "mean", "outer": "outer"}

    def number(self, literal: str) -> Written:
        return Written(repr(float(literal)))

    def constant(self, name: str) -> Written:
        return Written(f"np.{name}")

    def matmul(self, a, b) -> Written:
        return Written(f"{_tight(a)} @ {_tight(b)}", True)

    def transpose(self, x) -> Written:
        return Written(f"{_tight(x)}.T")

    def ndim(self, x) -> int:
        return len(x.shape)

    def shape(self, x) -> tuple:
        return x.shape

    def size(self, x) -> int:
        return math.prod(x.shape)

    def broadcast_to(self, g, shape) -> Written:
        return Written(f"np.broadcast_to({_written(g)}, {shape!r})")

    def sum(self, x, axis=None, keepdims: bool = False) -> Written:  # noqa: A003
        more = "" if axis is None else f", axis={axis}" + (", keepdims=True" if keepdims else "")
        return Written(f"np.sum({_written(x)}{more})")

    def trailing(self, x) -> Written:
        return Written(f"{_tight(x)}[..., None]")

    def index(self, x, *at) -> Written:
        return Written(f"{_tight(x)}[{', '.join(str(int(float(_written(i)))) for i in at)}]")

    def scatter(self, shape, at, g) -> Written:
        where = ", ".join(str(int(float(_written(i)))) for i in at)
        return Written(f"m.scatter({shape!r}, ({where},), {_written(g)})")

    def pow(self, base, exponent) -> Written:  # noqa: A003
        return Written(f"{_tight(base)} ** {_tight(exponent)}", True)

    def __getattr__(self, name: str):
        call = f"np.{self.NUMPY[name]}" if name in self.NUMPY else f"m.{name}"
        return lambda *args: Written(f"{call}({', '.join(map(_code_argument, args))})")


def _code_argument(value) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(map(_code_argument, value)) + ("," if len(value) == 1 else "") + ")"
    return _written(value)


def _identifier(name: str, taken: set[str]) -> str:
    """A Python name for a stage: `c'` is `c_1`; names the program uses get a `_`."""
    base = name.replace("'", "_1")
    if not (base.isascii() and base.isidentifier()):
        base = "v_" + "".join(ch if ch.isalnum() and ch.isascii() else "_" for ch in base)
    while base in taken or base in ("np", "m", "json", "result") or keyword.iskeyword(base):
        base += "_"
    taken.add(base)
    return base


def trace_numpy(result: Result) -> str:
    """`trace --format python` for vectors and matrices: numpy code, one line per stage forward
    and one `d<stage>` per step backward, printing what `eval --format json` prints."""
    graph, shapes = result.graph, result.shapes
    assert shapes is not None
    nodes, m = graph.nodes, _NumpyCode()
    taken: set[str] = set()
    variable = [_identifier(node.name, taken) for node in nodes]
    gradient = [_identifier(f"d{v}", taken) for v in variable]
    code: list[Written] = []
    forward = []
    for i, node in enumerate(nodes):
        if node.op == "input":
            forward.append(f"{variable[i]} = np.array({_listed(result.values[i])})")
            code.append(Written(variable[i], shape=shapes[i]))
        elif node.op == "const":
            written = m.constant(node.text) if node.text in ("pi", "e") else m.number(node.text)
            code.append(Written(written.text, shape=()))
        else:
            fn = REGISTRY[node.op].forward
            assert fn is not None
            forward.append(f"{variable[i]} = {_written(fn(m, *(code[j] for j in node.inputs)))}")
            code.append(Written(variable[i], shape=shapes[i]))
    backward = [f"{gradient[graph.output]} = np.array(1.0)"]
    assigned = {graph.output}
    for i, k, j, _ in result.steps:
        node = nodes[i]
        op = REGISTRY[node.op]
        args = tuple(code[n] for n in node.inputs)
        upstream = Written(gradient[i], shape=shapes[i])
        if op.vjp is not None:
            flowing = _written(op.vjp(m, code[i], args, k, upstream))
        else:
            assert op.partial is not None
            local = _written(op.partial(m, code[i], args, k))
            product = gradient[i] if local == "1.0" else f"{_atom(local)} * {gradient[i]}"  # as eval: local × upstream
            flowing = _numpy_summed(product, shapes[i], shapes[j])
        backward.append(f"# {rule(result, i, k)}")
        if j in assigned:
            backward.append(f"{gradient[j]} = {gradient[j]} + {flowing}")
        else:
            backward.append(f"{gradient[j]} = {flowing}")
            assigned.add(j)
    index = graph.index
    lines = [f"# Backpropagation of {printable(graph.output_name)} on vectors and matrices, staged as "
             "`gradcalc trace` shows it:",
             *(f"#     {printable(line.strip())}" for line in graph.source.strip().splitlines()),
             "# Run it to print the value and the gradient as `gradcalc eval --format json` does.",
             "import json", "", "import numpy as np", "", "from gradcalc.numbers import arrays as m", "",
             "# forward pass, in topological order", *forward, "",
             "# backward pass, in reverse order: d<stage> is the gradient of the output", *backward, "",
             *(f"{gradient[j]} = np.zeros_like({variable[j]})  # does not reach the output"
               for j in graph.inputs if j not in assigned),
             "result = {",
             f"    'output': {graph.output_name!r},",
             f"    'value': float({variable[graph.output]}) + 0.0,",
             "    'at': {" + ", ".join(f"{name!r}: ({variable[index[name]]} + 0.0).tolist()"
                                      for name in graph.input_names) + "},",
             "    'gradient': {" + ", ".join(f"{name!r}: (np.asarray({gradient[index[name]]}) + 0.0).tolist()"
                                            for name in result.wrt) + "},",
             "}",
             "print(json.dumps(result, indent=2, ensure_ascii=False))"]
    return "\n".join(lines) + "\n"


def _atom(text: str) -> str:
    """The text, in parentheses unless it is a name or a number."""
    plain = text.replace(".", "").replace("_", "")
    return text if plain.isalnum() and plain.isascii() else f"({text})"


def _listed(value) -> str:
    return repr(value.tolist()) if getattr(value, "ndim", 0) else repr(float(value))


def _numpy_summed(flowing: str, out: Sequence[int], into: Sequence[int]) -> str:
    """numpy's sum down to the input's shape, where it was broadcast."""
    if tuple(out) == tuple(into):
        return flowing
    if not into:
        return f"np.sum({flowing})"
    extra = len(out) - len(into)
    axes = tuple([*range(extra), *(extra + k for k, n in enumerate(into) if n == 1 and out[extra + k] != 1)])
    return f"np.sum({flowing}, axis={axes}).reshape({tuple(into)!r})"
