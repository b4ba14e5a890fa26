"""How numbers are shown: rounded and aligned for people, exact for machines."""
from __future__ import annotations

import math
from typing import Any

SIGNIFICANT = 6  # digits people see in tables; JSON and CSV keep every bit


def human(value: Any, digits: int = SIGNIFICANT) -> str:
    """A short form for tables: `digits` significant digits, no `-0`, inf and nan spelled out."""
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
    text = f"{x:.{digits}g}"
    return "0" if text == "-0" else text


def machine(value: Any) -> Any:
    """A JSON-safe float that round-trips; non-finite values become the strings inf, -inf, nan."""
    if value is None:
        return None
    x = float(value)
    if math.isfinite(x):
        return x
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


def text(value: Any) -> str:
    """A full-precision form for CSV cells (repr round-trips)."""
    if value is None:
        return ""
    x = machine(value)
    return x if isinstance(x, str) else repr(x)
