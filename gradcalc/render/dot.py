"""Graphviz DOT of the circuit: `gradcalc graph ... | dot -Tsvg > circuit.svg`.

Inputs are plain text on the left, gates circles (a box for stages folded by --collapse),
left to right; with values, each wire
carries its forward value (blue) above its gradient (vermilion, bold), as in the lecture
drawing and in gradcalc's own SVG (the same colour-blind-safe colours).
"""
from __future__ import annotations

from html import escape

from gradcalc.core.autodiff import Result
from gradcalc.core.graph import Graph
from gradcalc.render.circuit import Circuit, circuit
from gradcalc.render.svg import THEMES

LIGHT = THEMES["light"]


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _edge_label(drawing: Circuit, result: Result | None, j: int) -> str:
    texts = drawing.values(result, j)
    if texts is None:
        return ""
    value, grad = (escape(t) for t in texts)
    return (f' [label=<<font color="{LIGHT.value}">{value}</font><br/>'
            f'<font color="{LIGHT.grad}"><b>{grad}</b></font>>]')


def graph_dot(graph: Graph, result: Result | None = None, title: str | None = None,
              depth: int | None = None, collapse: bool = False) -> str:
    drawing = circuit(graph, depth, collapse)
    lines = [
        "digraph gradcalc {",
        "  rankdir=LR;",
        *([f"  label={_quoted(title)}; labelloc=t; fontname=\"Helvetica\"; fontsize=18;"] if title else []),
        '  node [fontname="Helvetica", fontsize=14];',
        '  edge [fontname="Helvetica", fontsize=11, arrowsize=0.6];',
    ]
    for i in drawing.drawn:
        shape = "plaintext" if drawing.is_input(i) else "box, style=rounded" if i in drawing.boxes else "circle"
        label = drawing.label(i).replace(": ", "\n", 1) if i in drawing.boxes else drawing.label(i)
        lines.append(f"  n{i} [label={_quoted(label)}, shape={shape}, "
                     f"tooltip={_quoted(drawing.tooltip(i))}];")
    for j, i in drawing.wires:
        lines.append(f"  n{j} -> n{i}{_edge_label(drawing, result, j)};")
    lines.append(f"  output [label={_quoted(graph.output_name)}, shape=plaintext];")
    lines.append(f"  n{graph.output} -> output{_edge_label(drawing, result, graph.output)};")
    lines.append("}")
    return "\n".join(lines) + "\n"
