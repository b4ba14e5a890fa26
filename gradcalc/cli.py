"""The command line: options in, one library call, one renderer out. Errors map to exit codes here."""
from __future__ import annotations

import os
import sys

import click

from . import __version__
from .errors import ExitCode, GradcalcError, printable
from .render import formats, renderer

EPILOG_EVAL = """\b
Examples:
  gradcalc eval "3*(a+b*c)" --at a=5,b=3,c=2
  gradcalc eval "sigmoid(w0*x0+w1*x1+w2)" --at w=[2,-3,-3],x=[-1,-2] --format json
  gradcalc eval "u = b*c; v = a + u; J = 3*v" --at a=5 --at b=3 --at c=2 --wrt a,b
  echo "x**2*(3*x+1) - sin(x**2)" | gradcalc eval - --at x=1.5
"""

EPILOG_TRACE = """\b
Examples:
  gradcalc trace "3*(a+b*c)" --at a=5,b=3,c=2
  gradcalc trace "(x + sigmoid(y)) / (sigmoid(x) + (x+y)**2)" --at x=3,y=-4
  gradcalc trace -f loss.txt --at x1=1.5,x2=2.5,w1=-4,w2=3,b=-1,y=1 --format json
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

    EXPR is an expression (3*(a+b*c)) or a program of named stages
    (u = b*c; v = a + u; J = 3*v); '-' reads it from standard input.
    Exit codes: 0 ok, 1 internal error, 2 usage or parse error, 3 math error.
    """


def expression_options(command: str):
    """The options every expression command shares."""

    def decorate(f):
        options = [
            click.argument("expression", required=False, metavar="EXPR"),
            click.option("-f", "--file", "file", type=click.File("r", encoding="utf-8"),
                         help="Read the expression or program from FILE."),
            click.option("--at", "at", multiple=True, metavar="NAME=VALUE,...",
                         help="Input values: a=5,b=1/3 or w=[2,-3,-3] (w0, w1, w2); repeatable."),
            click.option("--wrt", metavar="NAME,...", help="Report the gradient for these inputs only."),
            click.option("--format", "fmt", type=click.Choice(formats(command)), default="table",
                         show_default=True, help="Output format."),
            click.option("--debug", is_flag=True, hidden=True),
        ]
        for option in reversed(options):
            f = option(f)
        return f

    return decorate


def read_source(expression: str | None, file) -> str:
    if expression is not None and file is not None:
        raise click.UsageError("give the expression either as EXPR or with -f FILE, not both")
    if file is not None:
        return file.read()
    if expression is None:
        raise click.UsageError("missing the expression (EXPR, '-' for standard input, or -f FILE)")
    if expression == "-":
        return sys.stdin.read()
    return expression


def compute(expression, file, at, wrt):
    """Parse, lower and evaluate: what eval and trace share."""
    from . import api

    source = read_source(expression, file)
    wrt_names = [w.strip() for w in wrt.split(",") if w.strip()] if wrt else None
    result, unused = api.evaluate_text(source, at, wrt_names)
    for name in unused:
        _warn(f"--at gives {name}, which the expression does not use")
    for note in result.warnings:
        _warn(note)
    return result


def emit(command: str, fmt: str, result) -> None:
    rendered = renderer(command, fmt)(result)
    if isinstance(rendered, str):
        click.echo(rendered, nl=not rendered.endswith("\n"))
        return
    from rich.console import Console

    Console(highlight=False).print(rendered)


@main.command("eval", cls=ExpressionCommand, epilog=EPILOG_EVAL)
@expression_options("eval")
def eval_command(expression, file, at, wrt, fmt, debug):
    """Print the value of EXPR and its gradient with respect to every input."""
    emit("eval", fmt, compute(expression, file, at, wrt))


@main.command("trace", cls=ExpressionCommand, epilog=EPILOG_TRACE)
@expression_options("trace")
def trace_command(expression, file, at, wrt, fmt, debug):
    """Print every stage of EXPR: forward values, local derivatives, backpropagated gradients."""
    emit("trace", fmt, compute(expression, file, at, wrt))
