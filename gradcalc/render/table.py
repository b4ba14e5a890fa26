"""Rich tables for people: the eval summary, and the trace's forward and backward passes.

User text reaches cells as `rich.text.Text`, never as markup, so `[/]` in a name shows as
typed; values are rounded to 6 significant digits (JSON keeps them exact).
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

from rich.console import Group, JustifyMethod
from rich.table import Table
from rich.text import Text

from gradcalc.core.autodiff import Result, backward_steps
from gradcalc.errors import printable
from gradcalc.render import outline
from gradcalc.render.layout import Line, fitted
from gradcalc.render.numerals import human


def _cell(value: str) -> Text:
    return Text("\n".join(printable(line) for line in value.split("\n")))


def eval_table(result: Result, show: Callable[[Any], str] = human) -> Group:
    """`show` writes a number (exact and many-digit modes pass their own)."""
    out = result.graph.output_name
    headline = Line(f"{printable(out)} = {show(result.value)}")
    table = Table(show_edge=True)
    table.add_column("input")
    table.add_column("value", justify="right")
    table.add_column(f"∂{printable(out)}/∂input", justify="right")
    at = result.at
    for name, grad in result.gradient.items():
        table.add_row(_cell(name), show(at[name]), show(grad))
    if not result.gradient:
        return Group(headline, Line("(no inputs: the expression is a constant)"))
    return Group(headline, fitted(table))


def trace_table(result: Result, depth: int | None = None, collapse: bool | None = None,
                show: Callable[[Any], str] = human) -> Group:
    """Both passes; `depth` keeps the stages near the output, `collapse` folds repeated rows."""
    if result.shapes is not None:
        from gradcalc.render import vectors

        vectors.refuse_outline(depth, collapse)
        return vectors.trace_table(result, show)
    return Group(fitted(forward_table(result, depth, collapse, show)),
                 fitted(backward_table(result, depth, collapse, show)))


def forward_table(result: Result, depth: int | None = None, collapse: bool | None = None,
                  show: Callable[[Any], str] = human,
                  last: Sequence[tuple[str, Callable[[int], str]]] | None = None) -> Table:
    """`last`: the columns after the local derivatives, each (header, the cell of stage i)
    [default: ∂output/∂stage]; `result` may be any evaluation with the values and locals."""
    graph = result.graph
    if last is None:
        last = [(f"∂{printable(graph.output_name)}/∂stage", lambda i: show(result.grads[i]))]
    table = Table(title="forward pass (topological order)", title_justify="left")
    justify: JustifyMethod
    for column, justify in (("stage", "left"), ("op", "left"), ("definition", "left"),
                            ("value", "right"), ("local ∂stage/∂input", "left")):
        table.add_column(column, justify=justify)
    for header, _ in last:
        table.add_column(header, justify="right")
    rows, table.caption = outline.stage_rows(graph, depth, collapse)
    for i in rows:
        if isinstance(i, str):  # a fold of repeated rows
            table.add_row("⋮", "", _cell(i), "", "", *("" for _ in last))
            continue
        node = graph.nodes[i]
        definition = "" if node.op == "input" else graph.definition(i)
        table.add_row(_cell(node.name), node.op, _cell(definition), show(result.values[i]),
                      _cell(_locals_text(result, i, show)), *(cell(i) for _, cell in last))
    return table


def _locals_text(result: Result, i: int, show: Callable[[Any], str] = human) -> str:
    graph = result.graph
    node = graph.nodes[i]
    return "\n".join(f"∂/∂{graph.nodes[j].name} = {show(p)}"
                     for j, p in zip(node.inputs, result.locals[i])
                     if graph.nodes[j].op != "const")


def backward_table(result: Result, depth: int | None = None, collapse: bool | None = None,
                   show: Callable[[Any], str] = human) -> Table:
    """Each edge, output to inputs: local × upstream added into the input's gradient."""
    graph = result.graph
    near = outline.near(graph, depth)
    rows, keys, names = [], [], []
    table = Table(title="backward pass (reverse order): d<input> += local × upstream",
                  title_justify="left")
    justify: JustifyMethod
    for column, justify in (("step", "right"), ("edge", "left"), ("local", "right"),
                            ("upstream", "right"), ("contribution", "right"),
                            ("accumulated", "left")):
        table.add_column(column, justify=justify)
    seen: dict[int, int] = {}
    step = 0
    table.add_row("", _cell(f"d{graph.output_name} = 1"), "", "", "", "seed")
    for step, (i, j, local, upstream, contribution, total) in enumerate(backward_steps(result), 1):
        node, name = graph.nodes[i], graph.nodes[j].name
        seen[j] = seen.get(j, 0) + 1
        if not (near[i] and near[j]):
            continue
        if seen[j] == 1:
            accumulated = f"d{name} = {show(total)}"
        else:
            accumulated = f"d{name} += {show(contribution)} → {show(total)}"
        rows.append((str(step), _cell(f"{node.name} → {name}"), show(local),
                     show(upstream), show(contribution), _cell(accumulated)))
        keys.append(outline.shape(node.name, name, node.op))
        names.append(f"{node.name} → {name}")
    shown = outline.fold_rows(keys, names, collapse)
    for item in shown:
        if isinstance(item, str):
            table.add_row("⋮", _cell(item), "", "", "", "")
        else:
            table.add_row(*rows[item])
    table.caption = outline.caption(shown, step - len(rows), depth, "step")
    return table
