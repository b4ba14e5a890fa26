"""The sympy number system: the same registry, run on sympy objects.

Used for printing local rules as formulas, for symbolic gradients (`gradcalc grad`) and for
exact arithmetic (`--exact`): integers, decimals and fractions are rationals (0.1 is 1/10),
pi, e and function values stay symbolic. Exact mode is strict like float mode: zoo, nan and
complex numbers (1/0, log(0), sqrt(-1), (-8)**(1/3)) are not finite real values, so autodiff
reports them as math errors naming the stage; and numbers whose digits would explode
(`2**(10**10)`) stop at the documented limit GRADCALC_MAX_DIGITS. sympy is imported only
when this module is, never on the float path.
"""
from __future__ import annotations

import builtins
import math

import sympy as sp
from sympy.core.evalf import PrecisionExhausted

from gradcalc import limits
from gradcalc.errors import short

ZERO = sp.Integer(0)
ONE = sp.Integer(1)

exp = sp.exp
sin, cos, tan, atan = sp.sin, sp.cos, sp.tan, sp.atan
sinh, cosh, tanh = sp.sinh, sp.cosh, sp.tanh
abs, max, min, sign = sp.Abs, sp.Max, sp.Min, sp.sign  # noqa: A001
pi, e = sp.pi, sp.E


def number(text: str):
    """A literal as an exact rational: 0.1 is 1/10 (1e-100000000 stops at the digit limit)."""
    mantissa, _, exponent = text.lower().partition("e")
    digits = len(mantissa.replace(".", "").lstrip("-+0")) + builtins.abs(int(exponent or 0))
    _refuse_digits(digits, f"the literal {text}")
    return sp.Rational(text)


def constant(name: str):
    return {"pi": sp.pi, "e": sp.E}[name]


def isfinite(value) -> bool:
    """A finite real value: not zoo (1/0, log(0)), nan, ±oo, nor complex.

    Structural only: sympy's assumption queries evaluate nested numbers numerically, which
    costs exponential time in their depth; the functions below refuse complex results
    before they arise. Every value and derivative passes here, so this is also where exact
    numbers that have grown past the digit limit (by repeated squaring, say) are stopped.
    """
    if not value.is_number:  # a formula: a new zoo or nan shows at its top (log(x - x), x/0)
        return not any(part in _NOT_FINITE for part in (value, *value.args))
    if value.has(*_NOT_FINITE):
        return False
    _refuse_digits(_digits(value), "an exact number")
    return True


_NOT_FINITE = (sp.nan, sp.zoo, sp.oo, -sp.oo, sp.I)


def settled(value):
    """The value, or exact 0 when it is a number that sympy cannot simplify and that cannot be
    told apart from 0 at ZERO_TEST_DIGITS digits (`log(3) - 2*log(sqrt(3))`,
    `sin(1)**2 + cos(1)**2 - 1`). So a divisor, a log's or a root's argument that is 0 is
    refused as 0 (exit 3), instead of being divided by and printed as a huge number."""
    if not value.is_number or value.is_Rational or value.is_NumberSymbol:
        return value
    try:
        value.evalf(15, strict=True, maxn=ZERO_TEST_DIGITS)
    except PrecisionExhausted:  # no digit of it is known at that precision: 0 to within it
        return ZERO
    return value


ZERO_TEST_DIGITS = 1000


def log(x):
    """Real log: a negative number is an error, not log|x| + iπ."""
    if x.is_number and x.is_negative:
        raise ValueError("log of a negative number")
    return sp.log(x)


def sqrt(x):
    if x.is_number and x.is_negative:
        raise ValueError("sqrt of a negative number")
    return sp.sqrt(x)


def asin(x):
    _refuse_outside_unit(x)
    return sp.asin(x)


def acos(x):
    _refuse_outside_unit(x)
    return sp.acos(x)


def _refuse_outside_unit(x) -> None:
    if x.is_number and ((x - 1).is_positive or (-1 - x).is_positive):
        raise ValueError("outside [-1, 1]")


def pow(base, exponent):  # noqa: A001
    """Real power: a negative base with a non-integer exponent is an error, not a complex number."""
    if base.is_number and exponent.is_number:
        if base.is_negative and exponent.is_integer is False:
            raise ValueError("negative base with a non-integer exponent")
        if exponent.is_Rational and builtins.abs(exponent) > 1:
            _refuse_digits(float(builtins.abs(exponent)) * _digits(base),
                           f"the exact power {base}**{exponent}")
    return base ** exponent


def xlogy(x, y):
    """x*log(y), taken as 0 when x is 0 (the ∂/∂exponent of a power whose value is 0)."""
    return ZERO if x.is_zero else x * sp.log(y)


def sigmoid(x):
    return 1 / (1 + sp.exp(-x))


def softplus(x):
    return sp.log(1 + sp.exp(x))


def log_sigmoid(x):
    return -sp.log(1 + sp.exp(-x))


def relu(x):
    return sp.Max(x, 0)


def step(x):
    return sp.Heaviside(x, 0)


def tie_share(out, args, index):
    """∂max/∂arg as a formula: 1/(number of arguments equal to the max) for a winner, else 0.

    The count is built once per call of max, not once per argument (that would be
    quadratic in the number of arguments, and sympy's sums are slow to build)."""
    if _ties[0] is not args or _ties[1] is not out:
        count = sp.Add(*[sp.Piecewise((1, sp.Eq(a, out)), (0, True)) for a in args])
        _ties[:] = [args, out, count]
    return sp.Piecewise((1 / _ties[2], sp.Eq(args[index], out)), (0, True))


_ties: list = [None, None, ZERO]  # the last arguments seen by tie_share, their max and the count


def symbol(name: str) -> sp.Symbol:
    return sp.Symbol(name, real=True)


def _digits(value) -> float:
    """Decimal digits of the largest integer inside an exact number (numerators, denominators)."""
    rationals = (value,) if value.is_Rational else value.atoms(sp.Rational)
    largest = builtins.max((builtins.max(builtins.abs(r.p), r.q) for r in rationals), default=1)
    return math.log10(largest) if largest > 1 else 0.0


def _refuse_digits(digits: float, what: str) -> None:
    allowed = limits.limit("GRADCALC_MAX_DIGITS")
    if digits > allowed:
        raise limits.exceeded("GRADCALC_MAX_DIGITS", allowed,
                              f"{short(what, 60)} would have about {digits:,.0f} digits")


def decimal(value, digits: int):
    """sympy's decimal approximation, allowed enough working digits for cancellations such as
    1 - 1/(1 + exp(-1000)) (with sympy's default of 100 it is 0.e-141)."""
    return value.evalf(digits, maxn=MAX_WORKING_DIGITS)


MAX_WORKING_DIGITS = 5000


def exact_text(value) -> str:
    """sympy's string form of an exact value (long integers included, up to the digit limit)."""
    limits.allow_long_integers()
    return str(value)
