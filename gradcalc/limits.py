"""Named resource limits, each raised by an environment variable of the same name.

Float evaluation grows linearly with the input, so two generous limits bound it (the size
of the text and of the graph). The work that is explosive by nature — exact integer powers,
listing paths, symbolic simplification, Hessians of big graphs — checks its own limit
before it starts. Reaching one is a LimitError (exit 2) that names the limit and says how
to raise it:

    GRADCALC_MAX_NODES=5000000 gradcalc eval -f huge.txt --at ...
"""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from typing import Iterator, NamedTuple

from gradcalc.errors import LimitError, UsageError


class Limit(NamedTuple):  # a tuple: every command imports this module, and a dataclass costs start-up
    name: str  # also the environment variable that raises it
    default: int
    bounds: str  # what it counts, in words: "nodes in a graph"


LIMITS: dict[str, Limit] = {
    limit.name: limit
    for limit in (
        Limit("GRADCALC_MAX_INPUT", 4_000_000,
              "characters in an expression, program or value, or in a batch line"),
        Limit("GRADCALC_MAX_NODES", 2_000_000, "nodes in a graph"),
        Limit("GRADCALC_MAX_DIGITS", 10_000, "digits of an exact number or of a many-digit evaluation"),
        Limit("GRADCALC_MAX_UNROLLED", 10_000,
              "scalar stages of a circuit unrolled from vectors; the written gates keep them whole"),
        Limit("GRADCALC_MAX_PATHS", 10_000, "paths listed by `paths`"),
        Limit("GRADCALC_MAX_PATH_WORK", 2_000_000,
              "work of listing paths: the paths listed times the stages of the graph"),
        Limit("GRADCALC_MAX_HESSIAN", 10_000_000,
              "work of a Hessian: nodes times inputs"),
        Limit("GRADCALC_MAX_CHECK_WORK", 1_000_000,
              "stages re-run by `check --nodes`, where each stage checked re-runs the stages after it"),
        Limit("GRADCALC_MAX_TERMS", 100_000, "terms of the formulas printed by `gradcalc grad`"),
        Limit("GRADCALC_SIMPLIFY_SECONDS", 10, "seconds of symbolic simplification"),
        Limit("GRADCALC_SYMBOLIC_SECONDS", 30,
              "seconds of exact, many-digit or symbolic work (exact values, digits, formulas, "
              "check's symbolic column)"),
    )
}


def limit(name: str) -> int:
    """The limit's value: the environment variable when set, else the default."""
    setting = os.environ.get(name, "").strip()
    if not setting:
        return LIMITS[name].default
    digits = setting.replace("_", "")
    value = int(digits) if digits.isascii() and digits.isdigit() and len(digits) < 20 else 0
    ceiling = SECONDS_CEILING if name.endswith("_SECONDS") else COUNT_CEILING
    if not 1 <= value <= ceiling:
        raise UsageError(f"environment variable {name}={setting!r}: expected a positive integer "
                         f"of at most {ceiling:,}, in ASCII digits")
    return value


# The largest values a limit may be raised to: what the clock (a C time_t) and Python's own
# integer-printing limit (a C int) accept, far beyond any real need.
SECONDS_CEILING = 10 ** 8
COUNT_CEILING = 10 ** 9


def check(name: str, amount: float, what: str = "", parameter: str = "") -> None:
    """Refuse `amount` above the limit, naming the limit and how to raise it.

    `what` describes the amount found ("the expression has 5,000,001 characters"); it
    mentions `parameter` by name when the amount is that parameter's (`top=20,000`).
    """
    allowed = limit(name)
    if amount > allowed:
        error = exceeded(name, allowed, what)
        raise error.about(parameter) if parameter else error


def exceeded(name: str, allowed: int | None = None, what: str = "") -> LimitError:
    """The error for a limit reached (for callers that count as they go)."""
    allowed = limit(name) if allowed is None else allowed
    found = f"{what} " if what else ""
    return LimitError(f"limit {name} reached: {found}(at most {allowed:,} {LIMITS[name].bounds}); "
                      f"raise it with the environment variable {name}=N")


class _OutOfTime(BaseException):
    """Raised by the alarm; a BaseException, so library code's `except Exception` lets it pass."""


@contextmanager
def seconds(name: str, what: str) -> Iterator[None]:
    """Stop the work inside after the limit's seconds with its LimitError (`what` took too long).

    sympy can take exponential time on nested transcendental numbers, and no size measured
    beforehand predicts it; a clock does. Uses SIGALRM, so it bounds the main thread on POSIX
    and is a no-op elsewhere.
    """
    import signal
    import threading

    allowed = limit(name)
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def alarm(signum, frame):
        raise _OutOfTime()

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, allowed)
    try:
        yield
    except _OutOfTime:
        raise exceeded(name, allowed, f"{what} took longer") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def exact_clock(exact: bool):
    """The clock of exact arithmetic (GRADCALC_SYMBOLIC_SECONDS), or none for float work."""
    from contextlib import nullcontext

    return seconds("GRADCALC_SYMBOLIC_SECONDS", "exact evaluation") if exact else nullcontext()


def allow_long_integers(digits: int = 0) -> None:
    """Let Python print integers of up to `digits` (or GRADCALC_MAX_DIGITS) digits.

    Python refuses to convert integers over 4,300 digits to text unless told; exact mode and
    --digits print numbers up to their own documented limit.
    """
    setter = getattr(sys, "set_int_max_str_digits", None)  # Python 3.11, and 3.10.7 onwards
    needed = max(digits, limit("GRADCALC_MAX_DIGITS")) + 100
    if setter is not None and 0 < sys.get_int_max_str_digits() < needed:
        setter(needed)

