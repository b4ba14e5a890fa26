"""Descent steps through the compiled graph (`core.compile`): the batch engine's numbers
with one check per step instead of one per stage.

A step runs the graph's straight-line source on the step's columns, then checks in one sum
that every value and every gradient the batch engine would check is finite. When that
holds, the batch engine would have found no bad row and computed the same numbers in the
same order, so its result is this one. When it does not hold (or anything raised), the step
is not used: the caller runs the batch engine, which names the rows and stages at fault as
it always does. On all rows (full batch) the stages that depend on the data alone are
computed once and given to the later steps.
"""
from __future__ import annotations

import math
from operator import itemgetter
from typing import Any, Callable, Mapping

import numpy as np

from gradcalc.core.compile import compile_graph, leaves
from gradcalc.core.graph import Graph
from gradcalc.numbers import columns as m

# Compiling a graph costs about as much as five steps of the batch engine on it (for each of
# the two functions, from the leaves and from the data-only stages), and grows faster than the
# graph: a descent of fewer steps, or on a larger graph, stays with the batch engine.
MIN_STEPS = 20
MAX_NODES = 20_000

_add: Callable[..., Any] = np.add.reduce  # typed loosely: numpy's stubs vary between releases
_cat: Callable[..., Any] = np.concatenate


class Steps:
    """Loss and gradient sums of one graph over rows of in-memory columns, step after step."""

    def __init__(self, graph: Graph, columns: Mapping[str, np.ndarray], wrt: tuple[str, ...]):
        self.graph = graph
        self.columns = columns
        self._data_only = _data_only(graph, set(columns))
        self._fixed: dict[int, Any] | None = None  # all rows' data-only stages, once computed
        self._modes: dict[bool, _Mode] = {}
        self.wrt = wrt
        self._wrt = _getter([graph.index[name] for name in wrt])
        varying = graph.varying_in(wrt)
        self._varying = _getter([i for i in range(len(graph.nodes)) if varying[i]])

    def sums(self, params: Mapping[str, float], pick, n: int) -> tuple[float, list[float]] | None:
        """The sums over the n picked rows of the output and of each gradient in wrt, or None
        where the batch engine has to run (some number not finite, or a sum too large)."""
        full = isinstance(pick, slice) and pick == slice(None)
        mode = self._mode(full and self._fixed is not None)
        columns = self.columns
        given = [np.float64(params[name]) if kind == "param" else
                 (columns[name] if full else columns[name][pick]) if kind == "column" else value
                 for kind, name, value in mode.sources]
        with np.errstate(all="ignore"):
            try:
                values, grads = mode.run(given)
            except (ArithmeticError, ValueError, TypeError):
                return None
            if not mode.finite(mode.checked(values) + self._varying(grads)):
                return None
            # + 0.0 after the sum, not on each row: the same number (only a zero's sign can
            # differ, and + 0.0 makes it positive either way)
            sums = [_sum(values[self.graph.output], n), *(_sum(g, n) + 0.0 for g in self._wrt(grads))]
        if not all(map(math.isfinite, sums)):
            return None
        if full and self._fixed is None:
            self._fixed = {i: values[i] for i in self._data_only}
        return sums[0], sums[1:]

    def _mode(self, reuse: bool) -> "_Mode":
        reuse = reuse and bool(self._data_only)  # nothing to reuse: the same function
        mode = self._modes.get(reuse)
        if mode is None:
            mode = self._modes[reuse] = _Mode(self.graph, set(self.columns), self.wrt,
                                              self._fixed if reuse else {})
        return mode


class _Mode:
    """One compiled function and how to feed and check it: from the leaves alone, or also
    from the data-only stages computed at an earlier step (`fixed`)."""

    def __init__(self, graph: Graph, columns: set[str], wrt: tuple[str, ...], fixed: dict[int, Any] | None):
        fixed = fixed or {}
        nodes = graph.nodes
        order = sorted((*leaves(graph), *fixed))
        self.run = compile_graph(graph, m, order, wrt)
        self.sources: list[tuple[str, str, Any]] = []
        for i in order:
            node = nodes[i]
            if i in fixed:
                self.sources.append(("value", "", fixed[i]))
            elif node.op == "const":
                self.sources.append(("value", "", np.float64(
                    m.constant(node.text) if node.text in ("pi", "e") else m.number(node.text))))
            else:
                self.sources.append(("column" if node.name in columns else "param", node.name, None))
        self.checked = _getter([i for i, node in enumerate(nodes)
                                if node.op not in ("input", "const") and i not in fixed])
        self._layout: tuple[Callable, Callable] | None = None  # (the columns, the numbers)

    def finite(self, items: tuple) -> bool:
        """Whether every column and number is finite, in one sum over them all (a sum of
        finite numbers that overflows says no too: the batch engine then decides). Which
        items are columns is learnt at the first step and stays so; were it to change,
        concatenating or adding would fail, and the items are sorted out again."""
        for _ in range(2):
            if self._layout is None:
                self._layout = _layout(items)
            arrays, numbers = self._layout
            try:
                columns = arrays(items)
                return (not columns or math.isfinite(_add(_cat(columns)))) and \
                    math.isfinite(sum(numbers(items)))
            except (ValueError, TypeError):
                self._layout = None
        return False


def _layout(items: tuple) -> tuple[Callable, Callable]:
    columns = [k for k, x in enumerate(items) if type(x) is np.ndarray and x.ndim == 1]
    taken = set(columns)
    return _getter(columns), _getter([k for k in range(len(items)) if k not in taken])


def _getter(indices: list[int]) -> Callable[[Any], tuple]:
    """`itemgetter` that always gives a tuple, also of one item or none."""
    if len(indices) > 1:
        return itemgetter(*indices)
    if indices:
        k = indices[0]
        return lambda seq: (seq[k],)
    return lambda seq: ()


def _data_only(graph: Graph, columns: set[str]) -> tuple[int, ...]:
    """The stages whose value is the same at every step: no parameter reaches them."""
    moves = graph.varying_in(set(graph.input_names) - columns)
    return tuple(i for i, node in enumerate(graph.nodes)
                 if node.op not in ("input", "const") and not moves[i])


def _sum(column, n: int) -> float:
    """The batch engine's sum of one value per row, for a column or a broadcast number."""
    if type(column) is not np.ndarray or column.shape != (n,):
        column = np.broadcast_to(np.asarray(column, dtype=np.float64), (n,))
    return float(_add(column))
