"""Forward and backward over a chunk of rows at once: the registry's rules on numpy columns.

The same two loops as `autodiff`, with arrays for values: each node's forward function and
local rule run once per chunk, never once per row. Parameters stay scalars and broadcast.
A row whose value, needed local derivative or gradient is not finite at some stage is a bad
row; it is named with the stage (the scalar path's message plus the row number), dropped,
and the chunk's remaining rows are computed again.

Most chunks have no bad row, so a chunk is first swept by a plan laid out once per graph
(`Sweep`) that checks only what can hide a bad row: a stage's values where no operation
carries a non-finite value on to a value checked anyway, the output, and the inputs'
gradients, where every non-finite local derivative or gradient ends up. Only when that
finds something does the chunk go through the checked loops, which name the row and stage.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

from gradcalc.core.autodiff import check_gradients, derivative_error, value_error
from gradcalc.core.compile import compile_sweep
from gradcalc.core.graph import Graph
from gradcalc.core.ops import KEEPS_NONFINITE, REGISTRY
from gradcalc.data.inplace import compile_inplace
from gradcalc.data.problems import FIRST_FEW, Kink, Problem, Problems
from gradcalc.errors import DomainError, ExitCode
from gradcalc.numbers import columns as m


def keep_freed_memory() -> None:
    """Ask glibc's allocator to keep the memory of freed columns for the next chunk.

    By default it hands a freed block of a few hundred kilobytes back to the system and
    maps it afresh for the next chunk: a page fault per 4 KB page, which cost more than the
    arithmetic of the column (10^5 rows took 2,150 faults per evaluation). Blocks up to
    32 MB now come from the heap, and up to 64 MB of freed heap stay mapped. Elsewhere
    (another C library) nothing changes.
    """
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError, TypeError):  # no mallopt, or no C library to ask
        return
    mallopt(_M_MMAP_THRESHOLD, 32 << 20)
    mallopt(_M_TRIM_THRESHOLD, 64 << 20)


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's <malloc.h>
# A graph of more nodes than this is swept stage by stage: compiling its source would cost
# more than it saves on a file's chunks (as for the descent's compiled steps).
COMPILED_NODES = 5_000
# Compiling takes about 40 µs per node: a graph of more nodes than this is compiled from its
# second chunk on, so that a file of one chunk never waits for it.
EAGER_NODES = 200
keep_freed_memory()


@dataclass
class Batch:
    """What one chunk gave: per kept row, the output and the gradient of each reported input."""

    rows: np.ndarray
    value: np.ndarray
    grads: Mapping[str, np.ndarray]
    problems: Problems
    kinks: dict[str, Kink]
    totals: tuple[float, dict[str, float]] | None = None  # sums over the rows, if taken


def at_row(value, k: int):
    """One row's entry of a column, or the scalar itself (parameters and constants)."""
    return value[k] if np.ndim(value) else value


def run(graph: Graph, data: Mapping[str, np.ndarray], params: Mapping[str, float],
        rows: np.ndarray, wrt: Sequence[str], *, gradient: bool = True) -> Batch:
    """Value and gradient for every row of a chunk; bad rows are reported and left out."""
    params = {name: np.float64(v) for name, v in params.items()}
    swept = sweep(graph, tuple(data), tuple(wrt)).run({**params, **data}, rows, wrt, gradient)
    if swept is not None:
        return swept
    problems = Problems()
    while True:
        env = {**params, **data}
        with np.errstate(all="ignore"):
            values, bad = _forward(graph, env, len(rows))
            if bad is None and gradient:
                grads, _, kinks = _backward(graph, values, rows, wrt)
                if grads is None:  # some row went wrong: the checked loop finds which, and how
                    grads, bad, kinks = _backward(graph, values, rows, wrt, checked=True)
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


def run_unchecked(graph: Graph, data: Mapping[str, np.ndarray], params: Mapping[str, float],
                  rows: np.ndarray, wrt: Sequence[str], *, gradient: bool = True) -> Batch | None:
    """The batch of a chunk whose cells have not been checked, when the sweep proves them
    finite too (each column reaches a checked value through operations that keep inf and
    nan, and the sweep finds every such value finite); else None: check the cells, then `run`."""
    found = sweep(graph, tuple(data), tuple(wrt))
    if not found.covers:
        return None
    scalars = {name: np.float64(v) for name, v in params.items()}
    return found.run({**scalars, **data}, rows, wrt, gradient)


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
    kind: str  # "value", or the backward pass's "derivative" or "gradient"
    arg: np.ndarray | None = None  # for derivatives: which input of the stage (-1: a gradient)

    def mark(self, flags: np.ndarray, stage: int, arg: int = -1) -> None:
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


def _backward(graph: Graph, values: list, rows: np.ndarray, wrt: Sequence[str], checked: bool = False
              ) -> tuple[list | None, _Bad | None, dict[str, Kink]]:
    """Reverse accumulation on columns: the gradients, the bad rows and the kinks.

    Unchecked (the common case), it makes fewer passes over the columns: no check per local
    derivative, no `0 + ...` for each gradient's first term (`run` adds `m.ZERO` at the end,
    which restores the sign of zero), no products by exactly 1; and it gives up (gradients
    None) at the first gradient that is not finite on some row — a bad local derivative makes
    its input's gradient non-finite too. Checked, it marks the first stage that went wrong on
    each row, so `run` can name it. Only the gradients of `wrt` are asked for: a stage that
    depends on none of them needs no gradient, and an edge into it no local derivative.
    """
    nodes, varying, live = graph.nodes, graph.varying_in(wrt), graph.live
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
        if bad is None or bad.kind != "derivative":  # rows already marked keep their gradient
            stage = np.full(n, -1) if bad is None else bad.stage
            bad = _Bad(stage, "derivative", np.full(n, -1, dtype=np.int64))
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
    if bad.arg is not None and bad.arg[k] >= 0:  # a derivative; else a gradient, of a leaf too
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


class Sweep:
    """A graph laid out for chunks with no bad row: the forward and backward steps, and the
    few arrays whose check proves that no row is bad (each a sum over the rows: it is finite
    only if every row is, and the reduction needs the output's and the gradients' sums anyway).

    A non-finite value travels through the arguments `KEEPS_NONFINITE` lists to a value
    that is checked; a non-finite local derivative or gradient on the way to an input of
    `wrt` always makes that input's gradient non-finite (local × upstream and their sums stay
    non-finite), so the gradients asked for stand for every gradient and needed local
    derivative. Stages that depend on no input of `wrt` get no gradient at all.
    """

    def __init__(self, graph: Graph, columns: tuple[str, ...], wrt: tuple[str, ...]):
        self.graph = graph
        self.columns = columns
        nodes, varying, live = graph.nodes, graph.varying_in(wrt), graph.live
        per_row = graph.varying_in(columns)  # a stage's value depends on a column: one per row
        self.leaves = [(i, node.name if node.op == "input" else None,
                        None if node.op == "input" else _constant(node.text))
                       for i, node in enumerate(nodes) if not node.inputs]
        self.forward = [(i, _rule(REGISTRY[node.op].forward), node.inputs, per_row[i])
                        for i, node in enumerate(nodes) if node.inputs]
        self.checked, reached = _unreached(graph, per_row)
        # every column reaches a value checked anyway through operations that keep inf and nan:
        # a chunk the sweep finds finite has no bad cell either
        self.covers = all(name in graph.index and reached[graph.index[name]] for name in columns)
        self.backward = []
        for i in range(len(nodes) - 1, -1, -1):
            node = nodes[i]
            if node.inputs and live[i]:
                op = REGISTRY[node.op]
                edges = tuple((_edge_rule(op.partial, k), j)
                              for k, j in enumerate(node.inputs) if varying[j])
                self.backward.append((i, node.inputs, edges, op.kink_at is not None))
        self.scalars = [i for i, _, _, varies in self.forward if not varies]
        self.kinked = [(i, inputs) for i, inputs, _, kink in self.backward if kink]
        # what the compiled function returns: what is checked, the output, the kinks' values
        self.returned = tuple(dict.fromkeys([*self.scalars, *self.checked, graph.output,
                                             *(j for i, inputs in self.kinked for j in (i, *inputs))]))
        self._compiled: dict[bool, tuple[Callable, list[int]]] = {}
        self.chunks = 0  # swept so far

    def run(self, env: Mapping, rows: np.ndarray, wrt: Sequence[str], gradient: bool
            ) -> Batch | None:
        """The chunk's batch, or None if some row may be bad (the checked loops then say)."""
        nodes = len(self.graph.nodes)
        self.chunks += 1
        if nodes <= min(EAGER_NODES, COMPILED_NODES) or (nodes <= COMPILED_NODES and self.chunks > 1):
            return self._compiled_run(env, rows, wrt, gradient)
        return self._staged_run(env, rows, wrt, gradient)

    def _compiled_run(self, env: Mapping, rows: np.ndarray, wrt: Sequence[str], gradient: bool
                      ) -> Batch | None:
        """The sweep through the graph's straight-line source (`core.compile.compile_sweep`):
        the numbers of `_staged_run`, without walking the graph stage by stage, and the
        reported gradients left as they are with their signs apart (one pass each fewer:
        a sign and `+ 0` change a sum exactly as they change its terms)."""
        graph, n = self.graph, len(rows)
        code = self._compiled.get(gradient)
        if code is None:
            code = self._compiled[gradient] = self._compile(wrt, gradient)
        run, signs = code
        given = [env[name] if name is not None else constant for _, name, constant in self.leaves]
        with np.errstate(all="ignore"):
            try:
                got, grads = run(given)
            except (ArithmeticError, ValueError, TypeError):
                return None
            values = dict(zip(self.returned, got))
            if not all(_all_finite(values[i]) for i in self.scalars):
                return None  # parameters and constants alone: the checked loop raises
            output = self._checked_output(values, n)
            if output is None:
                return None
            value, total = output
            if not gradient:
                return Batch(rows, value, {}, Problems(), {}, (total, {}))
            sums: dict[str, float] = {}
            signed: dict[str, tuple] = {}
            for name, g, sign in zip(wrt, grads, signs):
                grad_total = _finite_sum(_full(g, n))
                if grad_total is None:
                    return None
                sums[name] = grad_total + m.ZERO if sign > 0 else m.ZERO - grad_total
                signed[name] = (g, sign)
        kinks: dict[str, Kink] = {}
        for i, inputs in self.kinked:
            _note_kink(graph, i, values[i], tuple(values[j] for j in inputs), rows, kinks)
        return Batch(rows, value, SignedColumns(signed, n), Problems(), kinks, (total, sums))

    def _checked_output(self, values: Sequence | Mapping[int, Any], n: int) -> tuple[Any, float] | None:
        """The output's column and its sum when it and every checked stage is finite in every
        row, else None (the checked loop then finds the rows)."""
        if any(_finite_sum(values[i]) is None for i in self.checked):
            return None
        value = _full(values[self.graph.output], n)
        total = _finite_sum(value)
        return None if total is None else (value, total)

    def _compile(self, wrt: Sequence[str], gradient: bool) -> tuple[Callable, list[int]]:
        """Traced down to the ufuncs, writing into dead arrays (`data.inplace`), or else with
        the registry's functions called as they are."""
        traced = compile_inplace(self.graph, self.columns, wrt, self.returned, gradient)
        if traced is not None:
            return traced.run, traced.signs
        return compile_sweep(self.graph, m, wrt, self.returned, gradient)

    def _staged_run(self, env: Mapping, rows: np.ndarray, wrt: Sequence[str], gradient: bool
                    ) -> Batch | None:
        """The sweep stage by stage, for a graph too large to compile."""
        graph, n = self.graph, len(rows)
        values: list = [None] * len(graph.nodes)
        for i, name, constant in self.leaves:
            values[i] = env[name] if name is not None else constant
        with np.errstate(all="ignore"):
            for i, fn, inputs, per_row in self.forward:
                out = fn(m, *[values[j] for j in inputs])
                if not per_row and not _all_finite(out):
                    return None  # parameters and constants alone: the checked loop raises
                values[i] = out
            output = self._checked_output(values, n)
            if output is None:
                return None
            value, total = output
            sums: dict[str, float] = {}
            if not gradient:
                return Batch(rows, value, {}, Problems(), {}, (total, sums))
            grads, kinks = self._backward(values, rows)
            out = {}
            for name in wrt:
                out[name] = _full(_signed(grads[graph.index[name]]), n)
                grad_total = _finite_sum(out[name])
                if grad_total is None:
                    return None
                sums[name] = grad_total
        return Batch(rows, value, out, Problems(), kinks, (total, sums))

    def _backward(self, values: list, rows: np.ndarray) -> tuple[list, dict[str, Kink]]:
        """`_backward`'s unchecked loop with no check on the way (the gradients asked for are
        enough) and each gradient kept as (magnitude, sign): a local derivative of exactly -1
        (`a - b`, `-a`) flips the sign instead of making a pass over the column. The numbers
        are the same, as -(p*g) = p*(-g) and a + (-b) = a - b in floating point."""
        grads: list = [None] * len(values)
        grads[self.graph.output] = (m.ONE, 1)
        kinks: dict[str, Kink] = {}
        for i, inputs, edges, kink in self.backward:
            upstream, sign = (m.ZERO, 1) if grads[i] is None else grads[i]
            args = tuple(values[j] for j in inputs)
            out = values[i]
            for rule, j in edges:
                p = rule(m, out, *args)
                if p is m.ONE:
                    term = (upstream, sign)
                elif type(p) is not np.ndarray and p == -1.0:
                    term = (upstream, -sign)
                else:
                    term = (p if upstream is m.ONE else p * upstream, sign)
                grads[j] = term if grads[j] is None else _added(grads[j], term)
            if kink:
                _note_kink(self.graph, i, out, args, rows, kinks)
        return [(m.ZERO, 1) if g is None else g for g in grads], kinks


def _added(a: tuple, b: tuple) -> tuple:
    """The sum of two signed gradients, signed: one pass, as the plain sum would take."""
    (x, s), (y, t) = a, b
    if s == t:
        return (x + y, s)
    return (x - y, 1) if s > 0 else (y - x, 1)


class SignedColumns(Mapping[str, np.ndarray]):
    """Reported gradients as the sweep leaves them, (value, sign), each made a column of
    one float per row (`_signed`, then `_full`) when it is first read: a reduction that has
    the sums already reads none of them."""

    def __init__(self, signed: dict[str, tuple], n: int):
        self._signed = signed
        self._n = n
        self._made: dict[str, np.ndarray] = {}

    def __getitem__(self, name: str) -> np.ndarray:
        made = self._made.get(name)
        if made is None:
            with np.errstate(all="ignore"):
                made = self._made[name] = _full(_signed(self._signed[name]), self._n)
        return made

    def __iter__(self) -> Iterator[str]:
        return iter(self._signed)

    def __len__(self) -> int:
        return len(self._signed)


def _signed(g: tuple):
    """A signed gradient as its value plus zero (which makes -0 a 0, as `run` reports it)."""
    value, sign = g
    return value + m.ZERO if sign > 0 else m.ZERO - value


def sweep(graph: Graph, columns: tuple[str, ...], wrt: tuple[str, ...]) -> Sweep:
    """The graph's sweep for these data columns and gradients, laid out once and kept with
    the graph."""
    kept = graph.memo.setdefault("columns sweep", {})
    found = kept.get((columns, wrt))
    if found is None:
        found = kept[columns, wrt] = Sweep(graph, columns, wrt)
    return found


def _edge_rule(partial: Callable | None, k: int) -> Callable:
    """∂node/∂(its k-th input) as `rule(m, out, *args)`: the registry's own per-argument rule
    where it keeps one (`each`), which saves a call per edge and chunk."""
    assert partial is not None  # only the leaves have none, and they have no steps
    rules = getattr(partial, "rules", None)
    if rules is not None:
        return rules[k]
    return lambda m, out, *args: partial(m, out, args, k)


def _rule(rule: Callable | None) -> Callable:
    assert rule is not None  # only the leaves have none, and they have no steps
    return rule


def _constant(text: str):
    return np.float64(m.constant(text) if text in ("pi", "e") else m.number(text))


def _unreached(graph: Graph, per_row: Sequence[bool]) -> tuple[list[int], list[bool]]:
    """The stages with values per row to check on their own: those from which no kept path
    leads to the output (checked by its sum) or to another stage checked on its own. Also,
    per node, whether a kept path leads from it to a checked value."""
    nodes = graph.nodes
    reached = [False] * len(nodes)
    reached[graph.output] = True
    checked = []
    for i in range(len(nodes) - 1, -1, -1):
        node = nodes[i]
        if not node.inputs:
            continue
        if not reached[i] and per_row[i]:
            checked.append(i)
            reached[i] = True
        if reached[i]:
            for k in KEEPS_NONFINITE.get(node.op, ()):
                if k < len(node.inputs):
                    reached[node.inputs[k]] = True
    return checked[::-1], reached


def _finite_sum(value) -> float | None:
    """The sum over the rows if every row is finite, else None (an overflowing sum of finite
    rows is no bad row: the rows themselves are checked then)."""
    if type(value) is not np.ndarray:
        return float(value) if math.isfinite(value) else None
    total = float(_SUM(value))
    if math.isfinite(total) or _all_finite(value):
        return total
    return None


_SUM: Callable[..., Any] = np.add.reduce
