"""A point: named value texts → numbers of any number system, read by the expression parser.

A value is a constant expression (`5`, `-1e-3`, `1/3`, `pi/4`, `sqrt(2)`). Its text is kept,
so that each number system reads it its own way (0.1 is 1/10 exactly, or 0.1 to a thousand
digits); a value that is not a plain literal is parsed and lowered once, when the point is
made. Reading a point reads every value, used or not, so each one is checked.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Mapping

from gradcalc.core.graph import Graph, lower
from gradcalc.core.parse import parse, signed_number
from gradcalc.errors import DomainError, GradcalcError, UsageError, short
from gradcalc.numbers import floats

if TYPE_CHECKING:
    from gradcalc.numbers import NumberSystem


class Point:
    """Value texts by input name, in the order given; `read(m)` gives them in system `m`."""

    def __init__(self, texts: Mapping[str, str]):
        self.texts: dict[str, str] = dict(texts)
        self._literals: dict[str, str] = {}
        self._graphs: dict[str, Graph] = {}
        for name, text in self.texts.items():
            literal = _literal(text, name)
            if literal is None:
                self._graphs[name] = _value_graph(text, name)
            else:
                self._literals[name] = literal

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.texts)

    def read(self, m: NumberSystem = floats, names: Iterable[str] | None = None) -> dict[str, Any]:
        """Each value (or those of `names`) as a number of system `m`."""
        chosen = self.texts if names is None else names
        return {name: self._value(name, m) for name in chosen}

    def unused(self, graph: Graph) -> list[str]:
        """The names given a value that are not inputs of the graph, in the order given."""
        inputs = set(graph.input_names)
        return [name for name in self.texts if name not in inputs]

    def _value(self, name: str, m: NumberSystem) -> Any:
        literal = self._literals.get(name)
        if literal is not None:
            return m.number(literal)
        graph = self._graphs[name]
        from gradcalc.core.autodiff import forward

        try:
            return forward(graph, {}, m)[graph.output]
        except DomainError as exc:
            raise _bad(self.texts[name], name, str(exc)) from None


def add_value(texts: dict[str, str], name: str, value: str) -> None:
    """Give `name` the value text `value`; a name given twice (`w=[1, 2]` and `w0=5`) must
    get one value, however it is written (`0.5` and `1/2` agree)."""
    if name in texts and texts[name] != value and constant(texts[name], name=name) != constant(value, name=name):
        raise UsageError(f"at gives {name} two different values: {texts[name]} and {value}").about("at")
    texts.setdefault(name, value)


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
