"""`--at` text → named values, read by the same safe parser as expressions.

`a=5,b=1/3,c=pi/4` gives three values; `w=[2,-3,-3]` is shorthand for w0, w1, w2. A value
is a constant expression; its text is kept so other number systems (exact, many digits)
can read it their own way.
"""
from __future__ import annotations

from typing import Any, Iterable

from . import floatmath
from .errors import DomainError, GradcalcError, UsageError, short
from .graph import lower
from .parse import parse, signed_number


def parse_at(options: Iterable[str]) -> dict[str, str]:
    """Merge repeated `--at` options into name → value text, in the order given."""
    texts: dict[str, str] = {}
    for option in options:
        for item in _split_top_level(option, ","):
            name, value = _assignment(item, option)
            if value.startswith("["):
                for k, element in enumerate(_vector(name, value)):
                    _merge(texts, f"{name}{k}", element)
            else:
                _merge(texts, name, value)
    return texts


def float_values(texts: dict[str, str], m: Any = floatmath) -> dict[str, Any]:
    """Each value text evaluated as a constant expression in number system `m`."""
    return {name: constant(text, m, name) for name, text in texts.items()}


def constant(text: str, m: Any = floatmath, name: str = "") -> Any:
    """The value of a constant expression such as `-1e-3`, `1/3` or `sqrt(2)`."""
    try:
        literal = signed_number(text)
    except GradcalcError as exc:
        raise UsageError(f"{_where(text, name)}: {exc}") from None
    if literal is not None:  # the common case, without building a graph
        return m.number(literal)
    return _expression_value(text, m, name)


def _expression_value(text: str, m: Any, name: str) -> Any:
    from .autodiff import forward

    where = _where(text, name)
    if any(ch in text for ch in ";=\n"):
        raise UsageError(f"{where}: a value is one constant expression, not an assignment "
                         "or a program")
    try:
        graph = lower(parse(text))
    except GradcalcError as exc:
        raise UsageError(f"{where}: {exc}") from None
    if graph.input_names:
        free = ", ".join(graph.input_names)
        raise UsageError(f"{where}: a value must be a number or a constant expression; "
                         f"'{free}' is not a known constant (nan and inf are not allowed)")
    try:
        return forward(graph, {}, m)[graph.output]
    except DomainError as exc:
        raise UsageError(f"{where}: {exc}") from None


def _where(text: str, name: str) -> str:
    return f"--at {name}={short(text, 60)}" if name else repr(short(text, 60))


def _assignment(item: str, option: str) -> tuple[str, str]:
    name, sep, value = item.partition("=")
    name, value = name.strip(), value.strip()
    if not item.strip():
        raise UsageError(f"--at {option!r}: empty assignment (expected name=value)")
    if not sep:
        raise UsageError(f"--at {item}: expected name=value")
    if not name:
        raise UsageError(f"--at {item}: missing the name before '='")
    if not (name.isascii() and name.isidentifier()) or name.startswith("__"):  # [A-Za-z_][A-Za-z0-9_]*
        raise UsageError(f"--at {item}: {name!r} is not a valid name")
    if not value:
        raise UsageError(f"--at {item}: missing the value after '='")
    return name, value


def _vector(name: str, value: str) -> list[str]:
    if not value.endswith("]") or value.count("[") != 1 or value.count("]") != 1:
        raise UsageError(f"--at {name}={value}: a vector is written [v0,v1,...]")
    elements = [e.strip() for e in _split_top_level(value[1:-1], ",")]
    if any(not e for e in elements):
        raise UsageError(f"--at {name}={value}: empty element in the vector")
    return elements


def _merge(texts: dict[str, str], name: str, value: str) -> None:
    if name in texts and texts[name] != value:
        if constant(texts[name], name=name) != constant(value, name=name):
            raise UsageError(f"--at gives {name} two different values: {texts[name]} and {value}")
    texts.setdefault(name, value)


def _split_top_level(text: str, sep: str) -> list[str]:
    """Split on `sep` outside parentheses and brackets (values may be calls like max(1,2))."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts
