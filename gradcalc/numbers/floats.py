"""The float64 number system: the `m` namespace the op registry runs on for scalar evaluation.

Every function here either returns a float or raises ValueError, ZeroDivisionError or
OverflowError; autodiff turns those into a DomainError that names the stage. Other number
systems (sympy for exact and printed rules, mpmath for many digits, numpy for columns)
provide the same names.
"""
from __future__ import annotations

import math
from math import (  # noqa: F401  (re-exported: the registry calls them as m.<name>)
    acos,
    asin,
    atan,
    cos,
    cosh,
    e,
    exp,
    expm1,
    isfinite,
    log,
    log1p,
    pi,
    sin,
    sinh,
    sqrt,
    tan,
    tanh,
)

abs = math.fabs  # noqa: A001  (the namespace mirrors the function names users write)

ZERO = 0.0
ONE = 1.0


def number(text: str) -> float:
    """A literal as this system's number."""
    return float(text)


def constant(name: str) -> float:
    return {"pi": math.pi, "e": math.e}[name]


def settled(x: float) -> float:
    """A stage's value as kept: a float is what it is."""
    return x


def pow(base: float, exponent: float) -> float:  # noqa: A001
    """Real power: refuses what Python would turn into a complex number."""
    if base < 0 and not exponent.is_integer():
        raise ValueError("negative base with a non-integer exponent")
    return base ** exponent


def xlogy(x: float, y: float) -> float:
    """x*log(y), taken as 0 when x is 0 (the ∂/∂exponent of a power whose value is 0)."""
    return 0.0 if x == 0 else x * math.log(y)


def sigmoid(x: float) -> float:
    """1/(1+exp(-x)) without overflow for large |x|."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def softplus(x: float) -> float:
    """log(1+exp(x)) without overflow: max(x, 0) + log1p(exp(-|x|))."""
    return (x if x > 0 else 0.0) + math.log1p(math.exp(-math.fabs(x)))


def log_sigmoid(x: float) -> float:
    """log(sigmoid(x)) = -softplus(-x), finite for every finite x."""
    return -softplus(-x)


def max(*xs: float) -> float:  # noqa: A001
    """The largest argument; of one argument, itself (Python's max would iterate it)."""
    best = xs[0]
    for x in xs[1:]:
        if x > best:
            best = x
    return best


def min(*xs: float) -> float:  # noqa: A001
    """The smallest argument; of one argument, itself."""
    least = xs[0]
    for x in xs[1:]:
        if x < least:
            least = x
    return least


def relu(x: float) -> float:
    return x if x > 0 else 0.0


def step(x: float) -> float:
    """Heaviside step with step(0) = 0: the min-norm subgradient of relu."""
    return 1.0 if x > 0 else 0.0


def sign(x: float) -> float:
    """sign(0) = 0: the min-norm subgradient of abs."""
    return 1.0 if x > 0 else (-1.0 if x < 0 else 0.0)


def tie_share(out: float, args: tuple, index: int) -> float:
    """∂max/∂arg: 1 for the winner, split evenly between tied winners, 0 elsewhere."""
    if args[index] != out:
        return 0.0
    if _ties[0] is not args or _ties[1] != out:  # count once per call, not per argument
        _ties[:] = [args, out, sum(1 for a in args if a == out)]  # so max(x, x, ...) stays linear
    return 1.0 / _ties[2]


_ties: list = [None, None, 0]  # the last arguments seen by tie_share, their max and its ties
