"""Several outputs: the Jacobian (rows the outputs, columns the inputs) with the values, the
cost of computing it (`eval --jacobian`), and the trace with one backward pass per output.

The one-output formats stay as they are; these are what `eval` and `trace` show when
several outputs are chosen. Exact and many-digit numbers are shown as modes.py shows them.
"""
from __future__ import annotations

import json as jsonlib
from typing import Any, Callable

from rich.console import Group
from rich.table import Table
from rich.text import Text

from gradcalc.errors import printable
from gradcalc.render import csv, table
from gradcalc.render.json import node_entry
from gradcalc.render.layout import Line, fitted
from gradcalc.render.numerals import array_text, human, machine, text


class _Numbers:
    """How one number system's numbers are shown: in tables, in CSV, as JSON floats, and
    the JSON key (`exact`, `decimal`) of their strings, if any."""

    def __init__(self, number: str, rows: list):
        from gradcalc.render import modes

        self.key = {"float": None, "exact": "exact", "digits": "decimal"}[number]
        if number == "exact":
            self.human, self.text, self.float = modes.exact_human, modes.exact_text, modes.exact_float
        elif number == "digits":
            self.human = self.text = rows[0].show
            self.float = machine
        else:
            self.human, self.text, self.float = human, text, machine


# ---- the Jacobian: eval with several outputs, eval --jacobian --------------------------------

def _matrix_of(outputs) -> tuple[dict, dict, dict]:
    """(values, at, matrix) of an Outputs or a Jacobian; the elements of vectors and matrices
    labelled as the expression writes them (`z[0]`, `W[0, 1]`)."""
    if hasattr(outputs, "matrix"):
        values, at, matrix = outputs.output_values, outputs.at, outputs.matrix
    else:
        results = outputs.results
        names = outputs.graph.output_names
        values = {name: r.value for name, r in zip(names, results)}
        at, matrix = results[0].at, {name: r.gradient for name, r in zip(names, results)}
    if not getattr(outputs, "shapes", None):
        return values, at, matrix
    from gradcalc.core.unroll import element_labels

    labels = element_labels(outputs.shapes)
    label = lambda name: labels.get(name, name)  # noqa: E731
    return ({label(name): v for name, v in values.items()}, {label(name): v for name, v in at.items()},
            {label(name): {label(x): d for x, d in row.items()} for name, row in matrix.items()})


def _folded(outputs) -> tuple[dict, dict]:
    """(values, at) with vectors and matrices as nested lists of their elements."""
    if hasattr(outputs, "matrix"):
        values, at = outputs.output_values, outputs.at
    else:
        results = outputs.results
        values = {name: r.value for name, r in zip(outputs.graph.output_names, results)}
        at = results[0].at
    if not getattr(outputs, "shapes", None):
        return values, at
    from gradcalc.core.unroll import folded

    return folded(values, outputs.shapes), folded(at, outputs.shapes)


def _arrays(show: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`show` for a number, and for each element of a nested list of them."""
    def shown(value: Any) -> Any:
        return [shown(item) for item in value] if isinstance(value, list) else show(value)
    return shown


def _numbers(shown) -> _Numbers:
    if hasattr(shown, "matrix"):
        return _Numbers("exact" if shown.exact else "float", [])
    return _Numbers(shown.number, shown.rows)


def cost(jacobian) -> list[str]:
    """What computing the Jacobian took, and how many passes the other direction takes."""
    outputs, inputs = len(jacobian.matrix), len(jacobian.wrt)
    per = "output" if jacobian.mode == "reverse" else "input"
    other, other_per, count = (("forward", "input", inputs) if jacobian.mode == "reverse"
                               else ("reverse", "output", outputs))
    return [f"{jacobian.mode} mode: {_passes(jacobian.passes)} (one per {per}), "
            f"{jacobian.evaluations:,} local derivative{'' if jacobian.evaluations == 1 else 's'} evaluated",
            f"({other} mode: {_passes(count)}, one per {other_per})"]


def _passes(count: int) -> str:
    return f"{count:,} pass" + ("" if count == 1 else "es")


def jacobian_table(shown) -> Group:
    numbers = _numbers(shown)
    values, _, matrix = _matrix_of(shown)
    inputs = list(next(iter(matrix.values())))
    point = ", ".join(f"{printable(name)} = {array_text(v, numbers.human) if isinstance(v, list) else numbers.human(v)}"
                      for name, v in _folded(shown)[1].items())
    grid = Table()
    grid.add_column("output")
    grid.add_column("value", justify="right")
    for name in inputs:
        grid.add_column(Text(f"∂/∂{printable(name)}"), justify="right")
    for name, row in matrix.items():
        grid.add_row(Text(printable(name)), numbers.human(values[name]),
                     *(numbers.human(row[x]) for x in inputs))
    parts: list[Any] = [Line(f"Jacobian ∂output/∂input at {point or 'no inputs'}"), fitted(grid)]
    if hasattr(shown, "passes"):
        parts += [Line(line) for line in cost(shown)]
    return Group(*parts)


def jacobian_document(shown) -> dict:
    numbers = _numbers(shown)
    _, _, matrix = _matrix_of(shown)
    values, at = _folded(shown)
    number, string = _arrays(numbers.float), _arrays(numbers.text)
    document: dict[str, Any] = {
        "outputs": list(values),
        "values": {name: number(v) for name, v in values.items()},
        "at": {name: number(v) for name, v in at.items()},
        "jacobian": {name: {x: numbers.float(d) for x, d in row.items()} for name, row in matrix.items()},
    }
    if hasattr(shown, "passes"):
        document.update(mode=shown.mode, passes=shown.passes, evaluations=shown.evaluations)
    if numbers.key:
        document[numbers.key] = {
            "values": {name: string(v) for name, v in values.items()},
            "jacobian": {name: {x: numbers.text(d) for x, d in row.items()} for name, row in matrix.items()},
        }
    return document


def jacobian_json(shown) -> str:
    return jsonlib.dumps(jacobian_document(shown), indent=2, ensure_ascii=False)


def jacobian_csv(shown) -> str:
    """`role,name,value,∂/∂x,...`: one `input` row per input, one `output` row per output."""
    numbers = _numbers(shown)
    values, at, matrix = _matrix_of(shown)
    inputs = list(next(iter(matrix.values())))
    blank = [""] * len(inputs)
    rows = [("input", name, numbers.text(v), *blank) for name, v in at.items()]
    rows += [("output", name, numbers.text(values[name]), *(numbers.text(row[x]) for x in inputs))
             for name, row in matrix.items()]
    return csv.write(["role", "name", "value", *(f"∂/∂{x}" for x in inputs)], rows)


# ---- trace with one backward pass per output ----------------------------------------------

def trace_table(outputs, depth: int | None = None, collapse: bool | None = None) -> Group:
    """The forward pass with one gradient column per output, then each output's backward pass."""
    numbers = _numbers(outputs)
    results, graph = outputs.results, outputs.graph
    columns = [(f"∂{printable(name)}/∂stage", _gradient_cell(result, numbers.human))
               for name, result in zip(graph.output_names, results)]
    forward = table.forward_table(results[0], depth, collapse, numbers.human, columns)
    passes = []
    for name, result in zip(graph.output_names, results):
        backward = table.backward_table(result, depth, collapse, numbers.human)
        backward.title = f"backward pass of {printable(name)} (reverse order): d<input> += local × upstream"
        passes.append(fitted(backward))
    return Group(fitted(forward), *passes)


def _gradient_cell(result, show: Callable[[Any], str]) -> Callable[[int], str]:
    return lambda i: show(result.grads[i])


def trace_document(outputs) -> dict:
    numbers = _numbers(outputs)
    document = jacobian_document(outputs)
    results, graph = outputs.results, outputs.graph
    first = results[0]
    nodes = []
    for i in range(len(graph.nodes)):
        entry = {
            **node_entry(graph, i, first.values[i], first.locals[i], numbers.float),
            "grads": {name: numbers.float(r.grads[i]) for name, r in zip(graph.output_names, results)},
        }
        if numbers.key:
            entry[numbers.key] = {"value": numbers.text(first.values[i]),
                                  "grads": {name: numbers.text(r.grads[i])
                                            for name, r in zip(graph.output_names, results)}}
        nodes.append(entry)
    document["nodes"] = nodes
    return document


def trace_json(outputs) -> str:
    return jsonlib.dumps(trace_document(outputs), indent=2, ensure_ascii=False)


def trace_csv(outputs) -> str:
    """`name,op,inputs,expr,value,local,grad f,grad g,...`: one row per node."""
    numbers = _numbers(outputs)
    results, graph = outputs.results, outputs.graph
    first = results[0]
    show: Callable[[Any], str] = numbers.text
    rows = (
        (node.name, node.op, ";".join(graph.nodes[j].name for j in node.inputs),
         graph.definition(i), show(first.values[i]),
         ";".join("" if p is None else show(p) for p in first.locals[i]),
         *(show(r.grads[i]) for r in results))
        for i, node in enumerate(graph.nodes)
    )
    return csv.write(["name", "op", "inputs", "expr", "value", "local",
                      *(f"grad {name}" for name in graph.output_names)], rows)
