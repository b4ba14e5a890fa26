"""CSV: one row per input (eval) or per node (trace), full precision, for spreadsheets."""
from __future__ import annotations

import csv
import io
from typing import Any, Callable, Iterable

from gradcalc.core.autodiff import Result
from gradcalc.render.numerals import text


def write(header: list[str], rows) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def eval_csv(result: Result, show: Callable[[Any], str] = text, more: Iterable[tuple] = ()) -> str:
    """`show` writes a number (exact and many-digit modes pass their own); `more` rows follow
    (the Hessian's)."""
    rows = [("output", result.graph.output_name, show(result.value), "")]
    at = result.at
    rows += [("input", name, show(at[name]), show(g)) for name, g in result.gradient.items()]
    return write(["role", "name", "value", "gradient"], [*rows, *more])


def trace_csv(result: Result, show: Callable[[Any], str] = text) -> str:
    graph = result.graph
    if result.shapes is not None:
        from gradcalc.render import vectors

        return write(*vectors.trace_rows(result, show))
    rows = (
        (node.name, node.op, ";".join(graph.nodes[j].name for j in node.inputs),
         graph.definition(i), show(result.values[i]),
         ";".join("" if p is None else show(p) for p in result.locals[i]), show(result.grads[i]))
        for i, node in enumerate(graph.nodes)
    )
    return write(["name", "op", "inputs", "expr", "value", "local", "grad"], rows)
