"""The IEEE number system (`--nonfinite ieee`): float64 where inf and nan flow through.

The same names as `floats`, with PyTorch's answers where floats raises: log(0) = -inf,
1/0 = inf (with the signs of both operands), 0/0 = nan, exp overflow = inf, sqrt(-1) = nan,
log(-1) = nan, 0*inf = nan, and sqrt'(0) = 1/(2*0) = inf. Numbers are `IEEE` floats, whose
arithmetic never raises, so the registry's own `a / b` and `1 / (2*out)` work unchanged.
Any floats function not wrapped by name here answers nan where it would raise.
"""
from __future__ import annotations

import math
import operator
from typing import Callable

from gradcalc.errors import GradcalcError
from gradcalc.numbers import floats

inf, nan = math.inf, math.nan
isfinite = math.isfinite
_FAILURES = (ArithmeticError, ValueError)


def _divide(a: float, b: float) -> float:
    try:
        return a / b
    except ZeroDivisionError:
        if a != a or a == 0:
            return nan
        return math.copysign(inf, a) * math.copysign(1.0, b)


def _power(base: float, exponent: float) -> float:
    """C99's pow, which PyTorch follows, where Python's raises."""
    try:
        return math.pow(base, exponent)
    except OverflowError:
        return -inf if base < 0 and _odd(exponent) else inf
    except ValueError:
        if base == 0 and exponent < 0:  # a pole: 0**-1 = inf, (-0.0)**-1 = -inf
            return -inf if math.copysign(1.0, base) < 0 and _odd(exponent) else inf
        return nan  # a negative base with a non-integer exponent


def _odd(exponent: float) -> bool:
    return exponent.is_integer() and exponent % 2 == 1


def _binary(op: Callable[[float, float], float], swapped: bool = False):
    if swapped:
        return lambda self, other: IEEE(op(float(other), float(self)))
    return lambda self, other: IEEE(op(float(self), float(other)))


class IEEE(float):
    """A float whose arithmetic gives inf and nan instead of raising."""

    __slots__ = ()
    __add__, __radd__ = _binary(operator.add), _binary(operator.add, True)
    __sub__, __rsub__ = _binary(operator.sub), _binary(operator.sub, True)
    __mul__, __rmul__ = _binary(operator.mul), _binary(operator.mul, True)
    __truediv__, __rtruediv__ = _binary(_divide), _binary(_divide, True)
    __pow__, __rpow__ = _binary(_power), _binary(_power, True)

    def __neg__(self) -> IEEE:
        return IEEE(-float(self))

    def __abs__(self) -> IEEE:
        return IEEE(math.fabs(self))


ZERO = IEEE(0.0)
ONE = IEEE(1.0)
e, pi = IEEE(math.e), IEEE(math.pi)


def number(text: str) -> IEEE:
    return IEEE(floats.number(text))


def constant(name: str) -> IEEE:
    return IEEE(floats.constant(name))


def total(fn: Callable, at_failure: Callable = lambda *args: nan) -> Callable:
    """`fn` made total: where it raises, `at_failure(*args)` gives the IEEE answer."""

    def ieee(*args):
        try:
            return IEEE(fn(*args))
        except GradcalcError:  # an ArithmeticError or ValueError too, but gradcalc's own word
            raise
        except _FAILURES:
            return IEEE(at_failure(*args))

    ieee.__name__ = getattr(fn, "__name__", "ieee")
    return ieee


def _nan_in(fn: Callable) -> Callable:
    """nan in, nan out: comparisons would otherwise turn nan into 0 or drop it."""
    return lambda *args: IEEE(nan) if any(a != a for a in args) else IEEE(fn(*args))


exp = total(math.exp, lambda x: inf)  # only overflow raises
expm1 = total(math.expm1, lambda x: inf)
log = total(math.log, lambda x: -inf if x == 0 else nan)
log1p = total(math.log1p, lambda x: -inf if x == -1 else nan)
sinh = total(math.sinh, lambda x: math.copysign(inf, x))
cosh = total(math.cosh, lambda x: inf)
pow = total(_power)  # noqa: A001  (the namespace mirrors floats)
relu, step, sign = _nan_in(floats.relu), _nan_in(floats.step), _nan_in(floats.sign)
max, min = _nan_in(floats.max), _nan_in(floats.min)  # noqa: A001


def xlogy(x: float, y: float) -> IEEE:
    """x*log(y), 0 when x is 0 (as torch.xlogy), with the IEEE log."""
    return ZERO if x == 0 else IEEE(x) * log(y)


def __getattr__(name: str):
    """Every other floats function (sqrt, sin, asin, sigmoid...), answering nan where it raises."""
    fn = getattr(floats, name)
    globals()[name] = made = total(fn) if callable(fn) else fn  # wrapped once, then found directly
    return made


def plain(values: list) -> list:
    """IEEE floats back to plain floats for the Result (None stays None)."""
    return [v if v is None else float(v) for v in values]
