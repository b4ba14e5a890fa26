"""The trace as a LaTeX tabular for course notes: the same columns as the Markdown table,
with names, definitions and local derivatives typeset as mathematics."""
from __future__ import annotations

import re
from typing import Any, Callable

from gradcalc.core.autodiff import Result
from gradcalc.core.ops import REGISTRY
from gradcalc.render import outline
from gradcalc.render.markdown import local_derivatives
from gradcalc.render.numerals import human
from gradcalc.render.vectors import refuse

_TEXT_ESCAPES = {"\\": r"\textbackslash{}", "_": r"\_", "&": r"\&", "%": r"\%", "$": r"\$",
                 "#": r"\#", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                 "^": r"\textasciicircum{}", "…": r"\ldots{}"}


def text(value: str) -> str:
    """Plain text made safe for LaTeX."""
    return re.sub(r"[\\_&%$#{}~^…]", lambda m: _TEXT_ESCAPES[m.group()], value)


def name(graph, j: int) -> str:
    """A stage or constant as LaTeX: u1 → u_{1}, pi → \\pi."""
    node = graph.nodes[j]
    if node.op == "const":
        return {"pi": r"\pi", "e": "e"}.get(node.text, node.text)
    return symbol_latex(node.name)


def symbol_latex(written: str) -> str:
    """A name as LaTeX, as written: sympy's way where that reads it as written (`x`, `u1` as
    u_{1}, `beta` as \\beta), and the name itself, underscores and all, where sympy would read
    `_` as a subscript and `__` as a power (`a_b_c` is not a_{b c}, nor `x__y` x^{y})."""
    if "_" in written:
        return rf"\mathit{{{text(written)}}}"
    import sympy as sp

    return sp.latex(sp.Symbol(written))


def expression_latex(expression) -> str:
    """A sympy expression as LaTeX, each of its names typeset as symbol_latex does."""
    import sympy as sp

    names = {symbol: symbol_latex(symbol.name) for symbol in getattr(expression, "free_symbols", ())
             if "_" in symbol.name}
    return sp.latex(expression, symbol_names=names) if names else sp.latex(expression)


def definition(graph, i: int) -> str:
    """The stage's right-hand side as written (sympy would reorder it), typeset."""
    node = graph.nodes[i]
    return REGISTRY[node.op].write_latex([name(graph, j) for j in node.inputs])


def _number(value) -> str:
    return f"${human(value)}$"


def trace_latex(result: Result, depth: int | None = None, collapse: bool | None = None,
                last: tuple[str, Callable[[int], Any]] | None = None) -> str:
    """`last`: the last column, (header, the number of stage i) [default: ∂output/∂stage]."""
    refuse(result, "latex")
    graph = result.graph
    out = symbol_latex(graph.output_name)
    gradient, number = last or (rf"$\partial {out}/\partial\,\mathrm{{stage}}$",
                                lambda i: result.grads[i])
    lines = [r"\begin{tabular}{llrlr}", r"\hline",
             rf"stage & definition & value & local derivative & {gradient} \\", r"\hline"]
    rows, caption = outline.stage_rows(graph, depth, collapse)
    for i in rows:
        if isinstance(i, str):
            lines.append(rf"$\vdots$ & \multicolumn{{4}}{{l}}{{{text(i)}}} \\")
            continue
        node = graph.nodes[i]
        stage = f"${name(graph, i)}$"
        what = "input" if node.op == "input" else f"${definition(graph, i)}$"
        locals_ = [rf"$\frac{{\partial {name(graph, i)}}}{{\partial {symbol_latex(n)}}} = "
                   + (human(value) if rule.is_Number else f"{expression_latex(rule)} = {human(value)}")
                   + "$"
                   for n, rule, value in local_derivatives(result, i)]
        first = locals_[0] if locals_ else ""
        lines.append(rf"{stage} & {what} & {_number(result.values[i])} & {first} & "
                     rf"{_number(number(i))} \\")
        lines += [rf" & & & {more} & \\" for more in locals_[1:]]
    lines += [r"\hline", r"\end{tabular}"]
    if caption:
        lines.append(rf"% {caption}")
    return "\n".join(lines) + "\n"
