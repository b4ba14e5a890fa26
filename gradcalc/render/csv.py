"""CSV: one row per input (eval) or per node (trace), full precision, for spreadsheets."""
from __future__ import annotations

import csv
import io

from ..autodiff import Result
from .numbers import text


def _write(header: list[str], rows) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def eval_csv(result: Result) -> str:
    rows = [("output", result.graph.output_name, text(result.value), "")]
    at = result.at
    rows += [("input", name, text(at[name]), text(g)) for name, g in result.gradient.items()]
    return _write(["role", "name", "value", "gradient"], rows)


def trace_csv(result: Result) -> str:
    graph = result.graph
    rows = (
        (node.name, node.op, ";".join(graph.nodes[j].name for j in node.inputs),
         graph.definition(i), text(result.values[i]),
         ";".join(text(p) for p in result.locals[i]), text(result.grads[i]))
        for i, node in enumerate(graph.nodes)
    )
    return _write(["name", "op", "inputs", "expr", "value", "local", "grad"], rows)
