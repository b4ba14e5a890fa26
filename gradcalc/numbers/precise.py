"""The mpmath number system for `--digits N`, in *randomized rounding* (Monte Carlo arithmetic).

Every inexact operation moves its result one unit in the last place up or down at random,
at the working precision (`mpmath.workdps`). A digit that rounding errors can reach then
differs between two runs, even where ordinary arithmetic would lose it the same way twice
(`1 - sigmoid(1000)` is exactly 0 at any fixed precision below 435 digits), which is what
`gradcalc.analyses.digits` uses to confirm digits. mpmath comes with sympy and is imported
only in this mode.
"""
from __future__ import annotations

import builtins
import math
import random

import mpmath
from mpmath.libmp import from_man_exp, mpf_add, mpf_mul, mpf_sub, round_nearest

from gradcalc import limits

_random = random.Random(0)


class Noisy(mpmath.mpf):
    """An mpf whose arithmetic results are moved one unit in the last place, up or down."""

    def __format__(self, spec: str) -> str:  # messages quote values as floats do: `x = 0`
        number = float(self)
        return format(number, spec) if math.isfinite(number) else mpmath.nstr(self, 6)

    def __neg__(self) -> "Noisy":
        return _exact(mpmath.mpf.__neg__(self))

    def __abs__(self) -> "Noisy":
        return _exact(mpmath.mpf.__abs__(self))


def _settled(value: mpmath.mpf, exact: bool) -> Noisy:
    """A result at the working precision as a Noisy number: moved one unit in the last place,
    up or down at random, unless it is exact (2*3, 1 - 0.5, sqrt(4), exp(0)) — so kinks, ties
    and integer exponents stay what they are."""
    result = object.__new__(Noisy)
    result._mpf_ = value._mpf_
    sign, man, exp, bits = value._mpf_
    if man and not exact:  # zero, inf and nan have no mantissa to move
        prec = mpmath.mp.prec
        shift = max(prec - bits, 0)
        man = (man << shift) + _random.choice((-1, 1))
        result._mpf_ = from_man_exp(-man if sign else man, exp - shift, prec, round_nearest)
    return result


def _exact(value) -> Noisy:
    return _settled(mpmath.mpf(value), exact=True)


# Whether an operation's rounded result `out` of (a, b) is its exact value.
_EXACTLY = {
    "add": lambda a, b, out: mpf_add(a, b, 0) == out,
    "sub": lambda a, b, out: mpf_sub(a, b, 0) == out,
    "mul": lambda a, b, out: mpf_mul(a, b, 0) == out,
    "truediv": lambda a, b, out: mpf_mul(out, b, 0) == a,
}


def _rounding(name: str):
    plain = getattr(mpmath.mpf, f"__{name}__")
    exactly = _EXACTLY.get(name.removeprefix("r"))
    swapped = name.startswith("r")

    def operation(self, other):
        out = plain(self, other)
        if out is NotImplemented:
            return out
        a, b = self._mpf_, mpmath.mpf(other)._mpf_
        if swapped:
            a, b = b, a
        return _settled(out, exactly is not None and exactly(a, b, out._mpf_))

    return operation


for _name in ("add", "radd", "sub", "rsub", "mul", "rmul", "truediv", "rtruediv", "pow", "rpow"):
    setattr(Noisy, f"__{_name}__", _rounding(_name))


def _function(f, rational_at=0):
    """An mpmath function whose result is rounded at random like the arithmetic. Its value is
    irrational (so never exact) except at `rational_at` (Lindemann: exp(x) for x ≠ 0 ...)."""
    return lambda x: _settled(f(x), exact=x == rational_at)


# The namespace the registry runs on (the protocol of gradcalc.numbers).
ZERO, ONE = _exact(0), _exact(1)
exp, sin, cos, tan, atan = map(_function, (mpmath.exp, mpmath.sin, mpmath.cos, mpmath.tan,
                                          mpmath.atan))
sinh, cosh, tanh = map(_function, (mpmath.sinh, mpmath.cosh, mpmath.tanh))
_log, _asin, _acos = _function(mpmath.log, 1), _function(mpmath.asin), _function(mpmath.acos, 1)
isfinite = mpmath.isfinite


def number(text: str) -> Noisy:
    """A literal read at the working precision (0.1 to as many digits as it takes)."""
    return _exact(mpmath.mpf(text))


def constant(name: str) -> Noisy:
    return _exact(+{"pi": mpmath.mp.pi, "e": mpmath.mp.e}[name])


def settled(x):
    """A rounded number is what it is: digits are confirmed by comparing runs instead."""
    return x


def log(x):
    if x < 0:
        raise ValueError("log of a negative number")
    return _log(x) if x else _exact(mpmath.ninf)


def sqrt(x):
    if x < 0:
        raise ValueError("sqrt of a negative number")
    root = mpmath.sqrt(x)
    return _settled(root, exact=mpf_mul(root._mpf_, root._mpf_, 0) == x._mpf_)


def asin(x):
    _refuse_outside_unit(x)
    return _asin(x)


def acos(x):
    _refuse_outside_unit(x)
    return _acos(x)


def _refuse_outside_unit(x) -> None:
    if mpmath.fabs(x) > 1:
        raise ValueError("outside [-1, 1]")


def pow(base, exponent):  # noqa: A001
    """Real power: refuses what mpmath would turn into a complex number."""
    if base < 0 and exponent != int(exponent):
        raise ValueError("negative base with a non-integer exponent")
    if base == 0 and exponent < 0:
        raise ZeroDivisionError("0 raised to a negative power")
    return _settled(mpmath.power(base, exponent), exact=_exact_power(base, exponent))


def _exact_power(base, exponent) -> bool:
    """Whether base**exponent is a binary number at the working precision: 0**n, 1**y, and
    n-th powers of numbers whose digits fit (2**10, 0.5**3; not 3**100 or 2**-1.5)."""
    if base in (0, 1) or exponent == 0:
        return True
    if exponent != int(exponent):
        return False
    n, bits = int(exponent), base._mpf_[3]
    if n < 0:
        return bits == 1  # a power of two: 2**-3
    if n * (bits - 1) + 1 > mpmath.mp.prec:  # an odd mantissa's n-th power has more bits
        return False
    return (base._mpf_[1] ** n).bit_length() <= mpmath.mp.prec  # the mantissa is odd


def xlogy(x, y):
    """x*log(y), taken as 0 when x is 0 (the ∂/∂exponent of a power whose value is 0)."""
    return ZERO if x == 0 else x * log(y)


def sigmoid(x):
    """1/(1+exp(-x)): no overflow in mpmath's exponent range, and no cancellation."""
    return _settled(1 / (1 + mpmath.exp(-x)), exact=x == 0)


def softplus(x):
    """log(1+exp(x)) as max(x, 0) + log1p(exp(-|x|)): accurate where exp(x) is tiny."""
    plain = mpmath.mpf(x._mpf_)
    return _settled((plain if x > 0 else 0) + mpmath.log1p(mpmath.exp(-mpmath.fabs(plain))),
                    exact=False)


def log_sigmoid(x):
    return -softplus(-x)


def abs(x):  # noqa: A001
    return _exact(mpmath.fabs(x))


def max(*xs):  # noqa: A001
    return builtins.max(xs)


def min(*xs):  # noqa: A001
    return builtins.min(xs)


def relu(x):
    return x if x > 0 else ZERO


def step(x):
    """Heaviside step with step(0) = 0: the min-norm subgradient of relu."""
    return ONE if x > 0 else ZERO


def sign(x):
    """sign(0) = 0: the min-norm subgradient of abs."""
    return ONE if x > 0 else (-ONE if x < 0 else ZERO)


def tie_share(out, args: tuple, index: int):
    """∂max/∂arg: 1 for the winner, split evenly between tied winners, 0 elsewhere."""
    if args[index] != out:
        return ZERO
    return ONE / builtins.sum(1 for a in args if a == out)


def reseed(seed: int) -> None:
    """Start the random rounding afresh: runs with the same seed round alike."""
    _random.seed(seed)


def significant(x, digits: int) -> str:
    """x correctly rounded to `digits` significant digits: 2.718281828, 33.000, 1.5000e-20."""
    if not x:
        return "0"
    if not mpmath.isfinite(x):
        return "nan" if mpmath.isnan(x) else ("inf" if x > 0 else "-inf")
    limits.allow_long_integers(digits)
    with mpmath.workprec(builtins.max(x._mpf_[3], int(digits * 3.33)) + 64):
        sign, x = ("-" if x < 0 else ""), mpmath.fabs(x)
        exponent = int(mpmath.floor(mpmath.log10(x)))
        mantissa = _scaled(x, digits - 1 - exponent)
        if mantissa >= 10 ** digits:  # log10 was just below a power of ten
            exponent += 1
            mantissa = _scaled(x, digits - 1 - exponent)
        elif mantissa < 10 ** (digits - 1):
            exponent -= 1
            mantissa = _scaled(x, digits - 1 - exponent)
    text = str(mantissa)
    if -4 <= exponent < digits:
        if exponent < 0:
            return f"{sign}0.{'0' * (-exponent - 1)}{text}"
        whole, fraction = text[:exponent + 1], text[exponent + 1:]
        return f"{sign}{whole}.{fraction}" if fraction else f"{sign}{whole}"
    fraction = f".{text[1:]}" if digits > 1 else ""
    return f"{sign}{text[0]}{fraction}e{exponent:+d}"


def _scaled(x, shift: int) -> int:
    return int(mpmath.nint(x * mpmath.power(10, shift)))
