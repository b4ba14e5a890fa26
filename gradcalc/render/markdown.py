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
from gradcalc.render.vectors import RULES_TITLE, refuse_outline, rule, shape_label, steps


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
    if getattr(result, "shapes", None) is not None:  # forward mode's tangents have none
        refuse_outline(depth, collapse)
        return vector_markdown(result)
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


def vector_markdown(result: Result) -> str:
    """The trace of vectors and matrices as the table shows it, in two Markdown tables: each
    stage's shape, value and gradient (cut as the table cuts them), then the backward steps as
    the vectorised rules written out."""
    graph, shapes = result.graph, result.shapes
    assert shapes is not None
    title = RULES_TITLE.replace("d<input> +=", "`d<input> +=`")  # `<input>` is not HTML
    lines = ["forward pass (topological order)", "",
             f"| stage | op | definition | shape | value | ∂{printable(graph.output_name)}/∂stage |",
             "| :-- | :-- | :-- | --: | --: | --: |"]
    for i, node in enumerate(graph.nodes):
        definition = "" if node.op == "input" else _code(graph.definition(i))
        lines.append(f"| {_code(node.name)} | {node.op} | {definition} | {shape_label(shapes[i])} "
                     f"| {human(result.values[i])} | {human(result.grads[i])} |")
    lines += ["", title, "", "| step | rule | shape | accumulated |", "| --: | :-- | --: | :-- |",
              f"| | {_code(f'd{graph.output_name} = 1')} | scalar | seed |"]
    for step, (i, k, j, _, total) in enumerate(steps(result), 1):
        lines.append(f"| {step} | {_code(rule(result, i, k))} | {shape_label(shapes[j])} "
                     f"| {_code(f'd{graph.nodes[j].name}')} = {human(total)} |")
    return "\n".join(lines) + "\n"
