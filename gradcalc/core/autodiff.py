"""Forward in topological order, then reverse accumulation: two loops that never name an op.

Values, local derivatives and gradients live in a `Result`, outside the frozen graph, so one
graph serves any number of points. Strict by default: the first stage whose value or needed
local derivative is undefined or not finite raises a DomainError naming the stage.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Iterator, Mapping, NamedTuple, Sequence

from gradcalc.core.graph import VECTOR_MODES, Graph
from gradcalc.core.ops import REGISTRY
from gradcalc.core.parse import call_hint, collector_paused
from gradcalc.errors import DomainError, GradcalcError, MissingValues, UsageError, VectorOutput
from gradcalc.numbers import floats

# Python's own arithmetic failures (ZeroDivisionError and OverflowError are ArithmeticErrors).
# gradcalc's errors subclass these too (DomainError, LimitError): each `except _FAILURES` lets
# them through first, so that a limit stays a limit.
_FAILURES = (ArithmeticError, ValueError)
_LEAVES = ("input", "const")


class Result:
    """Everything one evaluation computed, indexed like `graph.nodes`.

    `locals` holds per node the tuple of ∂node/∂input (None where undefined and not needed).
    It may be given as a function that makes that list: `eval` never reads the locals, so
    the fast float path builds their tuples only when a renderer asks.
    """

    shapes: list | None = None  # each node's shape, when the array system computed it
    steps: tuple = ()  # the array system's backward steps: (node, k, input, gradient that flowed)

    def __init__(self, graph: Graph, values: list, grads: list, locals: list | Callable[[], list],
                 wrt: tuple[str, ...], warnings: list[str] | None = None):
        self.graph = graph
        self.values = values
        self.grads = grads
        self._locals = locals
        self.wrt = wrt  # the inputs whose gradients are reported
        self.warnings = [] if warnings is None else warnings

    @property
    def locals(self) -> list:
        if callable(self._locals):
            self._locals = self._locals()
        return self._locals

    @property
    def value(self) -> Any:
        return self.values[self.graph.output]

    @property
    def at(self) -> dict[str, Any]:
        """The point: each input's value, in order of first appearance."""
        return {self.graph.nodes[i].name: self.values[i] for i in self.graph.inputs}

    @property
    def gradient(self) -> dict[str, Any]:
        """∂output/∂input for each reported input."""
        index = dict(zip(self.graph.input_names, self.graph.inputs))  # not graph.index: all nodes
        return {name: self.grads[index[name]] for name in self.wrt}

    def grad_of(self, name: str) -> Any:
        """∂output/∂stage for any node by name."""
        return self.grads[self.graph.index[name]]


def check_inputs(graph: Graph, names: Mapping[str, Any] | set) -> None:
    """Refuse a point that lacks inputs, naming every missing one in one message."""
    missing = [name for name in graph.input_names if name not in names]
    if missing:
        raise MissingValues(missing, hint="; ".join(filter(None, map(call_hint, missing))))


def check_wrt(graph: Graph, wrt: Sequence[str]) -> None:
    """Refuse gradients asked for names that are not inputs of the graph."""
    inputs = set(graph.input_names)
    unknown = [name for name in wrt if name not in inputs]
    if unknown:
        raise UsageError(f"wrt names {', '.join(unknown)}, which the expression does not use "
                         f"(its inputs: {', '.join(graph.input_names) or 'none'})").about("wrt")


def backward_steps(result: Result) -> Iterator[tuple]:
    """The backward pass edge by edge, as `trace` shows it: (node, input, local, upstream,
    contribution = local × upstream, the input's gradient accumulated so far)."""
    graph = result.graph
    totals: dict[int, Any] = {}
    for i in range(len(graph.nodes) - 1, -1, -1):
        if not graph.live[i]:
            continue
        upstream = result.grads[i]
        for j, local in zip(graph.nodes[i].inputs, result.locals[i]):
            if graph.nodes[j].op == "const" or local is None:
                continue
            contribution = local * upstream
            totals[j] = totals[j] + contribution if j in totals else contribution
            yield i, j, local, upstream, contribution, totals[j]


def evaluate(graph: Graph, at: Mapping[str, Any], wrt: Sequence[str] | None = None,
             m: Any = floats, nonfinite: str = "strict") -> Result:
    """Value and gradient of the graph's output at a point (forward, then backward).

    `nonfinite="ieee"` lets inf and nan flow through (gradcalc.numbers.ieee) with one warning
    per stage where they appear, instead of stopping at the first one.
    """
    check_inputs(graph, at)
    wrt = tuple(graph.input_names if wrt is None else wrt)
    check_wrt(graph, wrt)
    if getattr(m, "SHAPED", False):
        if nonfinite != "strict":
            raise UsageError("nonfinite='ieee' works with scalars: vectors and matrices are strict "
                             "here (a non-finite element is an error); the scalar circuit of their "
                             "elements (gates scalar) takes it, as the eval command does").about("nonfinite", "gates")
        return _evaluate_shaped(graph, at, wrt, m)
    if nonfinite != "strict":
        return _evaluate_ieee(graph, at, wrt, m, nonfinite)
    with collector_paused():  # the plan's tuples are many, long-lived and never cyclic
        values = forward(graph, at, m)
        grads, partials, warnings = _backward(graph, values, m)
    return Result(graph, values, grads, partials, wrt, warnings)


def _evaluate_ieee(graph: Graph, at: Mapping[str, Any], wrt: tuple, m: Any, mode: str) -> Result:
    from gradcalc.numbers import ieee

    if mode != "ieee":
        raise UsageError(f"nonfinite={mode!r}: expected 'strict' or 'ieee'")
    if m is not floats:
        raise UsageError("nonfinite='ieee' works with float64 arithmetic only")
    notes: dict[int, str] = {}
    values = forward(graph, {name: ieee.IEEE(v) for name, v in at.items()}, ieee, notes)
    grads, partials, warnings = backward(graph, values, ieee, notes)
    warnings += [_stage_note(graph, i, note) for i, note in notes.items()]  # as they arose
    partials = [tuple(ieee.plain(list(p))) for p in partials]
    return Result(graph, ieee.plain(values), ieee.plain(grads), partials, wrt, warnings)


def _stage_note(graph: Graph, i: int, note: str) -> str:
    node = graph.nodes[i]
    where = node.name if node.op == "input" else graph.stage(i)
    return f"stage {where}: {note}"


def forward(graph: Graph, at: Mapping[str, Any], m: Any = floats,
            notes: dict[int, str] | None = None) -> list:
    """Every node's value, in topological order.

    Strict unless given `notes` (IEEE mode): then a non-finite value is noted, once per stage.
    """
    if getattr(m, "SHAPED", False):
        return _forward_shaped(graph, at, m)
    if graph.vectorised:
        raise vectors_refused(graph)
    values: list = [None] * len(graph.nodes)
    for i, node in enumerate(graph.nodes):
        if node.op == "input":
            values[i] = at[node.name]
        elif node.op == "const":
            values[i] = m.constant(node.text) if node.text in ("pi", "e") else m.number(node.text)
    if notes is None and m is floats and _forward_floats(_plan(graph), values, m):
        return values
    isfinite, settled = m.isfinite, m.settled
    for i, node in enumerate(graph.nodes):
        op = node.op
        if op in _LEAVES:
            continue
        args = [values[j] for j in node.inputs]
        fn = REGISTRY[op].forward
        assert fn is not None  # only the leaves have none
        try:
            out = settled(fn(m, *args))
        except GradcalcError:
            raise
        except _FAILURES as exc:
            raise value_error(graph, i, args, exc) from None
        if not isfinite(out):
            if notes is None:
                raise value_error(graph, i, args, None)
            notes.setdefault(i, _nonfinite_value(graph, i, args, out))
        values[i] = out
    return values


def backward(graph: Graph, values: list, m: Any = floats,
             notes: dict[int, str] | None = None) -> tuple[list, list, list[str]]:
    """Reverse accumulation: each edge adds local × upstream into its input (the `+=`).

    Returns the gradients, each node's tuple of local derivatives, and the warnings.
    """
    grads, partials, warnings = _backward(graph, values, m, notes)
    return grads, partials() if callable(partials) else partials, warnings


def _backward(graph: Graph, values: list, m: Any, notes: dict[int, str] | None = None):
    """`backward`, with the local derivatives possibly as a function that makes their list."""
    if notes is None and m is floats:
        fast = _backward_floats(graph, _plan(graph), values, m)
        if fast is not None:
            return fast
    nodes = graph.nodes
    grads: list = [m.ZERO] * len(nodes)
    grads[graph.output] = m.ONE
    partials: list = [()] * len(nodes)
    warnings: list[str] = []
    for i in range(len(nodes) - 1, -1, -1):
        if nodes[i].inputs:
            partials[i] = _node_backward(graph, i, values, grads, m, notes, warnings)
    check_gradients(graph, grads, m.isfinite, notes)
    return grads, partials, warnings


def _node_backward(graph: Graph, i: int, values: list, grads: list, m: Any,
                   notes: dict[int, str] | None, warnings: list[str]) -> tuple:
    """One node's local derivatives, each checked; adds local × upstream into its inputs."""
    nodes = graph.nodes
    node = nodes[i]
    op = REGISTRY[node.op]
    assert op.partial is not None  # a node with inputs is not a leaf
    args = tuple(values[j] for j in node.inputs)
    out, upstream = values[i], grads[i]
    needed = graph.live[i]
    varying = graph.varying
    isfinite = m.isfinite
    local = []
    for k, j in enumerate(node.inputs):
        try:
            p = op.partial(m, out, args, k)
            ok = isfinite(p)
        except GradcalcError:
            raise
        except _FAILURES:
            p, ok = None, False
        if not ok:
            if needed and varying[j]:
                if notes is None or p is None:
                    raise derivative_error(graph, i, k, args)
                notes.setdefault(i, f"non-finite ∂/∂{nodes[j].name} = {_short(p)}"
                                    f"{_describe_args(graph, i, args)}")
            else:
                p = None
        local.append(p)
        if p is not None:
            grads[j] = grads[j] + p * upstream
    if op.kink is not None and needed:
        note = op.kink(out, args)
        if note:
            warnings.append(f"stage {graph.stage(i)}: {note}")
    return tuple(local)


# ---- the float fast path ---------------------------------------------------------------------
# Floats are the common case and the hot one (a 10^5-node graph on every call). The loops
# below run the registry's own forward functions and local rules, without a check per stage:
# a non-finite number anywhere makes the sum of all values (or gradients) non-finite, so one
# sum at the end checks them all. When that sum, or an exception, says something went wrong,
# the checked loops above run instead and name the first stage at fault, as they always do.

class _Plan(NamedTuple):
    """A graph's operations laid out for the float loops, computed once per graph."""

    forward: list  # in order: (i, forward, a, b); b = -1: one argument; b = -2: a is all of them
    backward: list  # in reverse: (i, a, b, rule for a, rule for b, constant side); no rules: checked


def _plan(graph: Graph) -> _Plan:
    plan = graph.memo.get("autodiff")
    if plan is None:
        plan = graph.memo["autodiff"] = _make_plan(graph)
    return plan


def _make_plan(graph: Graph) -> _Plan:
    """Two-argument nodes with a constant side keep the float loop (that side's derivative is
    not needed, so it may fail); kinks, dead stages and other arities take the checked path."""
    live, varying = graph.live, graph.varying
    ahead, back = [], []
    known: dict[str, tuple] = {}  # each op's forward function, its rules, whether it has kinks
    for i, node in enumerate(graph.nodes):
        inputs = node.inputs
        if not inputs:
            continue
        found = known.get(node.op)
        if found is None:
            op = REGISTRY[node.op]
            found = known[node.op] = (op.forward, getattr(op.partial, "rules", None), op.kink is not None)
        forward, rules, kinks = found
        a = inputs[0]
        b = inputs[1] if len(inputs) == 2 else -1 if len(inputs) == 1 else -2
        ahead.append((i, forward, inputs if b == -2 else a, b))
        constant_side = 0 if b < 0 or varying[b] else 2
        if b >= 0 and not varying[a]:
            constant_side = 1
        if rules is None or b == -2 or kinks or not live[i] or not varying[i] or \
                (b == -1 and not varying[a]):
            back.append((i, a, b, None, None, 0))
        else:
            back.append((i, a, b, rules[0], rules[-1], constant_side))
    back.reverse()
    return _Plan(ahead, back)


def _forward_floats(plan: _Plan, values: list, m: Any) -> bool:
    """Fill in every operation's value; False if one failed or is not finite."""
    try:
        for i, fn, a, b in plan.forward:
            if b >= 0:
                values[i] = fn(m, values[a], values[b])
            elif b == -1:
                values[i] = fn(m, values[a])
            else:
                values[i] = fn(m, *[values[j] for j in a])
        return math.isfinite(sum(values))
    except GradcalcError:
        raise
    except (*_FAILURES, TypeError):
        return False


def _backward_floats(graph: Graph, plan: _Plan, values: list, m: Any):
    """The gradients and local derivatives without a check per edge; None if a check fails."""
    size = len(values)
    grads = [m.ZERO] * size
    grads[graph.output] = m.ONE
    first, second = [None] * size, [None] * size  # ∂node/∂(first input), ∂node/∂(second input)
    checked: dict[int, tuple] = {}  # the nodes done by the checked code
    warnings: list[str] = []
    try:
        for i, a, b, rule_a, rule_b, constant_side in plan.backward:
            if rule_a is None:
                checked[i] = _node_backward(graph, i, values, grads, m, None, warnings)
                continue
            out, upstream = values[i], grads[i]
            if b < 0:
                first[i] = p = rule_a(m, out, values[a])
                grads[a] += p * upstream
            elif not constant_side:
                x, y = values[a], values[b]
                first[i] = p = rule_a(m, out, x, y)
                second[i] = q = rule_b(m, out, x, y)
                grads[a] += p * upstream
                grads[b] += q * upstream
            else:  # the constant side's derivative is kept for display when it is finite
                x, y = values[a], values[b]
                first[i] = p = _unneeded(rule_a, m, out, x, y) if constant_side == 1 else rule_a(m, out, x, y)
                second[i] = q = _unneeded(rule_b, m, out, x, y) if constant_side == 2 else rule_b(m, out, x, y)
                if p is not None:
                    grads[a] += p * upstream
                if q is not None:
                    grads[b] += q * upstream
        if not math.isfinite(sum(grads)):
            return None
    except DomainError:
        return None
    except GradcalcError:
        raise
    except _FAILURES:
        return None
    return grads, lambda: _locals(graph, first, second, checked), warnings


def _unneeded(rule: Callable, m: Any, out, x, y):
    """A local derivative nobody needs: None where it fails or is not finite, as in the checked path."""
    try:
        p = rule(m, out, x, y)
    except GradcalcError:
        raise
    except _FAILURES:
        return None
    return p if math.isfinite(p) else None


def _locals(graph: Graph, first: list, second: list, checked: dict[int, tuple]) -> list:
    """Each node's tuple of local derivatives, from the float loop's flat lists."""
    partials: list = [()] * len(first)
    for i, node in enumerate(graph.nodes):
        if i in checked:
            partials[i] = checked[i]
        elif len(node.inputs) == 1:
            partials[i] = (first[i],)
        elif node.inputs:
            partials[i] = (first[i], second[i])
    return partials


def check_gradients(graph: Graph, grads: list, isfinite, notes: dict | None = None) -> None:
    for i in range(len(grads) - 1, -1, -1):
        if graph.varying[i] and not isfinite(grads[i]):
            node = graph.nodes[i]
            if notes is not None:
                notes.setdefault(i, f"non-finite gradient ∂{graph.output_name}/∂{node.name} = "
                                    f"{_short(grads[i])}")
                continue
            raise DomainError(f"the gradient with respect to {node.name} is not finite "
                              f"(overflow while accumulating it)", node.name)


def _describe_args(graph: Graph, i: int, args) -> str:
    parts = [f"{graph.nodes[j].name} = {_short(value)}"
             for j, value in zip(graph.nodes[i].inputs, args) if graph.nodes[j].op != "const"]
    more = f" and {len(parts) - 10:,} more" if len(parts) > 10 else ""
    return f" ({', '.join(parts[:10])}{more})" if parts else ""


def _short(value) -> str:
    try:
        return format(value, ".6g")
    except (TypeError, ValueError):
        return str(value)


def _nonfinite_value(graph: Graph, i: int, args, out) -> str:
    """What IEEE mode says of a stage whose value is inf or nan: why, where it arose here."""
    reason = ""
    why = REGISTRY[graph.nodes[i].op].why
    if why is not None and all(map(math.isfinite, args)):
        reason = f": {why(*args)}"
    return f"non-finite value {_short(out)}{reason}{_describe_args(graph, i, args)}"


def value_error(graph: Graph, i: int, args, exc: Exception | None) -> DomainError:
    node = graph.nodes[i]
    op = REGISTRY[node.op]
    if op.why is not None:
        try:
            reason = op.why(*args)
        except _FAILURES:
            reason = "undefined"
    elif exc is None or isinstance(exc, OverflowError):
        reason = "overflow"
    else:
        reason = "undefined"
    return DomainError(f"stage {graph.stage(i)}: {reason}"
                       f"{_describe_args(graph, i, args)}", node.name)


def derivative_error(graph: Graph, i: int, k: int, args) -> DomainError:
    node = graph.nodes[i]
    wrt = graph.nodes[node.inputs[k]].name
    return DomainError(f"stage {graph.stage(i)}: the derivative with respect "
                       f"to {wrt} is undefined or infinite here{_describe_args(graph, i, args)}",
                       node.name)


# ---- vectors and matrices ---------------------------------------------------------------------
# On the array system (gradcalc.numbers.arrays) each stage is one array operation; the backward
# pass sends each stage's gradient into its inputs through the op's vector–Jacobian rule, or,
# for an elementwise op, as local × upstream summed over the axes that input was broadcast along.

def vectors_refused(graph: Graph, what: str = "this mode") -> UsageError:
    """Vector ops outside the array system: the modes that have no vectors yet say so."""
    ops = sorted({REGISTRY[node.op].symbol or node.op for node in graph.nodes if REGISTRY[node.op].vector})
    return UsageError(f"{what} does not support vectors and matrices yet (the expression uses "
                      f"{', '.join(ops)}): {VECTOR_MODES}")


def _evaluate_shaped(graph: Graph, at: Mapping[str, Any], wrt: tuple, m: Any) -> Result:
    values = _forward_shaped(graph, at, m)
    shape = m.shape(values[graph.output])
    if shape:
        raise VectorOutput(graph.output_name, _shape_words(shape))
    grads, steps, warnings = _backward_shaped(graph, values, m)
    result = Result(graph, values, grads, lambda: [(None,) * len(n.inputs) for n in graph.nodes],
                    wrt, warnings)
    result.shapes = [m.shape(v) for v in values]
    result.steps = tuple(steps)
    return result


def _forward_shaped(graph: Graph, at: Mapping[str, Any], m: Any) -> list:
    values: list = [None] * len(graph.nodes)
    with m.errstate(all="ignore"):
        for i, node in enumerate(graph.nodes):
            if node.op == "input":
                values[i] = m.asarray(at[node.name])
                continue
            if node.op == "const":
                values[i] = m.asarray(m.constant(node.text) if node.text in ("pi", "e") else m.number(node.text))
                continue
            args = [values[j] for j in node.inputs]
            fn = REGISTRY[node.op].forward
            assert fn is not None
            try:
                out = m.asarray(fn(m, *args))
            except GradcalcError:
                raise
            except IndexError:
                raise _index_error(graph, i, args, m) from None
            except ValueError:
                raise shape_error(graph, i, [m.shape(a) for a in args]) from None
            if not m.isfinite(out):
                raise _element_error(graph, i, args, out, m)
            values[i] = out
    return values


def _backward_shaped(graph: Graph, values: list, m: Any) -> tuple[list, list, list[str]]:
    nodes, live, varying = graph.nodes, graph.live, graph.varying
    grads: list = [None] * len(nodes)
    grads[graph.output] = m.asarray(m.ONE)
    steps: list = []
    warnings: list[str] = []
    with m.errstate(all="ignore"):
        for i in range(len(nodes) - 1, -1, -1):
            node, upstream = nodes[i], grads[i]
            if not node.inputs or not live[i] or upstream is None:
                continue
            op = REGISTRY[node.op]
            args, out = tuple(values[j] for j in node.inputs), values[i]
            for k, j in enumerate(node.inputs):
                if not varying[j]:
                    continue
                if op.vjp is not None:
                    flowing = op.vjp(m, out, args, k, upstream)
                else:
                    assert op.partial is not None
                    flowing = m.unbroadcast(op.partial(m, out, args, k) * upstream, m.shape(args[k]))
                if flowing is None:
                    continue
                if not m.isfinite(flowing):
                    raise derivative_error(graph, i, k, [_short_array(a) for a in args])
                grads[j] = flowing if grads[j] is None else grads[j] + flowing
                steps.append((i, k, j, flowing))
            note = _kink_shaped(op, out, args, m)
            if note:
                warnings.append(f"stage {graph.stage(i)}: {note}")
    return [m.asarray(values[i] * m.ZERO) if g is None else m.asarray(g) for i, g in enumerate(grads)], steps, warnings


def _kink_shaped(op, out, args, m) -> str | None:
    """The op's note at a non-differentiable point, for the first element that is at one."""
    if op.kink is None or op.kink_at is None:
        return None
    at = op.kink_at(out, args)
    if not m.ndim(at):
        return op.kink(out, args) if at else None
    flat = m.first_true(at)
    if flat < 0:
        return None
    return op.kink(m.element(out, flat, at), [m.element(a, flat, at) for a in args])


def shape_error(graph: Graph, i: int, shapes: list) -> UsageError:
    """A stage whose inputs' shapes do not fit: the stage, both shapes, and why."""
    node = graph.nodes[i]
    op = REGISTRY[node.op]
    given = " and ".join(f"{graph.nodes[j].name} is {_shape_words(shape)}"
                         for j, shape in zip(node.inputs, shapes) if graph.nodes[j].op != "const" or shape)
    reason = op.mismatch(shapes) if op.mismatch is not None else \
        "they do not broadcast (numpy's rule: each trailing dimension equal, or 1)"
    return UsageError(f"stage {graph.stage(i)}: shapes do not fit: {given}: {reason}")


def _index_error(graph: Graph, i: int, args: list, m: Any) -> UsageError:
    node = graph.nodes[i]
    shape = m.shape(args[0])
    at = ", ".join(str(int(a)) for a in args[1:])
    name = graph.nodes[node.inputs[0]].name
    if len(args) - 1 != len(shape):
        fix = "a scalar has no elements" if not shape else f"index it with {len(shape)} " + \
            ("index" if len(shape) == 1 else "indices")
        return UsageError(f"stage {graph.stage(i)}: {name} is {_shape_words(shape)}: {fix}")
    return UsageError(f"stage {graph.stage(i)}: index [{at}] is out of range for {name}, "
                      f"{_shape_words(shape)} (indices count from 0)")


def _element_error(graph: Graph, i: int, args: list, out: Any, m: Any) -> DomainError:
    """The first element of a stage that is not finite, with why and the inputs there."""
    node = graph.nodes[i]
    op = REGISTRY[node.op]
    flat = m.first_bad(out)
    where = element_text(m.shape(out), flat)
    try:
        scalars = [m.element(a, flat, out) for a in args]
    except ValueError:  # a reduction: its inputs have other shapes
        scalars = None
    reason = "overflow"
    if op.why is not None and scalars is not None:
        try:
            reason = op.why(*scalars)
        except _FAILURES:
            reason = "undefined"
    parts = [f"{graph.nodes[j].name}{where} = {_short(v)}" for j, v in zip(node.inputs, scalars or ())
             if graph.nodes[j].op != "const"]
    at = f" at {where}" if where else ""
    shown = f" ({', '.join(parts[:10])})" if parts else ""
    return DomainError(f"stage {graph.stage(i)}: {reason}{at}{shown}", node.name)


def element_text(shape: tuple, flat: int) -> str:
    """`[1, 2]` for the element at flat index `flat` of an array of `shape` ("" for a scalar)."""
    if not shape:
        return ""
    index = []
    for n in reversed(shape):
        flat, k = divmod(flat, n)
        index.append(str(k))
    return "[" + ", ".join(reversed(index)) + "]"


def _shape_words(shape: tuple) -> str:
    if not shape:
        return "a scalar"
    if len(shape) == 1:
        return f"a {shape[0]}-vector"
    return "a " + "×".join(map(str, shape)) + (" matrix" if len(shape) == 2 else " array")


def _short_array(value) -> Any:
    return value if not getattr(value, "ndim", 0) else _ArrayText(value)


class _ArrayText:
    """An array in a message: its shape, not its elements."""

    def __init__(self, value):
        self.shape = value.shape

    def __format__(self, spec: str) -> str:
        return _shape_words(self.shape)
