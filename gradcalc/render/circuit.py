"""The circuit every picture draws: inputs and gates, wires between them, gate labels.

Constants are not drawn as wires: they fold into the label of the gate that uses them, as
in the lecture circuit (`+1`, `×−1`, `1÷□`). Shared by the DOT, Mermaid and SVG renderers.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping

from gradcalc.core.autodiff import Result
from gradcalc.core.graph import Graph, format_call
from gradcalc.core.ops import REGISTRY
from gradcalc.render.numerals import human
from gradcalc.render.outline import Fold, fold, near, shape

DIGITS = 3  # significant digits on wires: pictures need to be read at a glance
NAMED = 5  # stages named in the note on what --depth hides; the rest are counted

@dataclass(frozen=True)
class Box:
    """Stages drawn as one box (--collapse): a block repeated with only the numbers in its
    names changing, between its first and its last repetition."""

    members: frozenset[int]
    label: str  # `246 more like the 5 stages before: w2 … u743`
    exit: int | None  # the one member used outside the box, whose value leaves it (None: several)


@dataclass(frozen=True)
class Circuit:
    graph: Graph
    drawn: tuple[int, ...]  # inputs, gates and boxes, in topological order (constants are folded)
    wires: tuple[tuple[int, int], ...]  # (from, to) node indices, one per argument
    column: dict[int, int]  # 0 for inputs; a gate sits one column right of its latest input
    cut: frozenset[int] = frozenset()  # stages drawn as inputs: what computes them is hidden
    hidden: int = 0  # stages more than --depth steps from the output (the cut ones among them)
    boxes: Mapping[int, Box] = field(default_factory=dict)  # a box is drawn in place of its first member

    def label(self, i: int) -> str:
        if i in self.boxes:
            return self.boxes[i].label
        return self.graph.nodes[i].name if i in self.cut else gate_label(self.graph, i)

    def is_input(self, i: int) -> bool:
        return i not in self.boxes and (i in self.cut or self.graph.nodes[i].op == "input")

    def values(self, result: Result | None, i: int) -> tuple[str, str] | None:
        """The value and gradient on the wire out of i (None without values, or out of a box
        several of whose stages are used outside it)."""
        if i in self.boxes:
            exit_ = self.boxes[i].exit
            return None if exit_ is None else wire_text(result, exit_)
        return wire_text(result, i)

    def tooltip(self, i: int) -> str:
        return self.boxes[i].label if i in self.boxes else tooltip(self.graph, i)

    def note(self, depth: int | None) -> str | None:
        """What the picture leaves out, in a line (None when it shows everything)."""
        if not self.hidden:
            return None
        s = "s" if self.hidden != 1 else ""
        names = [self.graph.nodes[i].name for i in sorted(self.cut)]
        listed = ", ".join(names[:NAMED]) + (f" and {len(names) - NAMED:,} more" if len(names) > NAMED else "")
        return f"{self.hidden:,} stage{s} more than {depth} steps from the output hidden; {listed} enter as inputs"


def circuit(graph: Graph, depth: int | None = None, collapse: bool = False) -> Circuit:
    """The drawn circuit; with `depth`, only the stages at most that many steps from the
    output, each stage just beyond drawn as an input of its own name; with `collapse`, each
    block of stages that repeats four times or more, with only the numbers in its names
    changing, drawn as its first and last repetition and one box between them."""
    nodes = graph.nodes
    shown = near(graph, depth)
    beyond = {j for i, node in enumerate(nodes) if shown[i] for j in node.inputs
              if not shown[j] and nodes[j].op != "const"}  # feeding the picture from outside it
    cut = frozenset(j for j in beyond if nodes[j].op != "input")
    drawn = [i for i, node in enumerate(nodes) if node.op != "const" and (shown[i] or i in beyond)]
    boxes = _boxes(graph, drawn, cut) if collapse else {}
    drawn_in = {m: first for first, box in boxes.items() for m in box.members}  # where each folded stage is drawn
    drawn = [i for i in drawn if drawn_in.get(i, i) == i]
    wires: list[tuple[int, int]] = []
    for i in drawn:
        if i in cut:
            continue
        members = sorted(boxes[i].members) if i in boxes else [i]
        sources = [drawn_in.get(j, j) for m in members for j in nodes[m].inputs if nodes[j].op != "const"]
        sources = [j for j in sources if j != i]  # the wires inside a box are not drawn
        if i in boxes:  # one wire into a box from each source, one wire out of a box to each gate
            sources = list(dict.fromkeys(sources))
        else:
            sources = [j for k, j in enumerate(sources) if j not in boxes or j not in sources[:k]]
        wires += [(j, i) for j in sources]
    column: dict[int, int] = {}
    inputs: dict[int, list[int]] = {}
    for j, i in wires:
        inputs.setdefault(i, []).append(j)
    for i in drawn:
        column[i] = 1 + max((column[j] for j in inputs.get(i, ())), default=-1)
    hidden = sum(1 for i, node in enumerate(nodes) if node.op not in ("const", "input") and not shown[i])
    return Circuit(graph, tuple(drawn), tuple(wires), column, cut, hidden, boxes)


def _boxes(graph: Graph, drawn: list[int], cut: frozenset[int]) -> dict[int, Box]:
    """The folds of the drawn stages (outline.fold, as trace --collapse folds its rows), each
    as a box keyed by its first member."""
    nodes = graph.nodes
    keys = [shape(nodes[i].name, "input" if i in cut else nodes[i].op, "" if i in cut else graph.definition(i))
            for i in drawn]
    boxes: dict[int, Box] = {}
    for item in fold(keys, collapse=True):
        if not isinstance(item, Fold):
            continue
        members = frozenset(drawn[item.start:item.stop])
        used_outside = sorted({j for i in drawn if i not in members for j in nodes[i].inputs if j in members})
        before = "the stage" if item.period == 1 else f"the {item.period} stages"
        first, last = nodes[drawn[item.start]].name, nodes[drawn[item.stop - 1]].name
        label = f"{item.repeats:,} more like {before} before: {first} … {last}"
        boxes[drawn[item.start]] = Box(members, label, used_outside[0] if len(used_outside) == 1 else None)
    return boxes


HOLE = "□"  # where a gate's wired operand goes in a label with a folded constant: 1÷□, □²
_SUPERSCRIPTS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def gate_label(graph: Graph, i: int) -> str:
    """What the gate's circle says: `×`, `exp`, or with a folded constant `+1`, `×3`, `1÷□`, `□²`.

    An operand's place is a box, never a letter, so no label reads as an input's name."""
    node = graph.nodes[i]
    if node.op == "input":
        return node.name
    args = [graph.nodes[j] for j in node.inputs]
    constant = [a.op == "const" for a in args]
    op = REGISTRY[node.op]
    symbol = op.gate_label
    if not any(constant) or len(args) == 1 and op.symbol and not all(constant):
        return symbol
    if all(constant):
        return graph.definition(i)
    if len(args) == 2 and op.symbol:
        value = args[0].text if constant[0] else args[1].text
        if constant[1] and op.symbol == "**" and value.isdigit():
            return HOLE + value.translate(_SUPERSCRIPTS)
        if op.commutative or constant[1]:
            return f"{symbol}{value}"
        return f"{value}{symbol}{HOLE}"  # a constant on the left of −, ÷ or ^: 1÷□, 2^□, 1−□
    return format_call(node.op, [a.text if c else HOLE for a, c in zip(args, constant)])


def second_operand_mark(graph: Graph, i: int) -> str | None:
    """The mark on the wire of a non-commutative gate's second operand (the `b` of a − b,
    a ÷ b, a ^ b): the gate's own symbol; None when no mark is needed."""
    node = graph.nodes[i]
    op = REGISTRY[node.op]
    wired = [j for j in node.inputs if graph.nodes[j].op != "const"]
    if op.commutative or not op.symbol or len(node.inputs) != 2 or len(wired) != 2:
        return None
    return op.gate_label


def wire_text(result: Result | None, j: int) -> tuple[str, str] | None:
    """A wire's forward value and its gradient, rounded for a picture (None: no values)."""
    if result is None:
        return None
    if result.shapes is not None and result.shapes[j]:  # a vector or a matrix: its shape first
        shape = result.shapes[j]
        label = f"{shape[0]}-vector" if len(shape) == 1 else "×".join(map(str, shape))
        if math.prod(shape) > SMALL:
            return label, "…"
        return f"{label} {human(result.values[j], DIGITS)}", human(result.grads[j], DIGITS)
    return human(result.values[j], DIGITS), human(result.grads[j], DIGITS)


SMALL = 6  # elements of an array whose values a wire shows; a bigger one shows its shape


def tooltip(graph: Graph, i: int) -> str:
    node = graph.nodes[i]
    return node.name if node.op == "input" else f"{node.name} = {graph.definition(i)}"
