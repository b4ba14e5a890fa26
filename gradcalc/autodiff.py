"""Forward in topological order, then reverse accumulation: two loops that never name an op.

Values, local derivatives and gradients live in a `Result`, outside the frozen graph, so one
graph serves any number of points. Strict by default: the first stage whose value or needed
local derivative is undefined or not finite raises a DomainError naming the stage.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from . import floatmath
from .errors import DomainError, UsageError
from .graph import Graph
from .ops import REGISTRY

_FAILURES = (ArithmeticError, ValueError)  # ZeroDivisionError and OverflowError are ArithmeticErrors


@dataclass
class Result:
    """Everything one evaluation computed, indexed like `graph.nodes`."""

    graph: Graph
    values: list
    grads: list
    locals: list  # per node: tuple of ∂node/∂input (None where undefined and not needed)
    wrt: tuple[str, ...]  # the inputs whose gradients are reported
    warnings: list[str] = field(default_factory=list)

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
        index = self.graph.index
        return {name: self.grads[index[name]] for name in self.wrt}

    def grad_of(self, name: str) -> Any:
        """∂output/∂stage for any node by name."""
        return self.grads[self.graph.index[name]]


def check_inputs(graph: Graph, names: Mapping[str, Any] | set) -> None:
    """Refuse a point that lacks inputs, naming every missing one in one message."""
    missing = [name for name in graph.input_names if name not in names]
    if missing:
        shown = ", ".join(missing)
        example = ",".join(f"{name}=..." for name in missing[:3])
        raise UsageError(f"missing value{'s' if len(missing) > 1 else ''} for {shown} "
                         f"(give {'them' if len(missing) > 1 else 'it'} with --at {example})")


def evaluate(graph: Graph, at: Mapping[str, Any], wrt: Sequence[str] | None = None,
             m: Any = floatmath, nonfinite: str = "strict") -> Result:
    """Value and gradient of the graph's output at a point (forward, then backward).

    `nonfinite="ieee"` lets inf and nan flow through (gradcalc.ieeemath) with one warning
    per stage where they appear, instead of stopping at the first one.
    """
    check_inputs(graph, at)
    wrt = tuple(graph.input_names if wrt is None else wrt)
    unknown = [name for name in wrt if name not in graph.input_names]
    if unknown:
        raise UsageError(f"--wrt names {', '.join(unknown)}, which the expression does not use "
                         f"(its inputs: {', '.join(graph.input_names) or 'none'})")
    if nonfinite != "strict":
        return _evaluate_ieee(graph, at, wrt, m, nonfinite)
    values = forward(graph, at, m)
    grads, partials, warnings = backward(graph, values, m)
    return Result(graph, values, grads, partials, wrt, warnings)


def _evaluate_ieee(graph: Graph, at: Mapping[str, Any], wrt: tuple, m: Any, mode: str) -> Result:
    from . import ieeemath

    if mode != "ieee":
        raise UsageError(f"--nonfinite {mode}: expected strict or ieee")
    if m is not floatmath:
        raise UsageError("--nonfinite ieee works with float64 arithmetic only")
    notes: dict[int, str] = {}
    values = forward(graph, {name: ieeemath.IEEE(v) for name, v in at.items()}, ieeemath, notes)
    grads, partials, warnings = backward(graph, values, ieeemath, notes)
    warnings += [_stage_note(graph, i, note) for i, note in notes.items()]  # as they arose
    partials = [tuple(ieeemath.plain(list(p))) for p in partials]
    return Result(graph, ieeemath.plain(values), ieeemath.plain(grads), partials, wrt, warnings)


def _stage_note(graph: Graph, i: int, note: str) -> str:
    node = graph.nodes[i]
    where = node.name if node.op == "input" else f"{node.name} = {graph.definition(i)}"
    return f"stage {where}: {note}"


def forward(graph: Graph, at: Mapping[str, Any], m: Any = floatmath,
            notes: dict[int, str] | None = None) -> list:
    """Every node's value, in topological order.

    Strict unless given `notes` (IEEE mode): then a non-finite value is noted, once per stage.
    """
    values: list = [None] * len(graph.nodes)
    isfinite = m.isfinite
    for i, node in enumerate(graph.nodes):
        op = node.op
        if op == "input":
            values[i] = at[node.name]
            continue
        if op == "const":
            values[i] = m.constant(node.text) if node.text in ("pi", "e") else m.number(node.text)
            continue
        args = [values[j] for j in node.inputs]
        try:
            out = REGISTRY[op].forward(m, *args)
        except _FAILURES as exc:
            raise _value_error(graph, i, args, exc) from None
        if not isfinite(out):
            if notes is None:
                raise _value_error(graph, i, args, None)
            notes.setdefault(i, _nonfinite_value(graph, i, args, out))
        values[i] = out
    return values


def backward(graph: Graph, values: list, m: Any = floatmath,
             notes: dict[int, str] | None = None) -> tuple[list, list, list[str]]:
    """Reverse accumulation: each edge adds local × upstream into its input (the `+=`)."""
    nodes = graph.nodes
    varying, live = graph.varying, graph.live
    grads: list = [m.ZERO] * len(nodes)
    grads[graph.output] = m.ONE
    partials: list = [()] * len(nodes)
    warnings: list[str] = []
    isfinite = m.isfinite
    for i in range(len(nodes) - 1, -1, -1):
        node = nodes[i]
        if not node.inputs:
            continue
        op = REGISTRY[node.op]
        args = tuple(values[j] for j in node.inputs)
        out, upstream = values[i], grads[i]
        needed = live[i]
        local = []
        for k, j in enumerate(node.inputs):
            try:
                p = op.partial(m, out, args, k)
                ok = isfinite(p)
            except _FAILURES:
                p, ok = None, False
            if not ok:
                if needed and varying[j]:
                    if notes is None or p is None:
                        raise _derivative_error(graph, i, k, args)
                    notes.setdefault(i, f"non-finite ∂/∂{nodes[j].name} = {_short(p)}"
                                        f"{_describe_args(graph, i, args)}")
                else:
                    p = None
            local.append(p)
            if p is not None:
                grads[j] = grads[j] + p * upstream
        partials[i] = tuple(local)
        if op.kink is not None and needed:
            note = op.kink(out, args)
            if note:
                warnings.append(f"stage {node.name} = {graph.definition(i)}: {note}")
    _check_gradients(graph, grads, isfinite, notes)
    return grads, partials, warnings


def _check_gradients(graph: Graph, grads: list, isfinite, notes: dict | None = None) -> None:
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
    parts = []
    for j, value in zip(graph.nodes[i].inputs, args):
        node = graph.nodes[j]
        if node.op != "const":
            parts.append(f"{node.name} = {_short(value)}")
    return f" ({', '.join(parts)})" if parts else ""


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


def _value_error(graph: Graph, i: int, args, exc: Exception | None) -> DomainError:
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
    return DomainError(f"stage {node.name} = {graph.definition(i)}: {reason}"
                       f"{_describe_args(graph, i, args)}", node.name)


def _derivative_error(graph: Graph, i: int, k: int, args) -> DomainError:
    node = graph.nodes[i]
    wrt = graph.nodes[node.inputs[k]].name
    return DomainError(f"stage {node.name} = {graph.definition(i)}: the derivative with respect "
                       f"to {wrt} is undefined or infinite here{_describe_args(graph, i, args)}",
                       node.name)
