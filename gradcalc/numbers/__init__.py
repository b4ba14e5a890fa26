"""Number systems: what `m` is in every forward function and local rule of the op registry.

A number system is a namespace (a module, or an object) that provides the names below; the
registry's rules are written against them, so one table of rules computes floats, IEEE
floats, numpy columns, exact sympy numbers and formulas, many-digit mpmath numbers, and
— in the layers above — dual numbers (Hessians), formula sizes (`grad`'s limit) and Python
source (`trace --format python`). Its numbers must support `+ - * /` and unary minus among
themselves and with Python floats. This package holds namespaces only: no graph, no driver.

    floats     float64 (the default; standard library only)
    ieee       float64 where inf and nan flow through (`nonfinite="ieee"`)
    columns    numpy arrays, one value per data row (data mode; imports numpy)
    symbolic   sympy: exact numbers and formulas (imports sympy)
    precise    mpmath with randomized rounding (`digits=N`; imports mpmath)

Adding a number system: provide every name of `NAMES`; `tests/test_numbers.py` runs each
system against floats at oracle points.
"""
from __future__ import annotations

from typing import Any, Callable, Protocol

# Numbers every rule may use: the additive and multiplicative identities.
IDENTITIES = ("ZERO", "ONE")
# How a graph's leaves become numbers, and how autodiff checks them.
READERS = (
    "number",  # number(literal text) -> the system's number ("0.1" is 1/10 in sympy)
    "constant",  # constant("pi" or "e")
    "isfinite",  # isfinite(x) -> a truth value (per row for columns)
    "settled",  # settled(x) -> x as a stage's value is kept: exact 0 for a number that is 0
    #            but not written so (sympy); x itself in every system that rounds
)
# Elementary functions: each is the forward function of the registry op of the same name,
# whose local rule is its derivative (what dual numbers use to carry tangents).
FUNCTIONS = ("exp", "log", "sqrt", "abs", "sin", "cos", "tan", "asin", "acos", "atan", "sinh",
             "cosh", "tanh", "sigmoid", "softplus", "log_sigmoid", "relu", "max", "min", "pow")
# Pieces of local rules, not ops of their own.
RULE_PARTS = (
    "xlogy",  # xlogy(x, y) = x*log(y), 0 where x is 0 (∂/∂exponent of a power that is 0)
    "step",  # Heaviside with step(0) = 0: the min-norm subgradient of relu
    "sign",  # sign(0) = 0: the min-norm subgradient of abs
    "tie_share",  # tie_share(out, args, i): ∂max/∂args[i], split evenly between ties
)
NAMES = IDENTITIES + READERS + FUNCTIONS + RULE_PARTS


def missing(m: object) -> list[str]:
    """The names of the protocol that `m` does not provide."""
    return [name for name in NAMES if not hasattr(m, name)]


class NumberSystem(Protocol):
    """The protocol as a type, for annotations: `m: NumberSystem`."""

    ZERO: Any
    ONE: Any
    number: Callable[..., Any]
    constant: Callable[..., Any]
    isfinite: Callable[..., Any]
    settled: Callable[..., Any]
    exp: Callable[..., Any]
    log: Callable[..., Any]
    sqrt: Callable[..., Any]
    abs: Callable[..., Any]
    sin: Callable[..., Any]
    cos: Callable[..., Any]
    tan: Callable[..., Any]
    asin: Callable[..., Any]
    acos: Callable[..., Any]
    atan: Callable[..., Any]
    sinh: Callable[..., Any]
    cosh: Callable[..., Any]
    tanh: Callable[..., Any]
    sigmoid: Callable[..., Any]
    softplus: Callable[..., Any]
    log_sigmoid: Callable[..., Any]
    relu: Callable[..., Any]
    max: Callable[..., Any]
    min: Callable[..., Any]
    pow: Callable[..., Any]
    xlogy: Callable[..., Any]
    step: Callable[..., Any]
    sign: Callable[..., Any]
    tie_share: Callable[..., Any]
