"""The Python API: one function per command, each returning a view that shows itself.

Each takes an expression or program (or a graph from `lower`), values as a mapping and as
keyword arguments (numbers, `fractions.Fraction`, strings read by the safe parser such as
"pi/4", lists for the `w=[...]` shorthand), and the command's options under their Python
names. Errors are gradcalc's own classes, which also subclass the matching built-in
(`UsageError` is a `ValueError`, `DomainError` an `ArithmeticError`); warnings go through
`warnings.warn` as `GradcalcWarning` and stay on the result as `.warnings`.
"""
from __future__ import annotations

import os
import warnings as _warnings
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterator, Literal, Mapping, Sequence, Union, overload

from gradcalc.api.jsonlines import batch
from gradcalc.api.points import exact_arrays, float_system, point_of
from gradcalc.api.views import (
    Check,
    Circuit,
    DataResult,
    Descent,
    Digits,
    Gradient,
    Hessian,
    Paths,
    Result,
    Trace,
    TraceDigits,
    View,
)
from gradcalc.core import autodiff
from gradcalc.core.graph import Graph
from gradcalc.errors import (
    ConstantAssignment,
    GradcalcWarning,
    MissingValues,
    UnusedValueWarning,
    UsageError,
    ValueTypeError,
    listed,
)
from gradcalc.limits import exact_clock

if TYPE_CHECKING:
    from gradcalc.core.values import Point

__all__ = ["evaluate", "gradient", "trace", "graph", "check", "grad", "hessian", "paths",
           "descend", "batch", "View", "Result", "Trace", "Digits", "TraceDigits", "Hessian", "Check",
           "Gradient", "Paths", "DataResult", "Descent", "Circuit"]

Source = Union[str, Graph]
Gates = Literal["written", "fused", "primitive", "scalar"]
# A file path, a mapping of 1-D arrays, a numpy structured array, a pandas or pyarrow table.
DataSource = Union[str, "os.PathLike[str]", Mapping[str, Any], Any]


@overload
def evaluate(source: Source, at: Mapping[str, Any] | None = None, wrt: Sequence[str] | None = None,
             *, gates: Gates = "written", exact: bool = False, digits: None = None,
             nonfinite: Literal["strict", "ieee"] = "strict", data: None = None,
             **values: Any) -> Result: ...
@overload
def evaluate(source: Source, at: Mapping[str, Any] | None = None, wrt: Sequence[str] | None = None,
             *, gates: Gates = "written", exact: bool = False, digits: int,
             nonfinite: Literal["strict", "ieee"] = "strict", data: None = None,
             **values: Any) -> Digits: ...
@overload
def evaluate(source: Source, at: Mapping[str, Any] | None = None, wrt: Sequence[str] | None = None,
             *, gates: Gates = "written", data: DataSource,
             reduce: Literal["mean", "sum"] = "mean", on_error: Literal["fail", "skip"] = "fail",
             header: Sequence[str] | None = None, **values: Any) -> DataResult: ...
def evaluate(source: Source, at: Mapping[str, Any] | None = None, wrt: Sequence[str] | None = None,
             *, gates: Gates = "written", exact: bool = False, digits: int | None = None,
             nonfinite: Literal["strict", "ieee"] = "strict", data: DataSource | None = None,
             reduce: Literal["mean", "sum"] = "mean", on_error: Literal["fail", "skip"] = "fail",
             header: Sequence[str] | None = None, **values: Any) -> Result | Digits | DataResult:
    """Value and gradient at a point (`gradcalc eval`), exact or to `digits` confirmed
    digits; with `data`, the mean or sum over its rows and the gradient of that (`header`
    names the columns of a plain 2-D .npy file: one name per column, or one for a vector).

    >>> r = evaluate("3*(a+b*c)", a=5, b=3, c=2)
    >>> r
    Result(f=33.0, gradient={'a': 3.0, 'b': 6.0, 'c': 9.0})
    >>> evaluate("sin(pi*x)", x="1/4", exact=True).value
    sqrt(2)/2
    >>> evaluate("sigmoid(x)", x=1000, digits=20).gradient
    {'x': '5.0759588975494567653e-435'}
    >>> evaluate("(w*x - y)**2", data={"x": [1, 2], "y": [2, 4]}, w=1).gradient
    {'w': -5.0}

    Strict by default (a non-finite value or derivative raises DomainError);
    `nonfinite="ieee"` lets inf and nan flow through, with warnings.
    """
    with _python_terms():
        _choice("nonfinite", nonfinite, ("strict", "ieee"))
        _refuse_header_without_data(header, data)
        if data is not None:
            if exact or digits is not None or nonfinite != "strict":
                raise UsageError("exact, digits and nonfinite apply to single points, not to data")
            return _evaluate_data(source, data, at, values, wrt, gates, reduce, on_error, header)
        graph, point = _prepared(source, at, values, gates)
        wrt = _wrt(wrt, graph, gates, at, values)
        if exact or digits is not None:
            if nonfinite != "strict":
                raise UsageError("nonfinite='ieee' works with float64 values only").about("nonfinite")
            shown = _numbers("eval", graph, point, wrt, exact, digits)
            return shown if isinstance(shown, Digits) else Result.of(shown, shown.warnings, exact)
        result = _evaluated(graph, point, _names(wrt), nonfinite)
        return Result.of(result, _warned(graph, point, result.warnings))


def gradient(source: Source, **at: Any) -> dict[str, float]:
    """Just the gradient.

    >>> gradient("x*y", x=2, y=3)
    {'x': 3.0, 'y': 2.0}
    """
    return evaluate(source, at).gradient


@overload
def trace(source: Source, at: Mapping[str, Any] | None = None, wrt: Sequence[str] | None = None,
          *, gates: Gates = "written", exact: bool = False, digits: None = None,
          nonfinite: Literal["strict", "ieee"] = "strict", **values: Any) -> Trace: ...
@overload
def trace(source: Source, at: Mapping[str, Any] | None = None, wrt: Sequence[str] | None = None,
          *, gates: Gates = "written", exact: bool = False, digits: int,
          nonfinite: Literal["strict", "ieee"] = "strict", **values: Any) -> TraceDigits: ...
def trace(source: Source, at: Mapping[str, Any] | None = None, wrt: Sequence[str] | None = None,
          *, gates: Gates = "written", exact: bool = False, digits: int | None = None,
          nonfinite: Literal["strict", "ieee"] = "strict", **values: Any) -> Trace | TraceDigits:
    """Every stage, forward and backward (`gradcalc trace`): in Jupyter the forward and the
    backward table; `.markdown()`, `.latex()`, `.python()` and `.svg()` as the command writes them.

    >>> t = trace("3*(a+b*c)", a=5, b=3, c=2)
    >>> t
    Trace(f=33.0, 7 nodes, gradient={'a': 3.0, 'b': 6.0, 'c': 9.0})
    >>> t.grad_of("u1")
    3.0
    >>> print(t.markdown().splitlines()[5])
    | `u1` | `b*c` | 6 | ∂u1/∂b = `c` = 2<br>∂u1/∂c = `b` = 3 | 3 |
    """
    with _python_terms():
        _choice("nonfinite", nonfinite, ("strict", "ieee"))
        graph, point = _prepared(source, at, values, gates)
        wrt = _wrt(wrt, graph, gates, at, values)
        if exact or digits is not None:
            if nonfinite != "strict":
                raise UsageError("nonfinite='ieee' works with float64 values only").about("nonfinite")
            shown = _numbers("trace", graph, point, wrt, exact, digits)
            if isinstance(shown, Digits):
                return TraceDigits(shown.decimals)
            return Trace.of(shown, shown.warnings, exact)
        result = _evaluated(graph, point, _names(wrt), nonfinite)
        return Trace.of(result, _warned(graph, point, result.warnings))


def graph(source: Source, at: Mapping[str, Any] | None = None, *, gates: Gates = "written",
          **values: Any) -> Circuit:
    """The circuit (`gradcalc graph`), drawn by gradcalc itself: Jupyter shows it as SVG;
    with values, each wire shows its value and gradient.

    >>> c = graph("sigmoid(w0*x0+w1*x1+w2)", w=[2, -3, -3], x=[-1, -2], gates="primitive")
    >>> c
    Circuit(14 nodes, output 'f', with values)
    >>> c.svg().startswith("<svg")
    True
    >>> print(graph("a*b").mermaid().splitlines()[0])
    flowchart LR
    """
    with _python_terms():
        drawn, point = _prepared(source, at, values, gates)
        if not point.names:
            return Circuit(drawn, None, _warned(drawn, point, []))
        result = _evaluated(drawn, point)
        return Circuit(drawn, result, _warned(drawn, point, result.warnings))


def check(source: Source, at: Mapping[str, Any] | None = None, wrt: Sequence[str] | None = None,
          *, gates: Gates = "written", nodes: bool = False, rtol: float | None = None,
          atol: float | None = None, **values: Any) -> Check:
    """Backprop against a finite difference and sympy (`gradcalc check`); true when every
    judged gradient agrees.

    >>> c = check("3*(a+b*c)", a=5, b=3, c=2)
    >>> bool(c), c.verdict
    (True, 'all 3 gradients agree with their oracles (rtol 1e-06, atol 1e-09)')
    """
    from gradcalc.analyses.check import ATOL, RTOL
    from gradcalc.analyses.check import check as checked

    with _python_terms():
        rtol, atol = _at_least("rtol", RTOL if rtol is None else rtol, 0), \
            _at_least("atol", ATOL if atol is None else atol, 0)
        graph_, point = _prepared(source, at, values, gates)
        report = checked(graph_, point, wrt=_wrt(wrt, graph_, gates, at, values), stages=nodes, rtol=rtol, atol=atol,
                         m=float_system(graph_, point))
        return Check(report, _warned(graph_, point, report.result.warnings + report.warnings))


def grad(source: Source, at: Mapping[str, Any] | None = None, wrt: Sequence[str] | None = None,
         *, stages: bool = False, simplify: bool = False, **values: Any) -> Gradient:
    """The gradient as formulas (`gradcalc grad`), each built by the backward pass on symbols;
    Jupyter shows them in LaTeX. With values, each is also evaluated exactly.

    >>> g = grad("z = w*x + b; yhat = sigmoid(z); L = -y*log(yhat) - (1-y)*log(1-yhat)",
    ...          stages=True, simplify=True)
    >>> g.formulas["z"]
    -y + yhat
    >>> print(g.latex().splitlines()[1])
    \\frac{\\partial L}{\\partial z} = - y + \\hat{y} \\\\
    """
    from gradcalc.analyses.grad import symbolic_gradient

    with _python_terms():
        point = point_of(at or {}, values)
        lowered, gates = _lowered(source, point, "written"), "written"
        if lowered.vectorised and point.names:  # the formulas of the elements' scalar circuit
            lowered, gates = _lowered(source, point, "scalar"), "scalar"
        report = symbolic_gradient(lowered, point=point.fitted(lowered) if point.names else None,
                                   wrt=_wrt(wrt, lowered, gates, at, values), stages=stages,
                                   simplify=simplify)
        report.warnings[:] = _warned(lowered, point, report.warnings)
        return Gradient(report)


def hessian(source: Source, at: Mapping[str, Any] | None = None, wrt: Sequence[str] | None = None,
            *, gates: Gates = "written", exact: bool = False, **values: Any) -> Hessian:
    """The matrix of second derivatives (`gradcalc eval --hessian`), by forward-over-reverse.

    >>> hessian("x**2*y", x=1.5, y=-2).matrix
    {'x': {'x': -4.0, 'y': 3.0}, 'y': {'x': 3.0, 'y': 0.0}}
    """
    from gradcalc.analyses.hessian import Hessian as Report
    from gradcalc.analyses.modes import compute

    with _python_terms(), exact_clock(exact):
        graph_, point = _prepared(source, at, values, gates)
        evaluation = compute("eval", graph_, point, wrt=_wrt(wrt, graph_, gates, at, values), exact=exact,
                             hessian=True)
        assert isinstance(evaluation.shown, Report)
        return Hessian(evaluation.shown, _warned(graph_, point, evaluation.warnings))


def paths(source: Source, at: Mapping[str, Any] | None = None, wrt: str | Sequence[str] | None = None,
          *, gates: Gates = "written", top: int = 10, **values: Any) -> Paths:
    """∂output/∂x as the sum over every path back to the input x (`gradcalc paths`).

    >>> p = paths("x**2*(3*x+1) - sin(x**2)", x=1.5)
    >>> p.count, round(p.report.shown_sum, 4), round(p.gradient, 4)
    (3, 25.1345, 25.1345)
    """
    from gradcalc.analyses.paths import path_sum

    with _python_terms():
        top = int(_at_least("top", top, 1))
        graph_, point = _prepared(source, at, values, gates)
        if graph_.vectorised:  # a path runs through scalars: those of the elements' circuit
            gates = "scalar"
            graph_, point = _prepared(source, at, values, gates)
        result = _evaluated(graph_, point, _wrt([wrt] if isinstance(wrt, str) else wrt, graph_, gates,
                                                at, values))
        return Paths(path_sum(result, top=top), _warned(graph_, point, result.warnings))


def descend(source: Source, data: DataSource | None = None, at: Mapping[str, Any] | None = None,
            wrt: Sequence[str] | None = None, *, gates: Gates = "written", lr: float = 0.1,
            steps: int = 1000, reduce: Literal["mean", "sum"] = "mean",
            batch_size: int | None = None, seed: int = 0, on_error: Literal["fail", "skip"] = "fail",
            header: Sequence[str] | None = None, **values: Any) -> Descent:
    """Gradient descent on the expression reduced over the rows of `data` (`gradcalc descend`):
    the `wrt` parameters (default: every one given a value) start there and move by -lr
    times the gradient, `steps` times. Without `data`, on the expression's value at the point
    (its data given as values: vectors and matrices; `wrt` default: every input). Jupyter
    shows the result and the loss curve.

    >>> d = descend("(w*x - y)**2", {"x": [1.0, 2.0, 3.0], "y": [2.0, 4.0, 6.0]}, w=0,
    ...             lr=0.1, steps=50)
    >>> round(d.at["w"], 6), round(d.losses[0], 4)  # from w=0: mean of 2², 4², 6² = 56/3
    (2.0, 18.6667)
    >>> d = descend("mean((X@w - y)**2)", X=[[1, 1], [1, 2], [1, 3]], y=[1, 3, 5], w=[0, 0],
    ...             wrt=["w"], lr=0.1, steps=2000)
    >>> d.at["w"].round(6).tolist()  # y = 2x - 1: numpy arrays for vectors and matrices
    [-1.0, 2.0]
    """
    from gradcalc.data.descent import descend as descended

    with _python_terms():
        _at_least("lr", lr, 0, open_=True)
        steps = int(_at_least("steps", steps, 0))
        _refuse_header_without_data(header, data)
        if data is None:
            return _descend_at(source, at, values, wrt, gates, lr, steps,
                               rows_only=(reduce, on_error, batch_size, seed) != ("mean", "fail", None, 0))
        if batch_size is not None:
            batch_size = int(_at_least("batch_size", batch_size, 1))
        plan, point = _plan(source, data, at, values, wrt, gates, reduce, ("mean", "sum"), on_error,
                            header)
        if not plan.wrt:
            raise UsageError("nothing to descend on: give the parameters' starting values "
                             "(w=0, ...) and name them with wrt")
        report = descended(plan, lr=lr, steps=steps, reduce=reduce, batch_size=batch_size, seed=seed)
        report.warnings[:] = _warned(plan.graph, point, plan.warnings + report.warnings)
        return Descent(report)


def _descend_at(source: Source, at: Mapping[str, Any] | None, values: Mapping[str, Any],
                wrt: Sequence[str] | None, gates: str, lr: float, steps: int, rows_only: bool) -> Descent:
    """`descend` without data: on the value at the point, every array stepped whole."""
    from gradcalc.data.descent import descend_at

    if rows_only:
        raise UsageError("reduce, on_error, batch_size and seed need data; without it descend "
                         "trains on the value at the point").about("data")
    graph_, point = _prepared(source, at, values, gates)
    names = _names(wrt)
    trained = tuple(graph_.input_names if names is None else names)
    if not trained:
        raise UsageError("nothing to descend on: the expression has no inputs")
    m = float_system(graph_, point)
    report = descend_at(graph_, point.read(m), trained, m, lr=lr, steps=steps)
    report.warnings[:] = _warned(graph_, point, report.warnings)
    return Descent(report)


# ---- shared steps ----------------------------------------------------------------------------

def _prepared(source: Source, at: Mapping[str, Any] | None, values: Mapping[str, Any],
              gates: str) -> tuple[Graph, Point]:
    point = point_of(at or {}, values)
    lowered = _lowered(source, point, gates)
    return lowered, point.fitted(lowered)


def _wrt(wrt: Sequence[str] | None, graph_: Graph, gates: str, at: Mapping[str, Any] | None,
         values: Mapping[str, Any]) -> tuple[str, ...] | None:
    """`wrt` as names of inputs: in a circuit unrolled by gates="scalar", a vector or matrix
    named whole stands for its elements (`W` for W_0_0, W_0_1, ...)."""
    names = _names(wrt)
    if names is None or gates != "scalar":
        return names
    from gradcalc.core.unroll import element_inputs

    return element_inputs(names, point_of(at or {}, values).shapes, graph_.input_names)


def _evaluated(graph_: Graph, point: Point, wrt: Sequence[str] | None = None,
               nonfinite: str = "strict") -> autodiff.Result:
    """Value and gradient in float64, on numpy arrays when a value is a vector or a matrix or
    a stage a vector op (numpy is imported only then)."""
    m = float_system(graph_, point)
    return autodiff.evaluate(graph_, point.read(m), wrt, m=m, nonfinite=nonfinite)


def _lowered(source: Source, point: Point, gates: str, columns: Sequence[str] = ()) -> Graph:
    """The graph of the source with the gates asked for; a graph given stays as lowered."""
    from gradcalc.core.gates import MODES, lower_gates, rewrite

    _choice("gates", gates, MODES)
    if isinstance(source, Graph):
        return rewrite(source, gates, point.shapes)
    if not isinstance(source, str):
        raise ValueTypeError(f"source: expected an expression (str) or a Graph from lower(), not "
                             f"{type(source).__name__}").about("source")
    from gradcalc.core.parse import parse

    return lower_gates(parse(source), given={*point.names, *columns}, gates=gates, shapes=point.shapes)


def _numbers(command: str, graph_: Graph, point: Point, wrt: Sequence[str] | None, exact: bool,
             digits: int | None) -> autodiff.Result | Digits:
    """eval or trace in exact numbers (a Result of sympy numbers) or to `digits` digits."""
    from gradcalc.analyses.modes import compute

    if digits is not None:
        digits = int(_at_least("digits", digits, 1))
    with exact_clock(exact):
        evaluation = compute(command, graph_, point, wrt=_names(wrt), exact=exact, digits=digits,
                             steps=True, exact_arrays=exact_arrays(graph_, point, exact))
    warned = _warned(graph_, point, evaluation.warnings)
    if digits is not None:
        evaluation.shown.warnings[:] = warned
        return Digits(evaluation.shown)
    result: autodiff.Result = evaluation.shown
    result.warnings[:] = warned
    return result


def _evaluate_data(source: Source, data: DataSource, at: Mapping[str, Any] | None,
                   values: Mapping[str, Any], wrt: Sequence[str] | None, gates: str, reduce: str,
                   on_error: str, header: Sequence[str] | None) -> DataResult:
    from gradcalc.data.plan import reduce_data

    plan, point = _plan(source, data, at, values, wrt, gates, reduce, ("mean", "sum"), on_error,
                        header)
    from gradcalc.data.plan import Stream

    stream = Stream(plan)
    reduced = reduce_data(plan, reduce, stream)
    return DataResult(reduced, _warned(plan.graph, point, plan.warnings + stream.notes()))


def _plan(source: Source, data: DataSource, at: Mapping[str, Any] | None, values: Mapping[str, Any],
          wrt: Sequence[str] | None, gates: str, reduce: str, reductions: tuple[str, ...],
          on_error: str, header: Sequence[str] | None = None) -> tuple[Any, Point]:
    """The expression over the rows of `data`: a path, or columns in memory."""
    _choice("reduce", reduce, reductions)
    _choice("on_error", on_error, ("fail", "skip"))
    try:
        from gradcalc.data.files import MemoryTable, open_table
        from gradcalc.data.plan import plan_data
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(f"data needs {exc.name}: pip install 'gradcalc[data]'",
                                  name=exc.name) from None
    if isinstance(data, (str, os.PathLike)):
        table = open_table(os.fspath(data), None if header is None else _names(header))
    elif header is not None:
        raise UsageError("header names the columns of a plain .npy file; data in memory names "
                         "its own (an array of shape (rows, n) under the name x is the vector x)"
                         ).about("header")
    else:
        table = MemoryTable(data)
    point = point_of(at or {}, values)
    from gradcalc.core.gates import MODES

    _choice("gates", gates, MODES)
    # scalar gates over data: the plan unrolls the vectors, knowing which columns feed them
    lowered = _lowered(source, point, "written" if gates == "scalar" else gates, columns=table.names)
    plan = plan_data(lowered, table, point, wrt=_names(wrt), reduce=reduce, on_error=on_error,
                     elements=gates == "scalar")
    return plan, point


def _refuse_header_without_data(header: Sequence[str] | None, data: DataSource | None) -> None:
    if header is not None and data is None:
        raise UsageError("header names the columns of a plain 2-D .npy file given as data: "
                         "give data too").about("header", "data")


def _warned(graph_: Graph, point: Point, notes: Sequence[str]) -> list[str]:
    """The warnings of a call, each also given to `warnings.warn` (at the caller's line)."""
    unused = point.unused(graph_)
    said = [f"given {listed(unused)}, which the expression does not use"] if unused else []
    level = _caller_level()
    for message in said:
        _warnings.warn(message, UnusedValueWarning, stacklevel=level)
    for message in (*graph_.notes, *notes):
        _warnings.warn(message, GradcalcWarning, stacklevel=level)
    return [*said, *graph_.notes, *notes]


def _caller_level() -> int:
    """The `stacklevel` of the first frame outside gradcalc: the caller's line is the one shown."""
    import inspect

    here = inspect.currentframe()
    frame, level = (here.f_back if here else None), 1  # level 1: the function that warns
    while frame is not None and frame.f_globals.get("__name__", "").startswith("gradcalc"):
        frame, level = frame.f_back, level + 1
    del here, frame  # a frame kept in its own locals is a cycle: the callers' values would
    return level     # wait for the garbage collector (a 1000×1000 gradient per call)


def _names(wrt: str | Sequence[str] | None) -> tuple[str, ...] | None:
    """`wrt` as names: "a" or "a,b" or ["a", "b"]."""
    if wrt is None:
        return None
    if isinstance(wrt, str):
        return tuple(name.strip() for name in wrt.split(",") if name.strip())
    return tuple(wrt)


def _choice(parameter: str, value: object, choices: Sequence[str]) -> None:
    if value not in choices:
        raise UsageError(f"{parameter}={value!r}: choose one of "
                         f"{', '.join(map(repr, choices))}").about(parameter)


def _at_least(parameter: str, value: object, low: float, open_: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueTypeError(f"{parameter}={value!r}: expected a number").about(parameter)
    if value < low or (open_ and value == low):
        bound = f"above {low}" if open_ else f"at least {low}"
        raise UsageError(f"{parameter}={value!r}: must be {bound}").about(parameter)
    return value


@contextmanager
def _python_terms() -> Iterator[None]:
    """Errors that say how to give a value speak Python: `missing value for b (pass b=...)`."""
    try:
        yield
    except MissingValues as exc:
        example = ", ".join(f"{name}=..." for name in exc.names[:3])
        exc.args = (f"{exc} (pass {example})",)
        raise
    except ConstantAssignment as exc:
        target = exc.target
        exc.args = (f"'{target} = ...' assigns a constant: to give {target} a value, pass "
                    f"{target}=...; to compute it, write the expression alone",)
        raise
