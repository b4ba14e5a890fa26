"""Large traces that stay readable: keep the stages near the output, fold repeated rows.

`--depth N` keeps the stages at most N steps from the output. `--collapse` folds a block
of rows that repeats with only the numbers in its names changing (the terms of a long sum,
the layers of a deep nest) into its first and last repetition and one line saying how
many were folded. Both work on plain lists in one pass, so a graph of any size is fine.
"""
from __future__ import annotations

import re
from typing import Hashable, NamedTuple, Sequence

from gradcalc.core.graph import Graph
from gradcalc.render import AUTO_ROWS

MAX_PERIOD = 8  # the longest repeating block looked for
MIN_REPEATS = 4  # fold only when at least this many repetitions follow one another

_DIGITS = re.compile(r"\d+")


class Fold(NamedTuple):  # a tuple, not a dataclass: the trace table loads this module at start-up
    """Rows [start, stop) of the original list, left out: `repeats` copies of `period` rows."""

    start: int
    stop: int
    period: int

    @property
    def repeats(self) -> int:
        return (self.stop - self.start) // self.period


def shape(*texts: str) -> str:
    """What a row looks like with the numbers in its names blanked: `u12 = w3*x3` → `u# = w#*x#`."""
    return "\x1f".join(_DIGITS.sub("#", text) for text in texts)


def distances(graph: Graph) -> list[float]:
    """Fewest edges from each node to the output (inf for nodes the output does not use)."""
    far = float("inf")
    steps = [far] * len(graph.nodes)
    steps[graph.output] = 0
    for i in range(graph.output, -1, -1):
        if steps[i] == far:
            continue
        for j in graph.nodes[i].inputs:
            steps[j] = min(steps[j], steps[i] + 1)
    return steps


def fold(keys: Sequence[Hashable], collapse: bool | None = None) -> list[int | Fold]:
    """Row indices in order, with each long run of a repeating block replaced by a Fold that
    keeps the first and the last repetition visible. `collapse=None` folds long lists only."""
    if collapse is False or (collapse is None and len(keys) <= AUTO_ROWS):
        return list(range(len(keys)))
    out: list[int | Fold] = []
    k, n = 0, len(keys)
    while k < n:
        period, repeats = _longest_repeat(keys, k)
        if repeats >= MIN_REPEATS:
            out.extend(range(k, k + period))
            stop = k + (repeats - 1) * period
            out.append(Fold(k + period, stop, period))
            out.extend(range(stop, stop + period))
            k = stop + period
        else:
            out.append(k)
            k += 1
    return out


def _longest_repeat(keys: Sequence[Hashable], k: int) -> tuple[int, int]:
    """The block starting at k whose repetitions cover the most rows: (length, repetitions)."""
    best = (1, 1)
    n = len(keys)
    for period in range(1, MAX_PERIOD + 1):
        if k + MIN_REPEATS * period > n:
            break
        end = k + period
        while end < n and keys[end] == keys[end - period]:
            end += 1
        repeats = (end - k) // period
        if repeats >= MIN_REPEATS and repeats * period > best[0] * best[1]:
            best = (period, repeats)
    return best


def fold_rows(keys: Sequence[Hashable], names: Sequence[str], collapse: bool | None) -> list[int | str]:
    """Row indices in order, each fold replaced by the line that tells what it hides."""
    return [fold_note(item, names) if isinstance(item, Fold) else item for item in fold(keys, collapse)]


def stage_rows(graph: Graph, depth: int | None = None, collapse: bool | None = None
               ) -> tuple[list[int | str], str | None]:
    """The trace's stage rows (constants show inside definitions): node indices, and notes
    for folded rows; plus a caption on what is hidden, if anything."""
    shown = near(graph, depth)
    stages = [i for i, node in enumerate(graph.nodes) if node.op != "const" and shown[i]]
    keys = [shape(graph.nodes[i].name, graph.nodes[i].op, graph.definition(i)) for i in stages]
    rows = fold_rows(keys, [graph.nodes[i].name for i in stages], collapse)
    hidden = sum(1 for i, node in enumerate(graph.nodes) if node.op != "const" and not shown[i])
    return [row if isinstance(row, str) else stages[row] for row in rows], caption(rows, hidden, depth)


def fold_note(fold_: Fold, names: Sequence[str]) -> str:
    rows = "the row" if fold_.period == 1 else f"the {fold_.period} rows"
    return f"{fold_.repeats:,} more like {rows} above: {names[fold_.start]} … {names[fold_.stop - 1]}"


def caption(rows: list, hidden: int, depth: int | None, noun: str = "stage") -> str | None:
    """What a table leaves out, and the option that shows it."""
    notes = []
    if hidden:
        notes.append(f"{hidden:,} {noun}{'s' if hidden != 1 else ''} more than {depth} steps "
                     f"from the output hidden (raise --depth)")
    if any(isinstance(row, str) for row in rows):
        notes.append("repeated rows folded (--no-collapse shows every row)")
    return "; ".join(notes) or None


def near(graph: Graph, depth: int | None) -> list[bool]:
    """Whether each node is shown under `--depth` (every node when depth is None)."""
    if depth is None:
        return [True] * len(graph.nodes)
    return [steps <= depth for steps in distances(graph)]
