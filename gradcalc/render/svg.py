"""The circuit as a self-contained SVG, drawn by gradcalc itself (no Graphviz).

The lecture drawing: inputs on the left, the output on the right, gates as circles of one
size in columns by stage depth, each wire labelled with its forward value above and its
gradient below, and a legend that says so. The order and rows come from the layered layout
(layers.py), which keeps crossings few. Labels stay apart by construction: a column is a
band of circles, then a band of horizontal wire stubs that carry the labels, then a gap
that only the slanted wires cross; a wire that skips columns runs straight through them in
a slot of its own, so no wire crosses a label. Widths are estimated as font size × 0.6 per
character.

The colours are Okabe and Ito's, safe for colour-blind readers; values and gradients also
differ in place (above, below) and weight (regular, bold), so a greyscale print keeps them
apart.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple
from xml.sax.saxutils import escape, quoteattr

from gradcalc.core.autodiff import Result
from gradcalc.core.graph import Graph
from gradcalc.render.circuit import Circuit, circuit, second_operand_mark
from gradcalc.render.layers import Layered, layered

FONT = 14  # wire labels and names
GATE_FONT = 16  # the label inside a gate
MARK_FONT = 10  # the operand mark inside a gate
BOX_FONT = 12  # the two lines inside a box of stages folded by --collapse
TITLE_FONT = 18
CHAR = 0.6  # estimated character width, in font sizes
PAD = 6
GAP = 48  # between a column's wire labels and the next column: only wires cross it
RADIUS = 20  # every gate's: a long label is set smaller instead
FAN_STEP = 7  # between the starts of wires fanning out of one slot
SPREAD = math.radians(50)  # the widest angle from the left at which a wire enters a gate
FONT_FAMILY = "Helvetica, Arial, sans-serif"


class Palette(NamedTuple):
    background: str
    ink: str  # lines, names, gate labels
    value: str  # Okabe–Ito blue
    grad: str  # Okabe–Ito vermilion (on white, darkened to the contrast text needs)


THEMES = {
    "light": Palette("#ffffff", "#000000", "#0072B2", "#B84F00"),  # vermilion darkened to 4.5:1
    "dark": Palette("#1e1e1e", "#f0f0f0", "#56B4E9", "#E69F00"),  # sky blue and orange
}


def text_width(text: str, size: float) -> float:
    return len(text) * size * CHAR


@dataclass
class _Slot:
    """A place in a column: a node (gate or input) or a long wire passing through."""

    column: int
    radius: float = 0.0
    labels: tuple[str, str] | None = None
    y: float = 0.0


def graph_svg(graph: Graph, result: Result | None = None, title: str | None = None,
              theme: str = "light", depth: int | None = None, collapse: bool = False) -> str:
    colours = THEMES[theme]
    drawing = circuit(graph, depth, collapse)
    layout = layered(drawing, graph.output)
    slots = _slots(graph, drawing, layout, result)
    names = {i: graph.nodes[i].name for i in drawing.drawn if drawing.is_input(i)}
    columns = _Columns.measure(slots, names)
    labels = 2 * (FONT + PAD) if result is not None else 0.0
    spacing = max(2 * RADIUS, labels) + 2 * PAD + 4
    top = spacing / 2 + PAD + (TITLE_FONT + 2 * PAD if title else 0)
    for key, slot in slots.items():
        slot.y = top + layout.row[key] * spacing
    body = []
    for key, slot in slots.items():
        body += _draw_slot(graph, drawing, key, slot, columns, colours)
    body += _draw_wires(drawing, layout, slots, columns, spacing / 2 - 2 * PAD, colours)
    width = columns.stub_end(slots[graph.output]) + 3 * PAD + text_width(graph.output_name, FONT)
    height = max(s.y for s in slots.values()) + spacing / 2
    if result is not None:
        legend, legend_width = _legend(graph.output_name, height, colours)
        body += legend
        width, height = max(width, legend_width), height + 2 * (FONT + PAD) + 2 * PAD
    for note in (_marks_note(drawing), drawing.note(depth)):
        if note:
            body.append(_text(2 * PAD, height + FONT, note, FONT, colours.ink))
            width, height = max(width, text_width(note, FONT) + 4 * PAD), height + FONT + 2 * PAD
    if title:
        width = max(width, text_width(title, TITLE_FONT) + 4 * PAD)
        body.append(_text(width / 2, PAD + TITLE_FONT, title, TITLE_FONT, colours.ink, "middle", bold=True))
    return _document(width, height, body, colours)


@dataclass
class _Columns:
    """Where each column sits: the centre of its gates, its widest gate, how far its band
    reaches left (room for the name of an input that sits there), its wire-label band."""

    x: list[float]
    radius: list[float]
    stub: list[float]
    reach: list[float]

    @classmethod
    def measure(cls, slots: dict, names: dict) -> _Columns:
        count = 1 + max(slot.column for slot in slots.values())
        radius, widest, named = [0.0] * count, [12.0] * count, [0.0] * count
        for key, slot in slots.items():
            c = slot.column
            radius[c] = max(radius[c], slot.radius)
            for label in slot.labels or ():
                widest[c] = max(widest[c], text_width(label, FONT))
            if key in names:
                named[c] = max(named[c], text_width(names[key], FONT) + 2 * PAD)
        stub = [w + 2 * PAD for w in widest]
        reach = [max(r, n) for r, n in zip(radius, named)]
        x = [named[0] + radius[0]]
        for c in range(1, count):
            x.append(x[c - 1] + radius[c - 1] + stub[c - 1] + GAP + reach[c])
        return cls(x, radius, stub, reach)

    def stub_end(self, slot: _Slot) -> float:
        c = slot.column
        return self.x[c] + self.radius[c] + self.stub[c]

    def band_start(self, slot: _Slot) -> float:
        """Where the column's band begins: the slanted wires end here or at a gate."""
        return self.x[slot.column] - self.reach[slot.column]


def _gate_font(label: str) -> float:
    """The label's size: GATE_FONT, or smaller so that a long label fits the circle."""
    room = 2 * RADIUS - 2 * PAD + 4
    return min(GATE_FONT, room / (max(1, len(label)) * CHAR))


def _draw_slot(graph: Graph, drawing: Circuit, key, slot: _Slot, columns: _Columns, colours: Palette
               ) -> list[str]:
    """A gate, box or input with its outgoing wire stub and labels, or a wire passing through."""
    x, y, band = columns.x[slot.column], slot.y, columns.radius[slot.column]
    if isinstance(key, tuple):
        return [_line(columns.band_start(slot), y, columns.stub_end(slot), y, colours.ink)]
    node = graph.nodes[key]
    is_output = key == graph.output
    out = [_line(x + slot.radius, y, columns.stub_end(slot), y, colours.ink, arrow=is_output)]
    if slot.labels:
        value, grad = slot.labels
        out.append(_text(x + band + PAD, y - PAD, value, FONT, colours.value))
        out.append(_text(x + band + PAD, y + PAD + FONT * 0.8, grad, FONT, colours.grad, bold=True))
    if drawing.is_input(key):
        out.append(_text(x - PAD, y + FONT * 0.35, node.name, FONT, colours.ink, "end"))
    elif key in drawing.boxes:
        out.append(_box(drawing, key, x, y, slot.radius, colours))
    else:
        text = drawing.label(key)
        size = _gate_font(text)
        label = _text(x, y + size * 0.35, text, size, colours.ink, "middle")
        out.append(f"<g><title>{escape(drawing.tooltip(key))}</title>"
                   f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{slot.radius:.1f}" fill="{colours.background}" '
                   f'stroke="{colours.ink}" stroke-width="1.2"/>{label}</g>')
    if is_output:
        out.append(_text(columns.stub_end(slot) + PAD, y + FONT * 0.35, graph.output_name, FONT, colours.ink))
    return out


def _box_lines(label: str) -> list[str]:
    """A box's label in two lines: how many stages it folds, and their names."""
    return label.split(": ", 1)


def _box_half_width(label: str) -> float:
    return max(text_width(line, BOX_FONT) for line in _box_lines(label)) / 2 + PAD


def _box(drawing: Circuit, key: int, x: float, y: float, half: float, colours: Palette) -> str:
    """Stages folded by --collapse: a rounded box of a gate's height, saying what it holds."""
    what, names = _box_lines(drawing.label(key))
    return (f"<g><title>{escape(drawing.tooltip(key))}</title>"
            f'<rect x="{x - half:.1f}" y="{y - RADIUS:.1f}" width="{2 * half:.1f}" height="{2 * RADIUS:.1f}" '
            f'rx="6" fill="{colours.background}" stroke="{colours.ink}" stroke-width="1.2" stroke-dasharray="4 2"/>'
            f"{_text(x, y - 2, what, BOX_FONT, colours.ink, 'middle')}"
            f"{_text(x, y + BOX_FONT, names, BOX_FONT, colours.ink, 'middle')}</g>")


def _draw_wires(drawing: Circuit, layout: Layered, slots: dict, columns: _Columns, fan: float,
                colours: Palette) -> list[str]:
    """The slanted wires across the gaps. The wires into a gate end at points spread over its
    left side, top to bottom in the order they come from, so no two arrows meet; the second
    operand of −, ÷ or ^ is marked inside the circle where its wire enters."""
    into: dict = {}
    for number, (source, target) in enumerate(layout.segments):
        into.setdefault(target, []).append((slots[source].y, number, source))
    starts, out = _fanned(layout.segments, slots, columns, fan, colours)
    for target, sources in into.items():
        end = slots[target]
        if isinstance(target, tuple):
            x = columns.band_start(end)
            out += [_line(columns.stub_end(slots[s]), starts[n], x, end.y, colours.ink)
                    for _, n, s in sources]
            continue
        graph, boxed = drawing.graph, target in drawing.boxes
        mark = None if boxed else second_operand_mark(graph, target)
        operands = [j for j in graph.nodes[target].inputs if graph.nodes[j].op != "const"]
        sources.sort()
        for k, (_, number, source) in enumerate(sources):
            angle = _entry_angle(k, len(sources))
            cx, r = columns.x[end.column], end.radius
            if boxed:  # along the box's left side
                x, y = cx - r, end.y - (RADIUS - 4) * math.sin(angle) / math.sin(SPREAD)
            else:
                x, y = cx - r * math.cos(angle), end.y - r * math.sin(angle)
            level = columns.band_start(end) < cx - r - 0.05  # an input's name widens the band
            out += _into_gate(columns.stub_end(slots[source]), starts[number], columns.band_start(end) if level
                              else None, x, y, colours.ink)
            if mark and _origin(source) == operands[1] and (operands[0] != operands[1] or k == len(sources) - 1):
                inner = r - MARK_FONT * 0.75
                out.append(_text(cx - inner * math.cos(angle), end.y - inner * math.sin(angle) + MARK_FONT * 0.35,
                                 mark, MARK_FONT, colours.ink, "middle", bold=True))
    return out


def _into_gate(x1: float, y1: float, band: float | None, x: float, y: float, ink: str) -> list[str]:
    """A wire from a stub's end to the point (x, y) on a gate: slanted across the gap, then,
    when the column's band starts at `band` left of the gate, level through it, so that it
    crosses no input's name there."""
    if band is None:
        return [_line(x1, y1, x, y, ink, arrow=True)]
    return [_line(x1, y1, band, y, ink), _line(band, y, x, y, ink, arrow=True)]


def _fanned(segments: list, slots: dict, columns: _Columns, fan: float, colours: Palette
            ) -> tuple[dict[int, float], list[str]]:
    """Where each segment leaves its slot: three or more wires from one slot leave from points
    spread along a short bar at the end of its stub, in the order of their targets, so each
    can be followed from its start; one or two leave from the stub's end."""
    leaving: dict = {}
    for number, (source, target) in enumerate(segments):
        leaving.setdefault(source, []).append((slots[target].y, number))
    starts: dict[int, float] = {}
    bars = []
    for source, targets in leaving.items():
        y = slots[source].y
        if len(targets) < 3:
            starts.update((number, y) for _, number in targets)
            continue
        half = min(fan, FAN_STEP * (len(targets) - 1) / 2)
        for k, (_, number) in enumerate(sorted(targets)):
            starts[number] = y - half + 2 * half * k / (len(targets) - 1)
        x = columns.stub_end(slots[source])
        bars.append(_line(x, y - half, x, y + half, colours.ink))
    return starts, bars


def _origin(key) -> int:
    """The node a slot's wire comes from: itself, or the source of a waypoint."""
    return key[1] if isinstance(key, tuple) else key


def _entry_angle(k: int, count: int) -> float:
    """The k-th of `count` wires into a gate enters this far above (positive) the left point."""
    if count == 1:
        return 0.0
    spread = min(SPREAD, math.radians(18) * (count - 1))
    return spread - 2 * spread * k / (count - 1)


def _marks_note(drawing: Circuit) -> str | None:
    """What the small marks inside gates mean, when the picture has any."""
    marks = [second_operand_mark(drawing.graph, i) for i in drawing.drawn
             if not drawing.is_input(i) and i not in drawing.boxes]
    shown = list(dict.fromkeys(mark for mark in marks if mark))  # in the order the gates come
    if not shown:
        return None
    which = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]
    where = " and ".join(f"a {mark} b" for mark in shown)
    return f"a small {which} inside a gate marks the wire of its second operand: b in {where}"


def _legend(output: str, top: float, colours: Palette) -> tuple[list[str], float]:
    """A sample wire with its two labels, and what they mean: below the circuit."""
    y = top + FONT + 2 * PAD
    left, length = 2 * PAD, 4 * FONT
    value, grad = "value", f"∂{output}/∂wire"
    stub = max(text_width(value, FONT), text_width(grad, FONT)) + 2 * PAD
    words = f"value above the wire, ∂{output}/∂wire below"
    x = left + max(length, stub) + 2 * PAD
    parts = [
        _line(left, y, left + max(length, stub), y, colours.ink),
        _text(left + PAD, y - PAD, value, FONT, colours.value),
        _text(left + PAD, y + PAD + FONT * 0.8, grad, FONT, colours.grad, bold=True),
        _text(x, y + FONT * 0.35, words, FONT, colours.ink),
    ]
    return parts, x + text_width(words, FONT) + 2 * PAD


def _slots(graph: Graph, drawing: Circuit, layout: Layered, result: Result | None) -> dict:
    """Every slot of the layout, in the columns' order: a node with its labels, or a waypoint."""
    slots: dict = {}
    for members in layout.columns:
        for key in members:
            if not isinstance(key, int):
                slots[key] = _Slot(layout.column[key])
                continue
            radius = 0.0 if drawing.is_input(key) else RADIUS
            if key in drawing.boxes:
                radius = _box_half_width(drawing.label(key))
            slots[key] = _Slot(layout.column[key], radius, drawing.values(result, key))
    return slots


def _line(x1: float, y1: float, x2: float, y2: float, ink: str, arrow: bool = False) -> str:
    marker = ' marker-end="url(#arrow)"' if arrow else ""
    return (f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
            f'stroke="{ink}" stroke-width="1"{marker}/>')


def _text(x: float, y: float, text: str, size: float, fill: str, anchor: str = "start",
          bold: bool = False) -> str:
    weight = ' font-weight="bold"' if bold else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size:.3g}" fill="{fill}"{weight} '
            f'text-anchor="{anchor}">{escape(text)}</text>')


def _document(width: float, height: float, body: list[str], colours: Palette) -> str:
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" font-family={quoteattr(FONT_FAMILY)}>\n'
            f'<rect width="100%" height="100%" fill="{colours.background}"/>\n'
            '<defs><marker id="arrow" refX="6" refY="2" markerWidth="6" markerHeight="4" '
            f'orient="auto"><path d="M 0,0 V 4 L6,2 Z" fill="{colours.ink}"/></marker></defs>\n')
    return head + "\n".join(body) + "\n</svg>\n"
