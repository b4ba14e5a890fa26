"""A Mermaid flowchart of the circuit, for Markdown on the common code hosts.

Every label is a quoted string with `"` written as `#quot;`, so names and values never
break the syntax; with values, each wire's label gives its value and its gradient.
"""
from __future__ import annotations

from gradcalc.core.autodiff import Result
from gradcalc.core.graph import Graph
from gradcalc.render.circuit import circuit, wire_text


def quoted(text: str) -> str:
    return '"' + text.replace("#", "#35;").replace('"', "#quot;") + '"'


def _arrow(result: Result | None, j: int) -> str:
    texts = wire_text(result, j)
    if texts is None:
        return "-->"
    value, grad = texts
    return f"-->|{quoted(f'value {value}, grad {grad}')}|"


def graph_mermaid(graph: Graph, result: Result | None = None, title: str | None = None,
                  depth: int | None = None) -> str:
    drawing = circuit(graph, depth)
    lines = ["---", f"title: {quoted(title)}", "---"] if title else []
    lines.append("flowchart LR")
    for i in drawing.drawn:
        label = quoted(drawing.label(i))
        lines.append(f"    n{i}[{label}]" if drawing.is_input(i) else f"    n{i}(({label}))")
    lines.append(f"    output[{quoted(graph.output_name)}]")
    for j, i in drawing.wires:
        lines.append(f"    n{j} {_arrow(result, j)} n{i}")
    lines.append(f"    n{graph.output} {_arrow(result, graph.output)} output")
    return "\n".join(lines) + "\n"
