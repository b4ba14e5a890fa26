"""Exact vectors and matrices (`--exact`): sympy numbers in numpy arrays of objects.

The array system's operations (broadcasting, `@`, sums along an axis, indexing) applied to
the exact numbers of `symbolic`, each element kept exact (1/10, exp(-1)/(1 + exp(-1))); a
0-dimensional result is the sympy number itself, so scalar stages print as in scalar exact
mode. Every stage's elements are settled (`symbolic.settled`: a 0 that sympy cannot simplify
is 0) and an element that is not a finite real (1/0, log(-1)) is marked not finite instead of
raising, so autodiff names the first element at fault. Imported only for exact vectors.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import sympy as sp

from gradcalc.errors import GradcalcError
from gradcalc.numbers import arrays, symbolic

ZERO, ONE = symbolic.ZERO, symbolic.ONE
_ADD: Callable[..., Any] = np.add.reduce  # typed loosely: numpy's stubs change between releases
SHAPED = True
number, constant = symbolic.number, symbolic.constant
errstate = np.errstate
shape, ndim, size, flat, first_true = arrays.shape, arrays.ndim, arrays.size, arrays.flat, arrays.first_true
transpose, outer, broadcast_to, trailing = arrays.transpose, arrays.outer, arrays.broadcast_to, arrays.trailing


def _exact(value):
    """An exact number: Python numbers as sympy's (a float by its shortest text: 0.1 is 1/10)."""
    if isinstance(value, float):
        return symbolic.number(repr(float(value)))
    return sp.sympify(value)


def asarray(value) -> Any:
    """The value with every element exact and settled; a scalar as the sympy number itself."""
    if not isinstance(value, np.ndarray):
        return symbolic.settled(_exact(value))
    out = np.empty(value.shape, dtype=object)
    out.flat[:] = [symbolic.settled(_exact(e)) for e in value.flat]
    return out


def array(elements: Sequence[Any], shape: tuple[int, ...]) -> np.ndarray:
    """The exact array of these elements (literal texts or exact numbers), row-major."""
    return asarray(np.array([number(e) if isinstance(e, str) else e for e in elements],
                            dtype=object).reshape(shape))


def _fine(value) -> bool:
    """A finite real (a number past the digit limit stops at the limit, as in scalar mode)."""
    try:
        return bool(symbolic.isfinite(value))
    except GradcalcError:
        raise
    except (TypeError, ValueError):
        return False


def isfinite(x) -> bool:
    return all(map(_fine, np.ravel(np.asarray(x, dtype=object))))


def settled(x):
    return asarray(x)


def first_bad(x) -> int:
    return next(k for k, e in enumerate(np.ravel(np.asarray(x, dtype=object))) if not _fine(e))


def element(x, flat: int, like):
    return np.broadcast_to(np.asarray(x, dtype=object), np.shape(like)).ravel()[flat]


def _scalars_bare(fn: Callable) -> Callable:
    """The array system's operation, its 0-dimensional results as the sympy number itself
    (never an array inside an array of objects)."""
    return lambda *args, **options: _item(fn(*args, **options))


matmul, dot, sum = map(_scalars_bare, (arrays.matmul, arrays.dot, arrays.sum))  # noqa: A001
index, stack, unbroadcast = map(_scalars_bare, (arrays.index, arrays.stack, arrays.unbroadcast))


def _each(fn: Callable, arity: int = 1) -> Callable:
    """fn applied elementwise with broadcasting; where it is undefined, nan (named by autodiff).
    A limit reached (an exact number of too many digits) stays the limit's error."""
    def safe(*xs):
        try:
            return fn(*xs)
        except GradcalcError:
            raise
        except ValueError:
            return sp.nan

    ufunc = np.frompyfunc(safe, arity, 1)
    return lambda *xs: _item(ufunc(*xs))


def _item(value):
    return value if isinstance(value, np.ndarray) and value.ndim else np.asarray(value, dtype=object).item()


exp, log, sqrt = _each(symbolic.exp), _each(symbolic.log), _each(symbolic.sqrt)
sin, cos, tan = _each(symbolic.sin), _each(symbolic.cos), _each(symbolic.tan)
asin, acos, atan = _each(symbolic.asin), _each(symbolic.acos), _each(symbolic.atan)
sinh, cosh, tanh = _each(symbolic.sinh), _each(symbolic.cosh), _each(symbolic.tanh)
abs, sign = _each(symbolic.abs), _each(symbolic.sign)  # noqa: A001
sigmoid, softplus = _each(symbolic.sigmoid), _each(symbolic.softplus)
log_sigmoid, relu, step = _each(symbolic.log_sigmoid), _each(symbolic.relu), _each(symbolic.step)
pow, xlogy = _each(symbolic.pow, 2), _each(symbolic.xlogy, 2)  # noqa: A001


def max(*xs):  # noqa: A001
    """One argument: its largest element (a reduction); several: the elementwise maximum."""
    return symbolic.max(*np.ravel(xs[0])) if len(xs) == 1 else _each(symbolic.max, len(xs))(*xs)


def min(*xs):  # noqa: A001
    return symbolic.min(*np.ravel(xs[0])) if len(xs) == 1 else _each(symbolic.min, len(xs))(*xs)


def _equal(a, out):
    return _each(lambda x, y: ONE if x == y else ZERO, 2)(a, out)


def tie_share(out, args: tuple, index: int):
    """∂max/∂args[index], elementwise: 1 for the winner, split evenly between tied winners."""
    if len(args) == 1:
        won = _equal(args[0], out)
        return won / np.sum(won)
    ties = _ADD([_equal(a, out) for a in np.broadcast_arrays(*args)])
    return _equal(args[index], out) / ties


def mean(x):
    return np.sum(x) / np.size(x)


def norm(x):
    return symbolic.sqrt(np.sum(np.asarray(x, dtype=object) ** 2))


def scatter(shape: tuple[int, ...], at: tuple, value):
    """Exact zeros of `shape` with `value` at `at`: the gradient of an indexing stage."""
    out = np.full(shape, ZERO, dtype=object)
    out[tuple(int(i) for i in at)] = _item(value)
    return out


def _an_array(x) -> None:
    if np.ndim(x) == 0:
        raise ValueError("a scalar has no axis")


def logsumexp(x):
    """log(sum(exp(x))) over the last axis; the max taken out first, as in float mode."""
    _an_array(x)
    top = _last_axis_max(x)
    return _item(log(np.sum(exp(x - top[..., None]), axis=-1)) + top)


def softmax(x):
    _an_array(x)
    shifted = exp(x - _last_axis_max(x)[..., None])
    return shifted / np.sum(shifted, axis=-1, keepdims=True)


def log_softmax(x):
    _an_array(x)
    return x - np.asarray(logsumexp(x), dtype=object)[..., None]


def _last_axis_max(x) -> np.ndarray:
    rows = np.asarray(x, dtype=object).reshape(-1, np.shape(x)[-1])
    return np.array([symbolic.max(*row) for row in rows], dtype=object).reshape(np.shape(x)[:-1])

