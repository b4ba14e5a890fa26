"""The loss curve of a descent: Unicode blocks for the terminal, a self-contained SVG for files.

Both scale so that the curve shows after its first steps: the SVG on round ticks (1, 2, 5
times a power of ten), linear or with `log_y` logarithmic; the terminal chart on a log scale
by itself when the losses span more than a factor of ten. Labels are true values.
"""
from __future__ import annotations

import math
from typing import Sequence
from xml.sax.saxutils import escape

from gradcalc.errors import UsageError
from gradcalc.render.numerals import human

_BLOCKS = " ▁▂▃▄▅▆▇█"


def _finite(values: Sequence[float]) -> list[float]:
    return [v for v in values if math.isfinite(v)]


def _fraction(v: float, lo: float, hi: float) -> float:
    """Where v lies from lo (0) to hi (1), computed in halves: hi - lo may pass float max."""
    span = hi / 2 - lo / 2
    return (v / 2 - lo / 2) / span if span else 0.0


def _columns(values: Sequence[float], width: int) -> list[float]:
    """At most `width` points, evenly spaced steps from the first to the last, both shown."""
    if len(values) <= width:
        return list(values)
    last = len(values) - 1
    return [values[round(c * last / (width - 1))] for c in range(width)]


LOG_SPAN = 10  # the terminal chart goes logarithmic when its highest point is more than this times its lowest


def terminal_curve(values: Sequence[float], width: int = 60, height: int = 6,
                   label: str = "loss", title: str | None = None) -> str:
    """A block plot of values[k] at step k, highest at the top row. The labels on the left
    are the highest and lowest values drawn; the axis spans the first and the last step.
    Losses over more than a decade are drawn on a log scale (marked `log` on the axis), so
    a steep first step does not flatten the rest. A step whose value is not finite is left
    blank."""
    points = _columns(values, width)
    drawn = _finite(points)
    if not drawn:
        return ""
    top, bottom = max(drawn), min(drawn)
    logarithmic = bottom > 0 and top > LOG_SPAN * bottom
    scale = math.log if logarithmic else (lambda v: v)
    levels = [round(_fraction(scale(p), scale(bottom), scale(top)) * (height * 8 - 1)) + 1
              if math.isfinite(p) else 0 for p in points]
    left = [human(top), *[""] * (height - 2), human(bottom)][-height:]  # as the headline writes them
    if logarithmic and height > 2:
        left[height // 2] = "log"
    pad = max(len(s) for s in left)
    lines = [title or f"{label} per step"]
    for r in range(height - 1, -1, -1):
        cells = "".join(_BLOCKS[max(0, min(8, level - r * 8))] for level in levels)
        lines.append(f"{left[height - 1 - r]:>{pad}} ┤{cells}".rstrip())
    last = str(len(values) - 1)
    axis = f"0{' ' * max(1, len(points) - len(last) - 1)}{last}"
    lines.append(f"{'':>{pad}} └{'─' * len(points)}")
    lines.append(f"{'':>{pad}}  {axis}  step")
    return "\n".join(lines)


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About `count` round ticks covering [low, high]: multiples of 1, 2 or 5 times a power
    of ten, the first at or below low and the last at or above high."""
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw = (high / 2 - low / 2) / max(1, count - 1) * 2  # in halves: the span may pass float max
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw * (1 - 1e-9))
    first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
    ticks = [_clean(k * step) for k in range(first, last + 1)]
    return [t for t in ticks if math.isfinite(t)] or [low, high]  # none beyond float max


def log_ticks(low: float, high: float) -> list[float]:
    """Powers of ten covering [low, high] (with 2 and 5 between them when there are few)."""
    first, last = math.floor(math.log10(low) + 1e-9), math.ceil(math.log10(high) - 1e-9)
    last = max(last, first + 1)
    ticks = [10.0 ** k for k in range(first, last + 1)]
    if last - first <= 2:
        ticks = sorted(m * t for t in ticks for m in (1, 2, 5) if m * t <= 10.0 ** last)
        while len(ticks) > 2 and ticks[1] <= low:
            ticks.pop(0)
        while len(ticks) > 2 and ticks[-2] >= high:
            ticks.pop()
    return [_clean(t) for t in ticks]


def _clean(x: float) -> float:
    """A tick without the binary noise of its arithmetic (0.30000000000000004 → 0.3)."""
    return float(f"{x:.12g}")


GRID, INK, CURVE, MARK = "#e3e3e3", "#000000", "#0072B2", "#B84F00"  # Okabe–Ito blue, vermilion


def loss_svg(values: Sequence[float], title: str = "loss", width: int = 640,
             height: int = 400, label: str = "loss", log_y: bool = False) -> str:
    """A standalone SVG line chart of loss against step: round ticks, a light grid, axis
    titles, the final value marked; `log_y` for a logarithmic loss axis. A step whose value
    is not finite breaks the line (every coordinate written is a number)."""
    drawn = _finite(values)
    if log_y and any(v <= 0 for v in drawn):
        raise UsageError("log_y needs positive losses; this descent reaches "
                         f"{human(min(drawn))}").about("log_y")
    left, right, top_m, bottom_m = 78, 24, 44, 56
    plot_w, plot_h = width - left - right, height - top_m - bottom_m
    n = max(1, len(values) - 1)
    hi, lo = (max(drawn), min(drawn)) if drawn else (1.0, 0.0)
    scale = math.log10 if log_y else (lambda v: v)
    y_ticks = log_ticks(lo, hi) if log_y else nice_ticks(lo, hi)
    x_ticks = [t for t in nice_ticks(0, n, 6) if t == int(t)]
    y_low, y_high = scale(min(y_ticks[0], lo)), scale(max(y_ticks[-1], hi))
    x_high = x_ticks[-1]

    def x(i: float) -> float:
        return left + plot_w * i / x_high

    def y(v: float) -> float:
        return top_m + plot_h * (1 - _fraction(scale(v), y_low, y_high))

    bottom = top_m + plot_h
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{width / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">'
        f'{escape(title)}</text>',
    ]
    for v in y_ticks:
        parts.append(f'<line x1="{left}" y1="{y(v):.2f}" x2="{left + plot_w}" y2="{y(v):.2f}" stroke="{GRID}"/>')
        parts.append(f'<text x="{left - 8}" y="{y(v) + 4:.2f}" text-anchor="end">{escape(human(v, 4))}</text>')
    for t in x_ticks:
        parts.append(f'<line x1="{x(t):.2f}" y1="{top_m}" x2="{x(t):.2f}" y2="{bottom}" stroke="{GRID}"/>')
        parts.append(f'<text x="{x(t):.2f}" y="{bottom + 18}" text-anchor="middle">{int(t)}</text>')
    runs: list[list[str]] = [[]]  # the finite stretches of the curve
    for i, v in enumerate(values):
        if math.isfinite(v):
            runs[-1].append(f"{x(i):.2f},{y(v):.2f}")
        elif runs[-1]:
            runs.append([])
    middle = top_m + plot_h / 2
    parts += [
        f'<line x1="{left}" y1="{bottom}" x2="{left + plot_w}" y2="{bottom}" stroke="{INK}"/>',
        f'<line x1="{left}" y1="{top_m}" x2="{left}" y2="{bottom}" stroke="{INK}"/>',
        f'<text x="{left + plot_w / 2}" y="{height - 14}" text-anchor="middle" font-size="13">step</text>',
        f'<text x="18" y="{middle}" text-anchor="middle" font-size="13" transform="rotate(-90 18 {middle})">'
        f'{escape(label)}{" (log scale)" if log_y else ""}</text>',
    ]
    parts += [f'<polyline fill="none" stroke="{CURVE}" stroke-width="2" points="{" ".join(run)}"/>'
              for run in runs if run]
    if values and math.isfinite(values[-1]):
        fx, fy = x(len(values) - 1), y(values[-1])
        above = fy > top_m + 24
        parts += [
            f'<circle cx="{fx:.2f}" cy="{fy:.2f}" r="4" fill="{MARK}"/>',
            f'<text x="{fx - 8:.2f}" y="{fy - 10 if above else fy + 20:.2f}" text-anchor="end" '
            f'font-weight="bold" fill="{MARK}">final {escape(label)} = {escape(human(values[-1]))}</text>',
        ]
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
