"""eval and trace in exact arithmetic (--exact), with N digits (--digits) and with Hessians.

The same tables, JSON documents and CSV files as float mode, with other numbers in them:
tables show an exact value beside its decimal approximation (`sqrt(2)/2 ≈ 0.707107`) or
N confirmed digits; JSON keeps its float fields and adds an `"exact"` or `"decimal"` object
of strings; CSV cells hold the exact or N-digit strings.
"""
from __future__ import annotations

import json as jsonlib
from typing import Any, Callable, NamedTuple

from rich.console import Group
from rich.table import Table
from rich.text import Text

from gradcalc.core.autodiff import Result
from gradcalc.errors import printable
from gradcalc.render import csv, json, table
from gradcalc.render.layout import Line, fitted
from gradcalc.render.numerals import SIGNIFICANT, array_text, human, machine, text

# --- exact --------------------------------------------------------------------------------

def exact_text(value: Any) -> str:
    """sympy's string form; a vector or matrix as JSON nested lists of those strings (CSV cells)."""
    if _is_array(value):
        return jsonlib.dumps(exact_strings(value), ensure_ascii=False)
    from gradcalc.numbers import symbolic  # sympy only when an exact value is shown

    return "" if value is None else symbolic.exact_text(value)


def exact_strings(value: Any) -> Any:
    """What JSON's `exact` fields hold: a string, or nested lists of strings for arrays."""
    if _is_array(value):
        return _nested(value.tolist(), exact_text)
    return None if value is None else exact_text(value)


def _is_array(value: Any) -> bool:
    return bool(getattr(value, "ndim", 0))


def _nested(items: list, show) -> list:
    return [_nested(item, show) if isinstance(item, list) else show(item) for item in items]


def decimal(value: Any, digits: int):
    from gradcalc.numbers import symbolic

    return symbolic.decimal(value, digits)


def approximate(value: Any, digits: int = SIGNIFICANT) -> str:
    """A decimal approximation of an exact value, also far outside the float range."""
    import mpmath

    number = decimal(value, digits + 3)
    if not number.is_Number:
        return "?"
    x = float(number)
    if x != 0 and abs(x) != float("inf") or number == 0:
        return human(x, digits)
    return mpmath.nstr(mpmath.mpf(number._mpf_), digits)  # beyond 1e±308


def exact_human(value: Any) -> str:
    """`33`, `1/10 ≈ 0.1`, `sqrt(2)/2 ≈ 0.707107`: the exact form, with a decimal unless it is
    one; a vector or matrix as the float tables show one, each element so."""
    if value is None:
        return "—"
    if _is_array(value):
        return array_text(value.tolist(), exact_human)
    text = exact_text(value)
    return text if value.is_Integer else f"{text} ≈ {approximate(value)}"


def exact_float(value: Any) -> Any:
    """The nearest float of an exact value (inf or 0 beyond float range) for JSON's float
    fields; of an exact array, the float64 array of those (made by the array's own methods)."""
    if _is_array(value):
        nearest = value.copy()
        nearest.flat[:] = [exact_float(element) for element in value.flat]
        return nearest.astype(float)
    return None if value is None else machine(decimal(value, 30))


def floats(result: Result) -> Result:
    """The same result with float approximations, for the float fields of the JSON contract."""
    approximated = Result(result.graph, [exact_float(v) for v in result.values],
                          [exact_float(g) for g in result.grads],
                          [tuple(exact_float(p) for p in local) for local in result.locals],
                          result.wrt, result.warnings)
    if result.shapes is not None:
        approximated.shapes = result.shapes
        approximated.steps = tuple((i, k, j, exact_float(flowing)) for i, k, j, flowing in result.steps)
    return approximated


def exact_object(result: Result) -> dict:
    return {"value": exact_strings(result.value),
            "gradient": {name: exact_strings(g) for name, g in result.gradient.items()}}


def exact_eval_table(result: Result) -> Group:
    return table.eval_table(result, show=exact_human)


def exact_trace_table(result: Result, depth: int | None = None,
                      collapse: bool | None = None) -> Group:
    return table.trace_table(result, depth, collapse, show=exact_human)


def exact_eval_document(result: Result) -> dict:
    document = json.eval_document(floats(result))
    document["exact"] = exact_object(result)
    return document


def exact_eval_json(result: Result) -> str:
    return _dumps(exact_eval_document(result))


def exact_trace_json(result: Result) -> str:
    document = json.trace_document(floats(result))
    document["exact"] = exact_object(result)
    for node, value, grad in zip(document["nodes"], result.values, result.grads):
        node["exact"] = {"value": exact_strings(value), "grad": exact_strings(grad)}
    if result.shapes is not None:
        from gradcalc.render.vectors import steps

        for entry, (*_, flowing, _total) in zip(document["backward"], steps(result)):
            entry["exact"] = exact_strings(flowing)
    return _dumps(document)


def exact_eval_csv(result: Result) -> str:
    return csv.eval_csv(result, show=exact_text)


def exact_trace_csv(result: Result) -> str:
    return csv.trace_csv(result, show=exact_text)


# --- N digits -----------------------------------------------------------------------------

def digits_eval_table(decimals) -> Group:
    return table.eval_table(folded(decimals.result, decimals.shapes), show=_arrays(decimals.show, array_text))


def digits_trace_table(decimals, depth: int | None = None, collapse: bool | None = None) -> Group:
    """Both passes to N digits; the backward steps are computed at the working precision
    their digits were confirmed at."""
    import mpmath

    with mpmath.workdps(decimals.dps):
        return table.trace_table(decimals.result, depth, collapse, show=decimals.show)


def decimal_object(decimals) -> dict:
    result = folded(decimals.result, decimals.shapes)
    show = _arrays(decimals.show, _nested)
    return {"value": show(result.value),
            "gradient": {name: show(g) for name, g in result.gradient.items()}}


def digits_eval_json(decimals) -> str:
    document = _eval_document(folded(decimals.result, decimals.shapes), machine)
    document["decimal"] = decimal_object(decimals)
    return _dumps(document)


def digits_trace_json(decimals) -> str:
    result = decimals.result
    document = json.trace_document(result)
    document["decimal"] = decimal_object(decimals)
    for node, value, grad in zip(document["nodes"], result.values, result.grads):
        node["decimal"] = {"value": decimals.show(value), "grad": decimals.show(grad)}
    return _dumps(document)


def digits_eval_csv(decimals) -> str:
    return csv.eval_csv(folded(decimals.result, decimals.shapes), show=_cells(decimals.show, decimals.show))


def digits_trace_csv(decimals) -> str:
    return csv.trace_csv(decimals.result, show=decimals.show)


# --- Hessians -----------------------------------------------------------------------------

def hessian_table(hessian) -> Group:
    show = exact_human if hessian.exact else human
    out = printable(hessian.result.graph.output_name)
    label = _labels(hessian)
    names = list(hessian.matrix)
    matrix = Table()
    matrix.add_column("")
    for name in names:
        matrix.add_column(Text(printable(label(name))), justify="right")
    for row in names:
        matrix.add_row(Text(printable(label(row))), *(show(hessian.matrix[row][c]) for c in names))
    title = Line(f"Hessian: ∂²{out}/∂row∂column")
    shown = table.eval_table(folded(hessian.result, hessian.shapes), show=_arrays(show, array_text))
    return Group(*shown.renderables, title, fitted(matrix))


def hessian_json(hessian) -> str:
    result, label = folded(hessian.result, hessian.shapes), _labels(hessian)
    if hessian.exact:
        document, exact = _eval_document(result, exact_float), _arrays(exact_strings, _nested)
        document["exact"] = {"value": exact(result.value),
                             "gradient": {name: exact(g) for name, g in result.gradient.items()}}
        document["hessian"] = _matrix(hessian.matrix, exact_float, label)
        document["exact"]["hessian"] = _matrix(hessian.matrix, exact_text, label)
    else:
        document = _eval_document(result, machine)
        document["hessian"] = _matrix(hessian.matrix, machine, label)
    return _dumps(document)


def hessian_csv(hessian) -> str:
    """The eval rows, then one `hessian` row per pair: name `x;y`, value ∂²f/∂x∂y (an
    element of a vector or matrix named `W[0, 1]`)."""
    show, label = (exact_text if hessian.exact else text), _labels(hessian)
    rows = [("hessian", f"{label(row)};{label(column)}", show(value), "")
            for row, columns in hessian.matrix.items() for column, value in columns.items()]
    cells = _cells(show, exact_text if hessian.exact else machine)
    return csv.eval_csv(folded(hessian.result, hessian.shapes), cells, rows)


def _matrix(matrix: dict, convert, label: Callable[[str], str]) -> dict:
    return {label(row): {label(column): convert(v) for column, v in columns.items()}
            for row, columns in matrix.items()}


# --- vectors and matrices, computed on the scalar circuit of their elements ----------------

def elements_eval_table(shown) -> Group:
    return table.eval_table(folded(shown.result, shown.shapes), show=_arrays(human, array_text))


def elements_eval_json(shown) -> str:
    return _dumps(_eval_document(folded(shown.result, shown.shapes), machine))


def elements_eval_csv(shown) -> str:
    """An array's cell is JSON nested lists, a non-finite element the string JSON gives it."""
    cell = _arrays(text, lambda items, _: jsonlib.dumps(_nested(items, machine)))
    return csv.eval_csv(folded(shown.result, shown.shapes), cell)


class Folded(NamedTuple):
    """A result whose vector and matrix inputs are nested lists of their elements' numbers;
    it reads like a Result for the eval renderers."""

    graph: Any
    value: Any
    at: dict[str, Any]
    gradient: dict[str, Any]


def folded(result: Any, shapes: dict[str, tuple[int, ...]]) -> Any:
    """The result with each array of `shapes` folded back from its elements (`W_0_1`) into
    nested lists (`W`); an array with the gradient of some of its elements only stays as
    its elements (`W[0, 1]`), value and gradient alike."""
    from gradcalc.core import unroll

    if not shapes:
        return result
    gradient, labels = result.gradient, unroll.element_labels(shapes)
    whole = unroll.whole_arrays(shapes, gradient)
    at, gradient = unroll.folded(result.at, whole), unroll.folded(gradient, whole)
    return Folded(result.graph, result.value, {labels.get(n, n): v for n, v in at.items()},
                  {labels.get(n, n): g for n, g in gradient.items()})


def _labels(shown: Any) -> Callable[[str], str]:
    """An element's name as the expression writes it: `W_0_1` is `W[0, 1]`."""
    from gradcalc.core.unroll import element_labels

    labels = element_labels(shown.shapes)
    return lambda name: labels.get(name, name)


def _arrays(show: Callable[[Any], Any], nest: Callable[[list, Callable], Any]) -> Callable[[Any], Any]:
    """`show` for numbers, and for arrays given as nested lists `nest` of it."""
    return lambda value: nest(value, show) if isinstance(value, list) else show(value)


def _cells(show: Callable[[Any], str], element: Callable[[Any], Any]) -> Callable[[Any], str]:
    """CSV cells: a number as `show` writes it, an array as JSON nested lists of its elements
    as `element` gives them (floats, or the strings of exact and N-digit numbers)."""
    return lambda value: (jsonlib.dumps(_nested(value, element), ensure_ascii=False)
                          if isinstance(value, list) else show(value))


def _eval_document(result: Any, number: Callable[[Any], Any]) -> dict:
    """eval's JSON with each number written by `number`, arrays as nested lists."""
    show = _arrays(number, _nested)
    return {"output": result.graph.output_name, "value": show(result.value),
            "at": {name: show(v) for name, v in result.at.items()},
            "gradient": {name: show(g) for name, g in result.gradient.items()}}


def _dumps(document: dict) -> str:
    return jsonlib.dumps(document, indent=2, ensure_ascii=False)
