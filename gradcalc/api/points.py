"""Python values → a point: what `--at` is on the command line, in a caller's own types.

Numbers, `fractions.Fraction` and `decimal.Decimal` become the text that reads back as the
same number, strings are read by the expression parser (`"pi/4"`, `"1/3"`), and a list or
tuple is the vector w and the `w=[...]` shorthand for w0, w1, ...; nested lists and numpy
arrays are matrices. NaN and infinity are refused, as `--at` refuses them.
"""
from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction
from numbers import Integral, Rational, Real
from typing import Any, Mapping

from gradcalc.core.graph import Graph
from gradcalc.core.values import Point, add_value
from gradcalc.errors import UsageError, ValueTypeError


def point_of(*mappings: Mapping[str, object]) -> Point:
    """The point of the values given as a mapping and as keyword arguments, in that order."""
    texts: dict[str, str] = {}
    arrays: dict[str, Any] = {}
    for mapping in mappings:
        if not isinstance(mapping, Mapping):
            raise ValueTypeError(f"at: expected a mapping of names to values, not "
                                 f"{type(mapping).__name__}").about("at")
        for name, value in mapping.items():
            _check_name(name)
            if _is_array(value):  # a numpy array: kept as numbers, not written out
                if name in arrays or name in texts:
                    raise UsageError(f"at {name}: given twice").about("at")
                arrays[name] = _finite_array(value, name)
                continue
            if isinstance(value, (list, tuple)):
                if not value:
                    raise UsageError(f"at {name}=[]: an empty list gives no values").about("at")
                if not any(isinstance(element, (list, tuple)) for element in value):
                    for k, element in enumerate(value):
                        add_value(texts, f"{name}{k}", text_of(element, f"{name}[{k}]"))
                add_value(texts, name, _bracketed(value, name))
            else:
                add_value(texts, name, text_of(value, name))
    return Point(texts, arrays)


def float_system(graph: Graph, point: Point) -> Any:
    """float64, or the array system when a value is a vector or a stage a vector op (numpy is
    imported only then)."""
    if point.shaped or graph.vectorised:
        from gradcalc.numbers import arrays

        return arrays
    from gradcalc.numbers import floats

    return floats


def exact_arrays(graph: Graph, point: Point, exact: bool) -> Any:
    """The exact system of vectors and matrices when exact work meets one (numpy and sympy
    are imported only then), else None."""
    if not exact or not (point.shaped or graph.vectorised):
        return None
    from gradcalc.numbers import exact_arrays as system

    return system


def _is_array(value: object) -> bool:
    return bool(getattr(value, "ndim", 0)) and hasattr(value, "tolist")


def _finite_array(value: Any, name: str) -> Any:
    """A numpy array as float64, every element finite (as --at refuses nan and inf)."""
    from gradcalc.numbers import arrays

    try:
        array = arrays.asarray(value)
    except (TypeError, ValueError):
        raise ValueTypeError(f"at {name}: an array of numbers, not of {value.dtype}").about("at") from None
    if array.ndim > 2 or not array.size:
        raise UsageError(f"at {name}: a vector or a matrix (1 or 2 dimensions, not empty), not an "
                         f"array of shape {tuple(array.shape)}").about("at")
    if not arrays.isfinite(array):
        flat = arrays.first_bad(array)
        raise UsageError(f"at {name}: element {flat} (in row-major order) is "
                         f"{arrays.flat(array)[flat]}: a value must be a finite number "
                         "(nan and inf are not allowed)").about("at")
    return array


def _bracketed(value: list | tuple, name: str) -> str:
    """A vector or matrix as the text `--at` reads: `[1, 2]`, `[[1, 2], [3, 4]]`."""
    items = [_bracketed(element, f"{name}[{k}]") if isinstance(element, (list, tuple))
             else text_of(element, f"{name}[{k}]") for k, element in enumerate(value)]
    return "[" + ", ".join(items) + "]"


def text_of(value: object, name: str) -> str:
    """The text of one value, as the parser reads it: a float by its shortest repr, so that
    0.1 is 1/10 with `exact=True`, a fraction as p/q."""
    kind = type(value)
    if kind is str:
        return value  # type: ignore[return-value]
    if kind is float and math.isfinite(value):  # type: ignore[arg-type]
        return repr(value)  # the common cases first: the checks below cost microseconds each
    if kind is int:
        return str(value)
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, (Real, Decimal)):
        raise ValueTypeError(f"at {name}: a value is a number, a fractions.Fraction, a string "
                             f"such as 'pi/4' or a list (w=[1, 2] gives w0 and w1), not "
                             f"{type(value).__name__}").about("at")
    if isinstance(value, Integral):
        return str(int(value))
    if isinstance(value, Rational):
        return str(Fraction(int(value.numerator), int(value.denominator)))
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise _not_finite(name, value)
        return str(value)
    number = float(value)
    if not math.isfinite(number):
        raise _not_finite(name, value)
    return repr(number)


def _not_finite(name: str, value: object) -> UsageError:
    return UsageError(f"at {name}={value}: a value must be a finite number (nan and inf are "
                      "not allowed)").about("at")


def _check_name(name: object) -> None:
    if not isinstance(name, str):
        raise ValueTypeError(f"at: a name is a string, not {type(name).__name__} "
                             f"({name!r})").about("at")
    if not (name.isascii() and name.isidentifier()) or name.startswith("__"):
        raise UsageError(f"at {name}: {name!r} is not a valid name").about("at")
