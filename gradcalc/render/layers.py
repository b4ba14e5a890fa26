"""Where a circuit's nodes go: a layered layout with crossing reduction (Sugiyama's method).

The layers are the circuit's columns (stage depths, the output in the last one). A wire that
skips columns passes through each of them at a waypoint, shared by every wire of the same
source, so a long wire is a chain of short segments between neighbouring columns. The order
within each column is then chosen to cross few wires: median sweeps left to right and back,
swaps of neighbours while they help, and the order with the fewest crossings seen is kept.
Last, the rows: each node as level as its neighbours allow (least squares under a minimum
spacing of one row, solved exactly by pool-adjacent-violators), waypoints weighted so that
long wires run straight. Every tie breaks by topological order, so the result is the same
for the same graph.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence, Union

from gradcalc.render.circuit import Circuit

MAX_WAYPOINTS = 5000  # beyond this, long wires are drawn straight (the graph is too big to read)
SWEEPS = 24  # median sweeps, alternately rightwards and leftwards
SMALL = 600  # columns of at most this many slots in all get the full search
STRAIGHT = 50.0  # how much more a waypoint weighs than a node when the rows are set

Key = Union[int, tuple]  # a node index, or ("via", source, column) for a waypoint


@dataclass
class Layered:
    columns: list[list[Key]]  # each column's slots, top to bottom
    column: dict[Key, int]
    segments: list[tuple[Key, Key]]  # (left, right) slots; between neighbouring columns when routed
    row: dict[Key, float]  # vertical position in rows, 0 at the top, at least 1 apart in a column

    def crossings(self) -> int:
        return crossings(self.columns, self.segments)


def layered(drawing: Circuit, output: int) -> Layered:
    """The circuit's slots in columns, ordered to cross few wires, and their rows."""
    column: dict[Key, int] = {key: c for key, c in drawing.column.items()}
    column[output] = max(column.values())  # the output sits on the right
    keys: list[Key] = list(drawing.drawn)
    segments = _route(drawing.wires, column, keys)
    columns: list[list[Key]] = [[] for _ in range(1 + max(column.values()))]
    for key in keys:
        columns[column[key]].append(key)
    if _routed(segments, column):
        columns = _ordered(columns, segments, full=len(keys) <= SMALL)
    return Layered(columns, column, segments, _rows(columns, segments, column))


def _route(wires: Sequence[tuple[int, int]], column: dict, keys: list) -> list[tuple[Key, Key]]:
    """Each wire as segments between neighbouring columns, through waypoints (one per source
    and column); wires run straight when the waypoints would be too many."""
    detours = sum(max(0, column[i] - column[j] - 1) for j, i in wires)
    segments: list[tuple[Key, Key]] = []
    seen: set = set()
    for j, i in wires:
        previous: Key = j
        if detours <= MAX_WAYPOINTS:
            for c in range(column[j] + 1, column[i]):
                key = ("via", j, c)
                if key not in seen:
                    seen.add(key)
                    column[key] = c
                    keys.append(key)
                    segments.append((previous, key))
                previous = key
        segments.append((previous, i))
    return segments


def _routed(segments: list, column: dict) -> bool:
    return all(column[b] - column[a] == 1 for a, b in segments)


def _neighbours(columns: list[list[Key]], segments: list) -> tuple[dict, dict]:
    left: dict[Key, list[Key]] = {key: [] for members in columns for key in members}
    right: dict[Key, list[Key]] = {key: [] for key in left}
    for a, b in segments:
        right[a].append(b)
        left[b].append(a)
    return left, right


def _ordered(columns: list[list[Key]], segments: list, full: bool) -> list[list[Key]]:
    """The order with the fewest crossings found by sweeps from two starts: the order of
    first appearance, and the order in which a walk back from the output meets the slots."""
    left, right = _neighbours(columns, segments)
    starts = [columns, _walked(columns, left)] if full else [columns]
    starts += [[list(reversed(m)) for m in start] for start in starts] if full else []
    best, fewest = columns, crossings(columns, segments)
    for start in starts:
        order, count = _swept(start, segments, left, right, full)
        if count < fewest:
            best, fewest = order, count
    return best


def _walked(columns: list[list[Key]], left: dict) -> list[list[Key]]:
    """Each column in the order a depth-first walk from the last column meets its slots."""
    seen: dict[Key, int] = {}
    stack = list(reversed(columns[-1]))
    while stack:
        key = stack.pop()
        if key in seen:
            continue
        seen[key] = len(seen)
        stack.extend(reversed(left[key]))
    return [sorted(members, key=lambda key: seen.get(key, len(seen))) for members in columns]


def _swept(start: list[list[Key]], segments: list, left: dict, right: dict, full: bool
           ) -> tuple[list[list[Key]], int]:
    """Median sweeps with neighbour swaps from `start`; the best order seen and its crossings."""
    order = [list(members) for members in start]
    best, fewest = [list(m) for m in order], crossings(order, segments)
    for sweep in range(SWEEPS if full else 2):
        rightwards = sweep % 2 == 0
        span = range(1, len(order)) if rightwards else range(len(order) - 2, -1, -1)
        for c in span:
            fixed = order[c - 1] if rightwards else order[c + 1]
            _sort_by_median(order[c], left if rightwards else right, fixed)
        if full:
            _swap_neighbours(order, left, right, ties=sweep % 4 == 1)
        count = crossings(order, segments)
        if count < fewest:
            best, fewest = [list(m) for m in order], count
        if fewest == 0:
            break
    return best, fewest


def _sort_by_median(members: list[Key], links: dict, fixed: list[Key]) -> None:
    """Each slot by the median position of its neighbours in the fixed column; a slot without
    any keeps its place."""
    where = {key: k for k, key in enumerate(fixed)}
    place = {key: k for k, key in enumerate(members)}
    wanted = {}
    for key in members:
        spots = sorted(where[other] for other in links[key])
        wanted[key] = _median(spots) if spots else float(place[key])
    members.sort(key=lambda key: (wanted[key], place[key]))


def _median(spots: list[int]) -> float:
    """The median of sorted positions; for an even count, weighted towards the denser side
    (Gansner et al., as Graphviz's dot does)."""
    m = len(spots) // 2
    if len(spots) % 2 or len(spots) == 0:
        return float(spots[m])
    if len(spots) == 2:
        return (spots[0] + spots[1]) / 2
    low, high = spots[m - 1] - spots[0], spots[-1] - spots[m]
    if low + high == 0:
        return (spots[m - 1] + spots[m]) / 2
    return (spots[m - 1] * high + spots[m] * low) / (low + high)


def _swap_neighbours(order: list[list[Key]], left: dict, right: dict, ties: bool = False) -> None:
    """Swap neighbouring slots of a column while that removes crossings on either side (with
    `ties`, also once where it removes as many as it adds, to leave a local minimum)."""
    improved, rounds = True, 0
    while improved and rounds < 8:
        improved, rounds = False, rounds + 1
        for c, members in enumerate(order):
            before = {key: k for k, key in enumerate(order[c - 1])} if c else {}
            after = {key: k for k, key in enumerate(order[c + 1])} if c + 1 < len(order) else {}
            for k in range(len(members) - 1):
                v, w = members[k], members[k + 1]
                now = _pair(v, w, left, before) + _pair(v, w, right, after)
                then = _pair(w, v, left, before) + _pair(w, v, right, after)
                if then < now or (ties and rounds == 1 and then == now and now > 0):
                    members[k], members[k + 1] = w, v
                    improved = improved or then < now


def _pair(upper: Key, lower: Key, links: dict, where: dict) -> int:
    """Crossings between the wires of `upper` and of `lower` (upper above) on one side."""
    if not where:
        return 0
    return sum(1 for a in links[upper] for b in links[lower] if where[a] > where[b])


def crossings(columns: list[list[Key]], segments: list) -> int:
    """Pairs of segments between the same two columns that cross (inversions of their ends)."""
    where = {key: (c, k) for c, members in enumerate(columns) for k, key in enumerate(members)}
    between: dict[int, list[tuple[int, int]]] = {}
    for a, b in segments:
        (ca, ka), (cb, kb) = where[a], where[b]
        if cb - ca == 1:
            between.setdefault(ca, []).append((ka, kb))
    return sum(_inversions([kb for _, kb in sorted(ends)]) for ends in between.values())


def _inversions(values: list[int]) -> int:
    """Pairs i < j with values[i] > values[j], by a Fenwick tree."""
    size = max(values, default=0) + 2
    tree = [0] * (size + 1)
    count = 0
    for seen, value in enumerate(values):
        k, at_most = value + 1, 0
        while k > 0:
            at_most += tree[k]
            k -= k & -k
        count += seen - at_most
        k = value + 1
        while k <= size:
            tree[k] += 1
            k += k & -k
    return count


def _rows(columns: list[list[Key]], segments: list, column: dict) -> dict[Key, float]:
    """Rows that keep each column's order and spacing and put every slot as level as it can
    be with its neighbours: sweeps rightwards and leftwards, then both sides at once."""
    left, right = _neighbours(columns, segments)
    both = {key: left[key] + right[key] for key in left}
    lanes = _lanes(columns)
    row = {key: float(k) for members in columns for k, key in enumerate(members)}
    rightwards, leftwards = range(len(columns)), range(len(columns) - 1, -1, -1)
    passes = [(left, rightwards), (right, leftwards)] * 4 + [(both, rightwards), (both, leftwards)] * 4
    for links, span in passes:
        for c in span:
            members = columns[c]
            wanted = [_mean([row[o] for o in lanes[key]] if key in lanes else [row[o] for o in links[key]],
                            row[key]) for key in members]
            weights = [STRAIGHT if key in lanes else 1.0 for key in members]
            for key, y in zip(members, _spaced(wanted, weights)):
                row[key] = y
    top = min(row.values(), default=0.0)
    return {key: y - top for key, y in row.items()}


def _lanes(columns: list[list[Key]]) -> dict[Key, list[Key]]:
    """Each waypoint's lane: the waypoints of its source and the source itself, which one
    level line should join."""
    lanes: dict[Key, list[Key]] = {}
    for members in columns:
        for key in members:
            if isinstance(key, tuple):
                lanes.setdefault(("lane", key[1]), [key[1]]).append(key)
    return {key: lane for lane in lanes.values() for key in lane[1:]}


def _mean(values: list[float], default: float) -> float:
    return sum(values) / len(values) if values else default


def _spaced(wanted: list[float], weights: list[float]) -> list[float]:
    """The rows closest to `wanted` (weighted least squares) that keep their order at least
    1 apart: isotonic regression of wanted[k] - k by pool-adjacent-violators, plus k."""
    blocks: list[list[float]] = []  # [weighted sum, weight, count]
    for k, (y, w) in enumerate(zip(wanted, weights)):
        blocks.append([(y - k) * w, w, 1])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            total, weight, count = blocks.pop()
            blocks[-1][0] += total
            blocks[-1][1] += weight
            blocks[-1][2] += count
    out: list[float] = []
    for total, weight, count in blocks:
        for _ in range(int(count)):
            out.append(total / weight + len(out))
    return out
