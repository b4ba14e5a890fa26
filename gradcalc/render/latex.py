"""The trace as a LaTeX tabular for course notes: the same columns as the Markdown table,
with names, definitions and local derivatives typeset as mathematics."""
from __future__ import annotations

import re
from typing import Any, Callable

from gradcalc.core.autodiff import Result
from gradcalc.core.ops import REGISTRY
from gradcalc.render import outline
from gradcalc.render.markdown import local_derivatives
from gradcalc.render.numerals import human, shown
from gradcalc.render.vectors import refuse_outline, shape_label, steps, summed_axes

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
    if getattr(result, "shapes", None) is not None:  # forward mode's tangents have none
        refuse_outline(depth, collapse)
        return vector_latex(result)
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


# ---- vectors and matrices ----------------------------------------------------------------

def vector_latex(result: Result) -> str:
    r"""The trace of vectors and matrices as two tabulars: each stage's shape, value and
    gradient (arrays in brackets, cut as the tables cut them), then the backward steps as the
    vectorised rules written out in mathematics (`dW \mathrel{+}= du_{1} \otimes x`)."""
    graph, shapes = result.graph, result.shapes
    assert shapes is not None
    out = symbol_latex(graph.output_name)
    lines = [r"\begin{tabular}{lllrrr}", r"\multicolumn{6}{l}{forward pass (topological order)} \\",
             r"\hline", rf"stage & op & definition & shape & value & $\partial {out}/\partial\,\mathrm{{stage}}$ \\",
             r"\hline"]
    for i, node in enumerate(graph.nodes):
        what = "" if node.op == "input" else f"${name(graph, i) if node.op == 'const' else definition(graph, i)}$"
        lines.append(rf"${name(graph, i)}$ & {text(node.op)} & {what} & {_shape(shapes[i])} & "
                     rf"${array_latex(result.values[i])}$ & ${array_latex(result.grads[i])}$ {_ROW}")
    lines += [r"\hline", r"\end{tabular}", "", r"\begin{tabular}{rlrl}",
              r"\multicolumn{4}{l}{backward pass (reverse order): $d\langle\mathrm{input}\rangle "
              r"\mathrel{+}=$ the vectorised rule of its stage} \\",
              r"\hline", r"step & rule & shape & accumulated \\", r"\hline",
              rf" & $d{{{out}}} = 1$ & scalar & seed \\"]
    for step, (i, k, j, _, total) in enumerate(steps(result), 1):
        lines.append(rf"{step} & ${rule_latex(result, i, k)}$ & {_shape(shapes[j])} & "
                     rf"$d{{{name(graph, j)}}} = {array_latex(total)}$ {_ROW}")
    lines += [r"\hline", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


_ROW = r"\\[2pt]"  # the end of a row, spaced so that the brackets of arrays do not touch


def _shape(shape) -> str:
    return f"${_shape_math(shape)}$" if shape else "scalar"


def _shape_math(shape) -> str:
    return shape_label(shape).replace("×", r"\times ") if shape else r"\mbox{scalar}"


def array_latex(value) -> str:
    """A value in mathematics: a scalar as the tables print it, a vector as a column and a
    matrix as an array, in brackets; past the tables' size the middle is left out as they
    leave it out (⋮ for rows, ⋯ for columns, ⋱ where both meet)."""
    ndim = getattr(value, "ndim", 0)  # 0, 1 or 2: values have at most two levels of brackets
    if not ndim:
        return human(value)
    items = value.tolist()
    if ndim == 1:
        rows = [[r"\vdots" if x is None else human(x)] for x in shown(items)]
    else:
        width = shown(list(range(len(items[0]))))
        rows = [[r"\ddots" if c is None else r"\vdots" for c in width] if row is None else
                [r"\cdots" if x is None else human(x) for x in shown(row)] for row in shown(items)]
    body = r" \\ ".join(" & ".join(row) for row in rows)
    return rf"\left[\begin{{array}}{{{'r' * len(rows[0])}}} {body} \end{{array}}\right]"


_HELD = re.compile(r"(d?)\x00(\d+)\x01")


def rule_latex(result: Result, i: int, k: int) -> str:
    r"""The backward step from stage i into its k-th input, in mathematics: the vector op's
    rule written out by the registry, or an elementwise op's local derivative from sympy times
    the upstream gradient (`\odot`), summed where the input was broadcast."""
    from gradcalc.analyses.formulas import local_rules

    graph, shapes = result.graph, result.shapes
    assert shapes is not None
    node = graph.nodes[i]
    symbols = [name(graph, i), *(name(graph, j) for j in node.inputs)]
    op = REGISTRY[node.op]
    if op.vjp_written is not None:
        held = tuple(f"\x00{p}\x01" for p in range(len(symbols)))  # names put in after the glyphs
        written = _rule_glyphs(op.vjp_written(held, [shapes[i], *(shapes[j] for j in node.inputs)], k))
        flowing = _HELD.sub(lambda m: f"{m[1]}{{{symbols[int(m[2])]}}}", written)
    else:
        flowing = _times_local(f"d{{{symbols[0]}}}", local_rules(graph, i)[k])
        flowing = _summed(flowing, summed_axes(shapes[i], shapes[node.inputs[k]]))
    return rf"d{{{symbols[k + 1]}}} \mathrel{{+}}= {flowing}"


_GLYPHS = ((re.compile(r" \(broadcast to ([^)]*)\)"),
            lambda m: rf"\ \mbox{{(broadcast to }}{_shape_math(_dimensions(m[1]))}\mbox{{)}}"),
           (re.compile(r" at \["), lambda m: r"\ \mbox{at}\ ["),
           (re.compile(r"([A-Za-z_]+)\("), lambda m: rf"\mathrm{{{text(m[1])}}}("),
           (re.compile("⊗"), lambda m: r"\otimes"),
           (re.compile("ᵀ"), lambda m: r"^{\top}"),
           (re.compile(" @ "), lambda m: r" \, "),
           (re.compile(r" \* "), lambda m: r" \odot "))


def _dimensions(label: str) -> tuple:
    """A shape from its label: `2×3` is (2, 3), `scalar` is ()."""
    return () if label == "scalar" else tuple(label.split("×"))


def _rule_glyphs(written: str) -> str:
    """A rule's text (its names held out) in LaTeX's notation: ⊗, ᵀ, matrix products side by
    side, elementwise products as ⊙, functions upright."""
    for pattern, latex in _GLYPHS:
        written = pattern.sub(latex, written)
    return written


def _times_local(upstream: str, local) -> str:
    """The upstream gradient times an elementwise local derivative (a sympy expression)."""
    if local == 1:
        return upstream
    if local == -1:
        return f"-{upstream}"
    written = expression_latex(local)
    if local.is_Number:
        return rf"{written}\, {upstream}"
    return rf"{upstream} \odot \left({written}\right)" if local.is_Add else rf"{upstream} \odot {written}"


def _summed(flowing: str, axes) -> str:
    if axes is None:
        return flowing
    where = "" if axes == () else rf",\ \mbox{{axis}}={axes}"
    return rf"\mathrm{{sum}}\left({flowing}{where}\right)"
