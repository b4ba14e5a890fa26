"""One error hierarchy and one table of exit codes.

Every failure the user can cause is a `GradcalcError` carrying its exit code, so the CLI maps
errors to codes in exactly one place and never shows a traceback for bad input.
"""
from __future__ import annotations

from enum import IntEnum
from typing import TypeVar


class ExitCode(IntEnum):
    """The documented exit codes of every gradcalc command."""

    OK = 0
    INTERNAL = 1  # a bug in gradcalc, never the user's fault
    USAGE = 2  # bad options, syntax errors, missing or malformed values, bad data
    MATH = 3  # a value or derivative is undefined or not finite at the point
    MISMATCH = 4  # `check` found a gradient that disagrees with its oracle
    INTERRUPTED = 130  # Ctrl-C or an abort: 128 + SIGINT, as shells report it
    TERMINATED = 143  # SIGTERM: 128 + SIGTERM, as shells report it


_Error = TypeVar("_Error", bound="GradcalcError")


class GradcalcError(Exception):
    """Base of every error caused by input; `str()` is the one-line message.

    Messages speak the library's language: they name parameters as a Python caller passes
    them (`wrt names z, ...`, `top=20,000 would list ...`, `at b=1/0: ...`), and `parameters`
    lists the names mentioned, so the command line can show its own spelling of each first
    mention instead (`--wrt names z`, `--top 20,000`, `--at b=1/0`).
    """

    exit_code = ExitCode.USAGE
    parameters: tuple[str, ...] = ()

    def about(self: _Error, *parameters: str) -> _Error:
        """This error, marked as mentioning these parameters by name."""
        self.parameters = parameters
        return self


class UsageError(GradcalcError, ValueError):
    """Bad options or values: missing inputs, malformed values, out-of-range numbers (a
    `ValueError` too, for callers that catch the built-in)."""


class VectorOutput(UsageError):
    """A gradient asked of an output that is a vector or a matrix; `output` is its name (the
    command line adds where its Jacobian is)."""

    def __init__(self, output: str, shape_words: str):
        self.output = output
        super().__init__(f"the output {output} is {shape_words}: a gradient needs a scalar output; "
                         f"reduce it (sum({output}), norm(...)) or take one element ({output}[0])")


class MissingValues(UsageError):
    """Inputs of the expression that got no value; `columns` is set in data mode, where a
    value may also come from a column of the file (`label` and its column names). `hint`
    says what a name may have meant instead (`sinx`: sin(x))."""

    def __init__(self, names: list[str], label: str | None = None, columns: tuple[str, ...] = (),
                 hint: str = ""):
        self.names, self.label, self.columns, self.hint = list(names), label, tuple(columns), hint
        s = "s" if len(self.names) > 1 else ""
        shown = listed(self.names)
        then = f"; {hint}" if hint else ""
        if label is None:
            super().__init__(f"missing value{s} for {shown}{then}")
        else:
            super().__init__(f"missing column{s} {shown}: not in {label} (its columns: "
                             f"{listed(self.columns) or 'none'}) and given no value{then}")


def listed(names, shown: int = 10) -> str:
    """Names for a one-line message: the first ten, then how many more."""
    names = list(names)
    more = f" and {len(names) - shown:,} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


class ConstantAssignment(UsageError):
    """A program that is one assignment of a constant (`a = 5`): meant as a value, probably."""

    def __init__(self, target: str):
        self.target = target
        super().__init__(f"'{target} = ...' assigns a constant: to give {target} a value, pass "
                         f"it with the point ({target}=..., on the command line --at {target}=...); "
                         "to compute it, write the expression alone")


class LimitError(UsageError):
    """A documented resource limit was reached; the message names how to raise it."""


class ValueTypeError(UsageError, TypeError):
    """A value of a type that is not a number (a dict, None, True): a `TypeError` too."""


class ParseError(UsageError):
    """The text is outside the grammar; carries the 1-based column of the problem."""

    def __init__(self, message: str, text: str = "", column: int | None = None):
        self.reason = message
        self.text = text
        self.column = column
        super().__init__(_with_column(message, text, column))


class DomainError(GradcalcError, ArithmeticError):
    """A stage's value or local derivative is undefined or not finite at the point (an
    `ArithmeticError` too, as Python's own overflow and division by zero are)."""

    exit_code = ExitCode.MATH
    row: int | None  # in data mode, the 1-based row it happened in (set with the error's record)

    def __init__(self, message: str, stage: str | None = None):
        self.stage = stage
        super().__init__(message)


class MismatchError(GradcalcError):
    """`check` found a gradient that disagrees with its oracle (after printing its report)."""

    exit_code = ExitCode.MISMATCH


class DataError(UsageError):
    """A row of input data is unusable; carries the 1-based row number."""

    def __init__(self, message: str, row: int | None = None):
        self.row = row
        super().__init__(message)


_CONTEXT = 30  # characters of the input quoted on each side of an error column


def _with_column(message: str, text: str, column: int | None) -> str:
    if column is None:
        return message
    return f"{message} at column {column}: {quote_window(text, column)[0]}"


def quote_window(text: str, column: int) -> tuple[str, int]:
    """The input around a column, shown literally (escaped), and the column's offset in it."""
    index = column - 1
    lo, hi = max(0, index - _CONTEXT), min(len(text), index + 1 + _CONTEXT)
    before = ("…" if lo else "") + printable(text[lo:index])
    shown = before + printable(text[index:hi]) + ("…" if hi < len(text) else "")
    return shown, len(before)


def short(text: str, limit: int = 24) -> str:
    """A long name or literal cut for a message, saying how long it was."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"


def printable(text: str) -> str:
    """Show control characters, stray surrogates (undecodable bytes) and newlines as escapes."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else _escape(ch) for ch in text)


def _escape(ch: str) -> str:
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not valid UTF-8, kept by surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    return repr(ch)[1:-1] if code < 0x10000 else f"\\U{code:08x}"


class GradcalcWarning(UserWarning):
    """What the library warns about (`warnings.warn`): a kink met, a non-finite stage under
    IEEE rules, a stage the output does not use, a symbolic oracle skipped."""


class UnusedValueWarning(GradcalcWarning):
    """A value given for a name the expression does not use (often a misspelt input)."""
