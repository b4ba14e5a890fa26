"""Data mode: the reduced value and gradient (`eval --data`), per-row results streamed as CSV or
JSON Lines (`--reduce none`), and the outcome of `descend`.

A reduced result reads like a scalar `Result` (output name, value, parameters, gradient), so
the eval renderers draw it; these add how many rows were reduced.
"""
from __future__ import annotations

import csv
import io
import json
from typing import IO, Iterable, Sequence

from rich.console import Group
from rich.table import Table
from rich.text import Text

from gradcalc.core.unroll import element_labels_of
from gradcalc.errors import printable
from gradcalc.render.json import eval_document
from gradcalc.render.layout import Line, fitted, lines
from gradcalc.render.numerals import human, machine, text


def _about(result) -> dict:
    return {"reduce": result.reduce, "rows": result.rows, "skipped": result.skipped}


def data_table(result) -> Group:
    from gradcalc.render.table import eval_table

    caption = (f"{result.reduce} over {result.rows:,} rows of {printable(result.source)}"
               + (f" ({result.skipped:,} skipped)" if result.skipped else ""))
    if not result.gradient and result.columns:
        out = printable(result.graph.output_name)
        return lines(f"{out} = {human(result.value)}", no_parameters(result), caption)
    return Group(eval_table(result), Line(caption))


def no_parameters(result) -> str:
    """Why a reduced result has no gradient when every input is a column, and where to find
    the gradients the columns do have (one per row)."""
    out, columns = printable(result.graph.output_name), [printable(c) for c in result.columns]
    shown = ", ".join(columns[:5]) + (f" and {len(columns) - 5:,} more" if len(columns) > 5 else "")
    every = "its input" if len(columns) == 1 else "every input"
    return (f"no parameters to differentiate by: {every} ({shown}) is a column of "
            f"{printable(result.source)}, with one value per row; give parameters with --at, "
            f"or get ∂{out}/∂{columns[0]} for each row with --reduce none")


def outputs_table(reduced) -> Group:
    """Several outputs reduced over the rows: the Jacobian of the reduced outputs."""
    from gradcalc.render.outputs import jacobian_table

    return Group(jacobian_table(reduced), Line(_caption(reduced.rows)))


def _caption(rows: list) -> str:
    first = rows[0]
    used = {row.rows for row in rows}
    counted = (f"{first.rows:,} rows" if len(used) == 1
               else ", ".join(f"{row.rows:,} rows for {printable(row.graph.output_name)}" for row in rows))
    skipped = max(row.skipped for row in rows)
    return (f"{first.reduce} over {counted} of {printable(first.source)}"
            + (f" ({skipped:,} skipped)" if skipped else ""))


def outputs_json(reduced) -> str:
    from gradcalc.render.outputs import jacobian_document

    rows = reduced.rows
    used = {row.graph.output_name: row.rows for row in rows}
    skipped = {row.graph.output_name: row.skipped for row in rows}
    about = {"reduce": rows[0].reduce,
             "rows": rows[0].rows if len(set(used.values())) == 1 else used,
             "skipped": rows[0].skipped if len(set(skipped.values())) == 1 else skipped}
    return json.dumps({**jacobian_document(reduced), **about}, indent=2, ensure_ascii=False)


def outputs_csv(reduced) -> str:
    from gradcalc.render.outputs import jacobian_csv

    return jacobian_csv(reduced)


def data_json(result) -> str:
    return json.dumps({**eval_document(result), **_about(result)}, indent=2, ensure_ascii=False)


def data_csv(result) -> str:
    from gradcalc.render.csv import eval_csv

    return eval_csv(result)


# ---- one result per row (--reduce none) ----------------------------------------------------

def row_header(output: str, wrt: Sequence[str]) -> list[str]:
    return ["row", output, *(f"d{output}/d{name}" for name in wrt)]


def write_rows_csv(batches: Iterable, output: str, wrt: Sequence[str], out: IO[str]) -> None:
    """`row,<output>,d<output>/d<input>...`, full precision, one line per row as chunks finish."""
    out.write(",".join(row_header(output, wrt)) + "\n")  # names are identifiers: no quoting
    for batch in batches:
        columns = [batch.rows, *_signed_zeros_dropped(batch, wrt)]
        out.write(_csv_block(columns))
        out.flush()


def _csv_block(columns: list) -> str:
    """Numbers as CSV lines: pyarrow's writer when installed (shortest round-trip digits)."""
    try:
        import pyarrow as pa
        import pyarrow.csv as pacsv
    except ImportError:
        return "".join(",".join([str(int(r)), *(_shortest(c[k]) for c in columns[1:])]) + "\n"
                       for k, r in enumerate(columns[0]))
    table = pa.table({str(k): column for k, column in enumerate(columns)})
    sink = pa.BufferOutputStream()
    pacsv.write_csv(table, sink, write_options=pacsv.WriteOptions(include_header=False))
    return sink.getvalue().to_pybytes().decode()


def _shortest(value) -> str:
    """A float as pyarrow's CSV writer writes it, so the output does not depend on which
    writer is installed: the shortest round-trip digits, an integral value without `.0`."""
    written = text(value)
    return written[:-2] if written.endswith(".0") else written


def _signed_zeros_dropped(batch, wrt: Sequence[str]) -> list:
    """The values and gradients with -0.0 written as 0.0 (x + 0.0), as every format writes it."""
    return [batch.value + 0.0, *(batch.grads[name] + 0.0 for name in wrt)]


def write_rows_jsonl(batches: Iterable, output: str, wrt: Sequence[str], out: IO[str]) -> None:
    """One JSON object per row: {"row": 1, "value": ..., "gradient": {...}}."""
    for batch in batches:
        values, *grads = (column.tolist() for column in _signed_zeros_dropped(batch, wrt))
        lines = (json.dumps({"row": row, "value": value,
                             "gradient": {name: g[k] for name, g in zip(wrt, grads)}})
                 for k, (row, value) in enumerate(zip(batch.rows.tolist(), values)))
        out.write("\n".join(lines) + "\n" if len(batch.rows) else "")
        out.flush()


ROW_WRITERS = {"csv": write_rows_csv, "json": write_rows_jsonl}


# ---- descend -------------------------------------------------------------------------------

def descend_document(result) -> dict:
    return {
        "output": result.graph.output_name,
        "reduce": result.reduce,
        "rows": result.rows,
        "skipped": result.skipped,
        "steps": result.steps,
        "lr": result.lr,
        "batch_size": result.batch_size,
        "initial_loss": machine(result.initial_loss),
        "loss": machine(result.loss),
        "start": {name: machine(v) for name, v in result.start.items()},
        "at": {name: machine(v) for name, v in result.at.items()},
        "gradient": {name: machine(g) for name, g in result.gradient.items()},
    }


def descend_json(result) -> str:
    return json.dumps(descend_document(result), indent=2, ensure_ascii=False)


def history_csv(result) -> str:
    """`step,loss,<parameter>...`: the parameters at each step and the loss they gave; a
    vector or matrix gives a column per element, `W[0, 1]` (quoted, as CSV quotes a comma)."""
    names = list(result.at)
    out = io.StringIO()
    write = csv.writer(out, lineterminator="\n").writerow
    write(["step", "loss", *(column for n in names for column in _element_names(n, result.at[n]))])
    for step, loss, params in result.history:
        write([str(step), text(loss), *(text(x) for n in names for x in _elements(params[n]))])
    return out.getvalue()


def _element_names(name: str, value) -> list[str]:
    """`W[0, 1]`: a column per element in row-major order (the name alone for a scalar)."""
    return element_labels_of(name, getattr(value, "shape", ()))


def _elements(value) -> list:
    """A scalar, or every element of a vector or matrix in row-major order."""
    if not getattr(value, "ndim", 0):
        return [value]
    return [x for row in value.tolist() for x in (row if isinstance(row, list) else [row])]


def descend_table(result) -> Group:
    out = printable(result.graph.output_name)
    over = "" if result.rows is None else f"; {result.reduce} over {result.rows:,} rows"
    headline = Line(f"{out} = {human(result.loss)} after {result.steps:,} steps "
                    f"(from {human(result.initial_loss)}{over})")
    table = Table(show_edge=True)
    for column in ("parameter", "start", "final", f"∂{out}/∂parameter"):
        table.add_column(column, justify="left" if column == "parameter" else "right")
    for name, value in result.at.items():
        table.add_row(Text(printable(name)), human(result.start[name]), human(value),
                      human(result.gradient[name]))
    return Group(headline, fitted(table), Text(descent_curve(result)))


def descent_curve(result) -> str:
    """The loss at step k is the loss at the parameters after k updates. On all rows the curve
    ends at step `steps` with the loss the headline gives; with minibatches each step's loss
    is that of its own batch, and the chart says so."""
    from gradcalc.render.curve import terminal_curve

    values, title = _curve(result)
    return terminal_curve(values, label=printable(result.graph.output_name), title=title)


def descent_svg(result, log_y: bool = False) -> str:
    """The same curve as the terminal's, as a standalone SVG (`descend --plot`)."""
    from gradcalc.render.curve import loss_svg

    out = printable(result.graph.output_name)
    values, title = _curve(result)
    return loss_svg(values, title or f"{out} per step", label=out, log_y=log_y)


def _curve(result) -> tuple[list[float], str | None]:
    """The losses a curve draws, and its title when it is not the plain `L per step`."""
    out = printable(result.graph.output_name)
    if result.batch_size is None or result.batch_size >= result.rows:
        return [*result.losses, result.loss], None
    return list(result.losses), f"{out} per step, on each step's batch of {result.batch_size:,} rows"
