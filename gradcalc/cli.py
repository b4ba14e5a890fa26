"""The command line: options in, one library call, one renderer out. Errors map to exit codes here."""
from __future__ import annotations

import atexit
import os
import sys

import click

from . import __version__
from .check import ATOL, RTOL
from .errors import ExitCode, GradcalcError, MismatchError, printable
from .gates import MODES
from .render import AUTO_ROWS, OUTLINED, formats, renderer

EPILOG_EVAL = """\b
Examples:
  gradcalc eval "3*(a+b*c)" --at a=5,b=3,c=2
  gradcalc eval "sigmoid(w0*x0+w1*x1+w2)" --at w=[2,-3,-3],x=[-1,-2] --format json
  gradcalc eval "u = b*c; v = a + u; J = 3*v" --at a=5 --at b=3 --at c=2 --wrt a,b
  echo "x**2*(3*x+1) - sin(x**2)" | gradcalc eval - --at x=1.5
  gradcalc eval -f examples/logistic/loss.txt --data examples/logistic/data.csv --at w1=0,w2=0,b=0
  gradcalc eval "(w*x - y)**2" --data points.csv --at w=2 --reduce none --format json
  gradcalc eval "(w*x - y)**2" --data big.parquet --at w=2 --engine dask --scheduler tcp://host:8786
  gradcalc eval "log(x) + sqrt(y)" --at x=0,y=0 --nonfinite ieee --format json
  gradcalc eval "sin(pi*x)" --at x=1/4 --exact
  gradcalc eval "exp(x)" --at x=1 --digits 1000 --format json
  gradcalc eval "x**2*y + sin(x*y)" --at x=1.5,y=-2 --hessian
"""

EPILOG_DESCEND = """\b
Examples:
  gradcalc descend -f examples/logistic/loss.txt --data examples/logistic/data.csv \\
      --at w1=0,w2=0,b=0 --wrt w1,w2,b --lr 0.5 --steps 500
  gradcalc descend -f examples/network/loss.txt --data examples/network/data.csv --reduce sum \\
      --at w1=[-7.8751,-8.3499],b1=[-3.9181,3.8380],w2=[5.0297,-4.0937],b2=1.6347 \\
      --lr 0.1 --steps 3000 --plot loss.svg
  gradcalc descend "(w*x - y)**2" --data points.csv --at w=0 --batch-size 32 --seed 1 --history h.csv
"""

EPILOG_TRACE = """\b
Examples:
  gradcalc trace "3*(a+b*c)" --at a=5,b=3,c=2
  gradcalc trace "(x + sigmoid(y)) / (sigmoid(x) + (x+y)**2)" --at x=3,y=-4
  gradcalc trace -f loss.txt --at x1=1.5,x2=2.5,w1=-4,w2=3,b=-1,y=1 --format json
  gradcalc trace "sigmoid(w0*x0+w1*x1+w2)" --at w=[2,-3,-3],x=[-1,-2] --gates primitive
  gradcalc trace "x**2*(3*x+1) - sin(x**2)" --at x=1.5 --format python > backprop.py
  gradcalc trace "3*(a+b*c)" --at a=5,b=3,c=2 --format markdown
  gradcalc trace -f big.txt --at ... --depth 3
  gradcalc trace "sqrt(x)" --at x=0 --nonfinite ieee
  gradcalc trace "3*(a+b*c)" --at a=5,b=3,c=2 --exact
  gradcalc trace "sigmoid(x)" --at x=1000 --digits 30
"""

EPILOG_CHECK = """\b
Examples:
  gradcalc check "3*(a+b*c)" --at a=5,b=3,c=2
  gradcalc check -f loss.txt --at x1=1.5,x2=2.5,w1=-4,w2=3,b=-1,y=1 --nodes
  gradcalc check "x**2*(3*x+1) - sin(x**2)" --at x=1.5 --rtol 1e-9 --format json
"""

EPILOG_GRAD = """\b
Examples:
  gradcalc grad "3*(a+b*c)"
  gradcalc grad "z = w*x + b; yhat = sigmoid(z); L = -y*log(yhat) - (1-y)*log(1-yhat)" \\
      --stages --simplify
  gradcalc grad "sin(pi*x)" --at x=1/4 --format latex
"""

EPILOG_GRAPH = """\b
Examples:
  gradcalc graph "sigmoid(w0*x0+w1*x1+w2)" --at w=[2,-3,-3],x=[-1,-2] --gates primitive -o neuron.svg
  gradcalc graph "3*(a+b*c)" --format mermaid
  gradcalc graph "3*(a+b*c)" --at a=5,b=3,c=2 | dot -Tpng -o circuit.png
"""

EPILOG_PATHS = """\b
Examples:
  gradcalc paths "x**2*(3*x+1) - sin(x**2)" --at x=1.5
  gradcalc paths "u = x*y; v = u*u + u; f = v*v + v" --at x=1,y=2 --wrt x --top 3
"""


class ExpressionCommand(click.Command):
    """A command whose expression may start with '-' (`-y*log(yhat) - ...`) and is not an option."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, _expression_last(self, ctx, args))


def _expression_last(command: click.Command, ctx: click.Context, args: list[str]) -> list[str]:
    """Move a leading-minus expression behind `--` so click reads it as the argument."""
    if "--" in args:
        return args
    takes_value, flags = set(), set()
    for param in command.get_params(ctx):
        if isinstance(param, click.Option):
            names = param.opts + param.secondary_opts
            (flags if param.is_flag or param.count else takes_value).update(names)
    skip = False
    for i, arg in enumerate(args):
        if skip:
            skip = False
            continue
        if arg in takes_value:
            skip = True
            continue
        if arg == "-" or not arg.startswith("-") or arg in flags or arg.split("=")[0] in takes_value:
            continue
        return args[:i] + args[i + 1:] + ["--", arg]
    return args


class GradcalcGroup(click.Group):
    """Runs a command and turns every failure into one line on stderr and a documented exit code."""

    def main(self, args=None, prog_name=None, **extra):
        extra.pop("standalone_mode", None)
        argv = sys.argv[1:] if args is None else list(args)
        debug = "--debug" in argv or bool(os.environ.get("GRADCALC_DEBUG"))
        try:
            super().main(args=argv, prog_name=prog_name or "gradcalc", standalone_mode=False, **extra)
        except GradcalcError as exc:
            _fail(str(exc), exc.exit_code, _caret(exc))
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.Abort:
            _fail("aborted", 130)
        except click.ClickException as exc:
            hint = _help_hint(exc)
            _fail(f"{exc.format_message()}{hint}", ExitCode.USAGE if exc.exit_code == 2 else exc.exit_code)
        except KeyboardInterrupt:
            _fail("interrupted", 130)
        except BrokenPipeError:
            sys.stderr.close()
            sys.exit(ExitCode.OK)
        except Exception as exc:  # a bug: say so in one line; the traceback only under --debug
            if debug:
                raise
            _fail(f"internal error ({type(exc).__name__}: {exc}); this is a bug in gradcalc — "
                  "rerun with --debug for the traceback", ExitCode.INTERNAL)
        sys.exit(ExitCode.OK)


def run() -> None:
    """The `gradcalc` command (and `python -m gradcalc`): `main`, then a quick exit.

    Tearing the interpreter down (freeing every module, a last garbage collection) takes
    about 10 ms, a sixth of a whole `eval`. When nothing registered work for exit time and
    the output is flushed, the process ends at once; otherwise it exits as usual.
    """
    try:
        main(prog_name="gradcalc")
    except SystemExit as done:
        code = done.code
    else:
        code = ExitCode.OK
    if isinstance(code, int) and not getattr(atexit, "_ncallbacks", lambda: 1)():
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):  # a closed pipe or stream: let Python report it as usual
            sys.exit(code)
        os._exit(int(code))
    sys.exit(code)


def _help_hint(exc: click.ClickException) -> str:
    ctx = getattr(exc, "ctx", None)
    return f" (see '{ctx.command_path} --help')" if ctx is not None else ""


def _caret(exc: GradcalcError) -> str | None:
    """On a terminal, a caret under the quoted input; pipes and logs get the one line only."""
    column = getattr(exc, "column", None)
    if column is None or not sys.stderr.isatty():
        return None
    from .errors import quote_window

    shown, offset = quote_window(exc.text, column)
    line = f"error: {printable(str(exc))}"
    return " " * (len(line) - len(shown) + offset) + "^"


def _fail(message: str, code: int, caret: str | None = None) -> None:
    click.echo(f"error: {printable(message)}", err=True)
    if caret:
        click.echo(caret, err=True)
    sys.exit(int(code))


def _warn(message: str) -> None:
    click.echo(f"warning: {printable(message)}", err=True)


@click.group(cls=GradcalcGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="gradcalc")
@click.option("--debug", is_flag=True, hidden=True, help="Show the traceback of internal errors.")
def main(debug: bool) -> None:
    """Value and gradient of an expression, by a staged graph and backpropagation.

    \b
    gradcalc eval  EXPR --at ...   value and ∂output/∂input for every input
    gradcalc trace EXPR --at ...   every stage, forward and backward
    gradcalc graph EXPR [--at ...] the circuit as DOT, Mermaid or SVG
    gradcalc paths EXPR --at ... --wrt x   the gradient as a sum over paths
    gradcalc eval EXPR --data FILE --at ...   mean (or sum) over the rows of FILE
    gradcalc descend EXPR --data FILE --at w=0 --wrt w   gradient descent
    gradcalc check EXPR --at ...   backprop against finite differences and sympy
    gradcalc grad  EXPR            the gradient as formulas

    EXPR is an expression (3*(a+b*c)) or a program of named stages
    (u = b*c; v = a + u; J = 3*v); '-' reads it from standard input.
    Exit codes: 0 ok, 1 internal error, 2 usage or parse error, 3 math error,
    4 a gradient that check found wrong.
    Nothing you type is run as code; size limits are raised by GRADCALC_MAX_*
    environment variables (README, section Security).
    """


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
    from .limits import limit

    return limit("GRADCALC_MAX_INPUT") + 1


def compute(expression, file, at, wrt, gates="written", nonfinite="strict"):
    """Parse, lower and evaluate: what eval and trace share."""
    from . import api

    source = read_source(expression, file)
    wrt_names = [w.strip() for w in wrt.split(",") if w.strip()] if wrt else None
    result, unused = api.evaluate_text(source, at, wrt_names, gates, nonfinite)
    _report(unused, result.warnings)
    return result


def _report(unused: list[str], warnings: list[str]) -> None:
    if unused:  # one line, even for the 99,999 unused elements of a long vector
        shown = ", ".join(unused[:10]) + (f" and {len(unused) - 10:,} more" if len(unused) > 10 else "")
        _warn(f"--at gives {shown}, which the expression does not use")
    for note in warnings:
        _warn(note)


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


def emit_numbers(command: str, fmt: str, options: dict, expression, file, at, wrt, gates,
                 nonfinite: str, exact: bool, digits: int | None, hessian: bool = False) -> None:
    """eval and trace with --exact, --digits or --hessian; exact work runs against the clock."""
    from contextlib import nullcontext

    from .limits import seconds
    from .systems import evaluate

    if nonfinite != "strict":
        raise click.UsageError("--nonfinite ieee works with float64 values only")
    if fmt not in ("table", "json", "csv"):
        raise click.UsageError(f"--format {fmt} shows float64 values; with --exact, --digits or "
                               "--hessian use table, json or csv")
    clock = seconds("GRADCALC_SYMBOLIC_SECONDS", "exact evaluation") if exact else nullcontext()
    with clock:
        evaluation = evaluate(command, read_source(expression, file), at, _names(wrt), gates,
                              exact, digits, hessian, steps=fmt == "table")
        _report(evaluation.unused, evaluation.warnings)
        emit(evaluation.renderer, fmt, evaluation.shown, **options)


def emit(command: str, fmt: str, result, **options) -> None:
    rendered = renderer(command, fmt)(result, **options)
    if isinstance(rendered, str):
        click.echo(rendered, nl=not rendered.endswith("\n"))
        return
    from rich.console import Console

    # Renderers give Text for anything a user typed; with markup and emoji codes off, rich
    # neither parses the other cells nor loads its emoji table (start-up time).
    Console(highlight=False, markup=False, emoji=False).print(rendered)


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


@main.command("eval", cls=ExpressionCommand, epilog=EPILOG_EVAL)
@expression_options("eval")
@gates_option
@nonfinite_option
@number_options
@click.option("--hessian", is_flag=True,
              help="Also the matrix of second derivatives (forward-over-reverse), for --wrt.")
@data_options
@click.option("--engine", type=click.Choice(["numpy", "dask"]), default="numpy", show_default=True,
              help="Run --data in this process, or on Dask (pip install 'gradcalc[dask]').")
@click.option("--scheduler", metavar="ADDRESS", help="A dask.distributed scheduler (--engine dask).")
@click.option("--chunk-size", "chunk_rows", type=click.IntRange(min=1), metavar="ROWS",
              help="Rows read and computed at a time (default: from the size of the graph).")
@click.pass_context
def eval_command(ctx, expression, file, at, wrt, fmt, debug, gates, nonfinite, exact, digits,
                 hessian, data, reduce, on_error, engine, scheduler, chunk_rows):
    """Print the value of EXPR and its gradient with respect to every input.

    With --data FILE: the mean (or sum) over the rows of FILE and its gradient with respect
    to the --at parameters, or with --reduce none one result per row (CSV or JSON Lines).
    """
    if data is None:
        if (reduce, on_error, engine, scheduler, chunk_rows) != ("mean", "fail", "numpy", None, None):
            raise click.UsageError("--reduce, --on-error, --engine, --scheduler and --chunk-size "
                                   "need --data FILE")
        if exact or digits is not None or hessian:
            emit_numbers("eval", fmt, {}, expression, file, at, wrt, gates, nonfinite, exact,
                         digits, hessian)
            return
        emit("eval", fmt, compute(expression, file, at, wrt, gates, nonfinite))
        return
    if exact or digits is not None or hessian:
        raise click.UsageError("--exact, --digits and --hessian apply to single points, not to --data")
    if nonfinite != "strict":
        raise click.UsageError("--nonfinite ieee applies to single points, not to --data")
    from .datacli import eval_data

    fmt_given = ctx.get_parameter_source("fmt") != click.core.ParameterSource.DEFAULT
    eval_data(expression, file, data, at, _names(wrt), fmt, fmt_given, gates, reduce, on_error,
              engine, scheduler, chunk_rows)


def _names(wrt: str | None) -> list[str] | None:
    return [w.strip() for w in wrt.split(",") if w.strip()] if wrt else None


@main.command("trace", cls=ExpressionCommand, epilog=EPILOG_TRACE)
@expression_options("trace")
@gates_option
@nonfinite_option
@number_options
@click.option("--depth", type=click.IntRange(min=0), metavar="N",
              help="Show only the stages at most N steps from the output (table, markdown, latex).")
@click.option("--collapse/--no-collapse", default=None,
              help=f"Fold repeated rows of long tables [default: when over {AUTO_ROWS} rows].")
def trace_command(expression, file, at, wrt, fmt, debug, gates, nonfinite, exact, digits, depth,
                  collapse):
    """Print every stage of EXPR: forward values, local derivatives, backpropagated gradients.

    --format python prints a standard-library Python program of the same backward pass,
    one d<stage> per stage, that prints the JSON of 'eval --format json' when run.
    """
    options = {}
    if depth is not None or collapse is not None:
        if fmt not in OUTLINED:
            raise click.UsageError(f"--depth and --collapse apply to --format {', '.join(OUTLINED)}")
        options = {"depth": depth, "collapse": collapse}
    if exact or digits is not None:
        emit_numbers("trace", fmt, options, expression, file, at, wrt, gates, nonfinite, exact,
                     digits)
        return
    emit("trace", fmt, compute(expression, file, at, wrt, gates, nonfinite), **options)


@main.command("graph", cls=ExpressionCommand, epilog=EPILOG_GRAPH)
@expression_options("graph")
@gates_option
@click.option("-o", "--output", type=click.Path(dir_okay=False), metavar="FILE",
              help="Write to FILE; its suffix (.svg, .dot, .gv, .mmd) sets the format unless --format does.")
@click.pass_context
def graph_command(ctx, expression, file, at, wrt, fmt, debug, gates, output):
    """Draw the circuit of EXPR; with --at, every wire shows its value and its gradient.

    Without --at the picture shows the structure only.
    """
    from .render.circuit import format_for_file

    if output and ctx.get_parameter_source("fmt") == click.core.ParameterSource.DEFAULT:
        fmt = format_for_file(output, fmt)
    if at:
        result = compute(expression, file, at, wrt, gates)
        graph = result.graph
    else:
        from . import api

        result, graph = None, api.lower_gates(read_source(expression, file), gates=gates)
    text = renderer("graph", fmt)(graph, result)
    if output is None:
        click.echo(text, nl=not text.endswith("\n"))
        return
    try:
        with open(output, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as exc:
        raise click.UsageError(f"cannot write {output}: {exc.strerror or exc}") from None


@main.command("paths", cls=ExpressionCommand, epilog=EPILOG_PATHS)
@expression_options("paths")
@gates_option
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True, metavar="N",
              help="Show the N paths with the largest contributions.")
def paths_command(expression, file, at, wrt, fmt, debug, gates, top):
    """∂output/∂x as the sum over every path from the output back to the input x (--wrt x).

    Each path is its chain of stages and the product of the local derivatives along it.
    Paths are counted without listing them; only the N largest are shown.
    """
    from .paths import path_sum

    emit("paths", fmt, path_sum(compute(expression, file, at, wrt, gates), top))


@main.command("descend", cls=ExpressionCommand, epilog=EPILOG_DESCEND)
@expression_options("descend")
@gates_option
@data_options
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=0.1, show_default=True,
              help="Learning rate: each step moves w by -lr * dJ/dw.")
@click.option("--steps", type=click.IntRange(min=0), default=1000, show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), metavar="N",
              help="Minibatches of N rows from a shuffled order (default: all rows each step).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the shuffle.")
@click.option("--history", type=click.Path(dir_okay=False), metavar="FILE.csv",
              help="Write step, loss and parameters of every step.")
@click.option("--plot", type=click.Path(dir_okay=False), metavar="FILE.svg",
              help="Write the loss curve as an SVG.")
def descend_command(expression, file, at, wrt, fmt, debug, gates, data, reduce, on_error, lr,
                    steps, batch_size, seed, history, plot):
    """Gradient descent on EXPR reduced over the rows of --data: the --wrt parameters start
    at their --at values and move by -lr times the gradient, --steps times."""
    from .datacli import descend_data

    if data is None:
        raise click.UsageError("descend needs --data FILE")
    if reduce == "none":
        raise click.UsageError("descend minimises the mean or the sum: --reduce mean or sum")
    descend_data(expression, file, data, at, _names(wrt), fmt, gates, reduce, on_error, lr,
                 steps, batch_size, seed, history, plot)


@main.command("check", cls=ExpressionCommand, epilog=EPILOG_CHECK)
@expression_options("check")
@gates_option
@click.option("--nodes", is_flag=True,
              help="Check every stage too: ∂output/∂stage against perturbing the stage's value "
                   "and re-running the graph downstream of it.")
@click.option("--rtol", type=click.FloatRange(min=0), default=RTOL, show_default=True,
              help="Relative tolerance of agreement.")
@click.option("--atol", type=click.FloatRange(min=0), default=ATOL, show_default=True,
              help="Absolute tolerance, for gradients near 0.")
def check_command(expression, file, at, wrt, fmt, debug, gates, nodes, rtol, atol):
    """Check the backpropagated gradient of EXPR: for every input, against a central finite
    difference (Ridders' extrapolation) and sympy's derivative at the point.

    A gradient agrees when |backprop − oracle| ≤ atol + rtol·|oracle| (plus the finite
    difference's own error estimate). Exit 0 when all agree, 4 when one does not.
    """
    from .check import check, verdict

    report, unused = check(read_source(expression, file), at, _names(wrt), gates, nodes, rtol,
                           atol)
    _report(unused, report.result.warnings + report.warnings)
    emit("check", fmt, report)
    if not report.agree:
        raise MismatchError(verdict(report))


@main.command("grad", cls=ExpressionCommand, epilog=EPILOG_GRAD)
@expression_options("grad")
@click.option("--stages", is_flag=True,
              help="Write the formulas in terms of the named stages too, and add ∂output/∂stage "
                   "for each (∂L/∂z = yhat - y).")
@click.option("--simplify", is_flag=True,
              help="Simplify with sympy, for at most GRADCALC_SIMPLIFY_SECONDS seconds.")
def grad_command(expression, file, at, wrt, fmt, debug, stages, simplify):
    """Print the gradient of EXPR as formulas: ∂output/∂input for every input, no values needed.

    The formulas come from the backward pass run on symbols, with the registry's local rules.
    With --at each is also evaluated exactly at the point.
    """
    from .symgrad import symbolic_gradient

    report, unused = symbolic_gradient(read_source(expression, file), _names(wrt), stages,
                                       simplify, at)
    _report(unused, report.warnings)
    emit("grad", fmt, report)
