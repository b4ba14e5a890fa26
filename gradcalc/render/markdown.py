"""The trace as a Markdown table a teacher can paste into course notes.

One row per stage: its definition, value, each local derivative written symbolically (the
op registry's rule run on sympy, in the names of the stages) with its value, and the
backpropagated gradient.
"""
from __future__ import annotations

from typing import Any, Callable

from gradcalc.core.autodiff import Result
from gradcalc.errors import printable
from gradcalc.render import outline
from gradcalc.render.numerals import human
from gradcalc.render.vectors import refuse


def local_derivatives(result: Result, i: int) -> list[tuple[str, Any, object]]:
    """(input name, symbolic rule, value) for each non-constant input of stage i."""
    from gradcalc.analyses.formulas import local_rules

    graph = result.graph
    node = graph.nodes[i]
    rules = local_rules(graph, i)
    return [(graph.nodes[j].name, rule, value)
            for j, rule, value in zip(node.inputs, rules, result.locals[i])
            if graph.nodes[j].op != "const"]


def _code(text: str) -> str:
    return f"`{printable(text)}`"


def trace_markdown(result: Result, depth: int | None = None, collapse: bool | None = None,
                   last: tuple[str, Callable[[int], Any]] | None = None) -> str:
    """`last`: the last column, (header, the number of stage i) [default: ∂output/∂stage]."""
    refuse(result, "markdown")
    graph = result.graph
    header, number = last or (f"∂{printable(graph.output_name)}/∂stage", lambda i: result.grads[i])
    lines = [f"| stage | definition | value | local derivative | {header} |",
             "| :-- | :-- | --: | :-- | --: |"]
    rows, caption = outline.stage_rows(graph, depth, collapse)
    for i in rows:
        if isinstance(i, str):
            lines.append(f"| ⋮ | {printable(i)} | | | |")
            continue
        node = graph.nodes[i]
        definition = "input" if node.op == "input" else _code(graph.definition(i))
        local = "<br>".join(f"∂{printable(node.name)}/∂{printable(name)} = "
                            + (human(value) if rule.is_Number else f"{_code(str(rule))} = {human(value)}")
                            for name, rule, value in local_derivatives(result, i))
        lines.append(f"| {_code(node.name)} | {definition} | {human(result.values[i])} | {local} "
                     f"| {human(number(i))} |")
    if caption:
        lines += ["", f"*{caption}*"]
    return "\n".join(lines) + "\n"
