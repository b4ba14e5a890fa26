"""The circuit as a self-contained SVG, drawn by gradcalc itself (no Graphviz).

The lecture drawing: inputs on the left, the output on the right, gates as labelled
circles in columns by stage depth, each wire labelled with its forward value above (green)
and its gradient below (red). The layout keeps labels apart by construction: a column is a
band of circles, then a band of horizontal wire stubs that carry the labels, then a gap
that only the slanted wires cross. A wire that skips columns runs straight through them in
a slot of its own, so no wire crosses a label. Widths are estimated as font size × 0.6 per
character.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from gradcalc.core.autodiff import Result
from gradcalc.core.graph import Graph
from gradcalc.render.circuit import circuit, tooltip, wire_text

FONT = 14  # wire labels and names
GATE_FONT = 16  # the label inside a gate
CHAR = 0.6  # estimated character width, in font sizes
PAD = 6
GAP = 48  # between a column's wire labels and the next column: only wires cross it
MIN_RADIUS = 18
MAX_DETOURS = 5000  # beyond this, long wires are drawn straight (the graph is too big to read)
GREEN, RED = "green", "red"
FONT_FAMILY = "Helvetica, Arial, sans-serif"


def text_width(text: str, size: float) -> float:
    return len(text) * size * CHAR


@dataclass
class _Slot:
    """A place in a column: a node (gate or input) or a long wire passing through."""

    column: int
    radius: float = 0.0
    labels: tuple[str, str] | None = None
    after: list = field(default_factory=list)  # slots this one's wire continues from
    y: float = 0.0


def graph_svg(graph: Graph, result: Result | None = None) -> str:
    drawing = circuit(graph)
    slots, segments = _slots(graph, drawing, result)
    names = [graph.nodes[i].name for i in drawing.drawn if graph.nodes[i].op == "input"]
    columns = _Columns.measure(slots, names)
    labels = 2 * (FONT + PAD) if result is not None else 0.0
    spacing = max(2 * max(columns.radius), labels) + 2 * PAD + 4
    _place(slots, len(columns.x), spacing)
    body = []
    for key, slot in slots.items():
        body += _draw_slot(graph, drawing, key, slot, columns)
    for source, target in segments:
        body += _draw_wire(slots, columns, source, target)
    width = columns.stub_end(slots[graph.output]) + 3 * PAD + text_width(graph.output_name, FONT)
    height = max(s.y for s in slots.values()) + spacing / 2
    return _document(width, height, body)


@dataclass
class _Columns:
    """Where each column sits: the centre of its gates, its widest gate, its wire-label band."""

    x: list[float]
    radius: list[float]
    stub: list[float]

    @classmethod
    def measure(cls, slots: dict, input_names: list[str]) -> _Columns:
        count = 1 + max(slot.column for slot in slots.values())
        radius, widest = [0.0] * count, [12.0] * count
        for slot in slots.values():
            c = slot.column
            radius[c] = max(radius[c], slot.radius)
            for label in slot.labels or ():
                widest[c] = max(widest[c], text_width(label, FONT))
        stub = [w + 2 * PAD for w in widest]
        x = [max([text_width(n, FONT) for n in input_names] + [0.0]) + 2 * PAD + radius[0]]
        for c in range(1, count):
            x.append(x[c - 1] + radius[c - 1] + stub[c - 1] + GAP + radius[c])
        return cls(x, radius, stub)

    def stub_end(self, slot: _Slot) -> float:
        c = slot.column
        return self.x[c] + self.radius[c] + self.stub[c]


def _draw_slot(graph: Graph, drawing, key, slot: _Slot, columns: _Columns) -> list[str]:
    """A gate or input with its outgoing wire stub and labels, or a wire passing through."""
    x, y, band = columns.x[slot.column], slot.y, columns.radius[slot.column]
    if isinstance(key, tuple):
        return [_line(x - band, y, columns.stub_end(slot), y)]
    node = graph.nodes[key]
    is_output = key == graph.output
    out = [_line(x + slot.radius, y, columns.stub_end(slot), y, arrow=is_output)]
    if slot.labels:
        value, grad = slot.labels
        out.append(_text(x + band + PAD, y - PAD, value, FONT, GREEN))
        out.append(_text(x + band + PAD, y + PAD + FONT * 0.8, grad, FONT, RED))
    if node.op == "input":
        out.append(_text(x - PAD, y + FONT * 0.35, node.name, FONT, anchor="end"))
    else:
        label = _text(x, y + GATE_FONT * 0.35, drawing.label(key), GATE_FONT, anchor="middle")
        out.append(f"<g><title>{escape(tooltip(graph, key))}</title>"
                   f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{slot.radius:.1f}" fill="white" '
                   f'stroke="black" stroke-width="1"/>{label}</g>')
    if is_output:
        out.append(_text(columns.stub_end(slot) + PAD, y + FONT * 0.35, graph.output_name, FONT))
    return out


def _draw_wire(slots: dict, columns: _Columns, source, target) -> list[str]:
    """A slanted wire across the gap between two columns; into a gate smaller than its
    column's widest, it runs on level to the circle, where the arrow ends."""
    start, end = slots[source], slots[target]
    edge = columns.x[end.column] - columns.radius[end.column]
    circle = columns.x[end.column] - end.radius
    passing = isinstance(target, tuple)
    level = not passing and circle - edge > 0.5
    out = [_line(columns.stub_end(start), start.y, edge, end.y, arrow=not passing and not level)]
    if level:
        out.append(_line(edge, end.y, circle, end.y, arrow=True))
    return out


def _slots(graph: Graph, drawing, result: Result | None) -> tuple[dict, list]:
    """Every node's slot, a pass-through slot per column a long wire skips, and the
    segments joining them (each between neighbouring columns unless the graph is huge)."""
    column = dict(drawing.column)
    column[graph.output] = max(column.values())  # the output sits on the right
    slots: dict = {}
    for i in drawing.drawn:
        labels = wire_text(result, i)
        radius = 0.0 if graph.nodes[i].op == "input" else \
            max(MIN_RADIUS, text_width(drawing.label(i), GATE_FONT) / 2 + PAD)
        slots[i] = _Slot(column[i], radius, labels)
    detours = sum(max(0, column[i] - column[j] - 1) for j, i in drawing.wires)
    segments = []
    for j, i in drawing.wires:
        previous = j
        if detours <= MAX_DETOURS:
            for c in range(column[j] + 1, column[i]):
                key = ("via", j, c)
                if key not in slots:
                    slots[key] = _Slot(c)
                    slots[key].after.append(previous)
                    segments.append((previous, key))
                previous = key
        slots[i].after.append(previous)
        segments.append((previous, i))
    return slots, segments


def _place(slots: dict, columns: int, spacing: float) -> None:
    """Column by column, each slot as level as possible with what feeds it, never closer
    than `spacing` to its neighbour."""
    by_column: list[list] = [[] for _ in range(columns)]
    for order, (key, slot) in enumerate(slots.items()):
        by_column[slot.column].append((order, key, slot))
    top = spacing / 2 + PAD
    for c, members in enumerate(by_column):
        wanted = []
        for order, key, slot in members:
            feeds = [slots[k].y for k in slot.after]
            wanted.append((sum(feeds) / len(feeds) if feeds and c else top, order, slot))
        wanted.sort(key=lambda w: (w[0], w[1]))
        floor = top
        for desired, _, slot in wanted:
            slot.y = max(desired, floor)
            floor = slot.y + spacing


def _line(x1: float, y1: float, x2: float, y2: float, arrow: bool = False) -> str:
    marker = ' marker-end="url(#arrow)"' if arrow else ""
    return (f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
            f'stroke="black" stroke-width="1"{marker}/>')


def _text(x: float, y: float, text: str, size: float, fill: str = "black", anchor: str = "start") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{fill}" '
            f'text-anchor="{anchor}">{escape(text)}</text>')


def _document(width: float, height: float, body: list[str]) -> str:
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" font-family={quoteattr(FONT_FAMILY)}>\n'
            '<rect width="100%" height="100%" fill="white"/>\n'
            '<defs><marker id="arrow" refX="6" refY="2" markerWidth="6" markerHeight="4" '
            'orient="auto"><path d="M 0,0 V 4 L6,2 Z"/></marker></defs>\n')
    return head + "\n".join(body) + "\n</svg>\n"
