"""Forward and backward over a chunk of rows at once: the registry's rules on numpy columns.

The same two loops as `autodiff`, with arrays for values: each node's forward function and
local rule run once per chunk, never once per row. Parameters stay scalars and broadcast.
A row whose value, needed local derivative or gradient is not finite at some stage is a bad
row; it is named with the stage (the scalar path's message plus the row number), dropped,
and the chunk's remaining rows are computed again.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from gradcalc.core.autodiff import check_gradients, derivative_error, value_error
from gradcalc.core.graph import Graph
from gradcalc.core.ops import REGISTRY
from gradcalc.data.problems import FIRST_FEW, Kink, Problem, Problems
from gradcalc.errors import DomainError, ExitCode
from gradcalc.numbers import columns as m


@dataclass
class Batch:
    """What one chunk gave: per kept row, the output and the gradient of each reported input."""

    rows: np.ndarray
    value: np.ndarray
    grads: dict[str, np.ndarray]
    problems: Problems
    kinks: dict[str, Kink]


def at_row(value, k: int):
    """One row's entry of a column, or the scalar itself (parameters and constants)."""
    return value[k] if np.ndim(value) else value


def run(graph: Graph, data: Mapping[str, np.ndarray], params: Mapping[str, float],
        rows: np.ndarray, wrt: Sequence[str], *, gradient: bool = True) -> Batch:
    """Value and gradient for every row of a chunk; bad rows are reported and left out."""
    params = {name: np.float64(v) for name, v in params.items()}
    problems = Problems()
    while True:
        env = {**params, **data}
        with np.errstate(all="ignore"):
            values, bad = _forward(graph, env, len(rows))
            if bad is None and gradient:
                grads, _, kinks = _backward(graph, values, rows)
                if grads is None:  # some row went wrong: the checked loop finds which, and how
                    grads, bad, kinks = _backward(graph, values, rows, checked=True)
        if bad is None:
            break
        keep = _report(graph, values, rows, bad, problems)
        data = {name: column[keep] for name, column in data.items()}
        rows = rows[keep]
    n = len(rows)
    index = graph.index
    value = _full(values[graph.output], n)
    if not gradient:
        return Batch(rows, value, {}, problems, {})
    assert grads is not None  # the checked pass always gives them
    return Batch(rows, value, {name: _full(grads[index[name]] + m.ZERO, n) for name in wrt},
                 problems, kinks)


def _full(value, n: int) -> np.ndarray:
    if type(value) is np.ndarray and value.shape == (n,) and value.dtype == np.float64:
        return value  # already one float per row (the common case, without numpy's wrapper)
    return np.broadcast_to(np.asarray(value, dtype=np.float64), (n,))


def _all_finite(value) -> bool:
    """Every row finite (a column), or the number finite (a parameter).

    Calls the ufuncs directly: `ndarray.all()` goes through a Python wrapper that costs more
    than the check itself on the short columns of a gradient descent step.
    """
    if type(value) is not np.ndarray:
        return math.isfinite(value)
    return bool(_ALL(np.isfinite(value)))


# Typed as a plain callable: numpy 2.5's stubs match no overload of reduce for a bool column.
_ALL: Callable[..., Any] = np.logical_and.reduce


@dataclass
class _Bad:
    """Per row, where it first went wrong: stage index (-1 if it did not), and which kind."""

    stage: np.ndarray
    kind: str  # "value", "derivative" or "gradient"
    arg: np.ndarray | None = None  # for derivatives: which input of the stage

    def mark(self, flags: np.ndarray, stage: int, arg: int = 0) -> None:
        new = flags & (self.stage < 0)
        self.stage[new] = stage
        if self.arg is not None:
            self.arg[new] = arg


def _forward(graph: Graph, env: Mapping, n: int) -> tuple[list, _Bad | None]:
    values: list = [None] * len(graph.nodes)
    bad = None
    for i, node in enumerate(graph.nodes):
        if node.op == "input":
            values[i] = env[node.name]
            continue
        if node.op == "const":
            values[i] = np.float64(m.constant(node.text) if node.text in ("pi", "e")
                                   else m.number(node.text))
            continue
        args = [values[j] for j in node.inputs]
        fn = REGISTRY[node.op].forward
        assert fn is not None  # only the leaves have none
        out = fn(m, *args)
        if getattr(out, "ndim", 0) == 0:
            if not math.isfinite(out):  # no row to blame: parameters and constants alone
                raise value_error(graph, i, args, None)
        elif not _all_finite(out):
            bad = bad or _Bad(np.full(n, -1), "value")
            bad.mark(~np.isfinite(out), i)
        values[i] = out
    return values, bad


def _backward(graph: Graph, values: list, rows: np.ndarray, checked: bool = False
              ) -> tuple[list | None, _Bad | None, dict[str, Kink]]:
    """Reverse accumulation on columns: the gradients, the bad rows and the kinks.

    Unchecked (the common case), it makes fewer passes over the columns: no check per local
    derivative, no `0 + ...` for each gradient's first term (`run` adds `m.ZERO` at the end,
    which restores the sign of zero), no products by exactly 1; and it gives up (gradients
    None) at the first gradient that is not finite on some row — a bad local derivative makes
    its input's gradient non-finite too. Checked, it marks the first stage that went wrong on
    each row, so `run` can name it.
    """
    nodes, varying, live = graph.nodes, graph.varying, graph.live
    n = len(rows)
    grads: list = [None] * len(nodes)  # None: no term yet, a gradient of 0
    grads[graph.output] = m.ONE
    bad = None
    kinks: dict[str, Kink] = {}
    for i in range(len(nodes) - 1, -1, -1):
        node = nodes[i]
        upstream = m.ZERO if grads[i] is None else grads[i]
        if varying[i] and not _all_finite(upstream):
            if not checked:
                return None, None, kinks
            if np.ndim(upstream) == 0:
                raise _gradient_error(graph, i)
            bad = bad or _Bad(np.full(n, -1), "gradient")
            bad.mark(~np.isfinite(upstream), i)
        if not node.inputs or not live[i]:
            continue
        op = REGISTRY[node.op]
        assert op.partial is not None  # a node with inputs is not a leaf
        args = tuple(values[j] for j in node.inputs)
        out = values[i]
        for k, j in enumerate(node.inputs):
            if not varying[j]:
                continue
            p = op.partial(m, out, args, k)
            if checked:
                bad = _checked_local(graph, i, k, args, p, bad, n)
            term = upstream if p is m.ONE else p if upstream is m.ONE else p * upstream
            grads[j] = term if grads[j] is None else grads[j] + term
        if op.kink_at is not None:
            _note_kink(graph, i, out, args, rows, kinks)
    return [m.ZERO if g is None else g for g in grads], bad, kinks


def _checked_local(graph: Graph, i: int, k: int, args: tuple, p, bad: _Bad | None, n: int
                   ) -> _Bad | None:
    """Mark the rows where ∂node i/∂(its k-th input) is not finite (a parameter's: raise)."""
    finite = np.isfinite(p)
    if np.ndim(p) == 0:
        if not finite:
            raise derivative_error(graph, i, k, args)
    elif not finite.all():
        if bad is None or bad.kind != "derivative":
            bad = _Bad(np.full(n, -1), "derivative", np.zeros(n, dtype=np.int64))
        bad.mark(~finite, i, k)
    return bad


def _note_kink(graph: Graph, i: int, out, args: tuple, rows: np.ndarray,
               kinks: dict[str, Kink]) -> None:
    """Count the rows at the stage's kink; the registry words the note for the first one."""
    op = REGISTRY[graph.nodes[i].op]
    assert op.kink_at is not None and op.kink is not None  # only called for an op with a kink
    flags = np.broadcast_to(op.kink_at(out, args), rows.shape)
    hits = np.flatnonzero(flags)
    if len(hits):
        k = int(hits[0])
        note = op.kink(at_row(out, k), tuple(at_row(a, k) for a in args))
        stage = graph.nodes[i].name
        text = f"stage {graph.stage(i)}: {note}"
        kinks[stage] = Kink(len(hits), int(rows[k]), text)


def _report(graph: Graph, values: list, rows: np.ndarray, bad: _Bad, problems: Problems
            ) -> np.ndarray:
    """Describe the first few bad rows, count them all; the mask of the rows to keep."""
    positions = np.flatnonzero(bad.stage >= 0)
    described = [Problem(int(rows[k]), f"row {rows[k]}: {_why(graph, values, bad, k)}",
                         ExitCode.MATH, graph.nodes[bad.stage[k]].name)
                 for k in positions[:FIRST_FEW]]
    problems.add(len(positions), described)
    return bad.stage < 0


def _why(graph: Graph, values: list, bad: _Bad, k: int) -> str:
    i = int(bad.stage[k])
    args = [at_row(values[j], k) for j in graph.nodes[i].inputs]
    if bad.kind == "value":
        return str(value_error(graph, i, args, None))
    if bad.kind == "derivative":
        assert bad.arg is not None  # a derivative's bad rows always say which input
        return str(derivative_error(graph, i, int(bad.arg[k]), args))
    return str(_gradient_error(graph, i))


def _gradient_error(graph: Graph, i: int) -> DomainError:
    """The scalar path's message for a gradient that overflowed at node i."""
    grads = [0.0] * len(graph.nodes)
    grads[i] = float("inf")
    try:
        check_gradients(graph, grads, np.isfinite)
    except DomainError as exc:
        return exc
    raise AssertionError("node i is varying, so its gradient is checked")
