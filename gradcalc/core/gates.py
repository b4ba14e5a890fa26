"""Gate granularity: the same function drawn with bigger or smaller gates.

`written` keeps one gate per operation the user wrote. `fused` turns compound patterns
written out longhand into one gate with a simple, stable local rule (`1/(1+exp(-z))` becomes
sigmoid, whose local gradient is σ(1−σ)). `primitive` splits compound functions into the
elementary gates of the lecture circuit (sigmoid becomes ×(−1), exp, +1, 1/x). `scalar`
unrolls vectors and matrices, given their shapes, into the scalar circuit of their elements
(core/unroll.py); without a vector it is `written`.

A rewrite maps a Graph to a new Graph with the same inputs and the same output name; only
the stages in between differ, so the gradients of the inputs are the same in every mode.
Both rewrites are one pass up the node list (no recursion) and linear in the graph's size.
"""
from __future__ import annotations

from functools import lru_cache
from itertools import product
from typing import Iterable, Mapping

from gradcalc.core.graph import Graph, Node, Rewrite, lower
from gradcalc.core.ops import REGISTRY
from gradcalc.core.parse import Program
from gradcalc.core.unroll import unroll
from gradcalc.errors import UsageError

MODES = ("written", "fused", "primitive", "scalar")

_LEAVES = ("input", "const")


def primitive_forms() -> dict[str, tuple[str, str]]:
    """Each compound op written with elementary gates: (its argument names in order, the circuit)."""
    return {op.name: op.longhand for op in REGISTRY.values() if op.longhand[1]}


def fused_patterns() -> tuple[tuple[str, tuple], ...]:
    """Longhand pattern → the one gate that computes it, in the registry's order: (op,
    *arguments), an argument ("neg", v) being a new -v gate. Patterns see earlier fusions."""
    return tuple((pattern, (op.name, *arguments)) for op in REGISTRY.values()
                 for pattern, arguments in op.fused_from)


def lower_gates(source: str | Program, given: Iterable[str] = (), gates: str = "written",
                shapes: Mapping[str, tuple[int, ...]] | None = None) -> Graph:
    """The staged graph of a text or parsed program, with gates of the chosen granularity;
    `shapes`: the inputs that are vectors or matrices, which `scalar` unrolls."""
    return rewrite(lower(source, given=given), gates, shapes)


def rewrite(graph: Graph, mode: str = "written", shapes: Mapping[str, tuple[int, ...]] | None = None) -> Graph:
    """The graph with gates of the chosen granularity: written, fused, primitive or scalar
    (the vectors unrolled, the inputs having these shapes; a name not given is a scalar)."""
    if mode == "written":
        return graph
    if mode == "scalar":
        return unroll(graph, shapes or {}, asked=True)
    if mode == "fused":
        return _fuse(graph)
    if mode == "primitive":
        return _decompose(graph)
    raise UsageError(f"unknown gate mode {mode!r} (choose {', '.join(MODES)})")


class _Emitter(Rewrite):
    """Builds the new node list: old nodes keep their names, new gates get fresh u-names."""

    def __init__(self, old: Graph):
        super().__init__(old)
        self.image: list[int | None] = [None] * len(old.nodes)

    def gate(self, op: str, args: tuple[int, ...], text: str = "") -> int:
        """A node of the rewrite's own, shared with any equal node already emitted."""
        return self.made(op, args, text)

    def keep(self, i: int, op: str, args: tuple[int, ...]) -> int:
        """The image of old node i under its own name (never merged with another node)."""
        node = self.old.nodes[i]
        index = self.append(Node(node.name, op, args, node.text))
        self.memo.setdefault((op, args, node.text), index)
        self.image[i] = index
        return index

    def of(self, i: int) -> int:
        """The new index of old node i; constants are emitted when first used."""
        index = self.image[i]
        if index is None:
            node = self.old.nodes[i]
            if node.op != "const":
                raise AssertionError(f"stage {node.name} was fused away but is still used")
            index = self.image[i] = self.gate("const", (), node.text)
        return index

    def graph(self) -> Graph:
        named = tuple(index for i in self.old.named if (index := self.image[i]) is not None)
        return Graph(tuple(self.nodes), len(self.nodes) - 1, self.old.output_name, self.old.source,
                     named)


# ---- primitive: splice each compound op's circuit in place of its node ----

def _circuit(op: str) -> tuple[Graph, tuple[int, ...]]:
    """The op's elementary circuit and the node index of each of its arguments."""
    return _lowered_circuit(REGISTRY[op].longhand)


@lru_cache(maxsize=None)
def _lowered_circuit(longhand: tuple[str, str]) -> tuple[Graph, tuple[int, ...]]:
    names, text = longhand
    circuit = lower(text)
    return circuit, tuple(circuit.index[name] for name in names.split())


def _decompose(graph: Graph) -> Graph:
    out = _Emitter(graph)
    for i, node in enumerate(graph.nodes):
        if node.op == "const":
            continue
        args = tuple(out.of(j) for j in node.inputs)
        if not REGISTRY[node.op].longhand[1]:
            out.keep(i, node.op, args)
            continue
        circuit, params = _circuit(node.op)
        local = dict(zip(params, args))
        last = len(circuit.nodes) - 1
        for k, part in enumerate(circuit.nodes[:last]):
            if k not in local:
                inputs = tuple(local[j] for j in part.inputs)
                local[k] = out.gate(part.op, inputs, part.text)
        root = circuit.nodes[last]
        out.keep(i, root.op, tuple(local[j] for j in root.inputs))
    return out.graph()


# ---- fused: match longhand patterns, then emit what no pattern absorbed ----

def _patterns() -> tuple:
    return _prepared(fused_patterns())


@lru_cache(maxsize=None)
def _prepared(patterns: tuple) -> tuple:
    """Each pattern as (graph, variants, replacement); a variant fixes the order of every
    commutative gate's arguments, so matching needs no backtracking."""
    prepared = []
    for text, replacement in patterns:
        pattern = lower(text)
        commutative = [k for k, node in enumerate(pattern.nodes)
                       if REGISTRY[node.op].commutative and node.inputs[0] != node.inputs[1]]
        variants = []
        for swaps in product((False, True), repeat=len(commutative)):
            shape = [node.inputs for node in pattern.nodes]
            for k, swap in zip(commutative, swaps):
                if swap:
                    shape[k] = shape[k][::-1]
            variants.append(tuple(shape))
        prepared.append((pattern, tuple(variants), replacement))
    return tuple(prepared)


def _fuse(graph: Graph) -> Graph:
    # form[i]: what old node i computes, seen through the fusions found so far: (op, args),
    # an arg being an old index or ("neg", old index); inner[i]: old nodes it absorbed.
    form: list[tuple] = [(node.op, node.inputs) for node in graph.nodes]
    inner: dict[int, frozenset[int]] = {}
    by_root_op: dict[str, list] = {}
    for prepared in _patterns():
        by_root_op.setdefault(prepared[0].nodes[-1].op, []).append(prepared)
    for i, node in enumerate(graph.nodes):
        for pattern, variants, replacement in by_root_op.get(node.op, ()):
            found = _first_match(graph, form, inner, i, pattern, variants)
            if found is not None:
                bound, absorbed = found
                form[i] = _replace(replacement, pattern, bound)
                inner[i] = absorbed
                break
    absorbed_anywhere = set().union(*inner.values()) if inner else set()
    out = _Emitter(graph)
    for i, node in enumerate(graph.nodes):
        if node.op == "const" or i in absorbed_anywhere:
            continue
        op, args = form[i]
        out.keep(i, op, tuple(out.gate("neg", (out.of(a[1]),)) if isinstance(a, tuple) else out.of(a)
                              for a in args))
    return out.graph()


def _first_match(graph, form, inner, root, pattern, variants):
    for shape in variants:
        bound = _bind(graph, form, root, pattern, shape)
        if bound is None:
            continue
        absorbed = _absorbable(graph, inner, root, pattern, bound)
        if absorbed is not None:
            return bound, absorbed
    return None


def _bind(graph: Graph, form: list, root: int, pattern: Graph, shape: tuple) -> dict | None:
    """Pattern node → old node, if the pattern matches at root with these argument orders."""
    bound: dict[int, int] = {}
    stack = [(len(pattern.nodes) - 1, root)]
    while stack:
        t, o = stack.pop()
        if not isinstance(o, int):
            return None  # a gate made by an earlier fusion is not a user's node
        if t in bound:
            if bound[t] != o:
                return None
            continue
        bound[t] = o
        want = pattern.nodes[t]
        if want.op == "input":
            continue
        if want.op == "const":
            have = graph.nodes[o]
            if have.op != "const" or float(have.text) != float(want.text):
                return None
            continue
        op, args = form[o]
        if op != want.op or len(args) != len(shape[t]):
            return None
        stack.extend(zip(shape[t], args))
    return bound


def _absorbable(graph: Graph, inner: dict, root: int, pattern: Graph, bound: dict) -> frozenset | None:
    """The old nodes the fused gate absorbs, if nothing outside the pattern uses them."""
    steps = {o for t, o in bound.items() if pattern.nodes[t].op not in _LEAVES and o != root}
    leaves = {o for t, o in bound.items() if pattern.nodes[t].op == "input"}
    if steps & leaves:
        return None
    inside = steps | {root}
    consumers = graph.consumers
    for o in steps:
        users = consumers[o]
        if len(users) > len(inside) * 2 or any(u not in inside for u in users):
            return None
    absorbed = set(steps)
    for o in steps:
        absorbed |= inner.get(o, frozenset())
    return frozenset(absorbed)


def _replace(replacement: tuple, pattern: Graph, bound: dict) -> tuple:
    op, *names = replacement

    def arg(name):
        if isinstance(name, tuple):
            return (name[0], bound[pattern.index[name[1]]])
        return bound[pattern.index[name]]

    return op, tuple(arg(name) for name in names)
