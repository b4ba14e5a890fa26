"""`--engine dask`: the same batch engine on each partition of a Dask dataframe, sums combined.

Each partition (a block of a CSV file, or a Parquet row group; local paths, globs or any URL
Dask reads) becomes one task that returns its row count, its sum of the output, its sums of
the gradients and its bad rows. A CSV block is read by the in-process engine's own CSV reader
(the csv module, on the block's bytes), so both engines accept and refuse the same files
with the same messages; a mean-loss gradient is the sum of the partition sums over
the total row count. Row numbers are made global once every partition's count is known.
`--scheduler ADDRESS` sends the tasks to a dask.distributed cluster (its workers need
gradcalc installed); without it Dask's local scheduler runs them here.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field, replace
from typing import Sequence

import numpy as np

from gradcalc.data.batch import run
from gradcalc.data.files import CsvTable, Table, check_arrow_type, checked_chunk, column_name, floats_of
from gradcalc.data.plan import Plan, Reduced, Stream, Total, finish, notes, summed
from gradcalc.data.problems import Kink, Problem, Problems
from gradcalc.errors import DataError, GradcalcError, UsageError, printable

CSV_BLOCK = 64 << 20  # bytes of CSV per partition, as dask.dataframe.read_csv takes them


def _dask():
    try:
        import dask
        import dask.dataframe as dd
    except ImportError:
        raise UsageError("engine dask needs Dask: pip install 'gradcalc[dask]'").about("engine") from None
    return dask, dd


def _is_parquet(path: str) -> bool:
    return path.rstrip("/").lower().endswith((".parquet", ".pq"))


def read_frame(path: str, headers=None):
    """The file as a lazy Dask dataframe: CSV cells as text (checked per row), Parquet as
    stored; `headers` selects columns as the file writes them, and the frame's columns take
    the names every reader gives them (`column_name`)."""
    frame = _file_frame(path, headers)
    return frame.rename(columns={h: column_name(h) for h in frame.columns})


def _file_frame(path: str, headers=None):
    """The frame with its columns as the file writes them."""
    if path == "-":
        raise UsageError("engine dask reads files or URLs, not standard input").about("engine")
    _, dd = _dask()
    try:
        if _is_parquet(path):
            frame = dd.read_parquet(path, columns=headers)
        else:
            frame = dd.read_csv(path, usecols=headers, dtype=str, keep_default_na=False)
    except GradcalcError:  # a ValueError too, and already said
        raise
    except (OSError, ValueError) as exc:
        raise UsageError(f"data {path}: cannot read it with Dask ({_first_line(exc)})"
                         ).about("data") from None
    return frame


def _first_line(exc: BaseException) -> str:
    """The innermost cause's first line: Dask wraps a reader's error in its own, and some
    readers (HDFS) say dozens of lines."""
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


class DaskTable(Table):
    """Column names only: the rows are read by the workers."""

    def chunks(self, needed, chunk_rows):
        raise NotImplementedError("rows of a Dask table are read partition by partition")


def dask_table(path: str) -> DaskTable:
    """The columns of the file as it writes them (a CSV header read as the in-process engine
    reads it); the rows stay where they are."""
    if path != "-" and _is_parquet(path):
        schema = _parquet_schema(path)
        if schema is not None:  # its names as the in-process reader gives them
            return DaskTable(path, schema.names, 0, "rows")
    if path == "-" or _is_parquet(path):
        return DaskTable(path, [str(c) for c in _file_frame(path).columns], 0, "rows")
    return DaskTable(path, _csv_header(path), 0, "rows")


def _check_parquet_types(table: Table, columns: Sequence[str]) -> None:
    """Refuse the columns the in-process engine refuses (lists, structs, maps, binary,
    timestamps), by the same rule and message, before Dask reads a row."""
    schema = _parquet_schema(table.label)
    if schema is None:
        return
    for name in columns:
        check_arrow_type(table.label, name, schema.field(table.header(name)).type)


def _parquet_schema(label: str):
    """The schema of the first Parquet file a path, folder or URL names; None if it names none
    that can be read here (Dask then says why)."""
    _dask()
    import pyarrow.parquet as pq
    from fsspec.core import url_to_fs

    try:
        fs, path = url_to_fs(label)
        files = [path] if not fs.isdir(path) else sorted(f for f in fs.find(path) if _is_parquet(f))
        return pq.read_schema(files[0], filesystem=fs) if files else None
    except (OSError, ValueError):
        return None


def _csv_header(path: str) -> tuple[str, ...]:
    """The header row of the first file a path or glob names (local, s3://, hdfs://...)."""
    _dask()
    from fsspec import open_files

    try:
        files = open_files(path, mode="rb")
        if not files:
            raise FileNotFoundError(f"[Errno 2] No such file or directory: '{path}'")
        with files[0] as stream:
            return CsvTable(path, stream, seekable=False).headers
    except GradcalcError:  # a ValueError too, and already said
        raise
    except (OSError, ValueError) as exc:
        raise UsageError(f"data {path}: cannot read it with Dask ({_first_line(exc)})"
                         ).about("data") from None


def _csv_blocks(path: str) -> list[tuple[object, bool]]:
    """Each file's blocks, cut at line ends, in file order: (the block, whether it is the
    first of its file, which holds the header row)."""
    from dask.bytes import read_bytes

    try:
        _, blocks = read_bytes(path, delimiter=b"\n", sample=False, blocksize=CSV_BLOCK)
    except GradcalcError:  # a ValueError too, and already said
        raise
    except (OSError, ValueError) as exc:
        raise UsageError(f"data {path}: cannot read it with Dask ({_first_line(exc)})"
                         ).about("data") from None
    return [(block, k == 0) for per_file in blocks for k, block in enumerate(per_file)]


@dataclass
class PartSums:
    """One partition's share: rows read and used, sums, bad rows (numbered in the partition)."""

    rows: int
    used: int
    value: Total
    grads: dict[str, Total]
    problems: Problems = field(default_factory=Problems)
    kinks: dict[str, Kink] = field(default_factory=dict)


def block_sums(block: bytes, first: bool, plan: Plan, label: str, header: tuple[str, ...]
               ) -> PartSums:
    """The in-process engine on one CSV block (its rows numbered from 1): what every worker
    runs. The first block of each file starts with its header row, which must be the first
    file's."""
    table = CsvTable(label, io.BytesIO(block), seekable=False, header=None if first else header)
    if table.headers != header:
        raise DataError(f"data {label}: the files' header rows differ ({_shown(header)} and "
                        f"{_shown(table.headers)})").about("data")
    stream = Stream(replace(plan, table=table, on_error="skip"))
    value, sums = summed(stream, plan.wrt)
    return PartSums(stream.rows, stream.used, value, sums, stream.problems, stream.kinks)


def _shown(header: tuple[str, ...]) -> str:
    return printable(",".join(header)[:60])


def partition_sums(frame, plan: Plan) -> PartSums:
    """The batch engine on one partition of a Parquet dataset: what every worker runs."""
    rows = np.arange(1, len(frame) + 1, dtype=np.int64)
    texts = {name: frame[name] for name in plan.columns}
    chunk = checked_chunk(rows, {name: _numbers(s) for name, s in texts.items()},
                          lambda name, k: texts[name].iloc[k])
    data = chunk.columns
    if chunk.bad is not None:
        rows, data = rows[~chunk.bad], {n: c[~chunk.bad] for n, c in data.items()}
    batch = run(plan.graph, data, plan.params, rows, plan.wrt)
    chunk.problems.merge(batch.problems)
    return PartSums(len(frame), len(batch.rows), Total.of(batch.value),
                    {name: Total.of(batch.grads[name]) for name in plan.wrt},
                    chunk.problems, batch.kinks)


def _numbers(series) -> np.ndarray:
    if series.dtype.kind in "biuf":
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    return floats_of(["" if v is None or v != v else str(v) for v in series.tolist()])


def reduce_dask(plan: Plan, how: str, scheduler: str | None = None) -> tuple[Reduced, list[str]]:
    """Every partition's sums, computed by Dask and added up; the reduced result and warnings."""
    dask, _ = _dask()
    assert plan.table is not None  # the plan as made; `lean` below is the tasks' copy
    table = plan.table
    lean = replace(plan, table=None, warnings=[])  # what the tasks carry: no open files
    if _is_parquet(table.label):
        _check_parquet_types(table, plan.columns)
        frame = read_frame(table.label, [table.header(name) for name in plan.columns] or None)
        tasks = [dask.delayed(partition_sums)(part, lean) for part in frame.to_delayed()]
    else:
        tasks = [dask.delayed(block_sums)(block, first, lean, table.label, table.headers)
                 for block, first in _csv_blocks(table.label)]
    if scheduler:
        parts = _on_cluster(scheduler, tasks)
    else:
        parts = dask.compute(*tasks)
    return _combine(plan, how, parts)


def _on_cluster(address: str, tasks) -> list[PartSums]:
    try:
        from distributed import Client
    except ImportError:
        raise UsageError("scheduler needs dask.distributed: "
                         "pip install 'gradcalc[dask]'").about("scheduler") from None
    try:
        client = Client(address, timeout="10s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise UsageError(f"scheduler {address}: cannot connect ({exc})").about("scheduler") from None
    with client:
        return client.gather(client.compute(tasks))


def _combine(plan: Plan, how: str, parts) -> tuple[Reduced, list[str]]:
    offset, used, value = 0, 0, Total()
    sums = {name: Total() for name in plan.wrt}
    problems = Problems()
    kinks: dict[str, Kink] = {}
    for part in parts:
        problems.add(part.problems.count, [_shifted(p, offset) for p in part.problems.first])
        for stage, kink in part.kinks.items():
            kink = replace(kink, row=kink.row + offset)
            kinks[stage] = kink.merge(kinks[stage]) if stage in kinks else kink
        value.add(part.value)
        for name in plan.wrt:
            sums[name].add(part.grads[name])
        used += part.used
        offset += part.rows
    if problems.count and plan.on_error == "fail":
        raise problems.first[0].error()
    return (finish(plan, how, value, sums, used=used, skipped=problems.count, rows=offset),
            notes(kinks, problems, offset, used))


def _shifted(problem: Problem, offset: int) -> Problem:
    """A partition's row number made global: `row 3: ...` → `row 1003: ...`."""
    local = f"row {problem.row}"
    return replace(problem, row=problem.row + offset,
                   message=f"row {problem.row + offset}" + problem.message[len(local):])
