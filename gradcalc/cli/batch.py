"""`gradcalc eval --batch FILE`: one evaluation per JSON line of FILE (or standard input), one
JSON answer per line on standard output, each written and flushed as soon as it is computed,
so that a script can keep one process open as a coprocess instead of starting one per call."""
from __future__ import annotations

import io
import json
import sys
from contextlib import contextmanager
from typing import IO, Any, Iterator

import click
from click.core import ParameterSource

from gradcalc.cli.app import debug_asked, internal_error, note
from gradcalc.cli.options import refuse_closed_stdin
from gradcalc.cli.output import STDOUT, format_chosen, refuse_overwriting_inputs, setting, written
from gradcalc.errors import ExitCode, GradcalcError, listed

# The options of one evaluation, which a line gives as keys: parameter → (option, key).
KEYED = {"expression": ("EXPR", "expr"), "file": ("-f", "expr"), "at": ("--at", "at"),
         "wrt": ("--wrt", "wrt"), "outputs": ("--output", "output"), "gates": ("--gates", "gates"),
         "nonfinite": ("--nonfinite", "nonfinite"), "exact": ("--exact", "exact"),
         "digits": ("--digits", "digits"), "hessian": ("--hessian", "hessian"),
         "jacobian": ("--jacobian", "jacobian"), "mode": ("--mode", "mode")}
# What --batch itself takes; every other option is of data mode.
OWN = {"batch", "fmt", "output", "debug", "quiet", "color"}
SHOWN_LINES = 10  # line numbers named in the closing error


class LinesFailed(GradcalcError):
    """Some lines failed: their answers say why; the exit code is the first one's."""

    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.exit_code = ExitCode(code)


def eval_batch(ctx: click.Context, options: dict[str, Any]) -> None:
    """Answer every line of --batch FILE in order, then fail (with the first failed line's
    exit code) if any line did; a bad line never stops the lines after it."""
    refuse_single_options(ctx)
    source, destination = options["batch"], options.get("output") or STDOUT
    if format_chosen(ctx) and options["fmt"] != "json":
        raise click.UsageError(f"--batch writes one JSON answer per line, not {options['fmt']}: "
                               "leave out --format (or give -o a .jsonl file)")
    refuse_overwriting_inputs({"--batch": source}, {"-o": destination})
    debug = bool(options.get("debug") or ctx.find_root().params.get("debug") or debug_asked())
    from gradcalc.api.jsonlines import Batch
    from gradcalc.limits import limit

    answers = Batch(warnings=not setting("quiet", False), internal=None if debug else internal_error)
    tally = Tally()
    with opened(source) as lines, written(destination) as out:
        for number, line in numbered(lines, limit("GRADCALC_MAX_INPUT")):
            if not line.strip():
                continue
            answer = answers.answer(line, number)
            out.write(json.dumps(answer) + "\n")
            out.flush()  # a coprocess waits for each answer
            tally.count(answer)
    tally.verdict()


def refuse_single_options(ctx: click.Context) -> None:
    """Options of one evaluation go in each line; those of data mode do not apply at all."""
    for param in ctx.command.get_params(ctx):
        name = param.name
        if name is None or name in OWN or ctx.get_parameter_source(name) in (None, ParameterSource.DEFAULT):
            continue
        if name in KEYED:
            option, key = KEYED[name]
            raise click.UsageError(f"{option} goes in each line with --batch (\"{key}\": ...), not on "
                                   "the command line")
        option = param.opts[0] if param.opts else name
        raise click.UsageError(f"{option} does not go with --batch: each line evaluates at one point "
                               "(--data evaluates over the rows of a file)")


@contextmanager
def opened(source: str) -> Iterator[IO[str]]:
    """The lines of FILE, or of standard input for '-', as UTF-8 (an undecodable byte is kept
    for the messages to name); only '\\n' ends a line."""
    if source == STDOUT:
        refuse_closed_stdin("the lines of --batch -", "give them in a file (--batch FILE)")
        binary = getattr(sys.stdin, "buffer", None)
        if sys.stdin.isatty():
            note("reading JSON lines from standard input; end them with Ctrl-D")
        if binary is None:
            yield sys.stdin
            return
        stream = io.TextIOWrapper(binary, encoding="utf-8", errors="surrogateescape", newline="\n")
        try:
            yield stream
        finally:
            stream.detach()  # standard input stays open
        return
    try:
        handle = open(source, "rb")
    except FileNotFoundError:
        raise click.UsageError(f"--batch {source}: no such file") from None
    except IsADirectoryError:
        raise click.UsageError(f"--batch {source}: is a directory, not a file of JSON lines") from None
    except OSError as exc:
        raise click.UsageError(f"--batch {source}: cannot open it ({exc.strerror or exc})") from None
    with io.TextIOWrapper(handle, encoding="utf-8", errors="surrogateescape", newline="\n") as stream:
        yield stream


def numbered(lines: IO[str], allowed: int) -> Iterator[tuple[int, str]]:
    """Each line with its number, read one at a time; a line longer than `allowed`
    characters is read no further than that (its rest is skipped), and answered with the limit."""
    number = 0
    while True:
        line = lines.readline(allowed + 2)  # the limit, one more, and a '\r' before the '\n'
        if not line:
            return
        number += 1
        if len(line) == allowed + 2 and not line.endswith("\n"):
            skip_rest(lines)
        yield number, line


def skip_rest(lines: IO[str]) -> None:
    while True:
        rest = lines.readline(1 << 16)
        if not rest or rest.endswith("\n"):
            return


class Tally:
    """How many lines were answered and which failed, for the exit code and its one line."""

    def __init__(self) -> None:
        self.answered = 0
        self.failed: list[int] = []  # the first SHOWN_LINES failed lines
        self.failures = 0
        self.code = 0

    def count(self, answer: dict[str, Any]) -> None:
        self.answered += 1
        if "exit_code" in answer and "error" in answer:
            self.failures += 1
            self.code = self.code or answer["exit_code"]
            if len(self.failed) < SHOWN_LINES:
                self.failed.append(answer["line"])

    def verdict(self) -> None:
        if not self.failures:
            return
        more = self.failures - len(self.failed)
        shown = listed(map(str, self.failed)) + (f" and {more:,} more" if more else "")
        s = "s" if self.failures > 1 else ""
        raise LinesFailed(f"{self.failures:,} of {self.answered:,} lines failed (line{s} {shown}): "
                          f"each one's answer says why", self.code)
