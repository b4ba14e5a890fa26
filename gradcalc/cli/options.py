"""What every expression command shares: its options, reading the expression and `--at` once,
and printing what a renderer makes.

The text is parsed and lowered once, and the values parsed once, here; the library receives
the graph and the point.
"""
from __future__ import annotations

import math
import re
import sys
from typing import TYPE_CHECKING, Any, Iterable, NamedTuple

import click

from gradcalc.cli.app import note, warn
from gradcalc.cli.output import STDOUT, remember, show, stdin_is_piped
from gradcalc.core.gates import MODES
from gradcalc.errors import UsageError
from gradcalc.render import formats, renderer

if TYPE_CHECKING:
    from gradcalc.core.autodiff import Result
    from gradcalc.core.graph import Graph
    from gradcalc.core.values import Point


def expression_options(command: str, wrt: str | None):
    """The options every expression command shares; `wrt` says what --wrt does in this command
    (None: the command has no --wrt)."""

    def decorate(f):
        choices = format_choices(command)
        options = [
            click.argument("expression", required=False, metavar="EXPR"),
            click.option("-f", "--file", "file",
                         type=click.File("r", encoding="utf-8", errors="surrogateescape"), metavar="FILE",
                         help="Read the expression or program from FILE."),
            click.option("--at", "at", multiple=True, metavar="NAME=VALUE,...",
                         help="Input values: a=5,b=1/3, w=[2,-3,-3] (the vector w, or w0, w1, w2), "
                              "W=[[1,2],[3,4]], or @FILE (the values written in FILE); repeatable."),
            *([click.option("--wrt", metavar="NAME,...", help=wrt)] if wrt else []),
            click.option("--format", "fmt", type=click.Choice(choices), default=choices[0],
                         show_default=True,
                         help="Output format; with -o FILE, the suffix of FILE says it unless this does."),
            click.option("-o", "--output-file", "output", type=click.Path(dir_okay=False, allow_dash=True),
                         metavar="FILE",
                         help="Write the result to FILE ('-': standard output), in the format its "
                              "suffix names unless --format says; an existing FILE is replaced only "
                              "when the run succeeds."),
            click.option("-q", "--quiet", is_flag=True, expose_value=False, callback=remember,
                         help="No warnings, notes or progress bar: the result and errors only."),
            click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto",
                         show_default=True, expose_value=False, callback=remember,
                         help="Bold and italic in tables: on a terminal (auto, unless NO_COLOR is "
                              "set), always, or never."),
            click.option("--debug", is_flag=True,
                         help="On an internal error, show its traceback (also GRADCALC_DEBUG=1)."),
        ]
        for option in reversed(options):
            f = option(f)
        return f

    return decorate


def format_choices(command: str) -> list[str]:
    """The --format choices, the default first: every command's plain text is called `table`
    (grad's, rendered as formulas, also `text`)."""
    known = formats(command)
    if "table" not in known and "text" in known:
        return ["table", *(fmt for fmt in known if fmt != "text"), "text"]
    return sorted(known, key=lambda fmt: fmt != "table")


class FiniteFloat(click.FloatRange):
    """A float in a range, never nan or inf: a tolerance or a learning rate that is not a
    finite number would judge or move nothing the way it says."""

    name = "finite number"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


gates_option = click.option(
    "--gates", type=click.Choice(MODES), default="written", show_default=True,
    help="Gate granularity: as written, fused (longhand sigmoid → one gate), primitive, or "
         "scalar (vectors unrolled into their elements' circuit: W_0_1 is W[0, 1]).")

nonfinite_option = click.option(
    "--nonfinite", type=click.Choice(["strict", "ieee"]), default="strict", show_default=True,
    help="strict: a non-finite value or derivative is an error (exit 3); ieee: inf and nan "
         "flow through as in PyTorch, with a warning per stage.")


outputs_option = click.option(
    "--output", "outputs", metavar="NAME,...|all",
    help="The outputs to differentiate: these stages (f,g), or all: every stage nothing else "
         "uses [default: the last statement]. Several give the Jacobian.")


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


def data_options(reductions: tuple[str, ...]):
    """Where the rows come from and what happens to bad ones (eval --data and descend)."""
    what = {"mean": "mean (their average)", "sum": "sum (their total)", "none": "none (one result per row)"}

    def decorate(f):
        for option in reversed([
            click.option("--data", type=click.Path(allow_dash=True), metavar="FILE",
                         help="Rows of input values: CSV with a header ('-': standard input), "
                              ".npy, .npz or Parquet; columns give the variables they name."),
            click.option("--header", metavar="NAMES",
                         help="The names of the columns of a plain 2-D .npy array of n columns, "
                              "as a CSV header gives them: n names, or one name x for the vector "
                              "x (x0 to x{n-1})."),
            click.option("--reduce", type=click.Choice(reductions), default="mean",
                         show_default=True,
                         help="What to make of the rows: " + ", ".join(what[r] for r in reductions) + "."),
            click.option("--on-error", "on_error", type=click.Choice(["fail", "skip"]),
                         default="fail", show_default=True,
                         help="A bad row stops with its row number, or is skipped and reported."),
        ]):
            f = option(f)
        return f

    return decorate


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

    stdin_free = options.get("data") != STDOUT  # `--data -` reads the rows from standard input
    program = parse(read_source(options["expression"], options["file"], stdin_free))
    point = Point(parse_at(options["at"]))
    gates = options.get("gates", "written")
    if gates == "scalar" and columns:  # the data plan unrolls, knowing which columns are vectors
        gates = "written"
    graph = lower_gates(program, given={*point.names, *columns}, gates=gates, shapes=point.shapes)
    shapes = point.shapes
    point = point.fitted(graph)
    outputs = options.get("outputs")
    if outputs is not None and "." in outputs:  # a file name: stage names have no dots
        raise click.UsageError(f"--output {outputs}: --output names the outputs among the stages "
                               "(f,g or all); to write the result to a file use -o FILE")
    wrt = names(options.get("wrt"))
    if wrt is not None and gates == "scalar":
        from gradcalc.core.unroll import element_inputs

        wrt = element_inputs(wrt, shapes, graph.input_names)
    if outputs is not None:
        graph = graph.with_outputs("all" if outputs.strip() == "all" else names(outputs) or ())
    return Job(graph, point, wrt)


def at_point(job: Job, nonfinite: str = "strict") -> Result:
    """Value and gradient at the point, in float64; warnings go to stderr."""
    from gradcalc.core import autodiff

    m = number_system(job)
    values = job.point.read(m)  # every value is checked, used or not
    result = autodiff.evaluate(job.graph, values, job.wrt, m=m, nonfinite=nonfinite)
    report(job, result.warnings)
    return result


def number_system(job: Job) -> Any:
    """float64 numbers, or numpy arrays when a value is a vector or a stage a vector op
    (numpy is imported only then)."""
    if job.point.shaped or job.graph.vectorised:
        from gradcalc.numbers import arrays

        return arrays
    from gradcalc.numbers import floats

    return floats


def report(job: Job, warnings: Iterable[str]) -> None:
    """The names `--at` gives that nothing uses (one line, even for 99,999 of them), then the
    library's warnings."""
    unused = job.point.unused(job.graph)
    if unused:
        shown = ", ".join(unused[:10]) + (f" and {len(unused) - 10:,} more" if len(unused) > 10 else "")
        warn(f"--at gives {shown}, which the expression does not use")
    for warning in (*job.graph.notes, *warnings):
        warn(warning)


def emit(command: str, fmt: str, shown, to: str = STDOUT, **options) -> None:
    """Render with the renderer of the command and format, and print it or write it to `to`."""
    show(renderer(command, fmt)(shown, **options), to)


def names(option: str | None) -> tuple[str, ...] | None:
    """`--wrt a, b` → ("a", "b"); None when not given."""
    return tuple(w.strip() for w in option.split(",") if w.strip()) if option else None


def read_source(expression: str | None, file, stdin_free: bool = True) -> str:
    """The text of EXPR, of -f FILE, or of standard input: for '-', and when no expression is
    given and standard input is a pipe or a file (`echo "x*y" | gradcalc eval --at ...`)."""
    if expression is not None and file is not None:
        raise click.UsageError("give the expression either as EXPR or with -f FILE, not both")
    if file is not None:
        return file.read(_input_limit())
    if expression is None and stdin_free and stdin_is_piped():
        expression = "-"
    if expression is None:
        raise click.UsageError("missing the expression (EXPR, '-' for standard input, or -f FILE)")
    if expression == "-":
        refuse_closed_stdin("the expression ('-')", "give it as EXPR or with -f FILE")
        if sys.stdin.isatty():
            note("reading the expression from standard input; end it with Ctrl-D")
        return _read_stdin(_input_limit())
    _refuse_values_as_expression(expression)
    return expression


def refuse_closed_stdin(what: str, instead: str) -> None:
    """`gradcalc eval - <&-`: there is no standard input to read `what` from."""
    if sys.stdin is None:
        raise click.UsageError(f"standard input is closed, so {what} cannot be read from it: {instead}")


def _refuse_values_as_expression(text: str) -> None:
    """`gradcalc eval a=5,b=3`: values where the expression belongs (a top-level ',' is never
    part of an expression, so nothing valid is refused)."""
    parts = _split_top_level(text, ",")
    if len(parts) > 1 and all(_ASSIGNMENT.match(part) for part in parts):
        raise click.UsageError(f"{text} gives values, not an expression: give them with --at "
                               f"(--at {text}) and the expression as EXPR")


_ASSIGNMENT = re.compile(r"\s*[A-Za-z_]\w*\s*=[^=;]*$")


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
    is the vector w and shorthand for w0, w1, ... (the point keeps what the expression names);
    `W=[[1, 2], [3, 4]]` a matrix."""
    from gradcalc.core.values import add_value

    texts: dict[str, str] = {}
    for option in map(_values_text, options):
        for item in _split_top_level(option, ","):
            name, value = _assignment(item, option)
            if value.startswith("["):
                if value.count("[") == 1:  # a vector: also its elements w0, w1, ... (see Point.fitted)
                    for k, element in enumerate(_vector(name, value)):
                        add_value(texts, f"{name}{k}", element)
                add_value(texts, name, value)
            else:
                add_value(texts, name, value)
    return texts


def _values_text(option: str) -> str:
    """`--at @FILE`: the values written in FILE (name=value items separated by commas or
    newlines), for values too long for a command line, such as a data matrix."""
    if not option.startswith("@"):
        return option
    path = option[1:]
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read(_input_limit())
    except OSError as exc:
        raise click.UsageError(f"--at {option}: cannot read {path}: {exc.strerror}") from None
    from gradcalc import limits

    limits.check("GRADCALC_MAX_INPUT", len(text), f"the values in {path} are too long")
    return ",".join(line.strip().strip(",") for line in text.splitlines() if line.strip())


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


def _split_top_level(text: str, sep: str) -> list[str]:
    """Split on `sep` outside parentheses and brackets (values may be calls like max(1,2)).

    Inside brackets only the brackets are looked at, so a 1000×1000 matrix costs a look at
    each of its rows, not at each of its 22 million characters."""
    if not any(ch in text for ch in "()[]"):
        return text.split(sep)
    outside, inside = re.compile(rf"[()\[\]{re.escape(sep)}]"), re.compile(r"[()\[\]]")
    parts, depth, start, at = [], 0, 0, 0
    while True:
        found = (inside if depth else outside).search(text, at)
        if found is None:
            break
        ch, at = found.group(), found.end()
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif depth == 0:
            parts.append(text[start:found.start()])
            start = at
    parts.append(text[start:])
    return parts
