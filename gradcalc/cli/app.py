"""The group and its error handling: one line on stderr and a documented exit code for every
failure, the library's messages spoken in the command line's words. `run` is the entry point."""
from __future__ import annotations

import atexit
import os
import re
import sys
from typing import Any, Iterator

import click

from gradcalc import __version__
from gradcalc.cli.output import cannot_write_stdout, reader_gone, setting, settle, stdout_failed
from gradcalc.errors import (
    ConstantAssignment,
    ExitCode,
    GradcalcError,
    MissingValues,
    ParseError,
    UsageError,
    listed,
    printable,
)


class ExpressionCommand(click.Command):
    """A command whose expression may start with '-' (`-y*log(yhat) - ...`) and is not an option,
    and whose missing optional libraries are named with the line that installs them."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        _refuse_stray_assignments(self, ctx, args)
        try:
            return super().parse_args(ctx, _expression_last(self, ctx, args))
        except BrokenPipeError:
            raise
        except OSError as exc:  # only --help writes while options are read (`--help > /dev/full`)
            raise stdout_failed(exc) from None

    def invoke(self, ctx: click.Context) -> Any:
        with click.core.augment_usage_errors(ctx):  # its usage errors name the command, as click's do
            settle(ctx)
        try:
            return super().invoke(ctx)
        except ImportError as exc:
            module = missing_module(exc)
            if module is None:
                raise
            raise UsageError(install_line(ctx, module)) from None


def _words(command: click.Command, ctx: click.Context, args: list[str]) -> Iterator[tuple[int, str, str | None]]:
    """The arguments that are neither an option nor an option's value: (index, word, the option
    and value just before it, if any); nothing when `--` already ends the options."""
    if "--" in args:
        return
    takes_value: set[str] = set()
    flags: set[str] = set()
    for param in command.get_params(ctx):
        if isinstance(param, click.Option):
            names = param.opts + param.secondary_opts
            (flags if param.is_flag or param.count else takes_value).update(names)
    before: str | None = None
    skip = False
    for i, arg in enumerate(args):
        if skip:
            skip, before = False, f"{args[i - 1]} {arg}"
            continue
        if arg in takes_value:
            skip = True
            continue
        if arg in flags or arg.split("=")[0] in takes_value:
            before = None
            continue
        yield i, arg, before
        before = None


def _expression_last(command: click.Command, ctx: click.Context, args: list[str]) -> list[str]:
    """Move a leading-minus expression behind `--` so click reads it as the argument.

    Only an argument that is an expression moves (`-y*log(p)`, `-3*x`); anything else that
    starts with '-' is an option, and click names a mistyped one (`No such option: --formt`).
    """
    for i, arg, _ in _words(command, ctx, args):
        if _leading_minus_expression(arg):
            return args[:i] + args[i + 1:] + ["--", arg]
    return args


_ASSIGNMENT = re.compile(r"[A-Za-z_]\w*=")


def _refuse_stray_assignments(command: click.Command, ctx: click.Context, args: list[str]) -> None:
    """`--at a=5 b=3`: the second assignment is an argument of its own, which click would call
    an extra argument; say how to give it instead."""
    words = [(arg, before) for _, arg, before in _words(command, ctx, args)
             if not arg.startswith("-") or _leading_minus_expression(arg)]
    for arg, before in words[1:]:  # the first is the expression (`y=3*x` is a program)
        if not _ASSIGNMENT.match(arg):
            continue
        if before is not None and before.startswith("--at "):
            given = before[len("--at "):]
            raise click.UsageError(f"{arg} follows --at {given} as an argument of its own: separate "
                                   f"the values with ',' (--at {given},{arg}) or repeat --at "
                                   f"(--at {given} --at {arg})", ctx)
        raise click.UsageError(f"{arg} is an argument of its own: give values with --at (--at {arg})", ctx)


def _leading_minus_expression(arg: str) -> bool:
    """`-y*log(p)`, `-3*x`, `-(a+b)`, `--x`: a leading minus that is not an option's; options
    are `-x`-like words or `--word` of two letters or more (`--formt`, `--formt=json`)."""
    return arg.startswith("-") and arg != "-" and not _OPTION.match(arg)


_OPTION = re.compile(r"--[A-Za-z][A-Za-z0-9-]+(=.*)?$|-[A-Za-z][A-Za-z0-9_]*$")


class Stopped(BaseException):
    """Ctrl-C or SIGTERM, raised past click, which would print a blank line for an interrupt;
    a BaseException, so no `except Exception` stops it and every `finally` still runs."""

    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.message, self.code = message, code


class Escaped(Exception):
    """An exception that click would misreport (EOFError as an abort), carried past it."""

    def __init__(self, original: BaseException):
        super().__init__(str(original))
        self.original = original


class GradcalcGroup(click.Group):
    """Runs a command and turns every failure into one line on stderr and a documented exit code.

    A closed standard output (`gradcalc ... | head -2`) is a normal end, exit 0, on every
    command and output path: the reader has what it wanted.
    """

    def make_context(self, info_name, args, parent=None, **extra):
        try:
            return super().make_context(info_name, args, parent, **extra)
        except BrokenPipeError:  # `gradcalc --help | head -1`
            reader_gone()
            raise click.exceptions.Exit(ExitCode.OK) from None
        except KeyboardInterrupt:
            raise Stopped("interrupted", ExitCode.INTERRUPTED) from None
        except OSError as exc:  # only --help and --version write while options are read
            raise stdout_failed(exc) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            reader_gone()
            return None
        except KeyboardInterrupt:
            raise Stopped("interrupted", ExitCode.INTERRUPTED) from None
        except EOFError as exc:  # no prompt reads a terminal: a library's EOFError is a bug,
            raise Escaped(exc) from exc  # not click's "aborted" after a blank line

    def main(self, args=None, prog_name=None, **extra):
        extra.pop("standalone_mode", None)
        argv = sys.argv[1:] if args is None else list(args)
        debug = "--debug" in argv or debug_asked()
        try:
            super().main(args=argv, prog_name=prog_name or "gradcalc", standalone_mode=False, **extra)
        except GradcalcError as exc:
            _fail(spoken(exc), exc.exit_code, _caret(exc))
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.exceptions.NoArgsIsHelpError as exc:  # a bare `gradcalc`: its help, exit 0
            click.echo(exc.ctx.get_help() if exc.ctx else exc.format_message())
            sys.exit(ExitCode.OK)
        except click.Abort:
            _fail("aborted", ExitCode.INTERRUPTED)
        except click.ClickException as exc:
            hint = _help_hint(exc)
            _fail(f"{exc.format_message()}{hint}", ExitCode.USAGE if exc.exit_code == 2 else exc.exit_code)
        except Stopped as stop:
            _fail(stop.message, stop.code)
        except KeyboardInterrupt:
            _fail("interrupted", ExitCode.INTERRUPTED)
        except BrokenPipeError:
            reader_gone()
        except Exception as exc:  # a bug: say so in one line; the traceback only under --debug
            if debug:
                raise
            _fail(internal_error(exc.original if isinstance(exc, Escaped) else exc), ExitCode.INTERNAL)
        sys.exit(ExitCode.OK)


def internal_error(bug: BaseException) -> str:
    """The one line for a bug (exit 1): what failed, and how to see the traceback."""
    return (f"internal error ({type(bug).__name__}: {bug}); this is a bug in gradcalc — "
            "rerun with --debug for the traceback")


def debug_asked() -> bool:
    """GRADCALC_DEBUG asks for tracebacks only with a true value: `1`, `true`, `yes` or `on`."""
    return os.environ.get("GRADCALC_DEBUG", "").strip().lower() in ("1", "true", "yes", "on")


# The optional libraries and the extra of pyproject.toml that installs each.
EXTRAS = {"numpy": "data", "pyarrow": "arrow", "pandas": "dask", "dask": "dask",
          "distributed": "dask", "fsspec": "dask", "cairosvg": "figures"}


def missing_module(exc: BaseException) -> str | None:
    """The library whose absence caused `exc`, however deep in its chain (Dask wraps fsspec's
    ImportError, which wraps `No module named 's3fs'`); None for gradcalc's own modules."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ModuleNotFoundError) and seen.name:
            top = seen.name.split(".")[0]
            return None if top == "gradcalc" else top
        seen = seen.__cause__ or seen.__context__
    return None


def install_line(ctx: click.Context, module: str) -> str:
    """`--data needs numpy: pip install 'gradcalc[data]'`: what needs the library, and the extra
    that installs it (a library of no extra, s3fs for s3:// under Dask, goes by its own name)."""
    dask = ctx.params.get("engine") == "dask"
    if dask:
        need = "--engine dask"
    elif ctx.info_name == "descend":
        need = "descend"
    elif ctx.params.get("data") is not None:
        need = "--data"
    elif ctx.params.get("fmt") in ("png", "pdf"):
        need = f"--format {ctx.params['fmt']}"
    else:
        need = ctx.command_path
    extra = "dask" if dask and module in EXTRAS else EXTRAS.get(module)
    package = f"'gradcalc[{extra}]'" if extra else module
    return f"{need} needs {module}: pip install {package}"


def run() -> None:
    """The `gradcalc` command (and `python -m gradcalc`): `main`, then a quick exit.

    Standard streams that were closed are opened on the null device first, and SIGTERM ends
    the run as Ctrl-C does (one line, temporary files removed). Tearing the interpreter down
    (freeing every module, a last garbage collection) takes about 10 ms, a sixth of a whole
    `eval`. When nothing registered work for exit time and the output is flushed, the process
    ends at once; otherwise it exits as usual.
    """
    _reopen_closed_streams()
    _terminate_as_interrupt()
    try:
        main(prog_name="gradcalc")
    except SystemExit as done:
        code = done.code
    else:
        code = ExitCode.OK
    code = _flushed(code)
    if isinstance(code, int) and not getattr(atexit, "_ncallbacks", lambda: 1)():
        os._exit(int(code))
    sys.exit(code)


def _reopen_closed_streams() -> None:
    """`<&-`, `>&-`, `2>&-`: each closed descriptor among 0, 1 and 2 is opened on the null
    device (in that order, so each takes its own number), so that no file the run opens later
    becomes a standard stream, and the exit code is the run's own even when stderr is closed.
    Output to a closed stream is dropped; standard input stays absent (reading it is an error
    that says so)."""
    for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        if getattr(sys, name) is not None:
            continue
        try:
            os.fstat(fd)
        except OSError:
            opened = os.open(os.devnull, os.O_RDONLY if fd == 0 else os.O_WRONLY)
            if opened != fd:
                os.dup2(opened, fd)
                os.close(opened)
        if fd:
            setattr(sys, name, open(fd, "w", encoding="utf-8", closefd=False))


def _terminate_as_interrupt() -> None:
    """SIGTERM raises Stopped in the main thread: the run ends as Ctrl-C ends it, one line and
    exit 143 (128 + SIGTERM), and a file being written is left as it was."""
    import signal

    def stop(signum, frame):
        raise Stopped("terminated", ExitCode.TERMINATED)

    try:
        signal.signal(signal.SIGTERM, stop)
    except (ValueError, OSError, AttributeError):  # not the main thread, or no SIGTERM here
        pass


def _flushed(code: Any) -> Any:
    """Flush both streams and return the exit code: a reader that has gone is a normal end; a
    standard output that cannot take the rest (a full disk) is exit 2 with one line."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        reader_gone()
    except (OSError, ValueError) as exc:
        reader_gone()  # what is still buffered goes nowhere, so Python's own exit is quiet
        say(f"error: {cannot_write_stdout(exc)}")
        code = ExitCode.USAGE
    try:
        sys.stderr.flush()
    except (OSError, ValueError):
        pass  # nowhere left to say it; the exit code still tells
    return code


def _help_hint(exc: click.ClickException) -> str:
    ctx = getattr(exc, "ctx", None)
    return f" (see '{ctx.command_path} --help')" if ctx is not None else ""


def _caret(exc: GradcalcError) -> str | None:
    """On a terminal, a caret under the quoted input; pipes and logs get the one line only."""
    if not isinstance(exc, ParseError) or exc.column is None or not sys.stderr.isatty():
        return None  # (a parse error is the only one with a column)
    from gradcalc.errors import quote_window

    shown, offset = quote_window(exc.text, exc.column)
    line = f"error: {printable(spoken(exc))}"
    return " " * (len(line) - len(shown) + offset) + "^"


def _fail(message: str, code: int, caret: str | None = None) -> None:
    say(f"error: {printable(message)}")
    if caret:
        say(caret)
    sys.exit(int(code))


def say(line: str) -> None:
    """A line on stderr; a standard error that cannot take it (`2> /dev/full`) leaves nowhere
    to say it, and the exit code tells all the same."""
    try:
        click.echo(line, err=True)
    except OSError:
        pass


def warn(message: str) -> None:
    """A warning on stderr, unless -q/--quiet asks for results and errors only."""
    if not setting("quiet", False):
        say(f"warning: {printable(message)}")


def note(message: str) -> None:
    """What the command is doing when it might look stuck; silenced by -q/--quiet too."""
    if not setting("quiet", False):
        say(f"note: {message}")


@click.group("gradcalc", cls=GradcalcGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="gradcalc")
@click.option("--debug", is_flag=True, help="On an internal error, show its traceback (also GRADCALC_DEBUG=1).")
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


# Parameters whose option is not spelled as they are: the outputs among the stages are --output
# (the file written is -o, --output-file).
_OPTIONS = {"outputs": "--output"}


def spoken(exc: GradcalcError) -> str:
    """The library's message in the command line's words: parameters become options
    (`wrt names z` → `--wrt names z`, `top=20,000` → `--top 20,000`), and missing values
    say how to give them."""
    if isinstance(exc, ConstantAssignment):
        target = exc.target
        return (f"'{target} = ...' assigns a constant: to give {target} a value, use "
                f"--at {target}=...; to compute it, write the expression alone")
    if isinstance(exc, MissingValues):
        return _missing(exc)
    message = str(exc)
    for parameter in exc.parameters:
        option = _OPTIONS.get(parameter) or "--" + parameter.replace("_", "-")
        message = re.sub(rf"(?<![\w-]){parameter}(=| )", f"{option} ", message, count=1)
    return message


def _missing(exc: MissingValues) -> str:
    names = exc.names
    example = ",".join(f"{name}=..." for name in names[:3])
    if exc.label is None:
        them = "them" if len(names) > 1 else "it"
        return f"{exc} (give {them} with --at {example})"
    s = "s" if len(names) > 1 else ""
    then = f"; {exc.hint}" if exc.hint else ""
    return (f"missing column{s} {listed(names)}: not in {exc.label} (its columns: "
            f"{listed(exc.columns) or 'none'}) and not given with --at (--at {example}){then}")
