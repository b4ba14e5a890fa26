"""The loss curve of a descent: Unicode blocks for the terminal, a self-contained SVG for files."""
from __future__ import annotations

import math
from typing import Sequence
from xml.sax.saxutils import escape

from gradcalc.render.numerals import human

_BLOCKS = " ▁▂▃▄▅▆▇█"


def _finite(values: Sequence[float]) -> list[float]:
    return [v for v in values if math.isfinite(v)]


def _fraction(v: float, lo: float, hi: float) -> float:
    """Where v lies from lo (0) to hi (1), computed in halves: hi - lo may pass float max."""
    span = hi / 2 - lo / 2
    return (v / 2 - lo / 2) / span if span else 0.0


def _between(lo: float, hi: float, t: float) -> float:
    """The value a fraction t of the way from lo to hi, without forming hi - lo."""
    return lo * (1 - t) + hi * t


def _columns(values: Sequence[float], width: int) -> list[float]:
    """At most `width` points, evenly spaced steps from the first to the last, both shown."""
    if len(values) <= width:
        return list(values)
    last = len(values) - 1
    return [values[round(c * last / (width - 1))] for c in range(width)]


def terminal_curve(values: Sequence[float], width: int = 60, height: int = 6,
                   label: str = "loss", title: str | None = None) -> str:
    """A block plot of values[k] at step k, highest at the top row. The labels on the left
    are the highest and lowest values drawn; the axis spans the first and the last step.
    A step whose value is not finite is left blank."""
    points = _columns(values, width)
    drawn = _finite(points)
    if not drawn:
        return ""
    top, bottom = max(drawn), min(drawn)
    levels = [round(_fraction(p, bottom, top) * (height * 8 - 1)) + 1 if math.isfinite(p) else 0
              for p in points]
    left = [human(top), *[""] * (height - 2), human(bottom)][-height:]  # as the headline writes them
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


def loss_svg(values: Sequence[float], title: str = "loss", width: int = 640,
             height: int = 400) -> str:
    """A standalone SVG line chart of loss against step, with labelled axes. A step whose
    value is not finite breaks the line (every coordinate written is a number)."""
    left, right, top_m, bottom_m = 70, 20, 40, 50
    plot_w, plot_h = width - left - right, height - top_m - bottom_m
    n = max(1, len(values) - 1)
    drawn = _finite(values)
    hi, lo = (max(drawn), min(drawn)) if drawn else (1.0, 0.0)

    def x(i: float) -> float:
        return left + plot_w * i / n

    def y(v: float) -> float:
        return top_m + plot_h * (1 - _fraction(v, lo, hi))

    runs: list[list[str]] = [[]]
    for i, v in enumerate(values):
        if math.isfinite(v):
            runs[-1].append(f"{x(i):.2f},{y(v):.2f}")
        elif runs[-1]:
            runs.append([])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="15">{escape(title)}</text>',
        f'<line x1="{left}" y1="{top_m + plot_h}" x2="{left + plot_w}" y2="{top_m + plot_h}" '
        'stroke="black"/>',
        f'<line x1="{left}" y1="{top_m}" x2="{left}" y2="{top_m + plot_h}" stroke="black"/>',
    ]
    for k in range(5):
        v = _between(lo, hi, k / 4)
        parts.append(f'<line x1="{left - 4}" y1="{y(v):.2f}" x2="{left}" y2="{y(v):.2f}" '
                     'stroke="black"/>')
        parts.append(f'<text x="{left - 7}" y="{y(v) + 4:.2f}" text-anchor="end">'
                     f'{escape(human(v, 4))}</text>')
        step = round(n * k / 4)
        parts.append(f'<line x1="{x(step):.2f}" y1="{top_m + plot_h}" x2="{x(step):.2f}" '
                     f'y2="{top_m + plot_h + 4}" stroke="black"/>')
        parts.append(f'<text x="{x(step):.2f}" y="{top_m + plot_h + 18}" '
                     f'text-anchor="middle">{step}</text>')
    parts += [
        f'<text x="{left + plot_w / 2}" y="{height - 12}" text-anchor="middle">step</text>',
        f'<text x="16" y="{top_m + plot_h / 2}" text-anchor="middle" '
        f'transform="rotate(-90 16 {top_m + plot_h / 2})">loss</text>',
        *(f'<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="{" ".join(run)}"/>'
          for run in runs if run),
        "</svg>",
    ]
    return "\n".join(parts) + "\n"
