"""The sweep of a chunk as straight-line numpy that writes each new column into one no
longer needed: the forward functions and local rules of the registry, traced once on
stand-ins for their arguments, down to the ufuncs they call.

    code = compile_inplace(graph, wrt, returned)   # None if some rule cannot be traced
    values, grads = code.run(given)                # as core.compile.compile_sweep's function

Tracing records each arithmetic operator and each function of the number system a rule
calls (`m.exp`, `m.sigmoid`) with its operands, in the order the rule calls them, so the
function computes the very numbers the rules compute on columns, in the same order, only
into fewer new arrays: a ufunc whose float result has one value per row is written into
the array of a value that no later step reads (`out=`), which keeps the chunk's working
memory in the processor's cache. The same operation on the same operands is made once
(the `1 - a` of a loss and of the sigmoid's derivative). The sign of a gradient is carried
apart, as in `compile_sweep`.

What the source is made of: generated names (`given`, `run`, `t7`, `f3` for a function
bound to it, `ONE`, `ZERO`), `out`, punctuation, and the `repr` of the graph's constants
(floats); nothing else the user typed. A function of the number system that is not a
ufunc (`sigmoid`, `xlogy`) is called as it is, and the arrays it is given are never
written into (it may hand one back). A rule that does anything else with a stand-in (a
comparison, a truth test) makes the graph untraceable: the sweep then runs
`compile_sweep`'s function.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Iterable

import numpy as np

from gradcalc.core.compile import leaves
from gradcalc.core.graph import Graph
from gradcalc.core.ops import REGISTRY
from gradcalc.numbers import columns as m

Operand = Any  # a `_Value`, or a float literal


class Untraceable(Exception):
    """A rule used a stand-in for something other than arithmetic and function calls."""


class _Value:
    """A stand-in for a value: an index into the trace, and whether it has one number per row."""

    __slots__ = ("trace", "index", "per_row")

    def __init__(self, trace: "_Trace", index: int, per_row: bool):
        self.trace, self.index, self.per_row = trace, index, per_row

    def __add__(self, other): return self.trace.call(np.add, (self, other))
    def __radd__(self, other): return self.trace.call(np.add, (other, self))
    def __sub__(self, other): return self.trace.call(np.subtract, (self, other))
    def __rsub__(self, other): return self.trace.call(np.subtract, (other, self))
    def __mul__(self, other): return self.trace.call(np.multiply, (self, other))
    def __rmul__(self, other): return self.trace.call(np.multiply, (other, self))
    def __truediv__(self, other): return self.trace.call(np.true_divide, (self, other))
    def __rtruediv__(self, other): return self.trace.call(np.true_divide, (other, self))
    def __pow__(self, other): return self.trace.call(np.power, (self, other))
    def __rpow__(self, other): return self.trace.call(np.power, (other, self))
    def __neg__(self): return self.trace.call(np.negative, (self,))

    def __bool__(self):
        raise Untraceable("a truth test")

    def __eq__(self, other):
        raise Untraceable("a comparison")

    def __array__(self, *args):
        raise Untraceable("numpy called on a stand-in")

    __lt__ = __le__ = __gt__ = __ge__ = __ne__ = __eq__
    __hash__ = None  # type: ignore[assignment]
    __array_ufunc__ = None  # numpy's functions refuse it: only the number system's are traced


class _Namespace:
    """The number system as the trace sees it: its numbers as they are, its functions recorded."""

    def __init__(self, trace: "_Trace"):
        self._trace = trace

    def __getattr__(self, name: str):
        found = getattr(m, name)
        if not callable(found):
            return found
        return lambda *args: self._trace.call(found, args)


def _literal(x) -> float:
    if type(x) in (float, int) or isinstance(x, np.float64):
        value = float(x)
        if math.isfinite(value):
            return value
    raise Untraceable(f"an operand of type {type(x).__name__}")


class _Trace:
    """The steps recorded: (function, operands), one value each; the same step is made once."""

    def __init__(self) -> None:
        self.steps: list[tuple[Callable, tuple]] = []
        self.per_row: list[bool] = []
        self._made: dict[tuple, _Value] = {}

    def given(self, per_row: bool) -> _Value:
        self.steps.append((None, ()))  # type: ignore[arg-type]
        self.per_row.append(per_row)
        return _Value(self, len(self.steps) - 1, per_row)

    def call(self, fn: Callable, args: tuple) -> _Value:
        operands = tuple(a if isinstance(a, _Value) and a.trace is self else _literal(a) for a in args)
        key = (id(fn), *(("v", a.index) if isinstance(a, _Value) else ("c", repr(a)) for a in operands))
        found = self._made.get(key)
        if found is None:
            per_row = any(isinstance(a, _Value) and a.per_row for a in operands)
            self.steps.append((fn, operands))
            self.per_row.append(per_row)
            found = self._made[key] = _Value(self, len(self.steps) - 1, per_row)
        return found


class Inplace:
    """The traced sweep's function and the signs of the gradients it returns."""

    def __init__(self, run: Callable, signs: list[int], source: str):
        self.run, self.signs, self.source = run, signs, source


def compile_inplace(graph: Graph, columns: Iterable[str], wrt: Iterable[str],
                    returned: Iterable[int], gradient: bool = True) -> Inplace | None:
    """`compile_sweep`'s function, traced down to the ufuncs and writing into dead arrays;
    None when some forward function or rule of the graph cannot be traced."""
    try:
        trace, outputs, grads = _traced(graph, set(columns), tuple(wrt), tuple(returned), gradient)
    except (Untraceable, ArithmeticError, TypeError, ValueError, AttributeError):
        return None
    unpacked = [f"t{k}" if graph.nodes[i].op == "input" else f"c{k}" for k, i in enumerate(leaves(graph))]
    try:
        returns = [_operand(trace, a) for a in outputs] + [_operand(trace, g) for g, _ in grads]
    except Untraceable:
        return None
    return _generate(trace, unpacked, returns, [sign for _, sign in grads])


def _operand(trace: _Trace, a) -> Operand:
    """What the function returns: a value of the trace, or a finite float."""
    return a if isinstance(a, _Value) and a.trace is trace else _literal(a)


def _traced(graph: Graph, columns: set[str], wrt: tuple[str, ...], returned: tuple[int, ...],
            gradient: bool) -> tuple[_Trace, list[Operand], list[tuple[Operand, int]]]:
    """The trace of the forward and backward passes; the graph's constants are literals,
    its inputs the first steps (one per leaf position: a constant's is never read)."""
    trace = _Trace()
    space = _Namespace(trace)
    values: list[Operand] = [None] * len(graph.nodes)
    for i in leaves(graph):
        node = graph.nodes[i]
        values[i] = trace.given(node.name in columns)
        if node.op == "const":
            values[i] = _literal(m.constant(node.text) if node.text in ("pi", "e") else m.number(node.text))
    for i, node in enumerate(graph.nodes):
        if node.inputs:
            forward = REGISTRY[node.op].forward
            assert forward is not None  # only the leaves have none
            values[i] = forward(space, *(values[j] for j in node.inputs))
    grads: list[tuple[Operand, int]] = [(m.ZERO, 1)] * len(wrt)
    if gradient:
        found = _backward(graph, trace, space, values, graph.varying_in(wrt))
        grads = [found[graph.index[name]] or (m.ZERO, 1) for name in wrt]
    return trace, [values[i] for i in returned], grads


def _backward(graph: Graph, trace: _Trace, space: _Namespace, values: list,
              varying: tuple[bool, ...]) -> list[tuple[Operand, int] | None]:
    """`core.compile`'s signed reverse accumulation, on the stand-ins."""
    nodes, live = graph.nodes, graph.live
    grads: list[tuple[Operand, int] | None] = [None] * len(nodes)
    grads[graph.output] = (m.ONE, 1)
    for i in range(len(nodes) - 1, -1, -1):
        node = nodes[i]
        if not node.inputs or not live[i]:
            continue
        upstream, sign = grads[i] or (m.ZERO, 1)
        op = REGISTRY[node.op]
        args = tuple(values[j] for j in node.inputs)
        for k, j in enumerate(node.inputs):
            if not varying[j]:
                continue
            partial = op.partial
            assert partial is not None  # a node with inputs is not a leaf
            p = partial(space, values[i], args, k)
            if p is m.ONE:
                term = (upstream, sign)
            elif type(p) is float and p == -1.0:
                term = (upstream, -sign)
            else:
                term = (p if upstream is m.ONE else trace.call(np.multiply, (p, upstream)), sign)
            before = grads[j]
            if before is None:
                grads[j] = term
                continue
            (x, s), (y, r) = before, term
            if s == r:
                grads[j] = (trace.call(np.add, (x, y)), s)
            else:
                grads[j] = (trace.call(np.subtract, (x, y) if s > 0 else (y, x)), 1)
    return grads


def _writes_floats(fn: Callable) -> bool:
    """A ufunc whose float loop gives floats: its result may go into a float column."""
    return isinstance(fn, np.ufunc) and ("d->d" in fn.types or "dd->d" in fn.types)


def _generate(trace: _Trace, unpacked: list[str], returns: list[Operand], signs: list[int]
              ) -> Inplace:
    """The source: one line per step after the leaves, then the values and the gradients."""
    steps, per_row = trace.steps, trace.per_row
    kept = {a.index for a in returns if isinstance(a, _Value)}
    last: dict[int, int] = {}
    shared: set[int] = set()  # arrays a function other than a ufunc saw: never written into
    for k, (fn, operands) in enumerate(steps):
        for a in operands:
            if isinstance(a, _Value):
                last[a.index] = k
                if not _writes_floats(fn):
                    shared.add(a.index)
    functions: dict[int, str] = {}
    namespace: dict[str, Any] = {"__builtins__": {}, "ONE": m.ONE, "ZERO": m.ZERO}
    owned: set[int] = set()  # values held in arrays this function made
    free: list[int] = []  # of those, the ones no later step reads
    given = len(unpacked)
    body = [f"{''.join(name + ', ' for name in unpacked)}= given"] if given else []

    def operand(a: Operand) -> str:
        return f"t{a.index}" if isinstance(a, _Value) else repr(a)

    for k, (fn, operands) in enumerate(steps[given:], start=given):
        if id(fn) not in functions:
            functions[id(fn)] = name = f"f{len(functions)}"
            namespace[name] = fn
        call = f"{functions[id(fn)]}({', '.join(map(operand, operands))}"
        dying = [a.index for a in operands if isinstance(a, _Value) and last[a.index] == k
                 and a.index in owned and a.index not in kept and a.index not in shared]
        free.extend(dict.fromkeys(dying))
        if per_row[k] and _writes_floats(fn):
            if free:
                call += f", out=t{free.pop()}"
            owned.add(k)
        body.append(f"t{k} = {call})")
    values, grads = returns[:len(returns) - len(signs)], returns[len(returns) - len(signs):]
    body.append(f"return ({''.join(operand(a) + ', ' for a in values)}), "
                f"({''.join(operand(g) + ', ' for g in grads)})")
    source = "\n".join(["def run(given):", *(f"    {line}" for line in body)]) + "\n"
    exec(compile(source, f"<gradcalc sweep of {len(steps)} steps>", "exec"), namespace)
    return Inplace(namespace["run"], signs, source)
