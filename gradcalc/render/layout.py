"""Tables and lines that survive any width: in a file or a pipe nothing is cut short.

A table keeps its natural layout when it fits the width it is given. When it does not, each
column still gets at least its longest word (so a number or a header word is never split
across lines) and the spare room goes to the columns that would grow most. When even the
longest words do not fit side by side, each row is printed as a block of `header  value`
lines. Titles and captions are lines of their own, and no line ends in spaces.
"""
from __future__ import annotations

from typing import Iterator

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

WIDE = 1 << 20  # a width no table reaches: to measure what a column would take unwrapped
INDENT, GAP = 2, 2  # a stacked row: its values indented under its first cell, beside headers


class Line:
    """Text wrapped at spaces to the width, long words folded, no spaces left at line ends."""

    def __init__(self, text: Text | str, style: str = ""):
        self.text = text if isinstance(text, Text) else Text(text, style=style)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in self.text.wrap(console, options.max_width, overflow="fold"):
            line.rstrip()
            yield line

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.text)


class Fitted:
    """A rich table laid out for the width it is printed at, without cutting a cell."""

    def __init__(self, table: Table):
        self.table = table
        self.title, self.caption = table.title, table.caption
        table.title = table.caption = None  # rich pads them to the table's width
        for column in table.columns:
            column.overflow = "fold"  # never an ellipsis

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if self.title:
            yield Line(self.title, style="table.title")
        widths = column_widths(console, options, self.table)
        if widths is None:
            yield from stacked(console, options.max_width, self.table)
        else:
            for column, width in zip(self.table.columns, widths):
                column.width = width
            yield self.table
        if self.caption:
            yield Line(self.caption, style="table.caption")

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.table)


def fitted(table: Table) -> Fitted:
    return Fitted(table)


def lines(*texts: Text | str | RenderableType) -> Group:
    """Lines of text (and renderables) one after the other, none ending in spaces."""
    return Group(*(Line(t) if isinstance(t, (str, Text)) else t for t in texts))


def column_widths(console: Console, options: ConsoleOptions, table: Table) -> list[int] | None:
    """Each column's content width at options.max_width: its widest line when the table fits,
    else its longest word plus a share of the room left; None when the words do not fit."""
    wide = options.update_width(WIDE)
    lows, highs = [], []
    for column in table.columns:
        cells = ([column.header] if table.show_header else []) + list(column.cells)
        sizes = [Measurement.get(console, wide, cell) for cell in cells] or [Measurement(1, 1)]
        floor = column.min_width or 0
        lows.append(max(floor, *(m.minimum for m in sizes)))
        highs.append(max(floor, *(m.maximum for m in sizes)))
    room = options.max_width - _frame_width(table)
    if sum(highs) <= room:
        return highs
    if sum(lows) > room:
        return None
    return _share(lows, highs, room)


def _frame_width(table: Table) -> int:
    """Borders and padding: what a row takes besides its cells' text."""
    _, right, _, left = Padding.unpack(table.padding)
    n = len(table.columns)
    edges = 2 if table.box and table.show_edge else 0
    rules = n - 1 if table.box else 0
    return edges + rules + n * (left + right)


def _share(lows: list[int], highs: list[int], room: int) -> list[int]:
    """The widest columns give way first, none below its longest word: every column gets
    its widest line or a common cap, whichever is less (but at least its low), the cap as
    high as the room allows. What is left goes first to capped columns it stops wrapping,
    then to the one with the most text."""
    def widths_at(cap: int) -> list[int]:
        return [max(lo, min(hi, cap)) for lo, hi in zip(lows, highs)]

    cap = max(highs)
    while cap > 0 and sum(widths_at(cap)) > room:
        cap -= 1
    widths = widths_at(cap)
    capped = [k for k in range(len(widths)) if widths[k] == cap < highs[k]]
    for k in sorted(capped, key=lambda k: highs[k] - widths[k]):
        if highs[k] - widths[k] <= room - sum(widths):
            widths[k] = highs[k]
    if capped:
        widest = max(capped, key=lambda k: highs[k])
        widths[widest] += min(highs[widest] - widths[widest], room - sum(widths))
    return widths


def stacked(console: Console, width: int, table: Table) -> Iterator[Text]:
    """One block per row: its first cell, then `header  value` for each other filled cell,
    values wrapped (and folded if they must be) beside their headers."""
    headers = [_text(column.header).plain for column in table.columns]
    label = max((cell_len(h) for h in headers[1:]), default=0)
    room = max(1, width - INDENT - label - GAP)
    for row in zip(*(list(column.cells) for column in table.columns)):
        for line in _text(row[0]).wrap(console, width, justify="default", overflow="fold"):
            line.rstrip()
            yield line
        for header, cell in zip(headers[1:], row[1:]):
            text = _text(cell)
            if not text.plain.strip():
                continue
            for k, piece in enumerate(text.wrap(console, room, justify="default", overflow="fold")):
                piece.rstrip()
                name = header if k == 0 else ""
                yield Text(" " * INDENT + name + " " * (label - cell_len(name) + GAP)) + piece


def _text(cell: RenderableType) -> Text:
    if isinstance(cell, Text):
        return cell.copy()
    return Text(cell if isinstance(cell, str) else "")
