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
    x = float(value)
    if math.isfinite(x):
        return x + 0.0  # -0.0 becomes 0.0, as the tables print it
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


def text(value: Any) -> str:
    """A full-precision form for CSV cells (repr round-trips)."""
    if value is None:
        return ""
    x = machine(value)
    return x if isinstance(x, str) else repr(x)
