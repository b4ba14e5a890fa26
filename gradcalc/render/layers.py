"""Where a circuit's nodes go: a layered layout with crossing reduction (Sugiyama's method).

The layers are the circuit's columns, the output in the last one. Two layerings are tried:
the lecture's (inputs in the first column, each gate one column right of its latest input)
and a compact one (the shortest wires in all, found by the network simplex of Gansner et
al., as Graphviz's dot ranks its nodes, so that an input sits just before its first use);
the one that crosses fewer wires is kept, the lecture's on a tie. A wire that skips columns
passes through each of them at a waypoint, shared by every wire of the same source, so a
long wire is a chain of short segments between neighbouring columns. The order within each
column is then chosen to cross few wires: from several starting orders (the order of first
appearance, a walk back from the output, their mirror images and a few shuffles from a
fixed seed), median and barycenter sweeps in both directions, swaps of neighbours and
moves of single slots to their best place in the column (sifting), and the order with the
fewest crossings seen is kept. Last, the rows: each node as level as its neighbours allow
(least squares under a minimum spacing of one row, solved exactly by pool-adjacent-
violators), waypoints weighted so that long wires run straight. Every choice is made in a
fixed order, so the result is the same for the same graph.
"""
from __future__ import annotations

import random
from bisect import bisect_left, bisect_right, insort
from dataclasses import dataclass
from typing import NamedTuple, Sequence, Union

from gradcalc.render.circuit import Circuit

MAX_WAYPOINTS = 5000  # beyond this, long wires are drawn straight (the graph is too big to read)
SMALL = 600  # circuits of at most this many slots get the full search
COMPACT = 200  # circuits of at most this many nodes also try the compact layering
SWEEPS = 24  # at most this many sweeps from one start, alternately rightwards and leftwards
PATIENCE = 4  # a start ends after this many sweeps without fewer crossings
SHUFFLES = 12  # shuffled starts besides the four fixed ones,
WORK = 2000  # and fewer when slots times shuffles would exceed this: 60 nodes get about 12
SEED = 12  # of the shuffled starts, so that the same graph gets the same picture
HEAVY = 1000  # the weight that keeps the output in the last column of the compact layering
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
    lecture = dict(drawing.column)
    lecture[output] = max(lecture.values())  # the output sits on the right
    best = _slotted(drawing, lecture)
    if best.crossings and len(drawing.drawn) <= COMPACT:
        compact = compact_columns(drawing, output)
        if compact != lecture:
            best = min(best, _slotted(drawing, compact), key=lambda laid: laid.crossings)  # the first on a tie
    return Layered(best.columns, best.column, best.segments, _rows(best.columns, best.segments, best.column))


class _Slotted(NamedTuple):
    columns: list[list[Key]]
    column: dict[Key, int]
    segments: list[tuple[Key, Key]]
    crossings: int


def _slotted(drawing: Circuit, layering: dict[int, int]) -> _Slotted:
    """The slots of a layering (nodes and waypoints) in columns, ordered to cross few wires."""
    column: dict[Key, int] = {key: c for key, c in layering.items()}
    keys: list[Key] = list(drawing.drawn)
    segments = _route(drawing.wires, column, keys)
    columns: list[list[Key]] = [[] for _ in range(1 + max(column.values()))]
    for key in keys:
        columns[column[key]].append(key)
    if _routed(segments, column):
        columns = _ordered(columns, segments, full=len(keys) <= SMALL)
    return _Slotted(columns, column, segments, crossings(columns, segments))


def compact_columns(drawing: Circuit, output: int) -> dict[int, int]:
    """Columns that make the wires as short as they can be in all, each at least one column
    long and the output in the last column: an input sits just before its first use."""
    index = {key: k for k, key in enumerate(drawing.drawn)}
    sink = len(index)  # an extra node right of all: the output is pulled next to it
    edges = [(index[j], index[i], 1) for j, i in drawing.wires]
    edges += [(k, sink, HEAVY if key == output else 0) for key, k in index.items()]
    rank = network_simplex(sink + 1, edges)
    low = min(rank[:sink])
    column = {key: rank[k] - low for key, k in index.items()}
    column[output] = max(column.values())
    return column


def network_simplex(count: int, edges: Sequence[tuple[int, int, int]]) -> list[int]:
    """Ranks r minimising the sum of w·(r[v] − r[u]) over the edges (u, v, w), under
    r[v] ≥ r[u] + 1 (Gansner et al. 1993). The nodes are numbered in topological order
    (every u < v) and connected."""
    merged: dict[tuple[int, int], int] = {}
    for u, v, w in edges:
        merged[(u, v)] = merged.get((u, v), 0) + w
    simplex = _Simplex(count, [(u, v, w) for (u, v), w in merged.items()])
    simplex.solve()
    return simplex.rank


class _Simplex:
    """A spanning tree of tight edges, improved by exchanging a tree edge of negative cut
    value (moving its side would shorten the wires) for the edge of least slack across the
    same cut, until no cut value is negative."""

    def __init__(self, count: int, edges: list[tuple[int, int, int]]):
        self.count, self.edges = count, edges
        self.incident: list[list[int]] = [[] for _ in range(count)]
        for e, (u, v, _) in enumerate(edges):
            self.incident[u].append(e)
            self.incident[v].append(e)
        self.rank = [0] * count
        for e in sorted(range(len(edges)), key=lambda e: edges[e][1]):  # longest path from the sources
            u, v, _ = edges[e]
            self.rank[v] = max(self.rank[v], self.rank[u] + 1)
        self.tree: set[int] = set()

    def slack(self, e: int) -> int:
        u, v, _ = self.edges[e]
        return self.rank[v] - self.rank[u] - 1

    def solve(self) -> None:
        self._tight_tree()
        for _ in range(4 * self.count + 50):  # a bound against cycling on ties
            low, lim, parent = self._numbered()
            leaving = self._negative(low, lim, parent)
            if leaving is None:
                return
            entering = self._entering(leaving, low, lim, parent)
            if entering is None:
                return
            self.tree.discard(leaving)
            self.tree.add(entering)
            self._rank_from_tree()

    def _tight_tree(self) -> None:
        """A spanning tree of tight edges: grow one from node 0, shifting it along the
        least slack edge that leaves it whenever it stops growing."""
        inside = [False] * self.count
        members = self._grow([0], inside)
        while len(members) < self.count:
            leaving = min((e for x in members for e in self.incident[x]
                           if inside[self.edges[e][0]] != inside[self.edges[e][1]]),
                          key=lambda e: (self.slack(e), e))
            delta = self.slack(leaving) if inside[self.edges[leaving][0]] else -self.slack(leaving)
            for x in members:
                self.rank[x] += delta
            members += self._grow(members, inside)

    def _grow(self, start: list[int], inside: list[bool]) -> list[int]:
        found, stack = [], list(start)
        for x in start:
            if not inside[x]:
                inside[x] = True
                found.append(x)
        while stack:
            x = stack.pop()
            for e in self.incident[x]:
                u, v, _ = self.edges[e]
                y = v if u == x else u
                if not inside[y] and self.slack(e) == 0:
                    inside[y] = True
                    self.tree.add(e)
                    found.append(y)
                    stack.append(y)
        return found

    def _numbered(self) -> tuple[list[int], list[int], list[int]]:
        """The tree rooted at node 0 in postorder: each node's number (lim), the lowest number
        in its subtree (low), and the tree edge to its parent (-1 for the root)."""
        low, lim, parent = [0] * self.count, [0] * self.count, [-1] * self.count
        adjacent: list[list[int]] = [[] for _ in range(self.count)]
        for e in sorted(self.tree):
            u, v, _ = self.edges[e]
            adjacent[u].append(e)
            adjacent[v].append(e)
        counter, stack = 0, [(0, iter(adjacent[0]))]
        low[0], seen = 0, {0}
        while stack:
            x, pending = stack[-1]
            for e in pending:
                u, v, _ = self.edges[e]
                y = v if u == x else u
                if y not in seen:
                    seen.add(y)
                    parent[y], low[y] = e, counter
                    stack.append((y, iter(adjacent[y])))
                    break
            else:
                stack.pop()
                lim[x] = counter
                counter += 1
        return low, lim, parent

    def _negative(self, low: list[int], lim: list[int], parent: list[int]) -> int | None:
        """The tree edge of the most negative cut value (None when none is negative)."""
        weighted = [edge for edge in self.edges if edge[2]]
        best, value = None, 0
        for e in sorted(self.tree):
            child = self._child(e, parent)
            u = self.edges[e][0]
            tail_below = low[child] <= lim[u] <= lim[child]
            cut = 0
            for a, b, w in weighted:
                a_below, b_below = low[child] <= lim[a] <= lim[child], low[child] <= lim[b] <= lim[child]
                if a_below != b_below:
                    cut += w if a_below == tail_below else -w
            if cut < value:
                best, value = e, cut
        return best

    def _child(self, e: int, parent: list[int]) -> int:
        u, v, _ = self.edges[e]
        return u if parent[u] == e else v

    def _entering(self, leaving: int, low: list[int], lim: list[int], parent: list[int]) -> int | None:
        """The non-tree edge of least slack from the head side of `leaving` to its tail side."""
        child = self._child(leaving, parent)
        tail_below = low[child] <= lim[self.edges[leaving][0]] <= lim[child]
        best = None
        for e, (a, b, _) in enumerate(self.edges):
            if e in self.tree:
                continue
            a_tail = (low[child] <= lim[a] <= lim[child]) == tail_below
            b_tail = (low[child] <= lim[b] <= lim[child]) == tail_below
            if not a_tail and b_tail and (best is None or self.slack(e) < self.slack(best)):
                best = e
        return best

    def _rank_from_tree(self) -> None:
        """Ranks that make every tree edge tight, node 0 kept where it is."""
        adjacent: list[list[int]] = [[] for _ in range(self.count)]
        for e in self.tree:
            u, v, _ = self.edges[e]
            adjacent[u].append(e)
            adjacent[v].append(e)
        seen, stack = {0}, [0]
        while stack:
            x = stack.pop()
            for e in adjacent[x]:
                u, v, _ = self.edges[e]
                y = v if u == x else u
                if y not in seen:
                    seen.add(y)
                    self.rank[y] = self.rank[x] + 1 if y == v else self.rank[x] - 1
                    stack.append(y)


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
    """The order with the fewest crossings found from several starts (see the module's
    docstring); only two median sweeps from the first start for a large circuit."""
    keys = [key for members in columns for key in members]
    number = {key: k for k, key in enumerate(keys)}
    order = _Order([[number[key] for key in members] for members in columns],
                   [(number[a], number[b]) for a, b in segments])
    if full:
        best = order.search()
    else:
        best = order.swept(order.columns, sweeps=2, refine=False)[0]
    return [[keys[k] for k in members] for members in best]


class _Order:
    """Columns of slot numbers, the slots' neighbours on each side, and their positions."""

    def __init__(self, columns: list[list[int]], segments: list[tuple[int, int]]):
        count = sum(len(members) for members in columns)
        self.columns = columns
        self.left: list[list[int]] = [[] for _ in range(count)]
        self.right: list[list[int]] = [[] for _ in range(count)]
        for a, b in segments:
            self.right[a].append(b)
            self.left[b].append(a)
        self.place = [0] * count

    def search(self) -> list[list[int]]:
        starts = [self.columns, self._walked()]
        starts += [[list(reversed(m)) for m in start] for start in starts]
        shuffle = random.Random(SEED)
        slots = max(1, len(self.place))
        starts += [[shuffle.sample(m, len(m)) for m in self.columns] for _ in range(min(SHUFFLES, WORK // slots))]
        best, fewest = self.columns, self.count(self.columns)
        for start in starts:
            if fewest == 0:
                break
            order, found = self.swept(start, SWEEPS, refine=True)
            if found < fewest:
                best, fewest = order, found
        return best

    def _walked(self) -> list[list[int]]:
        """Each column in the order a depth-first walk from the last column meets its slots."""
        seen: dict[int, int] = {}
        stack = list(reversed(self.columns[-1]))
        while stack:
            key = stack.pop()
            if key in seen:
                continue
            seen[key] = len(seen)
            stack.extend(reversed(self.left[key]))
        return [sorted(members, key=lambda key: seen.get(key, len(seen))) for members in self.columns]

    def count(self, order: list[list[int]]) -> int:
        self._place(order)
        return sum(self._between(members) for members in order[:-1])

    def _place(self, order: list[list[int]]) -> None:
        for members in order:
            for k, slot in enumerate(members):
                self.place[slot] = k

    def _between(self, members: list[int]) -> int:
        """Crossings of the segments leaving `members` (placed) rightwards."""
        seen: list[int] = []
        count = 0
        for slot in members:
            ends = sorted(self.place[b] for b in self.right[slot])
            for end in ends:
                count += len(seen) - bisect_right(seen, end)
            for end in ends:
                insort(seen, end)
        return count

    def swept(self, start: list[list[int]], sweeps: int, refine: bool) -> tuple[list[list[int]], int]:
        """Sweeps from `start` (median, then barycenter from the fourth sweep on), each
        followed, with `refine`, by neighbour swaps and sifting; the best order seen."""
        order = [list(members) for members in start]
        best, fewest = [list(m) for m in order], self.count(order)
        since = 0
        for sweep in range(sweeps):
            if fewest == 0 or since >= PATIENCE:
                break
            rightwards = sweep % 2 == 0
            span = range(1, len(order)) if rightwards else range(len(order) - 2, -1, -1)
            for c in span:
                self._sort(order[c], self.left if rightwards else self.right, median=sweep < 4 or sweep % 4 < 2)
            if refine:
                self._swap_neighbours(order)
            found = self.count(order)
            if found < fewest:
                best, fewest, since = [list(m) for m in order], found, 0
            else:
                since += 1
        while refine and fewest:
            order = [list(m) for m in best]
            self._place(order)
            self._sift(order)
            self._swap_neighbours(order)
            found = self.count(order)
            if found >= fewest:
                break
            best, fewest = order, found
        return best, fewest

    def _sort(self, members: list[int], links: list[list[int]], median: bool) -> None:
        """Each slot by the median (or mean) place of its neighbours on one side; a slot
        without any keeps its place, the others fill the places around it."""
        wanted: dict[int, float] = {}
        for slot in members:
            spots = sorted(self.place[other] for other in links[slot])
            if spots:
                wanted[slot] = _median(spots) if median else sum(spots) / len(spots)
        moving = iter(sorted((s for s in members if s in wanted), key=lambda s: (wanted[s], self.place[s])))
        members[:] = [slot if slot not in wanted else next(moving) for slot in members]
        for k, slot in enumerate(members):
            self.place[slot] = k

    def _crossed(self, upper: int, lower: int) -> int:
        """Crossings between the segments of `upper` and of `lower`, upper above, both sides."""
        count = 0
        for links in (self.left, self.right):
            for a in links[upper]:
                at = self.place[a]
                for b in links[lower]:
                    if at > self.place[b]:
                        count += 1
        return count

    def _swap_neighbours(self, order: list[list[int]]) -> None:
        """Swap neighbouring slots of a column while that removes crossings."""
        improved, rounds = True, 0
        while improved and rounds < 8:
            improved, rounds = False, rounds + 1
            for members in order:
                for k in range(len(members) - 1):
                    v, w = members[k], members[k + 1]
                    if self._crossed(w, v) < self._crossed(v, w):
                        members[k], members[k + 1] = w, v
                        self.place[v], self.place[w] = k + 1, k
                        improved = True

    def _sift(self, order: list[list[int]]) -> None:
        """Move each slot in turn to the place in its column where it crosses fewest (its
        own place on a tie)."""
        for members in order:
            for slot in list(members):
                here = self.place[slot]
                ends = [sorted(self.place[b] for b in self.left[slot]),
                        sorted(self.place[b] for b in self.right[slot])]
                others = [s for s in members if s != slot]
                changes = [0]
                for other in others:
                    changes.append(changes[-1] + self._below_minus_above(other, ends))
                fewest = min(changes)
                where = here if changes[here] == fewest else changes.index(fewest)
                others.insert(where, slot)
                members[:] = others
                for k, other in enumerate(members):
                    self.place[other] = k

    def _below_minus_above(self, other: int, ends: list[list[int]]) -> int:
        """How many crossings a slot with neighbours at `ends` (left, right) gains by moving
        from just above `other` to just below it."""
        change = 0
        for links, spots in zip((self.left, self.right), ends):
            if spots:
                for a in links[other]:
                    at = self.place[a]
                    change += bisect_left(spots, at) - (len(spots) - bisect_right(spots, at))
        return change


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
