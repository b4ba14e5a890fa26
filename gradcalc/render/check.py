"""`gradcalc check`: backprop beside its oracles, with relative errors and a verdict per row."""
from __future__ import annotations

import json

from rich.console import Group
from rich.table import Table
from rich.text import Text

from gradcalc.analyses.check import Check, Row, verdict
from gradcalc.errors import printable
from gradcalc.render.layout import Fitted, Line, fitted
from gradcalc.render.numerals import human, machine

MARKS = {"ok": "✓", "mismatch": "✗", "kink": "kink", "unchecked": "—"}


def _error(value: float | None) -> str:
    return "—" if value is None else f"{value:.1e}"


def check_table(report: Check) -> Group:
    graph = report.result.graph
    out = printable(graph.output_name)
    headline = Line(f"{out} = {human(report.result.value)}: {verdict(report)}")
    inputs = _table(f"∂{out}/∂input: backprop against a finite difference (Ridders) and sympy",
                    ["input", "backprop", "finite diff.", "sympy", "rel.err fd", "rel.err sympy",
                     "ok"],
                    [[row.name, human(row.backprop), human(row.finite_difference),
                      human(row.symbolic), _error(row.rel_error_fd),
                      _error(row.rel_error_symbolic), MARKS[row.status]]
                     for row in report.inputs])
    if not report.stages:
        return Group(headline, inputs)
    stages = _table(f"∂{out}/∂stage: backprop against perturbing the stage and re-running "
                    "the graph downstream of it",
                    ["stage", "definition", "backprop", "finite diff.", "rel.err fd", "ok"],
                    [[row.name, graph.definition(graph.index[row.name.partition("[")[0]]),  # `u1[0]`
                      human(row.backprop), human(row.finite_difference),
                      _error(row.rel_error_fd), MARKS[row.status]] for row in report.stages])
    return Group(headline, inputs, stages)


def _table(title: str, columns: list[str], rows: list[list[str]]) -> Fitted:
    """Names and verdicts left, numbers right."""
    table = Table(title=title, title_justify="left")
    for k, column in enumerate(columns):
        number = 0 < k < len(columns) - 1 and column != "definition"
        table.add_column(column, justify="right" if number else "left")
    for row in rows:
        table.add_row(*(Text(printable(cell)) for cell in row))
    return fitted(table)


def _row(row: Row) -> dict:
    return {"name": row.name, "backprop": machine(row.backprop),
            "finite_difference": machine(row.finite_difference),
            "fd_error": machine(row.fd_error), "symbolic": machine(row.symbolic),
            "rel_error_fd": machine(row.rel_error_fd),
            "rel_error_symbolic": machine(row.rel_error_symbolic), "status": row.status}


def check_json(report: Check) -> str:
    result = report.result
    document = {
        "output": result.graph.output_name,
        "value": machine(result.value),
        "at": {name: machine(v) for name, v in result.at.items()},
        "rtol": report.rtol,
        "atol": report.atol,
        "agree": report.agree,
        "inputs": [_row(row) for row in report.inputs],
    }
    if report.stages:
        document["stages"] = [_row(row) for row in report.stages]
    return json.dumps(document, indent=2, ensure_ascii=False)
