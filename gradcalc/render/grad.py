"""`gradcalc grad`: each partial derivative as a formula — plain text, LaTeX or JSON."""
from __future__ import annotations

import json

from gradcalc.analyses.grad import Formula, SymbolicGradient
from gradcalc.errors import printable
from gradcalc.render.latex import expression_latex, symbol_latex
from gradcalc.render.modes import exact_float, exact_human, exact_text


def _formulas(report: SymbolicGradient) -> list[Formula]:
    """Named stages first, from the output back (as backprop meets them), then the inputs."""
    return report.stages + report.inputs


def grad_text(report: SymbolicGradient) -> str:
    """`∂f/∂b = 3*c`, one per line; with values, `= 6` after each."""
    out = report.graph.output_name
    lines = []
    for formula in _formulas(report):
        line = f"∂{out}/∂{formula.name} = {exact_text(formula.expression)}"
        if formula.value is not None and formula.value != formula.expression:
            line += f" = {exact_human(formula.value)}"
        lines.append(printable(line))
    return "\n".join(lines or ["(no inputs: the expression is a constant)"]) + "\n"


def _latex(expression) -> str:
    return expression_latex(expression)


def _latex_name(name: str) -> str:
    return symbol_latex(name)


def grad_latex(report: SymbolicGradient) -> str:
    """One equation per line, `\\frac{\\partial f}{\\partial b} = 3 c`, for a LaTeX align block."""
    out = _latex_name(report.graph.output_name)
    lines = []
    for formula in _formulas(report):
        line = (rf"\frac{{\partial {out}}}{{\partial {_latex_name(formula.name)}}} "
                f"= {_latex(formula.expression)}")
        if formula.value is not None and formula.value != formula.expression:
            line += f" = {_latex(formula.value)}"
        lines.append(line)
    return " \\\\\n".join(lines or ["% no inputs: the expression is a constant"]) + "\n"


def grad_json(report: SymbolicGradient) -> str:
    document = {
        "output": report.graph.output_name,
        "gradient": {f.name: exact_text(f.expression) for f in report.inputs},
        "latex": {f.name: _latex(f.expression) for f in report.inputs},
        "simplified": report.simplified,
    }
    if report.stages:
        document["stages"] = {f.name: exact_text(f.expression) for f in report.stages}
        document["stages_latex"] = {f.name: _latex(f.expression) for f in report.stages}
    if report.at is not None:
        document["at"] = {name: exact_float(v) for name, v in report.at.items()}
        document["values"] = {f.name: {"exact": exact_text(f.value), "value": exact_float(f.value)}
                              for f in _formulas(report)}
    return json.dumps(document, indent=2, ensure_ascii=False)
