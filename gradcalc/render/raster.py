"""The circuit as PNG or PDF, for slides and LaTeX: gradcalc's own SVG, converted by cairosvg.

cairosvg is an optional extra (`pip install 'gradcalc[figures]'`) and needs the system's
cairo library; it is imported only here, when a PNG or PDF is asked for.
"""
from __future__ import annotations

from typing import Any

from gradcalc.errors import UsageError
from gradcalc.render.svg import graph_svg

SCALE = 2  # PNG pixels per SVG unit: sharp on a projector and in print


def _cairosvg() -> Any:
    try:
        import cairosvg
    except OSError as exc:  # the library is there, the system's cairo is not
        raise UsageError("PNG and PDF need the system's cairo library (Debian and Ubuntu: "
                         f"apt-get install libcairo2): {exc}") from None
    return cairosvg


def svg_png(svg: str) -> bytes:
    return _cairosvg().svg2png(bytestring=svg.encode("utf-8"), scale=SCALE)


def svg_pdf(svg: str) -> bytes:
    return _cairosvg().svg2pdf(bytestring=svg.encode("utf-8"))


def graph_png(graph, result=None, **style) -> bytes:
    return svg_png(graph_svg(graph, result, **style))


def graph_pdf(graph, result=None, **style) -> bytes:
    return svg_pdf(graph_svg(graph, result, **style))
