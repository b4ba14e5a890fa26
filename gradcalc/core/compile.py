"""A graph as straight-line Python: the batch engine's forward and backward loops unrolled
into one function, generated from the validated graph and compiled once, so that each step
of a descent pays for the arithmetic and not for walking the graph.

    run = compile_graph(graph, columns)     # run(given) -> (values, grads), both per node

The function does what `data.batch` does with each node, in the same order: the registry's
forward function, then in reverse the registry's local rules, each edge's term `local ×
upstream` (a product by the number system's `ONE` is skipped) added into its input's
gradient, the first term taken as it is. It checks nothing; the caller checks the numbers.

What the source is made of, and nothing else: generated names (`v7` the value of node 7,
`g7` its gradient, `given`, `p`, `m`, `ONE`, `ZERO`), the registry's functions bound to
generated names (`f_sigmoid` an op's forward function, `d1_mul` its rule for the second
argument) and Python's own punctuation and keywords. The leaves' values (inputs and
constants) come in as arguments, so no name, literal or other text the user typed ever
reaches the compiler; `tests/test_compile.py` checks every token of the source.
"""
from __future__ import annotations

import keyword
from typing import Any, Callable, Iterable

from gradcalc.core.graph import Graph
from gradcalc.core.ops import REGISTRY, Op

_LEAVES = ("input", "const")
Run = Callable[[list], tuple[list, list]]


def leaves(graph: Graph) -> tuple[int, ...]:
    """The nodes whose values a compiled graph always takes as given: inputs and constants."""
    return tuple(i for i, node in enumerate(graph.nodes) if node.op in _LEAVES)


def compile_graph(graph: Graph, m: Any, given: Iterable[int] | None = None,
                  wrt: Iterable[str] | None = None) -> Run:
    """The graph's forward and backward pass as one function of the given nodes' values.

    `given` (the leaves by default; always all of them) lists the nodes whose values the
    function takes, in the graph's order: a node given is not computed (a stage whose value
    is known already, such as one that depends on the data only). `wrt` (every input by
    default) names the inputs whose gradients are asked for, as the batch engine takes it.
    The function sees no builtins: only the number system and the registry's functions.
    """
    chosen = _given(graph, given)
    source, functions = generate(graph, chosen, wrt)
    namespace: dict[str, Any] = {"__builtins__": {}, "m": m, "ONE": m.ONE, "ZERO": m.ZERO, **functions}
    exec(compile(source, f"<gradcalc graph of {len(graph.nodes)} nodes>", "exec"), namespace)
    return namespace["run"]


def generate(graph: Graph, given: tuple[int, ...], wrt: Iterable[str] | None = None
             ) -> tuple[str, dict[str, Callable]]:
    """The source of `run(given)` and the registry functions it calls, by generated name."""
    names = _Names()
    body = _forward_lines(graph, names, given)
    backward, has_term = _backward(graph, names, graph.varying if wrt is None else graph.varying_in(wrt))
    size = range(len(graph.nodes))
    body += backward
    body.append(f"return [{_values(size)}], "
                f"[{', '.join(f'g{i}' if has_term[i] else 'ZERO' for i in size)}]")
    defaults = ", ".join(f"{name}={name}" for name in ("m", "ONE", "ZERO", *names.functions))
    lines = [f"def run(given, {defaults}):", *(f"    {line}" for line in body)]
    return "\n".join(lines) + "\n", names.functions


def _given(graph: Graph, given: Iterable[int] | None) -> tuple[int, ...]:
    chosen = tuple(sorted(set(leaves(graph) if given is None else given)))
    missing = set(leaves(graph)) - set(chosen)
    if missing or any(not 0 <= i < len(graph.nodes) for i in chosen):
        raise ValueError("the given nodes must include every leaf and be nodes of the graph")
    return chosen


def _values(indices: Iterable[int]) -> str:
    return ", ".join(f"v{j}" for j in indices)


def _backward(graph: Graph, names: "_Names", varying: tuple[bool, ...]) -> tuple[list[str], list[bool]]:
    """Reverse accumulation as `data.batch` does it unchecked: one term per edge into a
    varying input, the first term taken as the gradient, later ones added. Also says which
    nodes got a term (the others' gradient is ZERO)."""
    nodes, live = graph.nodes, graph.live
    has_term = [False] * len(nodes)
    has_term[graph.output] = True
    lines = [f"g{graph.output} = ONE"]
    for i in range(len(nodes) - 1, -1, -1):
        node = nodes[i]
        if not node.inputs or not live[i]:
            continue
        upstream = f"g{i}" if has_term[i] else "ZERO"
        op = REGISTRY[node.op]
        arguments = _values(node.inputs)
        for k, j in enumerate(node.inputs):
            if not varying[j]:
                continue
            lines.append(f"p = {names.bind(f'd{k}', op, lambda: _rule(op, k))}(m, v{i}, {arguments})")
            term = f"{upstream} if p is ONE else p if {upstream} is ONE else p * {upstream}"
            lines.append(f"g{j} = g{j} + ({term})" if has_term[j] else f"g{j} = {term}")
            has_term[j] = True
    return lines, has_term


def _forward(op: Op) -> Callable:
    forward = op.forward
    assert forward is not None  # only the leaves have none, and they are always given
    return forward


def _rule(op: Op, k: int) -> Callable:
    """The op's rule for its k-th argument, called as `rule(m, out, *args)`."""
    rules = getattr(op.partial, "rules", None)
    if rules is not None:
        return rules[k]
    partial = op.partial
    assert partial is not None  # only the leaves have none, and they have no arguments
    return lambda m, out, *args: partial(m, out, args, k)


class _Names:
    """Generated names for the registry functions a source calls: a role and the op's name
    when that is a plain identifier (`f_sigmoid`, `d1_mul`), else a role and a number."""

    def __init__(self) -> None:
        self.functions: dict[str, Callable] = {}
        self._chosen: dict[tuple[str, str], str] = {}

    def bind(self, role: str, op: Op, make: Callable[[], Callable]) -> str:
        name = self._chosen.get((role, op.name))
        if name is None:
            plain = op.name.isascii() and op.name.isidentifier() and not keyword.iskeyword(op.name)
            name = f"{role}_{op.name if plain else f'op{len(self._chosen)}'}"
            while name in self.functions:
                name += "_"
            self.functions[name] = make()
            self._chosen[role, op.name] = name
        return name


# ---- the sweep of a chunk: signed gradients, and only the values asked for ---------------------

# What a local rule is without looking at its arguments: the number system's ONE, its
# negation, or something to compute (`GENERAL`).
ONE_RULE, NEGATED_RULE, GENERAL = "one", "negated", "general"


class _Opaque:
    """An argument that fails any use (arithmetic, comparison, truth, numpy's functions): a
    rule that returns a number anyway never read it."""

    __array_ufunc__ = None  # numpy's functions refuse it

    def __bool__(self) -> bool:
        raise TypeError("an opaque argument has no truth value")

    def __eq__(self, other: object) -> bool:
        raise TypeError("an opaque argument compares with nothing")

    __lt__ = __le__ = __gt__ = __ge__ = __ne__ = __eq__
    __hash__ = None  # type: ignore[assignment]

    def __array__(self, *args: object) -> None:
        raise TypeError("an opaque argument is no array")


def rule_kind(rule: Callable, m: Any, arity: int) -> str:
    """Whether the rule is the constant ONE or -ONE whatever its arguments, or neither."""
    try:
        p = rule(m, *(_Opaque() for _ in range(arity + 1)))
    except Exception:  # it reads its arguments: a rule to compute
        return GENERAL
    if p is m.ONE:
        return ONE_RULE
    if type(p) is float and p == -1.0:
        return NEGATED_RULE
    return GENERAL


def _forward_lines(graph: Graph, names: _Names, given: tuple[int, ...]) -> list[str]:
    """Unpack the given leaves, then one registry call per other node, in graph order."""
    body = [f"{_values(given)}, = given"] if given else []
    known = set(given)
    for i, node in enumerate(graph.nodes):
        if i not in known:
            op = REGISTRY[node.op]
            body.append(f"v{i} = {names.bind('f', op, lambda: _forward(op))}(m, {_values(node.inputs)})")
    return body


def compile_sweep(graph: Graph, m: Any, wrt: Iterable[str], returned: Iterable[int],
                  gradient: bool = True) -> tuple[Run, list[int]]:
    """The forward pass and (with `gradient`) the backward pass for the inputs of `wrt`, as
    one function of the leaves' values that returns the values of `returned` and the
    gradients of `wrt`, each as a magnitude and, apart, its sign (the list returned here).

    The numbers are those of the data engine's sweep: the registry's functions and rules in
    the same order, a product by the constant rule ONE skipped, and a rule of -ONE turned
    into a sign (-(p·g) = p·(-g) and a + (-b) = a - b exactly), so that no pass over the
    rows is made for it. The gradient of an input no term reaches is ZERO, signed +1.
    """
    names = _Names()
    body = _forward_lines(graph, names, leaves(graph))
    wanted = tuple(wrt)
    gradients: list[tuple[str, int]] = [("ZERO", 1)] * len(wanted)
    if gradient:
        lines, grads = _signed_backward(graph, names, m, graph.varying_in(wanted))
        body += lines
        gradients = [grads[graph.index[name]] or ("ZERO", 1) for name in wanted]
    body.append(f"return ({''.join(f'v{i}, ' for i in returned)}), "
                f"({''.join(f'{g}, ' for g, _ in gradients)})")
    defaults = ", ".join(f"{name}={name}" for name in ("m", "ONE", "ZERO", *names.functions))
    source = "\n".join([f"def run(given, {defaults}):", *(f"    {line}" for line in body)]) + "\n"
    namespace: dict[str, Any] = {"__builtins__": {}, "m": m, "ONE": m.ONE, "ZERO": m.ZERO,
                                 **names.functions}
    exec(compile(source, f"<gradcalc sweep of {len(graph.nodes)} nodes>", "exec"), namespace)
    run = namespace["run"]
    run.source = source  # kept for the allow-list test of its tokens
    return run, [sign for _, sign in gradients]


def _signed_backward(graph: Graph, names: "_Names", m: Any, varying: tuple[bool, ...]
                     ) -> tuple[list[str], list[tuple[str, int] | None]]:
    """Reverse accumulation with each gradient a (name, sign): the first term taken as it
    is, later ones added or subtracted by their signs; names t0, t1, ... for what is made."""
    nodes, live = graph.nodes, graph.live
    grads: list[tuple[str, int] | None] = [None] * len(nodes)
    grads[graph.output] = ("ONE", 1)
    lines: list[str] = []
    made = iter(range(1 << 62))
    for i in range(len(nodes) - 1, -1, -1):
        node = nodes[i]
        if not node.inputs or not live[i]:
            continue
        upstream, sign = grads[i] or ("ZERO", 1)
        op = REGISTRY[node.op]
        for k, j in enumerate(node.inputs):
            if not varying[j]:
                continue
            rule = _rule(op, k)
            kind = rule_kind(rule, m, len(node.inputs))
            if kind == ONE_RULE:
                term = (upstream, sign)
            elif kind == NEGATED_RULE:
                term = (upstream, -sign)
            else:
                t = f"t{next(made)}"
                call = f"{names.bind(f'd{k}', op, lambda: rule)}(m, v{i}, {_values(node.inputs)})"
                lines.append(f"{t} = {call}" if upstream == "ONE" else f"{t} = {call} * {upstream}")
                term = (t, sign)
            before = grads[j]
            if before is None:
                grads[j] = term
                continue
            (x, s), (y, r) = before, term
            t = f"t{next(made)}"
            if s == r:
                lines.append(f"{t} = {x} + {y}")
                grads[j] = (t, s)
            else:
                lines.append(f"{t} = {x} - {y}" if s > 0 else f"{t} = {y} - {x}")
                grads[j] = (t, 1)
    return lines, grads
