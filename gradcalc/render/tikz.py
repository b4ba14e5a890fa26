"""The circuit as a TikZ picture for LaTeX notes: gradcalc's own SVG, element by element.

The SVG is the one picture every format shares (PNG and PDF convert it too), so the TikZ has
the same layout, labels, colours, legend and title. Its unit is the SVG's pixel at 0.75 pt,
the CSS size of a pixel, and the y axis points down as in SVG; text is sans-serif at the
same sizes, anchored on its baseline as SVG anchors it. Every text is escaped for LaTeX and
the symbols beyond ASCII are written as math (`×` is `$\\times$`), so the picture compiles
with pdflatex given `\\usepackage{tikz}` and `\\usepackage{amssymb}` (for `□`).
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from gradcalc.core.autodiff import Result
from gradcalc.core.graph import Graph
from gradcalc.render.svg import graph_svg

SVG = "{http://www.w3.org/2000/svg}"
PT = 0.75  # points per SVG pixel
ANCHORS = {"start": "base west", "middle": "base", "end": "base east"}

# LaTeX's special characters, and the symbols beyond ASCII that labels use, as LaTeX
SPECIAL = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
           "%": r"\%", "_": r"\_", "^": r"\^{}", "~": r"\~{}"}
SYMBOLS = {"×": r"$\times$", "−": r"$-$", "÷": r"$\div$", "□": r"$\square$", "σ": r"$\sigma$",
           "∂": r"$\partial$", "…": r"\ldots{}", "·": r"$\cdot$", "√": r"$\surd$"}
SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹⁻"
_RUN_OF_SUPERSCRIPTS = re.compile(f"[{SUPERSCRIPTS}]+")


def latex_text(text: str) -> str:
    """Text as LaTeX typesets it in text mode: specials escaped, `×` `−` `÷` `□` `σ` `∂` as
    math, a run of superscript digits as one exponent (`□²` is `$\\square$$^{2}$`)."""
    out, k = [], 0
    while k < len(text):
        run = _RUN_OF_SUPERSCRIPTS.match(text, k)
        if run:
            digits = run.group().translate(str.maketrans(SUPERSCRIPTS, "0123456789-"))
            out.append(f"$^{{{digits}}}$")
            k = run.end()
            continue
        ch = text[k]
        out.append(SPECIAL.get(ch) or SYMBOLS.get(ch) or ch)
        k += 1
    return "".join(out)


def graph_tikz(graph: Graph, result: Result | None = None, title: str | None = None,
               depth: int | None = None, collapse: bool = False) -> str:
    svg = graph_svg(graph, result, title=title, depth=depth, collapse=collapse)
    return svg_tikz(svg)


def svg_tikz(svg: str) -> str:
    """gradcalc's circuit SVG as a tikzpicture (lines, circles, boxes and texts)."""
    root = ET.fromstring(svg)
    colours: dict[str, str] = {}
    body = []
    for element in root.iter():
        tag = element.tag.removeprefix(SVG)
        if tag == "line":
            body.append(_line(element, colours))
        elif tag == "circle":
            body.append(_circle(element, colours))
        elif tag == "rect" and element.get("x") is not None:  # a box (the first rect is the background)
            body.append(_box(element, colours))
        elif tag == "text":
            body.append(_text(element, colours))
    head = ["% gradcalc graph: a TikZ picture; needs \\usepackage{tikz} and \\usepackage{amssymb}",
            f"\\begin{{tikzpicture}}[x={PT}pt, y=-{PT}pt, every node/.style={{inner sep=0pt}}]"]
    head += [f"\\definecolor{{{name}}}{{HTML}}{{{hex_}}}" for hex_, name in colours.items()]
    return "\n".join(head + body + ["\\end{tikzpicture}"]) + "\n"


def _colour(value: str | None, colours: dict[str, str]) -> str:
    """The name of an `#rrggbb` colour, defined once at the top of the picture."""
    hex_ = (value or "#000000").lstrip("#").upper()
    return colours.setdefault(hex_, f"gc{hex_}")


def _number(value: str | None) -> str:
    return f"{float(value or 0):.1f}"


def _width(element: ET.Element) -> str:
    return f"line width={float(element.get('stroke-width') or 1) * PT:.2f}pt"


def _line(element: ET.Element, colours: dict[str, str]) -> str:
    arrow = ", -latex" if element.get("marker-end") else ""
    start = f"({_number(element.get('x1'))},{_number(element.get('y1'))})"
    end = f"({_number(element.get('x2'))},{_number(element.get('y2'))})"
    return f"\\draw[{_colour(element.get('stroke'), colours)}, {_width(element)}{arrow}] {start} -- {end};"


def _circle(element: ET.Element, colours: dict[str, str]) -> str:
    centre = f"({_number(element.get('cx'))},{_number(element.get('cy'))})"
    return (f"\\filldraw[draw={_colour(element.get('stroke'), colours)}, fill={_colour(element.get('fill'), colours)}, "
            f"{_width(element)}] {centre} circle[radius={_number(element.get('r'))}];")


def _box(element: ET.Element, colours: dict[str, str]) -> str:
    x, y = float(element.get("x") or 0), float(element.get("y") or 0)
    right, bottom = x + float(element.get("width") or 0), y + float(element.get("height") or 0)
    style = [f"draw={_colour(element.get('stroke'), colours)}", f"fill={_colour(element.get('fill'), colours)}",
             _width(element), f"rounded corners={float(element.get('rx') or 0) * PT:.1f}pt"]
    if element.get("stroke-dasharray"):
        on, off = (float(d) * PT for d in (element.get("stroke-dasharray") or "").split()[:2])
        style.append(f"dash pattern=on {on:.1f}pt off {off:.1f}pt")
    return f"\\filldraw[{', '.join(style)}] ({x:.1f},{y:.1f}) rectangle ({right:.1f},{bottom:.1f});"


def _text(element: ET.Element, colours: dict[str, str]) -> str:
    size = float(element.get("font-size") or 14) * PT
    weight = "\\bfseries" if element.get("font-weight") == "bold" else ""
    font = f"\\sffamily{weight}\\fontsize{{{size:.1f}}}{{{size * 1.2:.1f}}}\\selectfont"
    anchor = ANCHORS[element.get("text-anchor") or "start"]
    place = f"({_number(element.get('x'))},{_number(element.get('y'))})"
    return (f"\\node[anchor={anchor}, text={_colour(element.get('fill'), colours)}, font={font}] at {place} "
            f"{{{latex_text(element.text or '')}}};")
