"""Data files → chunks of float64 columns with exact 1-based row numbers.

CSV with a header (a path, or `-` for standard input), `.npy` (a structured array: one field
per column), `.npz` (one 1-D array per column) and Parquet (with pyarrow). Only the columns
the expression needs are read, a chunk at a time, so memory stays bounded. Every reader names
a column by its header without the spaces around it (`column_name`). Row N is the N-th
data row after the header (blank lines are not rows). A cell must hold a finite number; any
other cell makes its row bad, described by row and column, never silently dropped.

pyarrow, when installed, reads CSV in blocks in C++; without it (and for standard input) the
csv module reads it. If pyarrow refuses a block (a row with the wrong number of fields, bytes
that are not UTF-8), reading goes on from that block with the csv module, which names the row.
"""
from __future__ import annotations

import csv
import io
import os
import sys
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import numpy as np

from gradcalc.data.problems import FIRST_FEW, Problem, Problems
from gradcalc.errors import DataError, ExitCode, GradcalcError, UsageError, ValueTypeError, printable

ARROW_BLOCK = 4 << 20  # bytes of CSV pyarrow parses at a time
_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"


@dataclass
class Chunk:
    """Consecutive rows: their numbers, one float64 array per column, rows with a bad cell."""

    rows: np.ndarray
    columns: dict[str, np.ndarray]
    bad: np.ndarray | None  # True where some cell of the row is unusable
    problems: Problems


def column_name(header: str) -> str:
    """The header rule of every reader: a column is named by its header cell without the
    spaces around it, so `x, y` names the columns x and y whichever reader reads the file."""
    return str(header).strip()


class Table:
    """A data file opened for reading: its column names, chunks, and how far reading got."""

    def __init__(self, label: str, headers: Sequence[str], total: int, unit: str):
        self.label = label  # the path as the user gave it, for messages
        self.headers = tuple(str(h) for h in headers)  # as the file writes them
        self.names = tuple(column_name(h) for h in self.headers)
        self.total = total  # bytes or rows, for the progress bar (0: unknown)
        self.unit = unit
        self.done = 0
        self._header_of: dict[str, str] | None = None
        self._refuse_twice_named()

    def header(self, name: str) -> str:
        """The header cell of column `name` as the file writes it: readers select by it."""
        if self._header_of is None:  # made on first use: a dict, so wide files stay linear
            self._header_of = dict(zip(self.names, self.headers))
        return self._header_of[name]

    def _refuse_twice_named(self) -> None:
        seen: dict[str, str] = {}
        for name, header in zip(self.names, self.headers):
            if name and name in seen:
                raise DataError(f"data {self.label}: two columns are named {printable(name)} "
                                f"(header cells {printable(repr(seen[name]))} and "
                                f"{printable(repr(header))}); rename one").about("data")
            seen.setdefault(name, header)

    def chunks(self, needed: Sequence[str], chunk_rows: int) -> Iterator[Chunk]:
        raise NotImplementedError


def open_table(path: str) -> Table:
    """Open FILE by its extension: .npy, .npz, .parquet/.pq, anything else is CSV."""
    if path == "-":
        return _CsvTable("standard input", sys.stdin.buffer, seekable=False)
    if not os.path.isfile(path):
        raise UsageError(f"data {path}: no such file").about("data")
    lower = path.lower()
    kind = (_NpyTable if lower.endswith(".npy") else _NpzTable if lower.endswith(".npz")
            else _ParquetTable if lower.endswith((".parquet", ".pq")) else None)
    try:
        return kind(path) if kind else _CsvTable(path, path, seekable=True)
    except GradcalcError:  # a ValueError too, but already said
        raise
    except (OSError, ValueError, csv.Error) as exc:
        raise DataError(f"data {path}: cannot read it ({exc})").about("data") from None


# ---- cells ---------------------------------------------------------------------------------

def cell_reason(text) -> str:
    """Why a cell is not usable: empty, not a number, or a number that is not finite."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return "empty cell"
    if not isinstance(text, str):
        return f"{text!r} is not a finite number"
    try:
        float(text)
    except ValueError:
        return f"'{printable(text)}' is not a number"
    return f"'{printable(text)}' is not a finite number"


def checked_chunk(rows: np.ndarray, columns: dict[str, np.ndarray],
                  text_of: Callable[[str, int], object], extra: Sequence[Problem] = (),
                  extra_bad: np.ndarray | None = None) -> Chunk:
    """Flag the rows holding a non-finite value; describe the first few by row and column."""
    bad = None if extra_bad is None else extra_bad.copy()
    for column in columns.values():
        finite = np.isfinite(column)
        if not finite.all():
            bad = ~finite if bad is None else bad | ~finite
    problems = Problems()
    if bad is not None:
        positions = np.flatnonzero(bad)
        extra_rows = {p.row for p in extra}
        described = list(extra)
        for k in positions[:FIRST_FEW]:
            row = int(rows[k])
            if row in extra_rows:
                continue
            name = next(n for n, c in columns.items() if not np.isfinite(c[k]))
            reason = cell_reason(text_of(name, int(k)))
            described.append(Problem(row, f"row {row}, column {name}: {reason}", ExitCode.USAGE))
        problems.add(len(positions), described)
    return Chunk(rows, columns, bad, problems)


def _split(rows_total: int, chunk_rows: int) -> Iterator[tuple[int, int]]:
    for lo in range(0, rows_total, chunk_rows):
        yield lo, min(lo + chunk_rows, rows_total)


def _row_numbers(start: int, n: int) -> np.ndarray:
    return np.arange(start, start + n, dtype=np.int64)


# ---- CSV -----------------------------------------------------------------------------------

class _CsvTable(Table):
    def __init__(self, label: str, source, seekable: bool):
        self.source = source
        self.seekable = seekable
        self._binary = open(source, "rb") if seekable else source
        self._text = io.TextIOWrapper(self._binary, encoding="utf-8-sig", errors="surrogateescape",
                                      newline="")
        self._records = csv.reader(self._text)
        header = next((r for r in self._records if r), None)
        if header is None:
            raise DataError(f"data {label}: empty file (a CSV file starts with a header row)").about("data")
        total = os.path.getsize(source) if seekable else 0
        super().__init__(label, header, total, "bytes")

    def chunks(self, needed: Sequence[str], chunk_rows: int) -> Iterator[Chunk]:
        if self.seekable and needed and has_pyarrow():
            self._text.detach()
            yield from self._arrow_chunks(needed, chunk_rows)
        else:
            yield from self._csv_chunks(self._records, needed, chunk_rows, 0)

    def _arrow_chunks(self, needed, chunk_rows) -> Iterator[Chunk]:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        self._binary.seek(0)
        options = dict(read_options=pacsv.ReadOptions(block_size=ARROW_BLOCK),
                       convert_options=pacsv.ConvertOptions(
                           include_columns=[self.header(n) for n in needed],
                           column_types={self.header(n): pa.string() for n in needed}))
        done, reader = 0, None
        while True:
            try:
                reader = reader or pacsv.open_csv(self._binary, **options)  # reads a first block
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except (pa.ArrowInvalid, UnicodeDecodeError):
                yield from self._exact_from(done, needed, chunk_rows)
                return
            self.done = self._binary.tell()
            for lo, hi in _split(batch.num_rows, chunk_rows):
                part = batch.slice(lo, hi - lo)
                yield arrow_chunk(_row_numbers(done + lo + 1, hi - lo),
                                  {n: part.column(self.header(n)) for n in needed})
            done += batch.num_rows

    def _exact_from(self, done: int, needed, chunk_rows) -> Iterator[Chunk]:
        """Go on with the csv module after the `done` rows pyarrow has already delivered."""
        self._binary.seek(0)
        text = io.TextIOWrapper(self._binary, encoding="utf-8-sig", errors="surrogateescape",
                                newline="")
        records = csv.reader(text)
        next(r for r in records if r)  # the header
        yield from self._csv_chunks(records, needed, chunk_rows, done)

    def _csv_chunks(self, records, needed, chunk_rows, skip: int) -> Iterator[Chunk]:
        where = [self.names.index(name) for name in needed]
        width = len(self.names)
        row, buffer = 0, []
        try:
            for record in records:
                if not record:
                    continue  # a blank line is not a row
                row += 1
                if row <= skip:
                    continue
                buffer.append(record)
                if len(buffer) == chunk_rows:
                    yield self._records_chunk(buffer, row - len(buffer) + 1, needed, where, width)
                    buffer = []
        except csv.Error as exc:
            raise DataError(f"data {self.label}: row {row + 1}: {exc}").about("data") from None
        if buffer:
            yield self._records_chunk(buffer, row - len(buffer) + 1, needed, where, width)

    def _records_chunk(self, records, start, needed, where, width) -> Chunk:
        if self.seekable:
            self.done = self._binary.tell()
        rows = _row_numbers(start, len(records))
        ragged = np.fromiter((len(r) != width for r in records), bool, len(records))
        texts = {name: [r[c] if c < len(r) else "" for r in records]
                 for name, c in zip(needed, where)}
        columns = {name: floats_of(cells) for name, cells in texts.items()}
        extra = [Problem(int(rows[k]), f"row {rows[k]}: expected {width} fields, found "
                         f"{len(records[k])}", ExitCode.USAGE)
                 for k in np.flatnonzero(ragged)[:FIRST_FEW]]
        return checked_chunk(rows, columns, lambda name, k: texts[name][k], extra,
                             ragged if ragged.any() else None)


def floats_of(cells: list[str]) -> np.ndarray:
    """Text cells as floats; nan where a cell is not a number (the caller names it)."""
    try:
        return np.array(cells, dtype=np.float64)
    except ValueError:
        return np.array([_float_or_nan(c) for c in cells], dtype=np.float64)


def _float_or_nan(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("nan")


def has_pyarrow() -> bool:
    try:
        import pyarrow.csv  # noqa: F401
    except ImportError:
        return False
    return True


# ---- Arrow arrays (CSV blocks and Parquet) --------------------------------------------------

def arrow_chunk(rows: np.ndarray, arrays: dict) -> Chunk:
    columns = {name: _arrow_floats(array) for name, array in arrays.items()}
    return checked_chunk(rows, columns, lambda name, k: arrays[name][k].as_py())


def _arrow_floats(array) -> np.ndarray:
    """A pyarrow array as float64, nan where a cell is empty or not a number."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        floats = pc.cast(array, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        text = pc.utf8_trim_whitespace(pc.cast(array, pa.string()))
        numeric = pc.match_substring_regex(text, _NUMBER)
        floats = pc.cast(pc.if_else(numeric, text, pa.scalar("nan")), pa.float64())
    return floats.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)


class _ParquetTable(Table):
    def __init__(self, path: str):
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise UsageError(f"data {path}: reading Parquet needs pyarrow "
                             "(pip install 'gradcalc[arrow]')").about("data") from None
        self.file = pq.ParquetFile(path)
        super().__init__(path, self.file.schema_arrow.names, self.file.metadata.num_rows, "rows")

    def chunks(self, needed, chunk_rows) -> Iterator[Chunk]:
        done = 0
        headers = [self.header(n) for n in needed]
        for batch in self.file.iter_batches(batch_size=chunk_rows, columns=headers):
            yield arrow_chunk(_row_numbers(done + 1, batch.num_rows),
                              {n: batch.column(h) for n, h in zip(needed, headers)})
            done += batch.num_rows
            self.done = done


# ---- numpy files ---------------------------------------------------------------------------

class ArraysTable(Table):
    """Named 1-D arrays of one length, sliced into chunks."""

    def column(self, name: str) -> np.ndarray:
        raise NotImplementedError

    def chunks(self, needed, chunk_rows) -> Iterator[Chunk]:
        arrays = {name: self.column(name) for name in needed}
        self._check_shapes(arrays)
        for lo, hi in _split(self.total, chunk_rows):
            part = {name: _as_floats(a[lo:hi]) for name, a in arrays.items()}
            self.done = hi

            def text_of(name: str, k: int, lo: int = lo) -> object:
                return arrays[name][lo + k].item()

            yield checked_chunk(_row_numbers(lo + 1, hi - lo), part, text_of)


    def _check_shapes(self, arrays: dict[str, np.ndarray]) -> None:
        for name, array in arrays.items():
            if array.ndim != 1:
                raise DataError(f"data {self.label}: array {name} has shape {array.shape}; "
                                "each column must be a 1-D array").about("data")
        lengths = {name: len(array) for name, array in arrays.items()}
        if len(set(lengths.values())) > 1:
            shown = ", ".join(f"{n}: {k}" for n, k in lengths.items())
            raise DataError(f"data {self.label}: the columns differ in length ({shown})").about("data")
        if lengths:
            self.total = next(iter(lengths.values()))
        elif self.names:
            self.total = len(self.column(self.names[0]))


def _as_floats(values: np.ndarray) -> np.ndarray:
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        return np.array([_float_or_nan(str(v)) for v in values], dtype=np.float64)


class _NpyTable(ArraysTable):
    def __init__(self, path: str):
        self.array = np.load(path, mmap_mode="r", allow_pickle=False)
        names = self.array.dtype.names
        if not names or self.array.ndim != 1:
            raise DataError(f"data {path}: a .npy file needs named columns: a 1-D structured "
                            "array (or use .npz with one array per column)").about("data")
        super().__init__(path, names, len(self.array), "rows")

    def column(self, name):
        return self.array[self.header(name)]


class _NpzTable(ArraysTable):
    def __init__(self, path: str):
        self.archive = np.load(path, allow_pickle=False)  # an array loads when first used
        super().__init__(path, self.archive.files, 0, "rows")

    def column(self, name):
        return self.archive[self.header(name)]


# ---- columns in memory (the Python API) ----------------------------------------------------

class MemoryTable(ArraysTable):
    """Columns a program already holds: a mapping of 1-D arrays (or lists), a numpy structured
    array, a pandas DataFrame or a pyarrow Table, read as a .npz file's columns are."""

    def __init__(self, data: object, label: str = "data"):
        self.arrays = _columns_of(data)
        super().__init__(label, list(self.arrays), 0, "rows")
        self._check_shapes(self.arrays)

    def column(self, name: str) -> np.ndarray:
        return self.arrays[self.header(name)]


def _columns_of(data: object) -> dict[str, np.ndarray]:
    from collections.abc import Mapping

    fields = getattr(getattr(data, "dtype", None), "names", None)
    if fields:  # a structured array
        return {str(name): data[name] for name in fields}  # type: ignore[index]
    if hasattr(data, "column_names") and hasattr(data, "column"):  # a pyarrow Table
        return {str(name): data.column(name).to_numpy() for name in data.column_names}
    if hasattr(data, "columns") and hasattr(data, "to_numpy"):  # a pandas DataFrame
        return {str(name): data[name].to_numpy() for name in data.columns}  # type: ignore[index]
    if isinstance(data, Mapping):
        return {str(name): np.asarray(values) for name, values in data.items()}
    raise ValueTypeError(f"data: {type(data).__name__} is not a file path, a mapping of columns, "
                         "a structured array or a table").about("data")
