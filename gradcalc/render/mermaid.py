"""A Mermaid flowchart of the circuit, for Markdown on the common code hosts.

Every label is a quoted string with `"` written as `#quot;`, so names and values never
break the syntax; with values, each wire's label gives its value and its gradient.
"""
from __future__ import annotations

from gradcalc.core.autodiff import Result
from gradcalc.core.graph import Graph
from gradcalc.render.circuit import Circuit, circuit


def quoted(text: str) -> str:
    return '"' + text.replace("#", "#35;").replace('"', "#quot;") + '"'


def _arrow(drawing: Circuit, result: Result | None, j: int) -> str:
    texts = drawing.values(result, j)
    if texts is None:
        return "-->"
    value, grad = texts
    return f"-->|{quoted(f'value {value}, grad {grad}')}|"


def graph_mermaid(graph: Graph, result: Result | None = None, title: str | None = None,
                  depth: int | None = None, collapse: bool = False) -> str:
    drawing = circuit(graph, depth, collapse)
    lines = ["---", f"title: {quoted(title)}", "---"] if title else []
    lines.append("flowchart LR")
    for i in drawing.drawn:
        label = quoted(drawing.label(i))
        if i in drawing.boxes:
            lines.append(f"    n{i}[[{label}]]")  # a subroutine: stages folded by --collapse
        else:
            lines.append(f"    n{i}[{label}]" if drawing.is_input(i) else f"    n{i}(({label}))")
    lines.append(f"    output[{quoted(graph.output_name)}]")
    for j, i in drawing.wires:
        lines.append(f"    n{j} {_arrow(drawing, result, j)} n{i}")
    lines.append(f"    n{graph.output} {_arrow(drawing, result, graph.output)} output")
    return "\n".join(lines) + "\n"
