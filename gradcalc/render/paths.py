"""`gradcalc paths`: the paths from the output back to one input, and what each contributes."""
from __future__ import annotations

import json

from rich.console import Group, JustifyMethod
from rich.table import Table
from rich.text import Text

from gradcalc.analyses.paths import Path, PathSum
from gradcalc.errors import printable
from gradcalc.render.layout import Line, fitted
from gradcalc.render.numerals import human, machine


def _count_text(count: int) -> str:
    text = f"{count:,}"
    return text if count < 10**6 else f"{text} (≈ {count:.3g})"


def summary(report: PathSum) -> str:
    """One line: the paths' sum against the backpropagated gradient."""
    d = f"∂{report.output}/∂{report.wrt}"
    if report.complete:
        paths = "the only path" if report.count == 1 else f"all {report.count:,} paths"
        return (f"sum over {paths} = {human(report.shown_sum)}; "
                f"backpropagation gives {d} = {human(report.gradient)}")
    rest = report.count - len(report.largest)
    return (f"the {len(report.largest)} largest paths sum to {human(report.shown_sum)}; the other "
            f"{_count_text(rest)} sum to {human(report.gradient - report.shown_sum)}; "
            f"backpropagation gives {d} = {human(report.gradient)}")


def chain(path: Path) -> str:
    """`f → u4 → u1 → x`; `→(2)` where a stage takes the same input twice and the path
    goes through its second argument."""
    steps = [path.stages[0]]
    for stage, argument in zip(path.stages[1:], path.arguments):
        steps.append(f"→{'' if argument is None else f'({argument})'} {stage}")
    return " ".join(steps)


def paths_table(report: PathSum) -> Group:
    output, wrt = printable(report.output), printable(report.wrt)
    if report.complete:
        plural = "s" if report.count != 1 else ""
        title = f"{_count_text(report.count)} path{plural} from {output} back to {wrt}"
    else:
        title = (f"{_count_text(report.count)} paths from {output} back to {wrt}; "
                 f"the {len(report.largest)} with the largest |product| (--top)")
    table = Table(title=title, title_justify="left")
    justify: JustifyMethod
    for column, justify in (("#", "right"), ("path", "left"), ("local derivatives", "left"),
                            ("product", "right")):
        table.add_column(column, justify=justify)
    for rank, path in enumerate(report.largest, 1):
        table.add_row(str(rank), Text(printable(chain(path))),
                      " × ".join(human(p) for p in path.locals), human(path.product))
    return Group(fitted(table), Line(summary(report)))


def paths_json(report: PathSum) -> str:
    document = {
        "output": report.output,
        "wrt": report.wrt,
        "gradient": machine(report.gradient),
        "paths": report.count,
        "shown": [{"stages": list(p.stages), "locals": [machine(v) for v in p.locals],
                   "arguments": list(p.arguments), "product": machine(p.product)}
                  for p in report.largest],
        "shown_sum": machine(report.shown_sum),
        "rest_sum": 0.0 if report.complete else machine(report.gradient - report.shown_sum),
    }
    return json.dumps(document, indent=2, ensure_ascii=False)
