"""What every expression command shares: its options, reading the expression and `--at` once,
and printing what a renderer makes.

The text is parsed and lowered once, and the values parsed once, here; the library receives
the graph and the point.
"""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Iterable, NamedTuple

import click

from gradcalc.cli.app import warn
from gradcalc.core.gates import MODES
from gradcalc.errors import UsageError
from gradcalc.render import formats, renderer

if TYPE_CHECKING:
    from gradcalc.core.autodiff import Result
    from gradcalc.core.graph import Graph
    from gradcalc.core.values import Point


def expression_options(command: str):
    """The options every expression command shares."""

    def decorate(f):
        options = [
            click.argument("expression", required=False, metavar="EXPR"),
            click.option("-f", "--file", "file",
                         type=click.File("r", encoding="utf-8", errors="surrogateescape"),
                         help="Read the expression or program from FILE."),
            click.option("--at", "at", multiple=True, metavar="NAME=VALUE,...",
                         help="Input values: a=5,b=1/3 or w=[2,-3,-3] (w0, w1, w2); repeatable."),
            click.option("--wrt", metavar="NAME,...", help="Report the gradient for these inputs only."),
            click.option("--format", "fmt", type=click.Choice(formats(command)),
                         default="table" if "table" in formats(command) else formats(command)[0],
                         show_default=True, help="Output format."),
            click.option("--debug", is_flag=True, hidden=True),
        ]
        for option in reversed(options):
            f = option(f)
        return f

    return decorate


gates_option = click.option(
    "--gates", type=click.Choice(MODES), default="written", show_default=True,
    help="Gate granularity: as written, fused (longhand sigmoid → one gate) or primitive.")

nonfinite_option = click.option(
    "--nonfinite", type=click.Choice(["strict", "ieee"]), default="strict", show_default=True,
    help="strict: a non-finite value or derivative is an error (exit 3); ieee: inf and nan "
         "flow through as in PyTorch, with a warning per stage.")


def number_options(f):
    """The number system of eval and trace: float64 (default), exact, or N confirmed digits."""
    for option in reversed([
        click.option("--exact", is_flag=True,
                     help="Exact arithmetic (sympy): 0.1 is 1/10; pi, e, sqrt(2) stay symbolic."),
        click.option("--digits", type=click.IntRange(min=1), metavar="N",
                     help="N significant digits, every one confirmed (mpmath)."),
    ]):
        f = option(f)
    return f


def data_options(f):
    """Where the rows come from and what happens to bad ones (eval --data and descend)."""
    for option in reversed([
        click.option("--data", metavar="FILE",
                     help="Rows of input values: CSV with a header ('-': standard input), "
                          ".npy, .npz or Parquet; columns give the variables they name."),
        click.option("--reduce", type=click.Choice(["mean", "sum", "none"]), default="mean",
                     show_default=True,
                     help="Average or add up over the rows, or one result per row (none)."),
        click.option("--on-error", "on_error", type=click.Choice(["fail", "skip"]),
                     default="fail", show_default=True,
                     help="A bad row stops with its row number, or is skipped and reported."),
    ]):
        f = option(f)
    return f


class Job(NamedTuple):
    """An expression command's input, read once: the staged graph, the point and `--wrt`."""

    graph: Graph
    point: Point
    wrt: tuple[str, ...] | None


def prepare(options: dict[str, Any], columns: Iterable[str] = ()) -> Job:
    """Read the expression (argument, `-f FILE` or standard input) and `--at`, parse both
    once and lower the graph with the `--gates` asked for; `columns` also receive values."""
    from gradcalc.core.gates import lower_gates
    from gradcalc.core.parse import parse
    from gradcalc.core.values import Point

    program = parse(read_source(options["expression"], options["file"]))
    point = Point(parse_at(options["at"]))
    graph = lower_gates(program, given={*point.names, *columns},
                        gates=options.get("gates", "written"))
    return Job(graph, point, names(options["wrt"]))


def at_point(job: Job, nonfinite: str = "strict") -> Result:
    """Value and gradient at the point, in float64; warnings go to stderr."""
    from gradcalc.core import autodiff

    values = job.point.read()  # every value is checked, used or not
    result = autodiff.evaluate(job.graph, values, job.wrt, nonfinite=nonfinite)
    report(job, result.warnings)
    return result


def report(job: Job, warnings: Iterable[str]) -> None:
    """The names `--at` gives that nothing uses (one line, even for 99,999 of them), then the
    library's warnings."""
    unused = job.point.unused(job.graph)
    if unused:
        shown = ", ".join(unused[:10]) + (f" and {len(unused) - 10:,} more" if len(unused) > 10 else "")
        warn(f"--at gives {shown}, which the expression does not use")
    for note in (*job.graph.notes, *warnings):
        warn(note)


def emit(command: str, fmt: str, shown, **options) -> None:
    """Render with the renderer of the command and format, and print."""
    rendered = renderer(command, fmt)(shown, **options)
    if isinstance(rendered, str):
        click.echo(rendered, nl=not rendered.endswith("\n"))
        return
    from rich.console import Console

    # Renderers give Text for anything a user typed; with markup and emoji codes off, rich
    # neither parses the other cells nor loads its emoji table (start-up time).
    Console(highlight=False, markup=False, emoji=False).print(rendered)


def names(option: str | None) -> tuple[str, ...] | None:
    """`--wrt a, b` → ("a", "b"); None when not given."""
    return tuple(w.strip() for w in option.split(",") if w.strip()) if option else None


def read_source(expression: str | None, file) -> str:
    if expression is not None and file is not None:
        raise click.UsageError("give the expression either as EXPR or with -f FILE, not both")
    if file is not None:
        return file.read(_input_limit())
    if expression is None:
        raise click.UsageError("missing the expression (EXPR, '-' for standard input, or -f FILE)")
    if expression == "-":
        return _read_stdin(_input_limit())
    return expression


def _read_stdin(limit: int) -> str:
    """UTF-8 whatever the locale; undecodable bytes stay (surrogateescape) for the parser to name."""
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:
        return sys.stdin.read(limit)
    return stream.read(4 * limit).decode("utf-8", "surrogateescape")  # 4: the longest UTF-8 character


def _input_limit() -> int:
    """Read one character past the limit, so the parser can refuse it without reading it all."""
    from gradcalc.limits import limit

    return limit("GRADCALC_MAX_INPUT") + 1


# ---- `--at a=5,b=1/3 --at w=[2,-3,-3]` --------------------------------------------------------

def parse_at(options: Iterable[str]) -> dict[str, str]:
    """Merge repeated `--at` options into name → value text, in the order given; `w=[...]`
    is shorthand for w0, w1, ..."""
    texts: dict[str, str] = {}
    for option in options:
        for item in _split_top_level(option, ","):
            name, value = _assignment(item, option)
            if value.startswith("["):
                for k, element in enumerate(_vector(name, value)):
                    _merge(texts, f"{name}{k}", element)
            else:
                _merge(texts, name, value)
    return texts


def _assignment(item: str, option: str) -> tuple[str, str]:
    name, sep, value = item.partition("=")
    name, value = name.strip(), value.strip()
    if not item.strip():
        raise UsageError(f"--at {option!r}: empty assignment (expected name=value)")
    if not sep:
        raise UsageError(f"--at {item}: expected name=value")
    if not name:
        raise UsageError(f"--at {item}: missing the name before '='")
    if not (name.isascii() and name.isidentifier()) or name.startswith("__"):  # [A-Za-z_][A-Za-z0-9_]*
        raise UsageError(f"--at {item}: {name!r} is not a valid name")
    if not value:
        raise UsageError(f"--at {item}: missing the value after '='")
    return name, value


def _vector(name: str, value: str) -> list[str]:
    if not value.endswith("]") or value.count("[") != 1 or value.count("]") != 1:
        raise UsageError(f"--at {name}={value}: a vector is written [v0,v1,...]")
    elements = [e.strip() for e in _split_top_level(value[1:-1], ",")]
    if any(not e for e in elements):
        raise UsageError(f"--at {name}={value}: empty element in the vector")
    return elements


def _merge(texts: dict[str, str], name: str, value: str) -> None:
    if name in texts and texts[name] != value:
        from gradcalc.core.values import constant

        if constant(texts[name], name=name) != constant(value, name=name):
            raise UsageError(f"--at gives {name} two different values: {texts[name]} and {value}")
    texts.setdefault(name, value)


def _split_top_level(text: str, sep: str) -> list[str]:
    """Split on `sep` outside parentheses and brackets (values may be calls like max(1,2))."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts
