"""An expression over a data file: which inputs are columns, then chunk after chunk through the
batch engine, reduced as it goes (`mean`, `sum`) or handed on row by row (`none`).

    plan = plan_data("L = (w*x + b - y)**2", "points.csv", Point({"w": "0.5", "b": "0"}))
    reduced = reduce_data(plan, "mean")   # reduced.value, reduced.gradient {'w': ..., 'b': ...}

The mean's gradient is the sum of the per-row gradients over the rows used, divided by their
number, so chunk sums add up to the whole file's.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from gradcalc.core.autodiff import check_wrt
from gradcalc.core.graph import Graph, lower
from gradcalc.core.parse import call_hint
from gradcalc.core.unroll import column_vectors, element_inputs, unroll, whole_arrays
from gradcalc.core.values import Point
from gradcalc.data.batch import Batch, run, run_unchecked
from gradcalc.data.files import Chunk, Table, open_table
from gradcalc.data.problems import Kink, Problems
from gradcalc.data.shaped import folded
from gradcalc.errors import DataError, DomainError, MissingValues, UsageError, listed

# Working memory one chunk may take: every node's values and gradients. Small enough to stay
# in the processor's cache and in memory the allocator reuses (fresh pages cost a page fault
# each), large enough to spread the per-chunk cost of interpreting the graph: 16 MB runs the
# logistic loss at about 1.2x hand-fused numpy, where 48 MB took twice as long (bench/README.md).
CHUNK_BYTES = 16 << 20
# A chunk larger than this is the same as one of this many rows (no file holds more), and
# every reader (Parquet's takes a C long) accepts it.
MAX_CHUNK_ROWS = 1 << 40


@dataclass
class Plan:
    """Everything fixed before the first row is read."""

    graph: Graph
    table: Table | None  # None only in the copy a Dask task carries (no open files)
    params: dict[str, float]  # inputs given by --at: scalars that broadcast over the rows
    columns: tuple[str, ...]  # inputs read from the file, row by row
    wrt: tuple[str, ...]
    on_error: str = "fail"
    chunk_rows: int = 0
    warnings: list[str] = field(default_factory=list)
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)  # vector parameters, reported as arrays


def plan_data(source: str | Graph, data: str | Table, point: Point | None = None, *,
              wrt: Sequence[str] | None = None, reduce: str = "mean", on_error: str = "fail",
              chunk_rows: int | None = None, elements: bool = False) -> Plan:
    """Split the expression's inputs into data columns and parameters (the point's values,
    one for every row); check wrt. A vector or matrix parameter is reported as an array, or
    with `elements` element by element (`w_0`, `w_1`), as `--gates scalar` names them."""
    point = point or Point({})
    table = data if isinstance(data, Table) else open_table(data)
    graph = source if isinstance(source, Graph) else lower(source, given={*point.names, *table.names})
    given, in_file = set(point.names), set(table.names)  # sets: 10^5 names
    fed = column_vectors(graph.input_names, table.names, given, table.label)
    missing = [name for name in graph.input_names
               if name not in given and name not in in_file and name not in fed]
    if missing:
        raise MissingValues(missing, table.label, tuple(table.names),
                            hint="; ".join(filter(None, map(call_hint, missing))))
    shapes = {} if elements else dict(point.shapes)
    graph, point, wrt = _unrolled(graph, point, fed, wrt)
    inputs = graph.input_names
    given, used = set(point.names), set(inputs)
    columns = tuple(name for name in inputs if name not in given and name in in_file)
    values = point.read()  # every value is checked, used or not
    params = {name: values[name] for name in inputs if name in given}
    warnings = [f"{name} has a value and is also a column of {table.label}; using the value"
                for name in params if name in in_file]
    unnamed = [str(k + 1) for k, name in enumerate(table.names) if not name]
    if unnamed:
        many = len(unnamed) > 1
        warnings.append(f"column{'s' if many else ''} {listed(unnamed)} of {table.label} "
                        f"{'have' if many else 'has'} an empty name in the header (a trailing "
                        f"comma?) and {'are' if many else 'is'} not read")
    unused = [name for name in table.names if name and name not in used]
    if unused:
        shown = ", ".join(unused[:10]) + (f" and {len(unused) - 10:,} more" if len(unused) > 10 else "")
        warnings.append(f"columns of {table.label} that the expression does not use: {shown}")
    wrt = _wrt(graph, params, columns, wrt, reduce)
    return Plan(graph, table, params, columns, wrt, on_error,
                min(chunk_rows or auto_chunk_rows(graph), MAX_CHUNK_ROWS), warnings,
                whole_arrays(shapes, wrt))


def _unrolled(graph: Graph, point: Point, fed: dict[str, int], wrt: Sequence[str] | None
              ) -> tuple[Graph, Point, Sequence[str] | None]:
    """Vectors over rows run as the scalar circuit of their elements (as `--gates scalar`
    unrolls them), each element of a vector fed by columns read from its column; a vector
    parameter becomes its elements (`w_0`, `w_1`), and so does its name in wrt."""
    if not (graph.vectorised or point.shaped or fed):
        return graph, point, wrt
    shapes = {**point.shapes, **{name: (n,) for name, n in fed.items()}}
    scalar = unroll(graph, shapes, fed)
    if wrt is not None:
        columns = [column for name in wrt for column in
                   ([f"{name}{k}" for k in range(fed[name])] if name in fed else (name,))]
        wrt = element_inputs(columns, point.shapes, scalar.input_names)
    return scalar, point.fitted(scalar), wrt


def _wrt(graph: Graph, params: dict, columns: tuple, wrt: Sequence[str] | None, reduce: str
         ) -> tuple[str, ...]:
    """By default the parameters (reduced) or every input (per row)."""
    if wrt is None:
        return tuple(graph.input_names) if reduce == "none" else tuple(params)
    check_wrt(graph, wrt)
    per_row = [name for name in wrt if name in columns]
    if per_row and reduce != "none":
        raise UsageError(f"wrt {', '.join(per_row)}: a data column has one gradient per row; "
                         "use reduce none for per-row gradients").about("wrt", "reduce")
    return tuple(wrt)


def auto_chunk_rows(graph: Graph) -> int:
    """Rows per chunk so that every node's values and gradients fit in CHUNK_BYTES."""
    per_row = 8 * 3 * max(1, len(graph.nodes))
    return int(min(1 << 20, max(1024, CHUNK_BYTES // per_row)))


class Stream:
    """Chunks through the batch engine; keeps count of rows, bad rows and kinks as it goes."""

    def __init__(self, plan: Plan, gradient: bool = True):
        self.plan = plan
        self.gradient = gradient
        self.rows = 0  # data rows read
        self.used = 0  # rows that entered the result
        self.problems = Problems()
        self.kinks: dict[str, Kink] = {}
        self.on_chunk: Callable[[], None] | None = None  # called after each chunk (the progress bar)

    def __iter__(self) -> Iterator[Batch]:
        plan = self.plan
        assert plan.table is not None  # only a Dask task's copy has none, and it never streams
        with plan.table.reading(plan.columns, plan.chunk_rows) as chunks:
            yield from self._batches(chunks)

    def _batches(self, chunks: Iterator[Chunk]) -> Iterator[Batch]:
        """The batch engine on each chunk; the reader is closed by `__iter__` however it ends."""
        plan = self.plan
        for chunk in chunks:
            batch = None if chunk.cells_checked else run_unchecked(
                plan.graph, chunk.columns, plan.params, chunk.rows, plan.wrt, gradient=self.gradient)
            if batch is None:
                batch = self._checked(chunk)
            for stage, kink in batch.kinks.items():
                self.kinks[stage] = kink.merge(self.kinks[stage]) if stage in self.kinks else kink
            self.rows += len(chunk.rows)
            self.used += len(batch.rows)
            if self.on_chunk:
                self.on_chunk()
            yield batch

    def _checked(self, chunk: Chunk) -> Batch:
        """The chunk's rows with a bad cell dropped, through the batch engine; its bad
        cells and bad rows counted (or raised, with on_error fail)."""
        plan = self.plan
        rows, data = chunk.rows, chunk.columns
        if chunk.bad is not None:
            keep = ~chunk.bad
            rows, data = rows[keep], {name: c[keep] for name, c in data.items()}
        batch = run(plan.graph, data, plan.params, rows, plan.wrt, gradient=self.gradient)
        problems = Problems(chunk.problems.count, list(chunk.problems.first))
        problems.merge(batch.problems)
        if problems.count and plan.on_error == "fail":
            raise problems.first[0].error()
        self.problems.merge(problems)
        return batch

    def notes(self) -> list[str]:
        return notes(self.kinks, self.problems, self.rows, self.used)


def notes(kinks: dict[str, Kink], problems: Problems, rows: int, used: int) -> list[str]:
    """Warnings for stderr: non-differentiable points, and skipped rows (how many, which)."""
    lines = [f"{kink.note} (at {_rows(kink.count)}, first row {kink.row})"
             for kink in kinks.values()]
    if problems.count:
        first = ", ".join(str(p.row) for p in problems.first)
        more = ", …" if problems.count > len(problems.first) else ""
        lines.append(f"skipped {_rows(problems.count, 'bad row')} of {rows:,} "
                     f"(rows {first}{more}); the result uses the other {used:,}")
        lines += [p.message for p in problems.first]
    return lines


def _rows(n: int, word: str = "row") -> str:
    return f"{n:,} {word}{'s' if n != 1 else ''}"


@dataclass
class Reduced:
    """The reduced loss and its gradient; reads like a scalar `Result` for the eval renderers."""

    graph: Graph
    value: float
    at: dict[str, Any]  # floats; a vector or matrix parameter a numpy array
    gradient: dict[str, Any]
    reduce: str
    rows: int  # rows used
    skipped: int
    source: str
    columns: tuple[str, ...] = ()  # the inputs read from the file, one value per row


@dataclass
class ReducedOutputs:
    """Several outputs reduced over the rows of one file, one `Reduced` per output (each its
    own pass over the file): reads like the Jacobian of several outputs at a point."""

    graph: Graph
    rows: list[Reduced]
    number: str = "float"

    @property
    def results(self) -> list[Reduced]:
        return self.rows


def reduce_outputs(graph: Graph, open_data: Callable[[], Table], point: Point, *,
                   wrt: Sequence[str] | None = None, reduce: str = "mean", on_error: str = "fail",
                   chunk_rows: int | None = None, elements: bool = False,
                   on_plan: Callable[[Plan, Stream], None] | None = None) -> ReducedOutputs:
    """Each of the graph's outputs reduced over the rows (`open_data` opens the file afresh
    for each): the value and the gradient with respect to the parameters, per output.
    `on_plan` sees each output's plan and stream before its pass (warnings, progress)."""
    rows = []
    for i in graph.outputs:
        plan = plan_data(graph.seeded_at(i), open_data(), point, wrt=wrt, reduce=reduce,
                         on_error=on_error, chunk_rows=chunk_rows, elements=elements)
        stream = Stream(plan)
        if on_plan is not None:
            on_plan(plan, stream)
        rows.append(reduce_data(plan, reduce, stream))
    return ReducedOutputs(graph, rows)


# Sums over rows are also kept scaled by 2⁻⁶⁴ once they overflow: no count of rows reaches 2⁶⁴,
# so the scaled sum of finite values stays finite, and the mean it gives is exact to rounding.
SCALE = 2.0 ** -64


@dataclass
class Total:
    """A sum over rows that does not overflow: plain while it is finite, else scaled."""

    value: float = 0.0
    scaled: float | None = None  # the sum times SCALE, once the plain sum has overflowed

    @classmethod
    def of(cls, column, taken: float | None = None) -> "Total":
        """The column's sum; `taken` is that sum when the batch engine already took it."""
        if taken is not None and math.isfinite(taken):
            return cls(taken)
        with np.errstate(over="ignore", invalid="ignore"):
            value = float(np.sum(column)) if taken is None else taken
            if math.isfinite(value):
                return cls(value)
            return cls(math.nan, float(np.sum(np.multiply(column, SCALE))))

    def add(self, other: "Total") -> None:
        if self.scaled is None and other.scaled is None:
            total = self.value + other.value
            if math.isfinite(total):
                self.value = total
                return
        self.scaled = self._scaled() + other._scaled()

    def _scaled(self) -> float:
        return self.value * SCALE if self.scaled is None else self.scaled

    def times(self, scale: float, what: str) -> float:
        """The sum times `scale` (1/rows for a mean); beyond the largest float it is exit 3."""
        if self.scaled is None:
            return self.value * scale
        result = self.scaled * scale / SCALE
        if not math.isfinite(result):
            raise DomainError(f"{what} is beyond the largest float (about 1.8e308); the mean "
                              "of the same rows is not: reduce mean gives it").about("reduce")
        return result


def summed(batches: Iterable[Batch], wrt: Sequence[str]) -> tuple[Total, dict[str, Total]]:
    """The output's sum over the rows and each gradient's, chunk by chunk, without overflow."""
    value = Total()
    sums = {name: Total() for name in wrt}
    for batch in batches:
        taken, grads = batch.totals or (None, {})
        value.add(Total.of(batch.value, taken))
        for name in wrt:
            sums[name].add(_total(batch, name, grads.get(name)))
    return value, sums


def _total(batch: Batch, name: str, taken: float | None) -> Total:
    """The sum of one gradient over the chunk's rows: the one the batch engine took, when it
    is finite, without reading the column (the sweep makes it only when it is read)."""
    if taken is not None and math.isfinite(taken):
        return Total(taken)
    return Total.of(batch.grads[name], taken)


def reduce_data(plan: Plan, how: str = "mean", stream: Stream | None = None) -> Reduced:
    """The mean or sum over the rows of the output and of its gradient, chunk sums added up."""
    stream = stream or Stream(plan)
    value, sums = summed(stream, plan.wrt)
    return finish(plan, how, value, sums, used=stream.used, skipped=stream.problems.count,
                  rows=stream.rows)


def finish(plan: Plan, how: str, value: Total, sums: dict[str, Total], *, used: int,
           skipped: int, rows: int) -> Reduced:
    """Sums → the reduced result (also how the Dask engine combines its partitions)."""
    assert plan.table is not None  # the plan as made, not a Dask task's copy
    if used == 0:
        why = f"all {rows:,} rows were skipped" if rows else "it has no data rows"
        raise DataError(f"data {plan.table.label}: no rows to reduce ({why})").about("data")
    scale = 1.0 / used if how == "mean" else 1.0
    out = plan.graph.output_name
    over = f"over {used:,} rows"
    return Reduced(plan.graph, value.times(scale, f"the {how} of {out} {over}"),
                   folded(plan.params, plan.shapes),
                   folded({name: s.times(scale, f"the {how} of ∂{out}/∂{name} {over}")
                           for name, s in sums.items()}, plan.shapes), how, used, skipped,
                   plan.table.label, plan.columns)
