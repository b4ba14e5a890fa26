"""Forward mode in every trace format: beside each stage's value its tangent ∂stage/∂x,
filled in topological order in the same pass, ending in ∂output/∂x for every output.

A stage that does not depend on x has tangent 0 and needs no local derivative (shown as —);
a stage no output uses is skipped (— as well).
"""
from __future__ import annotations

import json as jsonlib
import math
from typing import Any

from rich.console import Group

from gradcalc.core.ops import REGISTRY
from gradcalc.errors import UsageError, printable
from gradcalc.render import csv, latex, markdown, table
from gradcalc.render.json import node_entry
from gradcalc.render.layout import Line, fitted
from gradcalc.render.numerals import human, machine, text
from gradcalc.render.python import ATOM, Code, SourceMath, helper_sources, identifiers, literal


def _shows(tangents):
    """(for people, for CSV and JSON strings, for JSON floats) in the tangents' number system."""
    if tangents.exact:
        from gradcalc.render import modes

        return modes.exact_human, modes.exact_text, modes.exact_float
    if tangents.digits is not None:
        from gradcalc.numbers.precise import significant

        def confirmed(value) -> str:
            return "—" if value is None else significant(value, tangents.digits)

        return confirmed, confirmed, lambda value: None if value is None else machine(float(value))
    return human, text, machine


def summary(tangents, show=human) -> str:
    """`∂f/∂x = 3, ∂g/∂x = 1 (one forward pass: 3 local derivatives evaluated)`."""
    x = printable(tangents.wrt)
    derivatives = ", ".join(f"∂{printable(name)}/∂{x} = {show(d)}"
                            for name, d in tangents.derivative.items())
    evaluated = tangents.evaluations
    return (f"{derivatives} (one forward pass: {evaluated:,} local "
            f"derivative{'' if evaluated == 1 else 's'} evaluated)")


def forward_table(tangents, depth: int | None = None, collapse: bool | None = None) -> Group:
    show = _shows(tangents)[0]
    column = (f"tangent ∂stage/∂{printable(tangents.wrt)}", lambda i: show(tangents.tangents[i]))
    grid = table.forward_table(tangents, depth, collapse, show, [column])
    grid.title = (f"forward mode (topological order): each tangent = Σ local × the input's "
                  f"tangent, seeded d{printable(tangents.wrt)} = 1")
    return Group(fitted(grid), Line(summary(tangents, show)))


def forward_document(tangents, nodes: bool = True) -> dict:
    """What the python listing prints; the trace's JSON adds the nodes and the count."""
    _, strings, floats = _shows(tangents)
    document: dict[str, Any] = {
        "mode": "forward",
        "wrt": tangents.wrt,
        "outputs": list(tangents.derivative),
        "values": {name: floats(v) for name, v in tangents.output_values.items()},
        "at": {name: floats(v) for name, v in tangents.at.items()},
        "derivative": {name: floats(d) for name, d in tangents.derivative.items()},
    }
    if not nodes:
        return document
    document["evaluations"] = tangents.evaluations
    graph = tangents.graph
    document["nodes"] = [
        {**node_entry(graph, i, tangents.values[i], tangents.locals[i], floats),
         "tangent": floats(tangents.tangents[i])}
        for i in range(len(graph.nodes))
    ]
    key = "exact" if tangents.exact else "decimal" if tangents.digits is not None else None
    if key:
        document[key] = {
            "values": {name: strings(v) for name, v in tangents.output_values.items()},
            "derivative": {name: strings(d) for name, d in tangents.derivative.items()},
        }
        for entry, value, tangent in zip(document["nodes"], tangents.values, tangents.tangents):
            entry[key] = {"value": strings(value), "tangent": strings(tangent)}
    return document


def forward_json(tangents) -> str:
    return jsonlib.dumps(forward_document(tangents), indent=2, ensure_ascii=False)


def forward_csv(tangents) -> str:
    """`name,op,inputs,expr,value,local,tangent`: one row per node."""
    show = _shows(tangents)[1]
    graph = tangents.graph
    rows = (
        (node.name, node.op, ";".join(graph.nodes[j].name for j in node.inputs),
         graph.definition(i), show(tangents.values[i]),
         ";".join("" if p is None else show(p) for p in tangents.locals[i]),
         show(tangents.tangents[i]))
        for i, node in enumerate(graph.nodes)
    )
    return csv.write(["name", "op", "inputs", "expr", "value", "local", "tangent"], rows)


def forward_markdown(tangents, depth: int | None = None, collapse: bool | None = None) -> str:
    column = (f"∂stage/∂{printable(tangents.wrt)}", lambda i: tangents.tangents[i])
    return (markdown.trace_markdown(tangents, depth, collapse, column)
            + f"\n{summary(tangents)}\n")


def forward_latex(tangents, depth: int | None = None, collapse: bool | None = None) -> str:
    import sympy as sp

    x = sp.latex(sp.Symbol(tangents.wrt))
    column = (rf"$\partial\,\mathrm{{stage}}/\partial {x}$", lambda i: tangents.tangents[i])
    return latex.trace_latex(tangents, depth, collapse, column) + f"% {summary(tangents)}\n"


def forward_python(tangents) -> str:
    """A standard-library program: each stage's value, then its tangent `dot_<stage>` from
    the registry's local rule; run, it prints `forward_document` without the nodes."""
    graph = tangents.graph
    if not all(math.isfinite(v) for v in tangents.values) or \
            not all(t is None or math.isfinite(t) for t in tangents.tangents):
        raise UsageError("format python needs finite values at every stage: the program "
                         "computes with Python's math").about("format")
    nodes, used = graph.nodes, graph.used
    taken: set[str] = set()
    variable = identifiers([n.name for n in nodes], taken)
    dot = identifiers([f"dot_{v}" for v in variable], taken)
    m = SourceMath()
    code: list[Any] = []
    seed = graph.index[tangents.wrt]
    reached = {seed}
    lines = []
    for i, node in enumerate(nodes):
        if node.op == "input":
            code.append(Code(variable[i]))
            lines.append(f"{variable[i]} = {literal(float(tangents.values[i])).text}")
            if i == seed:
                lines.append(f"{dot[i]} = 1.0")
            continue
        if node.op == "const":
            code.append(m.constant(node.text) if node.text in ("pi", "e") else m.number(node.text))
            continue
        rule = REGISTRY[node.op]
        assert rule.forward is not None and rule.partial is not None  # not a leaf
        code.append(Code(variable[i]))
        args = tuple(code[j] for j in node.inputs)
        lines.append(f"{variable[i]} = {_text(rule.forward(m, *args))}")
        terms = [f"{_atom(rule.partial(m, code[i], args, k))} * {dot[j]}"
                 for k, j in enumerate(node.inputs) if j in reached]
        if terms and used[i]:
            reached.add(i)
            lines.append(f"{dot[i]} = {' + '.join(terms)}")
    outputs = ", ".join(f"{name!r}: {variable[i]} + 0.0"
                        for name, i in zip(graph.output_names, graph.outputs))
    derivative = ", ".join(f"{name!r}: {dot[i] + ' + 0.0' if i in reached else '0.0'}"
                           for name, i in zip(graph.output_names, graph.outputs))
    at = ", ".join(f"{name!r}: {variable[graph.index[name]]} + 0.0" for name in graph.input_names)
    source = [f"#     {printable(line.strip())}" for line in graph.source.strip().splitlines()]
    return "\n".join([
        f"# Forward mode with respect to {printable(tangents.wrt)}, staged as `gradcalc trace "
        "--mode forward` shows it:",
        *source,
        "# Standard library only. dot_<stage> is the tangent ∂stage/∂" + printable(tangents.wrt) + ".",
        "import json",
        "import math",
        "",
        "",
        *helper_sources(m),
        "# forward pass, in topological order: each value, then its tangent",
        *lines,
        "",
        "# + 0.0 shows a zero as 0.0, never -0.0, as gradcalc does",
        "result = {",
        "    'mode': 'forward',",
        f"    'wrt': {tangents.wrt!r},",
        f"    'outputs': {list(graph.output_names)!r},",
        f"    'values': {{{outputs}}},",
        f"    'at': {{{at}}},",
        f"    'derivative': {{{derivative}}},",
        "}",
        "print(json.dumps(result, indent=2, ensure_ascii=False))",
    ]) + "\n"


def _text(value) -> str:
    return value.text if isinstance(value, Code) else literal(value).text


def _atom(value) -> str:
    return (value if isinstance(value, Code) else literal(value)).at_least(ATOM)
