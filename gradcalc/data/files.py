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
import math
import os
import re
import stat
import sys
import zipfile
import zlib
from contextlib import ExitStack, contextmanager
from typing import IO, Any, Callable, Iterator, Sequence

import numpy as np

from gradcalc.data.problems import FIRST_FEW, Problem, Problems
from gradcalc.errors import DataError, ExitCode, GradcalcError, UsageError, ValueTypeError, listed, printable

# Bytes of CSV pyarrow parses at a time. Its streaming reader keeps a queue of up to 32 blocks
# read ahead (a fixed depth), so the block size bounds the memory reading takes whatever the
# file's size: 32 x 4 MB held 150 MB of a 10^7-row file, and all of a 10^6-row one.
ARROW_BLOCK = 512 << 10

# The one rule for a text cell, on every path (pyarrow, the csv module, Dask): ASCII decimal
# digits, an optional sign, point and exponent, with spaces or tabs around it. Python's float()
# alone would also take `1_000` and digits of other scripts, and pyarrow would not.
DECIMAL = r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
CELL_SPACES = " \t"
_CELL = re.compile(f"[{CELL_SPACES}]*{DECIMAL}[{CELL_SPACES}]*")
_COLUMN = re.compile(f"(?:[{CELL_SPACES}]*{DECIMAL}[{CELL_SPACES}]*\x00)*")  # cells, NUL-ended
_NOT_FINITE = re.compile(r"[+-]?(?:nan|inf|infinity)", re.IGNORECASE)  # words float() reads


class Chunk:
    """Consecutive rows: their numbers, one float64 array per column, rows with a bad cell.

    The cells of a chunk made by `unchecked_chunk` are searched when `bad` or `problems` is
    first read: a chunk the batch engine's sweep proves finite (`data.batch.run_unchecked`)
    never is.
    """

    def __init__(self, rows: np.ndarray, columns: dict[str, np.ndarray], bad: np.ndarray | None = None,
                 problems: Problems | None = None,
                 check: Callable[[], tuple[np.ndarray | None, Problems]] | None = None):
        self.rows = rows
        self.columns = columns
        self._found = None if check is not None else (bad, problems or Problems())
        self._check = check

    @property
    def cells_checked(self) -> bool:
        return self._found is not None

    @property
    def bad(self) -> np.ndarray | None:
        """True where some cell of the row is unusable; None when no cell is."""
        return self._cells()[0]

    @property
    def problems(self) -> Problems:
        return self._cells()[1]

    def _cells(self) -> tuple[np.ndarray | None, Problems]:
        if self._found is None:
            assert self._check is not None  # a chunk is made checked or with its check
            self._found = self._check()
        return self._found


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

    @contextmanager
    def reading(self, needed: Sequence[str], chunk_rows: int) -> Iterator[Iterator[Chunk]]:
        """The chunks, with the readers behind them closed however reading ends (an error,
        a stop at the first bad row), not when the interpreter finalises what is left."""
        chunks = self.chunks(needed, chunk_rows)
        try:
            yield chunks
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()


def open_table(path: str, header: Sequence[str] | None = None) -> Table:
    """Open FILE by its extension: .npy, .npz, .parquet/.pq, anything else is CSV. `header`
    names the columns of a plain (unstructured) .npy array, which has no names of its own."""
    lower = path.lower()
    if header is not None and (path == "-" or not lower.endswith(".npy")):
        raise UsageError(f"data {path}: header names the columns of a plain 2-D .npy array; "
                         "the columns of this file have names of their own: leave it out"
                         ).about("data", "header")
    if path == "-":
        return CsvTable("standard input", sys.stdin.buffer, seekable=False)
    regular = _regular(path)
    kind = (_NpyTable if lower.endswith(".npy") else _NpzTable if lower.endswith(".npz")
            else _ParquetTable if lower.endswith((".parquet", ".pq")) else None)
    if kind and not regular:
        raise UsageError(f"data {path}: a {os.path.splitext(lower)[1]} file is read by seeking, "
                         "so it must be a regular file, not a pipe or a device").about("data")
    try:
        if kind is _NpyTable:
            return _NpyTable(path, header)
        if kind:
            return kind(path)
        return CsvTable(path, path, seekable=True) if regular else \
            CsvTable(path, open(path, "rb"), seekable=False)
    except GradcalcError:  # a ValueError too, but already said
        raise
    except (OSError, ValueError, csv.Error) as exc:
        raise DataError(f"data {path}: cannot read it ({exc})").about("data") from None


def _regular(path: str) -> bool:
    """Whether FILE is a regular file; a pipe (`--data <(cmd)`) or a device is streamed."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise UsageError(f"data {path}: no such file").about("data") from None
    except OSError as exc:
        raise UsageError(f"data {path}: cannot open it ({exc.strerror})").about("data") from None
    if stat.S_ISDIR(mode):
        raise UsageError(f"data {path}: is a directory, not a data file").about("data")
    return stat.S_ISREG(mode)


# ---- cells ---------------------------------------------------------------------------------

def cell_reason(text) -> str:
    """Why a cell is not usable: empty, not a number, or a number that is not finite."""
    if text is None:
        return "empty cell"
    if not isinstance(text, str):
        return f"{text!r} is not a finite number"
    cell = text.strip(CELL_SPACES)
    if not cell:
        return "empty cell"
    if _CELL.fullmatch(cell) or _NOT_FINITE.fullmatch(cell):
        return f"'{printable(text)}' is not a finite number"
    return f"'{printable(text)}' is not a number"


def checked_chunk(rows: np.ndarray, columns: dict[str, np.ndarray],
                  text_of: Callable[[str, int], object], extra: Sequence[Problem] = (),
                  extra_bad: np.ndarray | None = None) -> Chunk:
    """Flag the rows holding a non-finite value; describe the first few by row and column."""
    bad = None if extra_bad is None else extra_bad.copy()
    with np.errstate(over="ignore", invalid="ignore"):  # a sum of finite cells may overflow
        for column in columns.values():
            if math.isfinite(_SUM(column)):  # a finite sum: every cell is (one pass, no mask)
                continue
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


_SUM: Callable[..., Any] = np.add.reduce  # the ufunc itself: np.sum adds a Python wrapper


def unchecked_chunk(rows: np.ndarray, columns: dict[str, np.ndarray],
                    text_of: Callable[[str, int], object]) -> Chunk:
    """`checked_chunk`'s chunk, its cells checked only when first asked about."""
    def check() -> tuple[np.ndarray | None, Problems]:
        chunk = checked_chunk(rows, columns, text_of)
        return chunk.bad, chunk.problems
    return Chunk(rows, columns, check=check)


def _split(rows_total: int, chunk_rows: int) -> Iterator[tuple[int, int]]:
    for lo in range(0, rows_total, chunk_rows):
        yield lo, min(lo + chunk_rows, rows_total)


def _row_numbers(start: int, n: int) -> np.ndarray:
    return np.arange(start, start + n, dtype=np.int64)


# ---- CSV -----------------------------------------------------------------------------------

class CsvTable(Table):
    """CSV: a path (`seekable`), or a binary stream read once; `header` given when the stream
    is a later block of a file whose header row came before (the Dask engine's partitions)."""

    def __init__(self, label: str, source, seekable: bool, header: Sequence[str] | None = None):
        self.source = source
        self.seekable = seekable
        self._binary = open(source, "rb") if seekable else source
        self._text = io.TextIOWrapper(self._binary, encoding="utf-8-sig", errors="surrogateescape",
                                      newline="")
        self._records = csv.reader(self._text)
        if header is None:
            header = next((r for r in self._records if r), None)
        if header is None:
            raise DataError(f"data {label}: empty file (a CSV file starts with a header row)").about("data")
        total = os.path.getsize(source) if seekable else 0
        super().__init__(label, header, total, "bytes")

    def chunks(self, needed: Sequence[str], chunk_rows: int) -> Iterator[Chunk]:
        try:
            if self.seekable and needed and has_pyarrow():
                self._text.detach()
                yield from self._arrow_chunks(needed, chunk_rows)
            else:
                yield from self._csv_chunks(self._records, needed, chunk_rows, 0)
        finally:
            if self.seekable:  # the handle this table opened; a stream given stays its owner's
                self._binary.close()

    def _arrow_chunks(self, needed, chunk_rows) -> Iterator[Chunk]:
        """pyarrow reads its own handle of the file, in C++: its read-ahead threads never call
        back into Python, and reader and handle are closed before reading returns, so no
        thread of theirs outlives the read (one still running at exit can abort Python)."""
        import pyarrow as pa
        import pyarrow.csv as pacsv

        options = dict(read_options=pacsv.ReadOptions(block_size=ARROW_BLOCK),
                       memory_pool=pa.system_memory_pool(),  # see _arrow_floats
                       convert_options=pacsv.ConvertOptions(
                           include_columns=[self.header(n) for n in needed],
                           column_types={self.header(n): pa.string() for n in needed}))
        done, reader = 0, None
        with pa.OSFile(self.source) as handle:
            try:
                while True:
                    try:
                        reader = reader or pacsv.open_csv(handle, **options)  # reads a first block
                        batch = reader.read_next_batch()
                    except StopIteration:
                        return
                    except (pa.ArrowInvalid, UnicodeDecodeError):
                        break
                    self.done = handle.tell()
                    for lo, hi in _split(batch.num_rows, chunk_rows):
                        part = batch.slice(lo, hi - lo)
                        yield arrow_chunk(_row_numbers(done + lo + 1, hi - lo),
                                          {n: part.column(self.header(n)) for n in needed})
                    done += batch.num_rows
            finally:
                if reader is not None:
                    reader.close()
        yield from self._exact_from(done, needed, chunk_rows)

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
    """Text cells as floats by the cell rule; nan where a cell breaks it (the caller names it).

    One regular expression checks the whole column at once (the cells joined, each ended by
    a NUL that no number holds), so a good column costs no Python call per cell.
    """
    joined = "\x00".join(cells) + "\x00"
    if joined.count("\x00") == len(cells) and _COLUMN.fullmatch(joined):
        return np.array(cells, dtype=np.float64)
    return np.array([float(c) if _CELL.fullmatch(c) else np.nan for c in cells],
                    dtype=np.float64)


def has_pyarrow() -> bool:
    try:
        import pyarrow.csv  # noqa: F401
    except ImportError:
        return False
    return True


# ---- Arrow arrays (CSV blocks and Parquet) --------------------------------------------------

def arrow_chunk(rows: np.ndarray, arrays: dict) -> Chunk:
    columns = {name: _arrow_floats(array) for name, array in arrays.items()}
    return unchecked_chunk(rows, columns, lambda name, k: arrays[name][k].as_py())


def _arrow_floats(array) -> np.ndarray:
    """A pyarrow array as float64, nan where a cell is empty or not a number."""
    import pyarrow as pa
    import pyarrow.compute as pc

    # The C library's allocator: pyarrow's default one (mimalloc) keeps memory for each of
    # the reader's threads, 20 MB more at the peak of a streamed file.
    pool = pa.system_memory_pool()
    try:  # every finite number pyarrow's cast reads is one the cell rule reads alike
        floats = pc.cast(array, pa.float64(), memory_pool=pool)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        text = pc.utf8_trim(pc.cast(array, pa.string()), characters=CELL_SPACES)
        numeric = pc.match_substring_regex(text, f"^{DECIMAL}$")
        floats = pc.cast(pc.if_else(numeric, text, pa.scalar("nan")), pa.float64())
    if isinstance(floats, pa.Array) and len(floats) and not floats.null_count:
        # the values buffer itself: pyarrow's own conversions import pandas when it is
        # installed (a fifth of a second and 40 MB), for no use here
        return np.frombuffer(floats.buffers()[1], dtype=np.float64, count=len(floats),
                             offset=floats.offset * 8)
    return floats.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)


def check_arrow_type(label: str, name: str, kind) -> None:
    """Numbers, or text read by the cell rule; a nested, binary or date column is refused."""
    import pyarrow as pa

    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    readable = (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)
                or pa.types.is_decimal(kind) or pa.types.is_string(kind)
                or pa.types.is_large_string(kind) or pa.types.is_null(kind))
    if not readable:
        raise DataError(f"data {label}: column {printable(name)} has type {kind}; a column must "
                        "hold real numbers (or text cells that are numbers)").about("data")


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
        schema = self.file.schema_arrow
        for name, header in zip(needed, headers):
            check_arrow_type(self.label, name, schema.field(header).type)
        for batch in self.file.iter_batches(batch_size=chunk_rows, columns=headers):
            yield arrow_chunk(_row_numbers(done + 1, batch.num_rows),
                              {n: batch.column(h) for n, h in zip(needed, headers)})
            done += batch.num_rows
            self.done = done


# ---- numpy files ---------------------------------------------------------------------------

def _check_real(label: str, name: str, dtype: np.dtype) -> None:
    """Only real numbers are data: a complex, date, text or object column would be read as
    some other number (or not at all), so it is refused by name and dtype."""
    if dtype.kind not in "biuf":
        raise DataError(f"data {label}: column {printable(name)} has dtype {dtype}; a column "
                        "must hold real numbers (bool, integer or float)").about("data")


class ArraysTable(Table):
    """Named 1-D arrays of one length, sliced into chunks."""

    def column(self, name: str) -> np.ndarray:
        raise NotImplementedError

    def chunks(self, needed, chunk_rows) -> Iterator[Chunk]:
        arrays = {name: self.column(name) for name in needed}
        self._check_shapes(arrays)
        for lo, hi in _split(self.total, chunk_rows):
            raw = {name: a[lo:hi] for name, a in arrays.items()}
            self.done = hi
            yield values_chunk(_row_numbers(lo + 1, hi - lo), raw)

    def _check_shapes(self, arrays: dict[str, np.ndarray]) -> None:
        for name, array in arrays.items():
            _check_real(self.label, name, array.dtype)
            if array.ndim != 1:
                raise DataError(f"data {self.label}: array {name} has shape {array.shape}; "
                                "each column must be a 1-D array").about("data")
        lengths = {name: len(array) for name, array in arrays.items()}
        _check_lengths(self.label, lengths)
        if lengths:
            self.total = next(iter(lengths.values()))
        elif self.names:
            self.total = len(self.column(self.names[0]))



def _check_lengths(label: str, lengths: dict[str, int]) -> None:
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{n}: {k}" for n, k in lengths.items())
        raise DataError(f"data {label}: the columns differ in length ({shown})").about("data")


def values_chunk(rows: np.ndarray, raw: dict[str, np.ndarray]) -> Chunk:
    """Real-valued columns as float64, checked; a bad value is named as it is stored."""
    columns = {name: np.asarray(values, dtype=np.float64) for name, values in raw.items()}
    return unchecked_chunk(rows, columns, lambda name, k: raw[name][k].item())


def npy_header(fp, label: str, what: str) -> tuple[tuple[int, ...], np.dtype]:
    """The shape and dtype an .npy stream declares, read without reading its data."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fp)
    except ValueError:
        raise DataError(f"data {label}: {what} is not in .npy format (it does not start "
                        "with numpy's magic string)").about("data") from None
    read = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
    try:
        shape, _, dtype = read(fp)
    except ValueError as exc:
        raise DataError(f"data {label}: {what} has a header numpy cannot read "
                        f"({_first_line(exc)})").about("data") from None
    return shape, dtype


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _check_size(label: str, what: str, shape: tuple[int, ...], dtype: np.dtype, held: int) -> None:
    """Refuse a header that declares more data than its file holds, before anything is read."""
    declared = dtype.itemsize
    for n in shape:
        declared *= n
    if declared > held:
        raise DataError(f"data {label}: {what} declares shape {shape} ({declared:,} bytes) but "
                        f"holds {held:,} bytes; the file is truncated or corrupt").about("data")


class _NpyTable(ArraysTable):
    """A structured array, one field per column (a field of n numbers per row is the columns
    x0 to x{n-1} of the vector x), or a plain array whose columns are named by `header`."""

    def __init__(self, path: str, header: Sequence[str] | None = None):
        with open(path, "rb") as fp:
            shape, dtype = npy_header(fp, path, "the file")
            _check_size(path, "the file", shape, dtype, os.path.getsize(path) - fp.tell())
        if dtype.names:
            self.parts = _field_columns(path, shape, dtype, header)
        else:
            self.parts = _plain_columns(path, shape, dtype, header)
        self.array = np.load(path, mmap_mode="r", allow_pickle=False)
        super().__init__(path, list(self.parts), shape[0], "rows")

    def column(self, name):
        field, k = self.parts[self.header(name)]
        array = self.array if field is None else self.array[field]
        return array if k is None else array[:, k]


def _field_columns(path: str, shape: tuple[int, ...], dtype: np.dtype, header: Sequence[str] | None
                   ) -> dict[str, tuple[str | None, int | None]]:
    """The columns of a structured array: header → (field, element of a vector field)."""
    if header is not None:
        raise UsageError(f"data {path}: header names the columns of a plain .npy array; this "
                         f"structured array names its own ({listed(dtype.names or ())}): leave it out"
                         ).about("data", "header")
    if len(shape) != 1:
        raise DataError(f"data {path}: a structured .npy array must be 1-D (one record per row), "
                        f"not of shape {shape}").about("data")
    parts: dict[str, tuple[str | None, int | None]] = {}
    for field in dtype.names or ():
        base, within = dtype[field].base, dtype[field].shape
        _check_real(path, column_name(field), base)
        if len(within) > 1:
            raise DataError(f"data {path}: field {printable(field)} holds a "
                            f"{'×'.join(map(str, within))} array in each row; a field holds a number "
                            "or a vector (n numbers) per row").about("data")
        heads = [(field, None)] if not within else [(f"{field}{k}", k) for k in range(within[0])]
        for head, k in heads:
            if head in parts:
                raise DataError(f"data {path}: two columns are named {printable(head)} (the field "
                                f"{printable(field)} and another); rename one").about("data")
            parts[head] = (field, k)
    return parts


def _plain_columns(path: str, shape: tuple[int, ...], dtype: np.dtype, header: Sequence[str] | None
                   ) -> dict[str, tuple[str | None, int | None]]:
    """The columns of a plain array of shape (rows, n), named by `header`: n names, or one
    name x for the vector x of n numbers per row (x0 to x{n-1}); a 1-D array is one column."""
    _check_real(path, "of the array", dtype)
    n = shape[1] if len(shape) == 2 else 1
    if header is None or len(shape) not in (1, 2):
        named = (f"name them with header x0,x1,... ({n:,} names), or with one name, x for the "
                 f"vector x (x0 to x{n - 1})" if len(shape) == 2 else "name it with header y")
        raise DataError(f"data {path}: a plain array of shape {shape} has no column names: "
                        + (named if len(shape) in (1, 2) else "save a 2-D array (one row per "
                           "data row) or a 1-D structured array")).about("data", "header")
    if len(header) == n:
        return {name: (None, k if len(shape) == 2 else None) for k, name in enumerate(header)}
    if len(header) == 1 and len(shape) == 2:
        return {f"{header[0]}{k}": (None, k) for k in range(n)}
    raise UsageError(f"data {path}: header gives {len(header):,} names for the {n:,} columns of "
                     f"the array: give {n:,}, or one name for a vector of {n:,} numbers per row"
                     ).about("data", "header")


class _NpzTable(Table):
    """One .npy member per column, each read a chunk at a time: memory stays bounded
    however far the archive decompresses."""

    def __init__(self, path: str):
        try:
            self.archive = zipfile.ZipFile(path)
        except zipfile.BadZipFile:
            raise DataError(f"data {path}: not a .npz file (it is not a zip archive)").about("data") from None
        self.members = {_array_name(info.filename): info for info in self.archive.infolist()}
        super().__init__(path, list(self.members), 0, "rows")

    def chunks(self, needed, chunk_rows) -> Iterator[Chunk]:
        with ExitStack() as stack:
            streams = {name: self._member(name, stack) for name in needed}
            lengths = {name: n for name, (_, _, n) in streams.items()}
            _check_lengths(self.label, lengths)
            if lengths:
                self.total = next(iter(lengths.values()))
            elif self.names:
                self.total = self._member(self.names[0], stack)[2]
            for lo, hi in _split(self.total, chunk_rows):
                raw = {name: self._rows(name, fp, dtype, hi - lo)
                       for name, (fp, dtype, _) in streams.items()}
                self.done = hi
                yield values_chunk(_row_numbers(lo + 1, hi - lo), raw)

    def _member(self, name: str, stack: ExitStack) -> tuple[IO[bytes], np.dtype, int]:
        """The member's stream past its header, its dtype and its length, all checked."""
        info = self.members[self.header(name)]
        what = f"member {printable(info.filename)}"
        fp = stack.enter_context(self.archive.open(info))
        shape, dtype = npy_header(fp, self.label, what)
        _check_real(self.label, name, dtype)
        if len(shape) != 1:
            raise DataError(f"data {self.label}: array {name} has shape {shape}; "
                            "each column must be a 1-D array").about("data")
        _check_size(self.label, what, shape, dtype, info.file_size - fp.tell())
        return fp, dtype, shape[0]

    def _rows(self, name: str, fp: IO[bytes], dtype: np.dtype, n: int) -> np.ndarray:
        try:
            data = fp.read(n * dtype.itemsize)
        except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
            raise DataError(f"data {self.label}: cannot read column {printable(name)} "
                            f"({_first_line(exc)})").about("data") from None
        if len(data) < n * dtype.itemsize:
            raise DataError(f"data {self.label}: column {printable(name)} ends early; the file "
                            "is truncated or corrupt").about("data")
        return np.frombuffer(data, dtype=dtype, count=n)


def _array_name(member: str) -> str:
    """The column a member holds, as numpy names it: `x.npy` holds x."""
    return member[:-4] if member.endswith(".npy") else member


# ---- columns in memory (the Python API) ----------------------------------------------------

class MemoryTable(ArraysTable):
    """Columns a program already holds: a mapping of 1-D arrays (or lists), a numpy structured
    array, a pandas DataFrame or a pyarrow Table, read as a .npz file's columns are."""

    def __init__(self, data: object, label: str = "data"):
        self.arrays = _vector_columns(_columns_of(data), label)
        super().__init__(label, list(self.arrays), 0, "rows")
        self._check_shapes(self.arrays)

    def column(self, name: str) -> np.ndarray:
        return self.arrays[self.header(name)]


def _vector_columns(arrays: dict[str, np.ndarray], label: str) -> dict[str, np.ndarray]:
    """An array of shape (rows, n) under the name x is the columns x0 to x{n-1}: the vector x
    of n numbers per row, as a structured .npy field of n numbers is."""
    columns: dict[str, np.ndarray] = {}
    for name, array in arrays.items():
        if array.ndim != 2:
            columns[name] = array
            continue
        for k in range(array.shape[1]):
            if f"{name}{k}" in arrays:
                raise DataError(f"{label}: the array {printable(name)} of shape {array.shape} gives "
                                f"the column {printable(name)}{k}, which is also given on its own; "
                                "rename one").about("data")
            columns[f"{name}{k}"] = array[:, k]
    return columns


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
