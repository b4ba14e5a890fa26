"""`eval --data` and `descend` once click has read their options: plan, run with a progress
bar (stderr, only on a terminal), print the result, warn about skipped rows."""
from __future__ import annotations

import shutil
import sys
import tempfile
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator

import click

from gradcalc.cli.app import warn
from gradcalc.cli.options import emit, names, prepare, refuse_closed_stdin, report
from gradcalc.cli.output import STDOUT, colours, setting, written

SPOOL_BYTES = 16 << 20  # per-row output held in memory before it spills to a temporary file


@contextmanager
def progress(label: str, total: float | None, show_loss: bool = False
             ) -> Iterator[Callable[..., None]]:
    """A rich progress bar on stderr when it is a terminal (and not -q); otherwise a callback
    doing nothing. Its colours follow --color and NO_COLOR; moving the cursor needs escape codes."""
    if not sys.stderr.isatty() or setting("quiet", False):
        yield lambda *args, **kwargs: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    columns = [TextColumn("{task.description}"), BarColumn(),
               TextColumn("{task.percentage:>3.0f}%"), TimeRemainingColumn()]
    if show_loss:
        columns.append(TextColumn("loss {task.fields[loss]}"))
    with Progress(*columns, console=Console(stderr=True, **colours()),
                  transient=True) as bar:
        task = bar.add_task(label, total=total or None, loss="")
        yield lambda done, **fields: bar.update(task, completed=done, **fields)


def _warn_all(notes: Iterable[str]) -> None:
    for note in notes:
        warn(note)


def make_plan(options: dict[str, Any], table=None):
    """The expression, `--at` and the file's columns, read once, as a data plan."""
    from gradcalc.data.files import open_table
    from gradcalc.data.plan import plan_data

    if options["data"] == "-" and options["expression"] == "-":
        raise click.UsageError("standard input can hold the expression or the data (--data -), "
                               "not both")
    if options["data"] == "-":
        refuse_closed_stdin("the rows of --data -", "name a file with --data FILE")
    table = table or open_table(options["data"], names(options.get("header")))
    job = prepare(options, columns=table.names)
    plan = plan_data(job.graph, table, job.point, wrt=job.wrt, reduce=options["reduce"],
                     on_error=options["on_error"], chunk_rows=options.get("chunk_rows"),
                     elements=options.get("gates") == "scalar")
    report(job, plan.warnings)
    return plan


def eval_data(options: dict[str, Any], *, fmt_given: bool) -> None:
    from gradcalc.render import formats

    fmt, reduce = options["fmt"], options["reduce"]
    if options["exact"] or options["digits"] is not None or options["hessian"]:
        raise click.UsageError("--exact, --digits and --hessian apply to single points, not to --data")
    if options["nonfinite"] != "strict":
        raise click.UsageError("--nonfinite ieee applies to single points, not to --data")
    if reduce != "none" and fmt not in formats("data"):
        raise click.UsageError(f"--data prints --format {', '.join(formats('data'))}, not {fmt}")
    if options["engine"] == "dask":
        if options.get("outputs") is not None:
            raise click.UsageError("--output with --engine dask: the Dask engine reduces the last "
                                   "statement only; use --engine numpy for several outputs")
        _eval_dask(options)
        return
    if options["scheduler"]:
        raise click.UsageError("--scheduler needs --engine dask")
    if options.get("outputs") is not None:
        _eval_outputs(options)
        return
    plan = make_plan(options)
    from gradcalc.data.plan import Stream, reduce_data

    stream = Stream(plan)
    to = options["output"] or STDOUT
    with progress(f"reading {plan.table.label}", plan.table.total) as tick:
        stream.on_chunk = lambda: tick(plan.table.done)
        if reduce == "none":
            _write_rows(plan, stream, _row_format(fmt, fmt_given), to)
            result = None
        else:
            result = reduce_data(plan, reduce, stream)
    _warn_all(stream.notes())
    if result is not None:
        emit("data", fmt, result, to=to)


def _eval_outputs(options: dict[str, Any]) -> None:
    """--output f,g over --data: each output reduced in a pass over the file of its own,
    printed as the Jacobian of the reduced outputs with respect to the parameters."""
    from gradcalc.data.files import open_table
    from gradcalc.data.plan import reduce_outputs

    if options["reduce"] == "none":
        raise click.UsageError("--output with --reduce none: one output per row is not written; "
                               "reduce with mean or sum, or run once per output")
    if options["data"] == "-":
        raise click.UsageError("--output over --data -: each output reads the rows again, and "
                               "standard input can be read once; name a file with --data FILE")
    table = open_table(options["data"], names(options.get("header")))
    job = prepare(options, columns=table.names)
    opened = iter([table])  # the first output reads the file already open, the others afresh
    streams: list = []

    def before(plan, stream) -> None:  # the plans differ only in their output: warn once
        if not streams:
            report(job, plan.warnings)
        streams.append(stream)

    header = names(options.get("header"))
    reduced = reduce_outputs(job.graph, lambda: next(opened, None) or open_table(options["data"], header),
                             job.point, wrt=job.wrt, reduce=options["reduce"],
                             on_error=options["on_error"], chunk_rows=options.get("chunk_rows"),
                             elements=options.get("gates") == "scalar", on_plan=before)
    several = len(reduced.rows) > 1
    notes = [stream.notes() for stream in streams]
    if all(each == notes[0] for each in notes):  # the same rows for every output (bad cells)
        _warn_all(notes[0])
    else:  # math errors differ by output
        for name, each in zip(job.graph.output_names, notes):
            _warn_all(f"output {name}: {note}" for note in each)
    to = options["output"] or STDOUT
    if several:
        emit("data --outputs", options["fmt"], reduced, to=to)
    else:  # one output chosen: the usual result and format
        emit("data", options["fmt"], reduced.rows[0], to=to)


def _eval_dask(options: dict[str, Any]) -> None:
    from gradcalc.data.daskengine import dask_table, reduce_dask

    if options["reduce"] == "none":
        raise click.UsageError("--reduce none streams rows in this process; use --engine numpy")
    if options.get("header") is not None:
        raise click.UsageError("--header names the columns of a .npy array, which the Dask engine "
                               "does not read; use --engine numpy")
    plan = make_plan(options, table=dask_table(options["data"]))
    result, notes = reduce_dask(plan, options["reduce"], options["scheduler"])
    _warn_all(notes)
    emit("data", options["fmt"], result, to=options["output"] or STDOUT)


def _row_format(fmt: str, given: bool) -> str:
    if not given:
        return "csv"
    if fmt not in ("csv", "json"):
        raise click.UsageError("--reduce none writes one line per row: --format csv or json "
                               "(JSON Lines)")
    return fmt


def _write_rows(plan, stream, fmt: str, to: str) -> None:
    """Rows go out as chunks finish. Under --on-error fail, rows for standard output wait in a
    spool until no row has failed; a file waits anyway, as the temporary file beside it."""
    from gradcalc.render.data import ROW_WRITERS

    write = ROW_WRITERS[fmt]
    output = plan.graph.output_name
    if to != STDOUT or plan.on_error == "skip":
        with written(to) as out:
            write(stream, output, plan.wrt, out)
        return
    with tempfile.SpooledTemporaryFile(SPOOL_BYTES, mode="w+", encoding="utf-8") as spool:
        write(stream, output, plan.wrt, spool)
        spool.seek(0)
        with written(STDOUT) as out:
            shutil.copyfileobj(spool, out)


def descend_data(options: dict[str, Any]) -> None:
    from gradcalc.data.descent import descend

    plan = make_plan(options)
    if not plan.wrt:
        raise click.UsageError("nothing to descend on: give the parameters' starting values "
                               "with --at (and name them with --wrt)")
    steps = options["steps"]
    with progress("descending", steps, show_loss=True) as tick:
        result = descend(plan, lr=options["lr"], steps=steps, reduce=options["reduce"],
                         batch_size=options["batch_size"], seed=options["seed"],
                         on_step=lambda step, loss: tick(step + 1, loss=f"{loss:.6g}"))
    _warn_all(result.warnings)
    _descended(options, result)


def descend_point(options: dict[str, Any]) -> None:
    """Without --data: descend on the expression's value at the --at point, whose values
    that are not trained (a matrix X, a vector y) are the data."""
    from gradcalc.cli.options import number_system
    from gradcalc.data.descent import descend_at

    job = prepare(options)
    wrt = job.graph.input_names if job.wrt is None else job.wrt
    if not wrt:
        raise click.UsageError("nothing to descend on: the expression has no inputs; give the "
                               "parameters' starting values with --at")
    m = number_system(job)
    values = job.point.read(m)
    steps = options["steps"]
    with progress("descending", steps, show_loss=True) as tick:
        result = descend_at(job.graph, values, tuple(wrt), m, lr=options["lr"], steps=steps,
                            on_step=lambda step, loss: tick(step + 1, loss=f"{loss:.6g}"))
    report(job, result.warnings)
    _descended(options, result)


def _descended(options: dict[str, Any], result) -> None:
    """The summary, and the --history and --plot files asked for."""
    if options["history"]:
        from gradcalc.render.data import history_csv

        with written(options["history"]) as out:
            out.write(history_csv(result))
    if options["plot"]:
        from gradcalc.render.data import descent_svg

        with written(options["plot"]) as out:
            out.write(descent_svg(result, log_y=options["log_y"]))
    summary = options["output"] or (None if STDOUT in (options["history"], options["plot"]) else STDOUT)
    if summary is not None:  # `--history -` takes standard output in place of the summary
        emit("descend", options["fmt"], result, to=summary)
