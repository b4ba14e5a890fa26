"""A point: named value texts → numbers of any number system, read by the expression parser.

A value is a constant expression (`5`, `-1e-3`, `1/3`, `pi/4`, `sqrt(2)`). Its text is kept,
so that each number system reads it its own way (0.1 is 1/10 exactly, or 0.1 to a thousand
digits); a value that is not a plain literal is parsed and lowered once, when the point is
made. Reading a point reads every value, used or not, so each one is checked.

A value in brackets is a vector (`[2, -3, -3]`) or a matrix (`[[1, 2], [3, 4]]`), rectangular,
each element a constant expression; the array number system makes it an array. A vector's
elements may also be given as scalars w0, w1, ... (the `--at w=[...]` shorthand): `fitted`
keeps whichever the expression names.
"""
from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any, Iterable, Mapping, TypeVar

from gradcalc.core.graph import VECTOR_MODES, Graph, lower
from gradcalc.core.parse import parse, signed_number
from gradcalc.core.unroll import element_label, element_labels_of, element_name, element_names
from gradcalc.errors import DomainError, GradcalcError, UsageError, short
from gradcalc.numbers import floats

if TYPE_CHECKING:
    from gradcalc.numbers import NumberSystem

_T = TypeVar("_T")


class Point:
    """Value texts by input name, in the order given; `read(m)` gives them in system `m`."""

    def __init__(self, texts: Mapping[str, str], arrays: Mapping[str, Any] | None = None):
        """`arrays`: vectors and matrices already numbers (finite float64 arrays from Python),
        kept as they are, not written out and read back."""
        self.texts: dict[str, str] = dict(texts)
        self._literals: dict[str, str] = {}
        self._graphs: dict[str, Graph] = {}
        self.shapes: dict[str, tuple[int, ...]] = {}  # the vectors' and matrices' shapes
        self._elements: dict[str, Point | list[str]] = {}  # plain literals stay a list
        self._arrays: dict[str, Any] = dict(arrays or {})
        for name, array in self._arrays.items():
            self.texts[name] = _ARRAY
            self.shapes[name] = tuple(array.shape)
        for name, text in self.texts.items():
            if name in self._arrays:
                continue
            if text.startswith("["):
                self.shapes[name], elements = nested(text, name)
                self._elements[name] = _literals(elements) or \
                    Point(dict(zip(element_labels_of(name, self.shapes[name]), elements)))
                continue
            literal = _literal(text, name)
            if literal is None:
                self._graphs[name] = _value_graph(text, name)
            else:
                self._literals[name] = literal

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.texts)

    def read(self, m: NumberSystem = floats, names: Iterable[str] | None = None) -> dict[str, Any]:
        """Each value (or those of `names`) as a number of system `m`. A system without
        arrays skips the vectors whose elements are given as scalars too (w and w0, w1...)."""
        chosen = self.texts if names is None else names
        if names is None and not hasattr(m, "array"):
            chosen = [name for name in chosen if name not in self.shapes or not self._expanded(name)]
        return {name: self._value(name, m) for name in chosen}

    def fitted(self, graph: Graph) -> "Point":
        """The point for this graph: a vector given as `w=[...]` is the vector w when the
        graph names w, its elements w0, w1, ... when it names those; both at once is an error."""
        inputs = set(graph.input_names)
        texts = dict(self.texts)
        arrays = dict(self._arrays)
        self._split(texts, arrays, inputs)
        for name, array in self._arrays.items():
            if name not in inputs and len(array.shape) == 1 and f"{name}0" in inputs:
                del texts[name], arrays[name]  # the shorthand: w0, w1, ... from a 1-D array
                for k, element in enumerate(array.tolist()):
                    add_value(texts, f"{name}{k}", repr(float(element)))
        for name in self.shapes:
            if name not in texts:
                continue
            elements = [element for element in self._scalars(name) if element in texts]
            if name in inputs and elements:
                _refuse_both(name, [element for element in elements if element in inputs])
                for element in elements:
                    del texts[element]
            elif elements:
                del texts[name]
        if texts == self.texts:
            return self
        return self._kept(texts, arrays)

    def _split(self, texts: dict[str, str], arrays: dict[str, Any], inputs: set[str]) -> None:
        """Each vector or matrix the graph names by its elements alone (`W_0_1` for W[0, 1],
        the inputs of a circuit unrolled by gates scalar) becomes those scalars."""
        for name, shape in self.shapes.items():
            first = element_name(name, (0,) * len(shape))  # named alone only if its first is
            if name in texts and name not in inputs and first in inputs:
                _refuse_both(name, [scalar for scalar in self._scalars(name) if scalar in inputs])
                del texts[name]
                arrays.pop(name, None)
                for scalar in self._scalars(name):  # w0, w1, ...: the shorthand's, unused here
                    texts.pop(scalar, None)
                for element, text in zip(element_names(name, shape), self._element_texts(name)):
                    add_value(texts, element, text)

    def _element_texts(self, name: str) -> list[str]:
        if name in self._arrays:
            return [repr(float(element)) for element in self._arrays[name].ravel().tolist()]
        elements = self._elements[name]
        return elements if isinstance(elements, list) else list(elements.texts.values())

    def _kept(self, texts: dict[str, str], arrays: dict[str, Any]) -> "Point":
        """The point of these names, each value as already read here (not parsed again)."""
        kept = Point({name: texts[name] for name in texts if name not in self.texts})
        kept.texts = texts
        kept._arrays = arrays
        kept._literals.update(_within(self._literals, texts))
        kept._graphs.update(_within(self._graphs, texts))
        kept.shapes = _within(self.shapes, texts)
        kept._elements = _within(self._elements, texts)
        return kept

    @property
    def shaped(self) -> bool:
        """Whether a value is a vector or a matrix."""
        return bool(self.shapes)

    def _scalars(self, name: str) -> list[str]:
        """w0, w1, ...: the names of a vector's elements, when they are given too."""
        shape = self.shapes[name]
        if len(shape) != 1 or f"{name}0" not in self.texts:
            return []
        return [f"{name}{k}" for k in range(shape[0])]

    def _expanded(self, name: str) -> bool:
        """Whether a vector's elements are all given as scalars too (w and w0, w1, ...)."""
        scalars = self._scalars(name)
        return bool(scalars) and all(element in self.texts for element in scalars)

    def unused(self, graph: Graph) -> list[str]:
        """The names given a value that are not inputs of the graph, in the order given."""
        inputs = set(graph.input_names)
        return [name for name in self.texts if name not in inputs]

    def _value(self, name: str, m: NumberSystem) -> Any:
        if name in self.shapes:
            return self._array(name, m)
        literal = self._literals.get(name)
        if literal is not None:
            return m.number(literal)
        graph = self._graphs[name]
        from gradcalc.core.autodiff import forward

        try:
            return forward(graph, {}, m)[graph.output]
        except DomainError as exc:
            raise _bad(self.texts[name], name, str(exc)) from None

    def _array(self, name: str, m: NumberSystem) -> Any:
        make = getattr(m, "array", None)
        if make is None:
            raise UsageError(f"at {name}: a {shape_text(self.shapes[name])}: {VECTOR_MODES}").about("at")
        if name in self._arrays:
            shaped: Any = m  # a system with arrays: given as float64, exact mode reads each exactly
            return shaped.asarray(self._arrays[name])
        elements = self._elements[name]
        if isinstance(elements, list):
            return make(elements, self.shapes[name])
        return make(list(elements.read(m).values()), self.shapes[name])


def _refuse_both(name: str, used: list[str]) -> None:
    if used:
        raise UsageError(f"at {name}: the expression names both the vector {name} and "
                         f"its elements ({', '.join(used)}): use one or the other").about("at")


_ARRAY = "[…]"  # the text of a value given as an array (never read)


def shape_text(shape: tuple[int, ...]) -> str:
    """`3-vector`, `2×3 matrix`: a shape as people say it."""
    if not shape:
        return "scalar"
    if len(shape) == 1:
        return f"{shape[0]}-vector"
    return "×".join(map(str, shape)) + (" matrix" if len(shape) == 2 else " array")


def nested(text: str, name: str) -> tuple[tuple[int, ...], list[str]]:
    """The shape and the element texts (row-major) of `[1, 2]` or `[[1, 2], [3, 4]]`.

    Rectangular, at most two levels deep; an error names the element or row at fault.
    """
    quick = _plain_numbers(text)
    if quick is not None:
        return quick
    rows = _items(text, text, name, ())
    if not any(row.startswith("[") for row in rows):
        return (len(rows),), rows
    if not all(row.startswith("[") for row in rows):
        at = next(k for k, row in enumerate(rows) if not row.startswith("["))
        raise _bad(text, name, f"{name}[{at}] is a number but the other rows are vectors: "
                               "a matrix is written [[a, b], [c, d]]")
    table = [_items(row, text, name, (k,)) for k, row in enumerate(rows)]
    for k, row in enumerate(table):
        if len(row) != len(table[0]):
            raise _bad(text, name, f"row {name}[{k}] has {_elements(len(row))} and row {name}[0] "
                                   f"{_elements(len(table[0]))}: a matrix is rectangular")
        deeper = next((j for j, element in enumerate(row) if element.startswith("[")), None)
        if deeper is not None:
            raise _bad(text, name, f"{name}[{k}, {deeper}] is not a number: values are vectors "
                                   "or matrices (at most two levels of brackets)")
    return (len(table), len(table[0])), [element for row in table for element in row]


def _plain_numbers(text: str) -> tuple[tuple[int, ...], list[str]] | None:
    """A vector or matrix of plain JSON numbers, read at C speed (a 1000×1000 matrix is 22 MB
    of text); None for anything else, which the careful reader below reads and names."""
    import json  # only for values in brackets

    try:
        rows = json.loads(text, parse_float=str, parse_int=str, parse_constant=_no_constant)
    except ValueError:
        return None
    if not isinstance(rows, list) or not rows:
        return None
    if all(isinstance(row, str) for row in rows):
        return (len(rows),), rows
    if not all(isinstance(row, list) and row and len(row) == len(rows[0]) and
               all(isinstance(element, str) for element in row) for row in rows):
        return None
    return (len(rows), len(rows[0])), [element for row in rows for element in row]


def _no_constant(name: str):
    raise ValueError(name)  # NaN and Infinity are no numbers here


_PLAIN = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _literals(elements: list[str]) -> list[str] | None:
    """The element texts if every one is a plain literal in range (the common case), checked
    in one pass of a regular expression; else None (each is then read, and named if bad)."""
    if not all(map(_PLAIN.fullmatch, elements)) or max(map(len, elements)) > 400:
        return None
    if not all(map(math.isfinite, map(float, elements))):
        return None
    return elements


def _elements(count: int) -> str:
    return f"{count} element{'' if count == 1 else 's'}"


def _items(text: str, whole: str, name: str, at: tuple[int, ...]) -> list[str]:
    """The comma-separated items inside one pair of brackets (the row `at` of `whole`)."""
    where = element_label(name, at)
    if not text.endswith("]") or _depth_closes_early(text):
        raise _bad(whole, name, f"{where} is written [v0, v1, ...] with its brackets balanced")
    items, depth, start = [], 0, 1
    for i, ch in enumerate(text[1:-1], 1):
        depth += ch in "([" and 1 or ch in ")]" and -1 or 0
        if ch == "," and depth == 0:
            items.append(text[start:i].strip())
            start = i + 1
    items.append(text[start:-1].strip())
    empty = next((k for k, item in enumerate(items) if not item), None)
    if empty is not None:
        raise _bad(whole, name, f"{name}[{', '.join(map(str, (*at, empty)))}] is empty: write a number")
    return items


def _depth_closes_early(text: str) -> bool:
    """Whether the first '[' is closed before the end (`[1], [2]`), or never."""
    depth = 0
    for i, ch in enumerate(text):
        depth += ch in "([" and 1 or ch in ")]" and -1 or 0
        if depth == 0:
            return i != len(text) - 1
    return True


def _within(parsed: dict[str, _T], names: Mapping[str, str]) -> dict[str, _T]:
    return {name: value for name, value in parsed.items() if name in names}


def add_value(texts: dict[str, str], name: str, value: str) -> None:
    """Give `name` the value text `value`; a name given twice (`w=[1, 2]` and `w0=5`) must
    get one value, however it is written (`0.5` and `1/2` agree)."""
    if name in texts and texts[name] != value and _read_any(texts[name], name) != _read_any(value, name):
        raise UsageError(f"at gives {name} two different values: {texts[name]} and {value}").about("at")
    texts.setdefault(name, value)


def _read_any(text: str, name: str) -> Any:
    """A value to compare: a number, or a vector or matrix as its shape and numbers."""
    if text.startswith("["):
        shape, elements = nested(text, name)
        return shape, [constant(element, name=name) for element in elements]
    return constant(text, name=name)


def constant(text: str, m: NumberSystem = floats, name: str = "") -> Any:
    """The value of one constant expression such as `-1e-3`, `1/3` or `sqrt(2)`."""
    return Point({name or "value": text}).read(m)[name or "value"]


def _literal(text: str, name: str) -> str | None:
    """The text if it is one plain literal (the common case, read without building a graph)."""
    try:
        return signed_number(text)
    except GradcalcError as exc:
        raise _bad(text, name, str(exc)) from None


def _value_graph(text: str, name: str) -> Graph:
    if any(ch in text for ch in ";=\n"):
        raise _bad(text, name, "a value is one constant expression, not an assignment or a program")
    try:
        graph = lower(parse(text))
    except GradcalcError as exc:
        raise _bad(text, name, str(exc)) from None
    if graph.input_names:
        free = ", ".join(graph.input_names)
        raise _bad(text, name, f"a value must be a number or a constant expression; '{free}' is "
                               "not a known constant (nan and inf are not allowed)")
    return graph


def _bad(text: str, name: str, reason: str) -> UsageError:
    """An error about one value: `at b=1/0: division by zero` (parameter `at`)."""
    return UsageError(f"at {name}={short(text, 60)}: {reason}").about("at")
