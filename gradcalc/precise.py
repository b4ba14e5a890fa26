"""The mpmath number system for `--digits N`: the same registry, with N confirmed digits.

Each run evaluates the graph at a working precision well above N in *randomized rounding*
(Monte Carlo arithmetic): every inexact operation moves its result one unit in the last
place up or down at random. A digit that rounding errors can reach then differs between
two runs, even where ordinary arithmetic would lose it the same way twice (`1 - sigmoid(1000)`
is exactly 0 at any fixed precision below 435 digits). `evaluate_digits` runs at a working
precision and at twice it and accepts a result only when every value, local derivative,
gradient and backward-pass sum agrees beyond the N-th digit; otherwise it doubles again.
A quantity that keeps disagreeing while shrinking with the precision is 0 to within the
last bound, printed as 0 with a warning; any other disagreement is an error. mpmath comes
with sympy and is imported only in this mode.
"""
from __future__ import annotations

import builtins
import random
import sys
from dataclasses import dataclass
from typing import Iterable, Sequence

import mpmath
from mpmath.libmp import from_man_exp, round_nearest

from . import autodiff, limits
from .autodiff import Result
from .errors import DomainError

GUARD = 10  # digits the first run works with beyond the N asked for
MARGIN = 3  # digits beyond the N-th on which two runs must agree
EXTRA = 1000  # the last run may work with up to N + EXTRA digits (or 4 times the first)

_random = random.Random(0)


class Noisy(mpmath.mpf):
    """An mpf whose arithmetic results are moved one unit in the last place, up or down."""


def _jittered(value: mpmath.mpf) -> Noisy:
    sign, man, exp, bits = value._mpf_
    result = object.__new__(Noisy)
    result._mpf_ = value._mpf_
    if man:  # zero, inf and nan stay as they are
        prec = mpmath.mp.prec
        shift = max(prec - bits, 0)
        man = (man << shift) + _random.choice((-1, 1))
        result._mpf_ = from_man_exp(-man if sign else man, exp - shift, prec, round_nearest)
    return result


def _exact(value) -> Noisy:
    result = object.__new__(Noisy)
    result._mpf_ = mpmath.mpf(value)._mpf_
    return result


def _rounding(name: str):
    plain = getattr(mpmath.mpf, name)

    def operation(self, other):
        out = plain(self, other)
        return out if out is NotImplemented else _jittered(out)

    return operation


for _name in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__",
              "__truediv__", "__rtruediv__", "__pow__", "__rpow__"):
    setattr(Noisy, _name, _rounding(_name))
Noisy.__neg__ = lambda self: _exact(mpmath.mpf.__neg__(self))
Noisy.__abs__ = lambda self: _exact(mpmath.mpf.__abs__(self))


def _function(f):
    """An mpmath function whose result is rounded at random like the arithmetic."""
    return lambda *args: _jittered(f(*args))


# The namespace the registry runs on (the same names as gradcalc.floatmath).
ZERO, ONE = _exact(0), _exact(1)
exp, sin, cos, tan, atan = map(_function, (mpmath.exp, mpmath.sin, mpmath.cos, mpmath.tan,
                                          mpmath.atan))
sinh, cosh, tanh = map(_function, (mpmath.sinh, mpmath.cosh, mpmath.tanh))
isfinite = mpmath.isfinite


def number(text: str) -> Noisy:
    """A literal read at the working precision (0.1 to as many digits as it takes)."""
    return _exact(mpmath.mpf(text))


def constant(name: str) -> Noisy:
    return _exact(+{"pi": mpmath.mp.pi, "e": mpmath.mp.e}[name])


def log(x):
    if x < 0:
        raise ValueError("log of a negative number")
    return _jittered(mpmath.log(x)) if x else _exact(mpmath.ninf)


def sqrt(x):
    if x < 0:
        raise ValueError("sqrt of a negative number")
    return _jittered(mpmath.sqrt(x))


def asin(x):
    _refuse_outside_unit(x)
    return _jittered(mpmath.asin(x))


def acos(x):
    _refuse_outside_unit(x)
    return _jittered(mpmath.acos(x))


def _refuse_outside_unit(x) -> None:
    if mpmath.fabs(x) > 1:
        raise ValueError("outside [-1, 1]")


def pow(base, exponent):  # noqa: A001
    """Real power: refuses what mpmath would turn into a complex number."""
    if base < 0 and exponent != int(exponent):
        raise ValueError("negative base with a non-integer exponent")
    if base == 0 and exponent < 0:
        raise ZeroDivisionError("0 raised to a negative power")
    return _jittered(mpmath.power(base, exponent))


def xlogy(x, y):
    """x*log(y), taken as 0 when x is 0 (the ∂/∂exponent of a power whose value is 0)."""
    return ZERO if x == 0 else x * log(y)


def sigmoid(x):
    """1/(1+exp(-x)): no overflow in mpmath's exponent range, and no cancellation."""
    return _jittered(1 / (1 + mpmath.exp(-x)))


def softplus(x):
    """log(1+exp(x)) as max(x, 0) + log1p(exp(-|x|)): accurate where exp(x) is tiny."""
    return _jittered((x if x > 0 else 0) + mpmath.log1p(mpmath.exp(-mpmath.fabs(x))))


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
    return _jittered(mpmath.mpf(1) / builtins.sum(1 for a in args if a == out))


@dataclass
class Decimals:
    """An evaluation whose values, local derivatives and gradients are confirmed to `digits`
    significant digits; `result` holds those of the most precise run."""

    result: Result
    digits: int
    warnings: list[str]

    def show(self, value) -> str:
        return "—" if value is None else significant(value, self.digits)


def evaluate_digits(source: str, at_options: Iterable[str], digits: int,
                    wrt: Sequence[str] | None = None, gates: str = "written",
                    every_stage: bool = False) -> tuple[Decimals, list[str]]:
    """Value and gradient to `digits` confirmed significant digits; also the unused --at names.

    Confirms the output's value, the point and the reported gradient; with `every_stage`
    (trace) every stage's value, local derivatives and gradient as well.
    """
    limits.check("GRADCALC_MAX_DIGITS", digits, f"--digits {digits:,}")
    first = digits + GUARD
    last = builtins.max(4 * first, digits + EXTRA)
    runs = [_run(source, at_options, wrt, gates, first, seed=1)]
    while True:
        runs.append(_run(source, at_options, wrt, gates, builtins.min(2 * runs[-1][0], last),
                         seed=len(runs) + 1))
        (low_dps, low, _), (dps, high, unused) = runs[-2], runs[-1]
        unsettled = [(a, b) for a, b in zip(_quantities(low, every_stage),
                                            _quantities(high, every_stage))
                     if not _agree(a[1], b[1], digits)]
        if not unsettled or dps >= last:
            break
    warnings = [_settle(high, a, b, low_dps, dps) for a, b in unsettled]
    return Decimals(high, digits, high.warnings + warnings), unused


def _run(source, at_options, wrt, gates, dps: int, seed: int) -> tuple[int, Result, list[str]]:
    from .api import prepare_text

    this = sys.modules[__name__]
    with mpmath.workdps(dps):
        _random.seed(seed)
        graph, values, unused = prepare_text(source, at_options, gates, m=this)
        return dps, autodiff.evaluate(graph, values, wrt, m=this), unused


def _quantities(result: Result, every_stage: bool) -> list[tuple[tuple, object]]:
    """The numbers the output shows, each with where it lives: ("value", i), ("grad", i) or
    ("local", i, k)."""
    graph = result.graph
    if not every_stage:
        shown = [graph.output, *graph.inputs]
        reported = [graph.index[name] for name in result.wrt]
        return ([(("value", i), result.values[i]) for i in shown]
                + [(("grad", i), result.grads[i]) for i in reported])
    return ([(("value", i), v) for i, v in enumerate(result.values)]
            + [(("grad", i), g) for i, g in enumerate(result.grads)]
            + [(("local", i, k), p) for i, local in enumerate(result.locals)
               for k, p in enumerate(local)])


def _agree(a, b, digits: int) -> bool:
    """Two runs agree beyond the `digits`-th digit and round to the same `digits` digits."""
    if a is None or b is None or a == b:
        return a is None and b is None or a == b
    with mpmath.workdps(digits + 2 * MARGIN):
        close = mpmath.fabs(a - b) <= mpmath.fabs(b) * mpmath.power(10, -(digits + MARGIN))
    return close and significant(a, digits) == significant(b, digits)


def _settle(high: Result, low_quantity: tuple, high_quantity: tuple, low_dps: int,
            dps: int) -> str:
    """A quantity that never agreed: 0 if it shrinks with the precision (then say so), else an error."""
    (key, a), (_, b) = low_quantity, high_quantity
    label, stage = _label(high, key)
    scale = builtins.max([mpmath.fabs(v) for v in (*high.values, *high.grads)] + [mpmath.mpf(1)])
    noise = lambda v, p: mpmath.fabs(v) <= scale * mpmath.power(10, -(p // 2))  # noqa: E731
    if a is None or b is None or not (noise(a, low_dps) and noise(b, dps)):
        raise DomainError(f"{label}: could not confirm its digits (it changes when the precision "
                          "doubles, as at a discontinuity)", stage)
    bound = mpmath.nstr(builtins.max(mpmath.fabs(a), mpmath.fabs(b)), 1)
    if key[0] == "value":
        high.values[key[1]] = ZERO
    elif key[0] == "grad":
        high.grads[key[1]] = ZERO
    else:
        i, k = key[1:]
        high.locals[i] = high.locals[i][:k] + (ZERO,) + high.locals[i][k + 1:]
    return f"{label} is 0 to within {bound} (shown as 0; none of its digits could be confirmed)"


def _label(result: Result, key: tuple) -> tuple[str, str]:
    """How a warning names a quantity, and the stage it belongs to."""
    graph = result.graph
    node = graph.nodes[key[1]]
    if key[0] == "value":
        return f"the value of {node.name}", node.name
    if key[0] == "grad":
        return f"∂{graph.output_name}/∂{node.name}", node.name
    wrt = graph.nodes[node.inputs[key[2]]].name
    return f"the local derivative ∂{node.name}/∂{wrt} of stage {node.name}", node.name


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
