"""Backprop as code: the trace as a runnable, standard-library Python program.

One line per stage forward, then one `d<stage>` per stage backward, `+=` where a stage has
several consumers, each local gradient written out as an expression — the lecture's staged
listing. The expressions come from the op registry itself, run on a number system whose
"numbers" are Python source text, so the program performs the very float operations that
`eval` performs and prints the same JSON document as `gradcalc eval --format json`.
"""
from __future__ import annotations

import ast
import builtins
import inspect
import keyword
import math
import re
from functools import lru_cache
from typing import Any, Callable

from gradcalc.core.autodiff import Result
from gradcalc.core.ops import REGISTRY
from gradcalc.errors import UsageError, printable
from gradcalc.numbers import floats
from gradcalc.render.vectors import trace_numpy

ADD, MUL, UNARY, POW, ATOM = range(1, 6)  # Python's precedence levels, loosest first


class Code:
    """A Python expression and its precedence; arithmetic on it writes more Python.

    The page's script rules (`render.script_rules.Script`) write JavaScript the same way: a
    subclass that says how a number becomes an expression (`of`) and how a minus is written."""

    __slots__ = ("text", "rank")

    def __init__(self, text: str, rank: int = ATOM):
        self.text, self.rank = text, rank

    @classmethod
    def of(cls, value) -> "Code":
        return value if isinstance(value, Code) else literal(value)

    @classmethod
    def joined(cls, left, symbol: str, right, rank: int, right_rank: int) -> "Code":
        return cls(f"{cls.of(left).at_least(rank)} {symbol} {cls.of(right).at_least(right_rank)}", rank)

    def at_least(self, rank: int) -> str:
        return self.text if self.rank >= rank else f"({self.text})"

    def __add__(self, other):
        return self.joined(self, "+", other, ADD, MUL)

    def __radd__(self, other):
        return self.joined(other, "+", self, ADD, MUL)

    def __sub__(self, other):
        return self.joined(self, "-", other, ADD, MUL)

    def __rsub__(self, other):
        return self.joined(other, "-", self, ADD, MUL)

    def __mul__(self, other):
        return self.joined(self, "*", other, MUL, UNARY)

    def __rmul__(self, other):
        return self.joined(other, "*", self, MUL, UNARY)

    def __truediv__(self, other):
        return self.joined(self, "/", other, MUL, UNARY)

    def __rtruediv__(self, other):
        return self.joined(other, "/", self, MUL, UNARY)

    def __neg__(self):
        return Code(f"-{self.at_least(UNARY)}", UNARY)


def literal(value) -> Code:
    text = repr(value)
    return Code(text, UNARY if text.startswith("-") else ATOM)


_code = Code.of


class SourceMath:
    """The registry's number-system namespace, writing code instead of computing floats.

    A name floats takes from `math` becomes `math.<name>`; one it defines itself
    (the stable sigmoid, softplus, ...) becomes a call of a helper whose source is copied
    into the program, so both compute alike. `helpers` records what the program needs.
    """

    ZERO = Code("0.0")
    ONE = Code("1.0")

    def __init__(self) -> None:
        self.helpers: list[str] = []

    def number(self, text: str) -> Code:
        return literal(float(text))

    def constant(self, name: str) -> Code:
        return Code(f"math.{name}")

    def pow(self, base, exponent) -> Code:  # noqa: A003
        return Code(f"{_code(base).at_least(ATOM)} ** {_code(exponent).at_least(UNARY)}", POW)

    def __getattr__(self, name: str):
        function: Callable[..., Any] = getattr(floats, name)
        if getattr(function, "__module__", None) == floats.__name__:
            self._need(name)
            call = name
        elif getattr(builtins, function.__name__, None) is function:
            call = function.__name__
        else:
            call = f"math.{function.__name__}"
        return lambda *args: Code(f"{call}({', '.join(_argument(a) for a in args)})")

    def _need(self, name: str) -> None:
        """Copy a floats definition into the program, with the globals it uses."""
        if name in self.helpers:
            return
        self.helpers.append(name)
        value = getattr(floats, name)
        for used in _globals_used(value.__code__) if inspect.isfunction(value) else ():
            if used in _definitions():
                self._need(used)


@lru_cache(maxsize=None)
def _definitions() -> dict[str, str]:
    """The source of each top-level definition in floats, by the name it defines."""
    source = inspect.getsource(floats)
    found = {}
    for statement in ast.parse(source).body:
        if isinstance(statement, (ast.FunctionDef, ast.ClassDef)):
            names = [statement.name]
        elif isinstance(statement, (ast.Assign, ast.AnnAssign)):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            names = [t.id for t in targets if isinstance(t, ast.Name)]
        else:
            continue
        segment = ast.get_source_segment(source, statement)
        assert segment is not None  # parsed from this very source, so it has positions
        for name in names:
            found[name] = segment
    return found


def helper_sources(m: SourceMath) -> list[str]:
    """The definitions a program written by `m` needs, copied from floats, each with its
    blank lines."""
    return [_definitions()[name] + "\n\n" for name in m.helpers]


def _globals_used(code) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if inspect.iscode(const):  # generator expressions and nested functions
            names |= _globals_used(const)
    return names


class Arguments(tuple):
    """A stage's arguments for its local rules: written out once, as a tuple assigned to `name`,
    and by that name wherever a rule takes them all (max's tie share), so a stage of n
    arguments costs a line of n names, not n lines of n names each."""

    name: str
    used: bool

    def __new__(cls, items, name: str):
        bound = super().__new__(cls, items)
        bound.name, bound.used = name, False
        return bound


def _argument(value) -> str:
    if isinstance(value, Arguments):
        value.used = True
        return value.name
    if isinstance(value, tuple):
        return f"({', '.join(_code(v).text for v in value)}{',' if len(value) == 1 else ''})"
    return _code(value).text


_RESERVED = set(keyword.kwlist) | {"math", "json", "print", "max", "min", "sum", "len", "float",
                                   "result", "name", "g"}
_RESERVED |= {name for name in vars(floats) if not name.startswith("__")}  # helpers and their data


def identifiers(names: list[str], taken: set[str]) -> list[str]:
    """A distinct Python identifier for each name: `c'` becomes `c_1`, `lambda` `lambda_`."""
    out = []
    for name in names:
        base = re.sub(r"'+", lambda m: f"_{len(m.group())}", name)
        candidate = base
        while candidate in taken or candidate in _RESERVED:
            candidate += "_"
        taken.add(candidate)
        out.append(candidate)
    return out


def trace_python(result: Result) -> str:
    if result.shapes is not None:
        return trace_numpy(result)
    graph = result.graph
    if not all(math.isfinite(v) for v in result.values + result.grads):
        raise UsageError("format python needs finite values at every stage: the program "
                         "computes with Python's math, which raises where IEEE arithmetic goes "
                         "on").about("format")
    nodes = graph.nodes
    taken: set[str] = set()
    variable = identifiers([n.name for n in nodes], taken)
    gradient = identifiers([f"d{v}" for v in variable], taken)
    m = SourceMath()
    code: list[Code] = []
    forward, backward = [], []
    for i, node in enumerate(nodes):
        if node.op == "input":
            code.append(Code(variable[i]))
            forward.append(f"{variable[i]} = {literal(float(result.values[i])).text}")
        elif node.op == "const":
            code.append(m.constant(node.text) if node.text in ("pi", "e") else m.number(node.text))
        else:
            code.append(Code(variable[i]))
            fn = REGISTRY[node.op].forward
            assert fn is not None  # only the leaves have none
            value = fn(m, *(code[j] for j in node.inputs))
            forward.append(f"{variable[i]} = {_code(value).text}")
    backward.append(f"{gradient[graph.output]} = 1.0")
    assigned = {graph.output}
    for i in range(len(nodes) - 1, -1, -1):
        node = nodes[i]
        if not node.inputs or not graph.live[i]:
            continue
        args = Arguments((code[j] for j in node.inputs), identifiers([f"{variable[i]}_args"], taken)[0])
        partial = REGISTRY[node.op].partial
        assert partial is not None  # a node with inputs is not a leaf
        backward.append(f"# backprop {variable[i]} = {printable(graph.definition(i))}")
        binding = len(backward)
        for k, j in enumerate(node.inputs):
            if not graph.varying[j]:
                continue
            local = _code(partial(m, code[i], args, k))
            step = f"{local.at_least(ATOM)} * {gradient[i]}"
            if j in assigned:
                backward.append(f"{gradient[j]} += {step}")
            else:
                backward.append(f"{gradient[j]} = {step}")
                assigned.add(j)
        if args.used:
            backward.insert(binding, f"{args.name} = {_argument(tuple(args))}")
    unreached = [j for j in graph.inputs if j not in assigned]
    lines = _header(result)
    lines += [_definitions()[name] + "\n\n" for name in m.helpers]
    lines += ["# forward pass, in topological order"] + forward + [""]
    lines += ["# backward pass, in reverse order: d<stage> is the gradient of the output"]
    lines += [f"{gradient[j]} = 0.0  # {variable[j]} does not reach the output" for j in unreached]
    lines += backward + [""] + _report(result, variable, gradient)
    return "\n".join(lines) + "\n"


def _header(result: Result) -> list[str]:
    graph = result.graph
    source = [f"#     {printable(line.strip())}" for line in graph.source.strip().splitlines()]
    return [
        f"# Backpropagation of {printable(graph.output_name)}, staged as `gradcalc trace` shows it:",
        *source,
        "# Standard library only. Run it to print the value and the gradient as",
        "# `gradcalc eval --format json` prints them.",
        "import json",
        "import math",
        "",
        "",
    ]


def _report(result: Result, variable: list[str], gradient: list[str]) -> list[str]:
    graph = result.graph
    index = graph.index
    at = ", ".join(f"{name!r}: {variable[index[name]]} + 0.0" for name in graph.input_names)
    grads = ", ".join(f"{name!r}: {gradient[index[name]]}" for name in result.wrt)
    return [
        "# + 0.0 shows a zero as 0.0, never -0.0, as eval does",
        "result = {",
        f"    'output': {graph.output_name!r},",
        f"    'value': {variable[graph.output]} + 0.0,",
        f"    'at': {{{at}}},",
        f"    'gradient': {{name: g + 0.0 for name, g in {{{grads}}}.items()}},",
        "}",
        "print(json.dumps(result, indent=2, ensure_ascii=False))",
    ]
