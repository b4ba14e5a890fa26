"""`gradcalc paths`: the paths from the output back to one input, and what each contributes."""
from __future__ import annotations

import json
import math

from rich.console import Group, JustifyMethod
from rich.table import Table
from rich.text import Text

from gradcalc.analyses.paths import Path, PathSum
from gradcalc.errors import printable
from gradcalc.render.layout import Line, fitted
from gradcalc.render.numerals import human, machine

EXACT_DIGITS = 20  # a count of more digits is shown by its leading digits and exponent alone
JSON_DIGITS = 4_300  # Python's own bound for writing an integer in decimal: quadratic beyond


def _count_text(count: int) -> str:
    """`1,234`; `1,234,567 (≈ 1.23e+06)`; beyond 20 digits `≈ 1.23e+1234`, from integer
    arithmetic alone (a float overflows past 2^1024, and decimal text of a huge integer
    takes quadratic time)."""
    if count < 10**6:
        return f"{count:,}"
    approximate = f"≈ {scientific(count)}"
    if count.bit_length() > EXACT_DIGITS * 3.32:
        return approximate
    return f"{count:,} ({approximate})"


def scientific(count: int, digits: int = 3) -> str:
    """A positive integer as `1.23e+1234`: rounded to `digits` significant digits, the
    exponent exact."""
    exponent = max(0, int((count.bit_length() - 1) * math.log10(2)) - 1)
    while 10 ** (exponent + 1) <= count:
        exponent += 1
    shift = exponent - digits + 1
    leading = count if shift <= 0 else (count + 5 * 10 ** (shift - 1)) // 10 ** shift
    leading *= 10 ** max(0, -shift)
    if leading >= 10 ** digits:  # rounding carried into a new digit (9.995e+07 → 1.00e+08)
        leading, exponent = leading // 10, exponent + 1
    text = str(leading)
    return f"{text[0]}{'.' + text[1:] if digits > 1 else ''}e+{exponent:02d}"


def _count_json(count: int) -> int | str:
    """The exact count, or past 4,300 digits the string `≈ 1.23e+5000`."""
    return count if count.bit_length() <= JSON_DIGITS * 3.32 else f"≈ {scientific(count)}"


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
        "paths": _count_json(report.count),
        "shown": [{"stages": list(p.stages), "locals": [machine(v) for v in p.locals],
                   "arguments": list(p.arguments), "product": machine(p.product)}
                  for p in report.largest],
        "shown_sum": machine(report.shown_sum),
        "rest_sum": 0.0 if report.complete else machine(report.gradient - report.shown_sum),
    }
    return json.dumps(document, indent=2, ensure_ascii=False)
