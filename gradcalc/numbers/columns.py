"""The numpy number system: the registry's rules run on whole data columns at once.

Same names as `floats`, but every function takes and returns arrays (parameters stay
scalars and broadcast). Nothing here raises on a bad row: the batch engine evaluates under
`np.errstate(all="ignore")` and maps each non-finite value back to its row and stage. Only
data mode imports this module, so the scalar path never pays for numpy.
"""
from __future__ import annotations

from functools import reduce

import numpy as np

exp, log, sqrt, expm1, log1p = np.exp, np.log, np.sqrt, np.expm1, np.log1p
pi, e = np.pi, np.e
sin, cos, tan = np.sin, np.cos, np.tan
asin, acos, atan = np.arcsin, np.arccos, np.arctan
sinh, cosh, tanh = np.sinh, np.cosh, np.tanh
abs = np.abs  # noqa: A001  (the namespace mirrors the function names users write)
sign = np.sign  # sign(0) = 0: the min-norm subgradient of abs
isfinite = np.isfinite  # an array: one flag per row

ZERO = 0.0
ONE = 1.0


def number(text: str) -> float:
    return float(text)


def constant(name: str) -> float:
    return {"pi": np.pi, "e": np.e}[name]


def settled(x):
    return x


def pow(base, exponent):  # noqa: A001
    """Real power: a negative base with a non-integer exponent is nan (a bad row), never complex."""
    return np.power(np.asarray(base, dtype=np.float64), exponent)


def xlogy(x, y):
    """x*log(y), taken as 0 where x is 0 (the ∂/∂exponent of a power whose value is 0)."""
    return np.where(x == 0, 0.0, x * np.log(y))


def sigmoid(x):
    """1/(1+exp(-x)) without overflow: exp only ever sees -|x|.

    The same numbers as `where(x >= 0, 1/(1+z), z/(1+z))`, in fewer passes over the column:
    one division of `where(x >= 0, 1, z)` by 1+z, working in place where it can. As z is in
    [0, 1] (or nan with x), that numerator is max(z, x >= 0): a third of the time of `where`.
    """
    z = np.exp(-np.abs(x))
    if np.ndim(z) == 0:  # a parameter: no column to work in
        return np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))
    numerator = np.maximum(z, np.greater_equal(x, 0.0))
    np.add(z, 1.0, out=z)
    return np.divide(numerator, z, out=numerator)


def softplus(x):
    return np.logaddexp(0.0, x)


def log_sigmoid(x):
    return -np.logaddexp(0.0, -x)


def relu(x):
    return np.where(x > 0, x, 0.0)


def step(x):
    """Heaviside step with step(0) = 0: the min-norm subgradient of relu."""
    return np.where(x > 0, 1.0, 0.0)


def max(*xs):  # noqa: A001
    return reduce(np.maximum, xs)


def min(*xs):  # noqa: A001
    return reduce(np.minimum, xs)


def tie_share(out, args: tuple, index: int):
    """∂max/∂arg per row: 1 for the winner, split evenly between tied winners, 0 elsewhere."""
    ties = sum(np.equal(a, out).astype(np.float64) for a in args)
    return np.where(np.equal(args[index], out), 1.0 / ties, 0.0)
