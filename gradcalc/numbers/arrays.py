"""The numpy array number system: vectors and matrices, one numpy call per stage.

Every name of `floats` applies elementwise with numpy's broadcasting; the array names below
(`matmul`, `sum`, `softmax`, ...) are what the registry's vector ops and their vector–Jacobian
rules are written with. Nothing here raises on a bad element: autodiff evaluates under
`np.errstate(all="ignore")`, finds the first element that is not finite and names it.
Imported only when a vector, a matrix or a vector op appears, so scalar work never loads numpy.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np

from gradcalc.numbers.columns import log_sigmoid, relu, sigmoid, softplus, step, xlogy  # noqa: F401  (the same forms)

# typed loosely: numpy's stubs for reductions change between releases
_ADD: Callable[..., Any] = np.add.reduce
_SUM: Callable[..., Any] = np.sum

exp, log, sqrt = np.exp, np.log, np.sqrt
sin, cos, tan = np.sin, np.cos, np.tan
asin, acos, atan = np.arcsin, np.arccos, np.arctan
sinh, cosh, tanh = np.sinh, np.cosh, np.tanh
abs = np.abs  # noqa: A001  (the namespace mirrors the function names users write)
sign = np.sign  # sign(0) = 0: the min-norm subgradient of abs
errstate = np.errstate

ZERO = 0.0
ONE = 1.0
SHAPED = True  # values may be arrays: autodiff runs the vector–Jacobian rules


def number(text: str) -> float:
    return float(text)


def constant(name: str) -> float:
    return {"pi": np.pi, "e": np.e}[name]


def array(elements: Sequence[Any], shape: tuple[int, ...]) -> np.ndarray:
    """The float64 array of these elements (row-major) in this shape."""
    return np.array(elements, dtype=np.float64).reshape(shape)


def asarray(value: Any) -> np.ndarray:
    return np.asarray(value, dtype=np.float64)


def isfinite(x) -> bool:
    """Whether every element is finite: their sum is, unless it overflowed (then look at each)."""
    total = x.sum() if isinstance(x, np.ndarray) else x
    return math.isfinite(total) or bool(np.all(np.isfinite(x)))


def settled(x):
    return x


def shape(x) -> tuple[int, ...]:
    return np.shape(x)


def first_bad(x) -> int:
    """The flat index of the first element that is not finite."""
    return int(np.argmin(np.isfinite(np.ravel(x))))


def flat(x) -> np.ndarray:
    """The elements of x in row-major order (a view where it can be)."""
    return np.ravel(x)


def replaced(x, flat: int, value: float) -> np.ndarray:
    """A copy of x with element `flat` (row-major) set to `value`: one element perturbed."""
    copy = np.array(x, dtype=np.float64)
    copy.reshape(-1)[flat] = value
    return copy


def first_true(mask) -> int:
    """The flat index of the first true element, or -1."""
    flat = np.flatnonzero(mask)
    return int(flat[0]) if flat.size else -1


def element(x, flat: int, like) -> float:
    """Element `flat` of x broadcast to the shape of `like` (the stage's output)."""
    return float(np.broadcast_to(x, np.shape(like)).ravel()[flat])


def pow(base, exponent):  # noqa: A001
    """Real power: a negative base with a non-integer exponent is nan, never complex."""
    return np.power(np.asarray(base, dtype=np.float64), exponent)


def max(*xs):  # noqa: A001
    """One argument: its largest element (a reduction); several: the elementwise maximum."""
    return np.max(xs[0]) if len(xs) == 1 else np.maximum.reduce(np.broadcast_arrays(*xs))


def min(*xs):  # noqa: A001
    return np.min(xs[0]) if len(xs) == 1 else np.minimum.reduce(np.broadcast_arrays(*xs))


def tie_share(out, args: tuple, index: int):
    """∂max/∂args[index], elementwise: 1 for the winner, split evenly between tied winners."""
    if len(args) == 1:
        won = np.asarray(args[0] == out, dtype=np.float64)
        return won / won.sum()
    ties = _ADD([np.asarray(a == out, dtype=np.float64) for a in np.broadcast_arrays(*args)])
    return np.asarray(args[index] == out, dtype=np.float64) / ties


# ---- what the vector ops and their vector–Jacobian rules are written with -------------------

def matmul(a, b):
    return np.matmul(a, b)


def dot(a, b):
    if np.ndim(a) != 1 or np.ndim(b) != 1:
        raise ValueError("dot takes two vectors")
    return np.dot(a, b)


def trailing(x):
    """x with a last axis of length 1, to broadcast along the axis a reduction removed."""
    return np.asarray(x)[..., None]


def outer(a, b):
    return np.outer(a, b)


def transpose(x):
    return np.transpose(x)


def ndim(x) -> int:
    return np.ndim(x)


def sum(x, axis=None, keepdims: bool = False):  # noqa: A001
    return _SUM(x, axis=axis, keepdims=keepdims)


def mean(x):
    return np.mean(x)


def size(x) -> int:
    return np.size(x)


def broadcast_to(x, shape: tuple[int, ...]):
    return np.broadcast_to(x, shape)


def _an_array(x) -> None:
    """Reductions over the last axis need one: a scalar has none."""
    if np.ndim(x) == 0:
        raise ValueError("a scalar has no axis")


def logsumexp(x):
    """log(sum(exp(x))) over the last axis, stable: the max is taken out first."""
    _an_array(x)
    top = np.max(x, axis=-1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    return np.log(np.sum(np.exp(x - top), axis=-1)) + top[..., 0]


def softmax(x):
    """exp(x)/sum(exp(x)) over the last axis, stable: the max is subtracted first."""
    _an_array(x)
    shifted = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return shifted / np.sum(shifted, axis=-1, keepdims=True)


def log_softmax(x):
    _an_array(x)
    return x - logsumexp(x)[..., None]


def norm(x):
    """The Euclidean (Frobenius) norm."""
    return np.sqrt(np.sum(np.square(x)))


def stack(*xs):
    return np.stack(np.broadcast_arrays(*xs)) if _same_shapes(xs) else _ragged(xs)


def index(x, *at):
    return np.asarray(x)[tuple(int(i) for i in at)]


def scatter(shape: tuple[int, ...], at: tuple, value):
    """Zeros of `shape` with `value` at `at`: the gradient of an indexing stage."""
    out = np.zeros(shape)
    out[tuple(int(i) for i in at)] = value
    return out


def unbroadcast(g, shape: tuple[int, ...]):
    """g summed down to `shape`: the adjoint of broadcasting (a bias's `sum(dz)`)."""
    g = np.asarray(g)
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    if extra > 0:
        g = g.sum(axis=tuple(range(extra)))
    kept = tuple(k for k, n in enumerate(shape) if n == 1 and g.shape[k] != 1)
    return g.sum(axis=kept, keepdims=True) if kept else g


def _same_shapes(xs) -> bool:
    return len({np.shape(x) for x in xs}) == 1


def _ragged(xs):
    raise ValueError("elements of different shapes")
