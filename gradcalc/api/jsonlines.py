"""Many evaluations in one process: JSON Lines in, one JSON document out per line, in order.

A line is an object whose keys are the options of `gradcalc eval` at one point:

    {"expr": "3*(a+b*c)", "at": {"a": 5, "b": 3, "c": 2}, "wrt": ["a", "b"]}

Its answer is the document `gradcalc eval --format json` prints for the same options (with
the line's "id" first and its "warnings" last, when it has them); a line that fails answers
`{"line": 3, "exit_code": 2, "error": "..."}` and the lines after it go on. Graphs are kept
by expression text in a bounded cache, so evaluating one expression at many points parses,
lowers and plans it once.
"""
from __future__ import annotations

import json
import re
from collections import OrderedDict
from typing import Any, Callable, Iterable, Iterator, NamedTuple

from gradcalc.api.points import exact_arrays, float_system, point_of
from gradcalc.core import autodiff
from gradcalc.core.gates import MODES, lower_gates
from gradcalc.core.graph import Graph
from gradcalc.core.ops import CONSTANTS
from gradcalc.core.parse import parse
from gradcalc.core.values import Point
from gradcalc.errors import (
    ConstantAssignment,
    GradcalcError,
    MissingValues,
    UsageError,
    ValueTypeError,
    listed,
    printable,
    quote_window,
)
from gradcalc.limits import exact_clock, exceeded, limit
from gradcalc.render import renderer
from gradcalc.render.json import eval_document

# The keys of a line, in the order the README lists them.
KEYS = ("expr", "at", "wrt", "output", "gates", "nonfinite", "exact", "digits", "hessian",
        "jacobian", "mode", "format", "id")
EXAMPLE = '{"expr": "3*(a+b*c)", "at": {"a": 5, "b": 3, "c": 2}}'
# Keys of `eval --data` and other commands: a line is one point.
ELSEWHERE = {"data", "reduce", "on_error", "engine", "scheduler", "chunk_size", "file"}
CACHED_GRAPHS = 1024


def batch(lines: Iterable[str], *, warnings: bool = True) -> Iterator[dict[str, Any]]:
    """The answer to each JSON line, in order; blank lines have none. `warnings=False`
    leaves the warnings out of the answers.

    >>> for answer in batch(['{"expr": "x*y", "at": {"x": 2, "y": 3}, "id": 1}',
    ...                      '{"expr": "log(x)", "at": {"x": 0}}']):
    ...     print(answer)
    {'id': 1, 'output': 'f', 'value': 6.0, 'at': {'x': 2.0, 'y': 3.0}, 'gradient': {'x': 3.0, 'y': 2.0}}
    {'line': 2, 'exit_code': 3, 'error': 'stage f = log(x): log of 0 (x = 0)'}
    """
    answers = Batch(warnings=warnings)
    for number, line in enumerate(lines, 1):
        if line.strip():
            yield answers.answer(line, number)


class Request(NamedTuple):
    """One line's options, checked: what `gradcalc eval` takes at one point."""

    expr: str
    at: dict[str, Any]
    wrt: tuple[str, ...] | None
    outputs: str | tuple[str, ...] | None
    gates: str
    nonfinite: str
    exact: bool
    digits: int | None
    hessian: bool
    jacobian: bool
    mode: str | None


class Batch:
    """Answers lines one at a time, keeping the graphs of the expressions it has seen.

    `internal`, when given, turns an exception that is not gradcalc's (a bug) into the
    message of an answer with exit code 1 instead of letting it through.
    """

    def __init__(self, warnings: bool = True, internal: Callable[[Exception], str] | None = None):
        self.graphs = Graphs()
        self.warnings = warnings
        self.internal = internal

    def answer(self, line: str, number: int) -> dict[str, Any]:
        """The document for one line, or its error object (`number` is the line's, from 1)."""
        fields: dict[str, Any] = {}
        try:
            fields = read_line(line)
            document, warned = self.evaluated(request_of(fields))
        except GradcalcError as exc:
            return failure(fields, number, exc.exit_code, message(exc))
        except Exception as exc:
            if self.internal is None:
                raise
            return failure(fields, number, 1, self.internal(exc))
        if "id" in fields:
            document = {"id": fields["id"], **document}
        if warned and self.warnings:
            document["warnings"] = [printable(warning) for warning in warned]
        return document

    def evaluated(self, request: Request) -> tuple[dict[str, Any], list[str]]:
        """The eval document and its warnings, chosen as `gradcalc eval` chooses them."""
        if request.mode is not None and not request.jacobian:
            raise UsageError('mode says how jacobian computes the Jacobian: add "jacobian": true')
        if request.outputs is not None or request.jacobian:
            return self.outputs(request)
        if request.exact or request.digits is not None or request.hessian:
            return self.numbers(request)
        graph, point = self.prepared(request)
        return self.at_point(request, graph, point)

    def at_point(self, request: Request, graph: Graph, point: Point) -> tuple[dict[str, Any], list[str]]:
        """Value and gradient in float64, on numpy arrays for vectors and matrices."""
        if request.nonfinite == "ieee" and (graph.vectorised or point.shaped):
            from gradcalc.analyses.modes import ieee_on_elements

            evaluation = ieee_on_elements(graph, point, request.wrt)
            return rendered(evaluation.renderer, evaluation.shown), warned(graph, point, evaluation.warnings)
        m = float_system(graph, point)
        result = autodiff.evaluate(graph, point.read(m), request.wrt, m=m, nonfinite=request.nonfinite)
        return eval_document(result), warned(graph, point, result.warnings)

    def prepared(self, request: Request) -> tuple[Graph, Point]:
        """The graph (from the cache when the same text was lowered the same way) and the
        point; on a miss the text is parsed before the values are read, as the command does."""
        # a circuit unrolled by gates scalar depends on the shapes of the values too
        shapes = tuple(point_of(request.at).shapes.items()) if request.gates == "scalar" else ()
        key = (request.expr, request.gates, constants_given(request.at), request.outputs, shapes)
        graph = self.graphs.get(key)
        if graph is not None:
            return graph, point_of(request.at).fitted(graph)
        program = parse(request.expr)
        point = point_of(request.at)
        graph = lower_gates(program, given=point.names, gates=request.gates, shapes=point.shapes)
        if request.outputs is not None:
            graph = graph.with_outputs(request.outputs)
        self.graphs.keep(key, graph)
        return graph, point.fitted(graph)

    def outputs(self, request: Request) -> tuple[dict[str, Any], list[str]]:
        """Chosen outputs or a Jacobian: one output answers as a plain evaluation does."""
        graph, point = self.prepared(request)
        if len(graph.outputs) == 1 and not request.jacobian:
            if request.exact or request.digits is not None or request.hessian:
                return self.numbers(request, (graph, point))
            return self.at_point(request, graph, point)
        if request.hessian:
            raise UsageError("hessian is of one output: choose it with output NAME")
        if request.nonfinite != "strict":
            raise UsageError("nonfinite ieee works with one output")
        if request.jacobian:
            return self.jacobian(request, graph, point)
        return self.numbers(request, (graph, point))

    def jacobian(self, request: Request, graph: Graph, point: Point) -> tuple[dict[str, Any], list[str]]:
        from gradcalc.analyses.modes import jacobian_at

        if request.digits is not None:
            raise UsageError("jacobian counts passes in float64 or exact values; for the Jacobian "
                             "to N digits leave out jacobian (reverse mode)")
        with exact_clock(request.exact):
            m = number_system(request.exact)
            computed = jacobian_at(graph, point, wrt=request.wrt, mode=request.mode or "auto", m=m)
            return rendered("eval --outputs", computed), warned(graph, point, computed.warnings)

    def numbers(self, request: Request, prepared: tuple[Graph, Point] | None = None
                ) -> tuple[dict[str, Any], list[str]]:
        """Exact values, N digits, a Hessian, or several outputs in any of them."""
        from gradcalc.analyses.modes import compute, compute_outputs

        if request.nonfinite != "strict":
            raise UsageError("nonfinite ieee works with float64 values only")
        if request.exact and request.digits is not None:
            raise UsageError("exact and digits exclude each other: exact values have every digit")
        if request.hessian and request.digits is not None:
            raise UsageError("hessian works with float64 or exact values, not with digits")
        with exact_clock(request.exact):
            graph, point = prepared or self.prepared(request)
            if len(graph.outputs) > 1:
                evaluation = compute_outputs("eval", graph, point, wrt=request.wrt, exact=request.exact,
                                             digits=request.digits)
            else:
                evaluation = compute("eval", graph, point, wrt=request.wrt, exact=request.exact,
                                     digits=request.digits, hessian=request.hessian,
                                     exact_arrays=exact_arrays(graph, point, request.exact))
            return rendered(evaluation.renderer, evaluation.shown), warned(graph, point, evaluation.warnings)


class Graphs:
    """The graphs lowered so far, the least recently used dropped first: at most
    CACHED_GRAPHS of them and GRADCALC_MAX_NODES nodes in all, so that a long batch of
    different expressions holds no more than one graph of the largest size allowed."""

    def __init__(self) -> None:
        self.kept: OrderedDict[tuple, Graph] = OrderedDict()
        self.nodes = 0

    def get(self, key: tuple) -> Graph | None:
        graph = self.kept.get(key)
        if graph is not None:
            self.kept.move_to_end(key)
        return graph

    def keep(self, key: tuple, graph: Graph) -> None:
        self.kept[key] = graph
        self.nodes += len(graph.nodes)
        allowed = limit("GRADCALC_MAX_NODES")
        while len(self.kept) > 1 and (len(self.kept) > CACHED_GRAPHS or self.nodes > allowed):
            _, dropped = self.kept.popitem(last=False)
            self.nodes -= len(dropped.nodes)


def constants_given(at: dict[str, Any]) -> tuple[str, ...]:
    """The constants (pi, e) given a value, which makes them inputs: the one part of the
    point that changes the graph. (A list gives names ending in digits, never a constant.)"""
    return tuple(name for name in CONSTANTS if name in at and not isinstance(at[name], list))


def number_system(exact: bool) -> Any:
    if exact:
        from gradcalc.numbers import symbolic

        return symbolic
    from gradcalc.numbers import floats

    return floats


def rendered(command: str, shown: Any) -> dict[str, Any]:
    """The JSON document of a renderer of `command` (the modes write theirs as text)."""
    document: dict[str, Any] = json.loads(renderer(command, "json")(shown))
    return document


def warned(graph: Graph, point: Point, warnings: Iterable[str]) -> list[str]:
    """The warnings `gradcalc eval` prints for the same options, in the line's words."""
    unused = point.unused(graph)
    said = [f"at gives {listed(unused)}, which the expression does not use"] if unused else []
    return [*said, *graph.notes, *warnings]


def failure(fields: dict[str, Any], number: int, code: int, text: str) -> dict[str, Any]:
    """The answer of a line that failed: its id (if it got that far), number, exit code and
    the one-line message."""
    answer = {"id": fields["id"]} if "id" in fields else {}
    return {**answer, "line": number, "exit_code": int(code), "error": text}


def message(exc: GradcalcError) -> str:
    """The library's message in the words of a line: the parameters it names are the line's
    keys already (`at b=1/0: ...`, `wrt names z`), but for `output` (the command line's
    --output) and the values to give, which go in "at"."""
    if isinstance(exc, ConstantAssignment):
        target = exc.target
        return printable(f"'{target} = ...' assigns a constant: to give {target} a value, put it in "
                         f'"at" ({{"{target}": ...}}); to compute it, write the expression alone')
    if isinstance(exc, MissingValues) and exc.label is None:
        example = ", ".join(f'"{name}": ...' for name in exc.names[:3])
        return printable(f'{exc} (give {"them" if len(exc.names) > 1 else "it"} in "at": {{{example}}})')
    text = str(exc)
    if "outputs" in exc.parameters:
        text = re.sub(r"(?<![\w-])outputs(?= )", "output", text, count=1)
    return printable(text)


# ---- reading a line ------------------------------------------------------------------------

def read_line(line: str) -> dict[str, Any]:
    """The JSON object of one line: at most GRADCALC_MAX_INPUT characters, each key once."""
    allowed = limit("GRADCALC_MAX_INPUT")
    if len(line.rstrip("\r\n")) > allowed:
        raise exceeded("GRADCALC_MAX_INPUT", allowed, "the line is longer")
    try:
        value = DECODER.decode(line)
    except GradcalcError:
        raise
    except json.JSONDecodeError as exc:
        column = exc.pos + 1
        raise UsageError(f"not valid JSON: {exc.msg} at column {column}: "
                         f"{quote_window(line.rstrip(), column)[0]}") from None
    except RecursionError:
        raise UsageError("not valid JSON here: its arrays or objects are nested too deeply") from None
    except ValueError:  # an integer of more digits than Python converts to a number
        raise UsageError("not valid JSON here: a number has too many digits (a value has at most "
                         "400)") from None
    if not isinstance(value, dict):
        raise UsageError(f"a line is a JSON object such as {EXAMPLE}, not {json_kind(value)}")
    return value


def _once_each(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are all different (json keeps the last of a repeated key)."""
    document = dict(pairs)
    if len(document) < len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise UsageError(f"{json.dumps(printable(key))} is given twice in one object: give it once")
            seen.add(key)
    return document


DECODER = json.JSONDecoder(object_pairs_hook=_once_each)  # made once: json.loads with a hook makes one per call


def request_of(fields: dict[str, Any]) -> Request:
    """The line's options, each checked for its type; a key that is not an option of
    `eval` at a point is an error that says which are."""
    for key in fields:
        if key not in KEYS:
            raise UsageError(unknown_key(key))
    if "expr" not in fields:
        raise UsageError(f'missing "expr": the expression or program, as in {EXAMPLE}')
    expr = fields["expr"]
    if not isinstance(expr, str):
        raise ValueTypeError(f"expr: expected the expression as a string, not {json_kind(expr)}")
    get = fields.get
    fmt = get("format")
    if fmt is not None and fmt != "json":
        raise UsageError(f"format {json.dumps(fmt)}: each answer is JSON (leave format out, or give \"json\")")
    return Request(expr, values(get("at")), names("wrt", get("wrt")), outputs_of(get("output")),
                   choice("gates", get("gates"), MODES, "written"),
                   choice("nonfinite", get("nonfinite"), ("strict", "ieee"), "strict"),
                   flag("exact", get("exact")), digits_of(get("digits")), flag("hessian", get("hessian")),
                   flag("jacobian", get("jacobian")), choice("mode", get("mode"), ("auto", "reverse", "forward")))


def unknown_key(key: str) -> str:
    known = ", ".join(KEYS)
    if key in ELSEWHERE:
        return (f"{json.dumps(key)} is not an option of a line: a line evaluates at one point "
                f"(for the rows of a file use gradcalc eval --data); a line's keys are {known}")
    from difflib import get_close_matches  # only for a mistyped key

    close = get_close_matches(key, KEYS, n=1)
    hint = f" (did you mean {json.dumps(close[0])}?)" if close else ""
    return f"unknown key {json.dumps(printable(key))}{hint}: a line's keys are {known}"


def values(at: Any) -> dict[str, Any]:
    """`"at": {"a": 5, "b": "1/3", "w": [2, -3], "W": [[1, 2], [3, 4]]}`: numbers, strings the
    parser reads, lists (the vector w, or the w0, w1, ... shorthand) and lists of lists
    (matrices), as the Python API takes them."""
    if at is None:
        return {}
    if not isinstance(at, dict):
        raise ValueTypeError(f'at: expected an object of names and values such as {{"a": 5, "b": "1/3"}}, '
                             f"not {json_kind(at)}")
    for name, value in at.items():
        _check_elements(printable(name), value, depth=0)
    return at


def _check_elements(name: str, value: Any, depth: int) -> None:
    """A number or a string, or (at most two levels deep) a list of them."""
    if isinstance(value, list) and depth < 2:
        for element in value:
            _check_elements(name, element, depth + 1)
    elif isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueTypeError(f'at {name}: a value is a number, a string such as "pi/4", a list '
                             f"([2, -3]: the vector {name}, or {name}0 and {name}1) or a list of lists "
                             f"(a matrix), not {json_kind(value)}")


def names(key: str, given: Any) -> tuple[str, ...] | None:
    """`"a,b"` or `["a", "b"]`; None when not given."""
    if given is None:
        return None
    if isinstance(given, str):
        return tuple(word.strip() for word in given.split(",") if word.strip()) or None
    if isinstance(given, list) and all(isinstance(name, str) for name in given):
        return tuple(given)
    raise ValueTypeError(f'{key}: expected names as a list ["a", "b"] or a string "a,b", not {json_kind(given)}')


def outputs_of(given: Any) -> str | tuple[str, ...] | None:
    """`"f,g"`, `["f", "g"]` or `"all"`, as `--output` takes them."""
    if isinstance(given, str) and given.strip() == "all":
        return "all"
    chosen = names("output", given)
    return None if given is None else chosen or ()


def choice(key: str, given: Any, choices: tuple[str, ...], default: Any = None) -> Any:
    if given is None:
        return default
    if given not in choices:
        shown = ", ".join(json.dumps(c) for c in choices)
        raise UsageError(f"{key} {json.dumps(given)}: choose one of {shown}")
    return given


def flag(key: str, given: Any) -> bool:
    if given is None:
        return False
    if not isinstance(given, bool):
        raise ValueTypeError(f"{key}: expected true or false, not {json_kind(given)}")
    return given


def digits_of(given: Any) -> int | None:
    if given is None:
        return None
    if isinstance(given, bool) or not isinstance(given, int) or given < 1:
        raise UsageError(f"digits: expected a whole number of at least 1, not {json_kind(given)}")
    return given


def json_kind(value: Any) -> str:
    """How a JSON value reads in a message: `true`, `the string "x"`, `an object`..."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, str):
        return f"the string {printable(json.dumps(value[:40]))}" + ("…" if len(value) > 40 else "")
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    return "a list" if isinstance(value, list) else "an object"
