"""How numbers are shown: rounded and aligned for people, exact for machines."""
from __future__ import annotations

import math
from typing import Any

SIGNIFICANT = 6  # digits people see in tables; JSON and CSV keep every bit


def human(value: Any, digits: int = SIGNIFICANT) -> str:
    """A short form for tables: `digits` significant digits, or every digit when that is no
    longer (`123456789`, not `1.23457e+08`: what was typed comes back as typed); no `-0`,
    inf and nan spelled out."""
    if value is None:
        return "—"
    if getattr(value, "ndim", 0):
        return array_text(value.tolist(), lambda x: human(x, digits))
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    rounded, exact = f"{x:.{digits}g}", shortest(x)
    text = exact if len(exact) <= len(rounded) else rounded
    return "0" if text == "-0" else text


def shortest(x: float) -> str:
    """The shortest text that reads back as x: `123456789`, `0.1`, `1e-07`."""
    if x.is_integer() and abs(x) < 1e16:
        return str(int(x))
    return repr(x)


def machine(value: Any) -> Any:
    """A JSON-safe float that round-trips; non-finite values become the strings inf, -inf, nan."""
    if value is None:
        return None
    if getattr(value, "ndim", 0):
        return _finite_lists(value) or _nested(value.tolist(), machine)
    x = float(value)
    if math.isfinite(x):
        return x + 0.0  # -0.0 becomes 0.0, as the tables print it
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


def text(value: Any) -> str:
    """A full-precision form for CSV cells (repr round-trips)."""
    if value is None:
        return ""
    if getattr(value, "ndim", 0):
        return _written(_nested(value.tolist(), machine))
    x = machine(value)
    return x if isinstance(x, str) else repr(x)


SHOWN = 6  # elements of a vector (or rows of a matrix) shown in full in tables; longer ones are cut


def array_text(items: list, show) -> str:
    """A vector or matrix for tables: `[1, 2, 3]`, and past SHOWN elements a row or column
    cut in the middle with its length: `[1, 2, 3, …, 99, 100] (100)`."""
    text = "[" + ", ".join("…" if item is None else array_text(item, show) if isinstance(item, list)
                           else show(item) for item in shown(items)) + "]"
    return f"{text} ({len(items):,})" if len(items) > SHOWN else text


def shown(items: list) -> list:
    """The elements a table shows of a row or column: all of them up to SHOWN, past it the
    first three and the last two with None for the gap."""
    return [*items[:3], None, *items[-2:]] if len(items) > SHOWN else items


def _finite_lists(array) -> list | None:
    """A finite array as nested lists of floats, -0.0 written 0.0, in one pass (None if an
    element is not finite: those are written one by one)."""
    plain = (array + 0.0).tolist()
    flat = plain if array.ndim == 1 else [x for row in plain for x in row] if array.ndim == 2 else None
    return plain if flat is not None and all(map(math.isfinite, flat)) else None


def _nested(items: list, number) -> list:
    return [_nested(item, number) if isinstance(item, list) else number(item) for item in items]


def _written(items) -> str:
    if isinstance(items, list):
        return "[" + ", ".join(map(_written, items)) + "]"
    return items if isinstance(items, str) else repr(items)
