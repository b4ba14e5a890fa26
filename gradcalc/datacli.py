"""What `eval --data` and `descend` do once click has read their options: plan, run with a
progress bar (stderr, only on a terminal), print the result, warn about skipped rows."""
from __future__ import annotations

import shutil
import sys
import tempfile
from contextlib import contextmanager
from typing import Callable, Iterator

from .errors import UsageError

SPOOL_BYTES = 16 << 20  # per-row output held in memory before it spills to a temporary file


@contextmanager
def progress(label: str, total: float | None, show_loss: bool = False
             ) -> Iterator[Callable[..., None]]:
    """A rich progress bar on stderr when it is a terminal; otherwise a callback doing nothing."""
    if not sys.stderr.isatty():
        yield lambda *args, **kwargs: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    columns = [TextColumn("{task.description}"), BarColumn(),
               TextColumn("{task.percentage:>3.0f}%"), TimeRemainingColumn()]
    if show_loss:
        columns.append(TextColumn("loss {task.fields[loss]}"))
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total or None, loss="")
        yield lambda done, **fields: bar.update(task, completed=done, **fields)


def _warn_all(notes) -> None:
    from .cli import _warn

    for note in notes:
        _warn(note)


def make_plan(expression, file, data: str, at, wrt, reduce, on_error, gates, chunk_rows=None,
              table=None):
    from .api import lower_gates
    from .cli import read_source
    from .dataset import plan_data
    from .datafile import open_table
    from .values import parse_at

    if data == "-" and expression == "-":
        raise UsageError("standard input can hold the expression or the data (--data -), not both")
    source = read_source(expression, file)
    table = table or open_table(data)
    graph = lower_gates(source, given={*parse_at(at), *table.names}, gates=gates)
    plan = plan_data(graph, table, at, wrt, reduce, on_error, chunk_rows)
    _warn_all(plan.warnings)
    return plan


def eval_data(expression, file, data, at, wrt, fmt, fmt_given, gates, reduce, on_error, engine,
              scheduler, chunk_rows) -> None:
    from .cli import emit
    from .render import formats

    if reduce != "none" and fmt not in formats("data"):
        raise UsageError(f"--data prints --format {', '.join(formats('data'))}, not {fmt}")
    if engine == "dask":
        from .daskengine import dask_table, reduce_dask

        if reduce == "none":
            raise UsageError("--reduce none streams rows in this process; use --engine numpy")
        plan = make_plan(expression, file, data, at, wrt, reduce, on_error, gates,
                         table=dask_table(data))
        result, notes = reduce_dask(plan, reduce, scheduler)
        _warn_all(notes)
        emit("data", fmt, result)
        return
    if scheduler:
        raise UsageError("--scheduler needs --engine dask")
    plan = make_plan(expression, file, data, at, wrt, reduce, on_error, gates, chunk_rows)
    from .dataset import Stream, reduce_data

    stream = Stream(plan)
    with progress(f"reading {plan.table.label}", plan.table.total) as tick:
        stream.on_chunk = lambda: tick(plan.table.done)
        if reduce == "none":
            _write_rows(plan, stream, _row_format(fmt, fmt_given))
            result = None
        else:
            result = reduce_data(plan, reduce, stream)
    _warn_all(stream.notes())
    if result is not None:
        emit("data", fmt, result)


def _row_format(fmt: str, given: bool) -> str:
    if not given:
        return "csv"
    if fmt not in ("csv", "json"):
        raise UsageError("--reduce none writes one line per row: --format csv or json (JSON Lines)")
    return fmt


def _write_rows(plan, stream, fmt: str) -> None:
    """Rows go out as chunks finish; under --on-error fail they wait until no row has failed."""
    from .render.data import ROW_WRITERS

    write = ROW_WRITERS[fmt]
    output = plan.graph.output_name
    if plan.on_error == "skip":
        write(stream, output, plan.wrt, sys.stdout)
        return
    with tempfile.SpooledTemporaryFile(SPOOL_BYTES, mode="w+", encoding="utf-8") as spool:
        write(stream, output, plan.wrt, spool)
        spool.seek(0)
        shutil.copyfileobj(spool, sys.stdout)


def descend_data(expression, file, data, at, wrt, fmt, gates, reduce, on_error, lr, steps,
                 batch_size, seed, history, plot) -> None:
    from .cli import emit
    from .descent import descend

    plan = make_plan(expression, file, data, at, wrt, reduce, on_error, gates)
    if not plan.wrt:
        raise UsageError("nothing to descend on: give the parameters' starting values with --at "
                         "(and name them with --wrt)")
    with progress("descending", steps, show_loss=True) as tick:
        result = descend(plan, lr, steps, reduce, batch_size, seed,
                         on_step=lambda step, loss: tick(step + 1, loss=f"{loss:.6g}"))
    _warn_all(result.warnings)
    if history:
        from .render.data import history_csv

        _write_file(history, history_csv(result))
    if plot:
        from .render.curve import loss_svg

        _write_file(plot, loss_svg(result.losses, f"{result.graph.output_name} per step"))
    emit("descend", fmt, result)


def _write_file(path: str, text: str) -> None:
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
