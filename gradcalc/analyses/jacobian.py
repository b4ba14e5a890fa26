"""Several outputs and their Jacobian, by reverse or by forward mode, with the work counted.

Reverse mode runs one backward pass per output, seeded at that output: it gives the output's
row, ∂output/∂input for every input at once. Forward mode runs one pass per input, carrying
beside each stage's value its tangent ∂stage/∂input, filled in topological order: it gives
the input's column, ∂output/∂input for every output at once. Both use the op registry's
local rules at the values of one forward evaluation, and count what they run: the passes,
and the local derivatives evaluated (the edges of the output's cone going back, of the
input's cone going forward). So the cheaper direction shows in numbers: a loss of many
parameters takes one reverse pass against one forward pass per parameter.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from gradcalc.core import autodiff
from gradcalc.core.graph import Graph
from gradcalc.core.ops import REGISTRY
from gradcalc.errors import GradcalcError, UsageError
from gradcalc.numbers import floats

MODES = ("reverse", "forward", "auto")
_FAILURES = (ArithmeticError, ValueError)


@dataclass
class Tangents:
    """One forward-mode pass: every stage's value and its tangent ∂stage/∂`wrt`, in the
    order of `graph.nodes` (None for a stage no output uses, which the pass skips)."""

    graph: Graph
    values: list
    wrt: str
    tangents: list
    locals: list  # per node, the local derivatives the pass evaluated (None: not needed)
    evaluations: int  # local derivatives evaluated
    warnings: list[str] = field(default_factory=list)
    exact: bool = False  # values are sympy's
    digits: int | None = None  # values and tangents confirmed to this many digits (mpmath)

    @property
    def at(self) -> dict[str, Any]:
        return {self.graph.nodes[i].name: self.values[i] for i in self.graph.inputs}

    @property
    def derivative(self) -> dict[str, Any]:
        """∂output/∂wrt for each output."""
        return dict(zip(self.graph.output_names, (self.tangents[i] for i in self.graph.outputs)))

    @property
    def output_values(self) -> dict[str, Any]:
        return dict(zip(self.graph.output_names, (self.values[i] for i in self.graph.outputs)))


@dataclass
class Jacobian:
    """∂output/∂input for every output (rows, `matrix[output][input]`) and input (columns),
    the mode that computed it, and what that cost: `passes` and `evaluations` of local
    derivatives, counted as they ran."""

    graph: Graph
    values: list
    wrt: tuple[str, ...]
    matrix: dict[str, dict[str, Any]]
    mode: str
    passes: int
    evaluations: int
    warnings: list[str] = field(default_factory=list)
    exact: bool = False  # values are sympy's
    # vectors and matrices, computed on the scalar circuit of their elements: the shapes of
    # the inputs and outputs that are arrays (the renderers label and fold the elements back)
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)

    @property
    def at(self) -> dict[str, Any]:
        return {self.graph.nodes[i].name: self.values[i] for i in self.graph.inputs}

    @property
    def output_values(self) -> dict[str, Any]:
        return dict(zip(self.graph.output_names, (self.values[i] for i in self.graph.outputs)))


def choose_mode(mode: str, outputs: int, inputs: int) -> str:
    """`auto`: the direction of fewer passes (reverse on a tie: one pass also gives every
    stage's gradient)."""
    if mode not in MODES:
        raise UsageError(f"mode={mode!r}: expected one of {', '.join(MODES)}").about("mode")
    if mode != "auto":
        return mode
    return "forward" if inputs < outputs else "reverse"


def jacobian(graph: Graph, at: Mapping[str, Any], *, wrt: Sequence[str] | None = None,
             mode: str = "auto", m: Any = floats) -> Jacobian:
    """The Jacobian of `graph.outputs` with respect to `wrt` (default: every input) at `at`,
    by `mode` (reverse, forward or auto); `m` is the number system (floats, or symbolic for
    exact values)."""
    autodiff.check_inputs(graph, at)
    names = tuple(graph.input_names if wrt is None else wrt)
    autodiff.check_wrt(graph, names)
    chosen = choose_mode(mode, len(graph.outputs), len(names))
    values = autodiff.forward(graph, at, m)
    matrix: dict[str, dict[str, Any]] = {name: {} for name in graph.output_names}
    warnings: list[str] = []
    evaluations = 0
    if chosen == "reverse":
        index = dict(zip(graph.input_names, graph.inputs))
        for output, name in zip(graph.outputs, graph.output_names):
            grads, count = reverse_pass(graph, values, output, m, warnings)
            evaluations += count
            matrix[name] = {x: grads[index[x]] for x in names}
        passes = len(graph.outputs)
    else:
        for x in names:
            tangents = forward_pass(graph, values, x, m, warnings)
            evaluations += tangents.evaluations
            for name, derivative in tangents.derivative.items():
                matrix[name][x] = derivative
        passes = len(names)
    return Jacobian(graph, values, names, matrix, chosen, passes, evaluations,
                    list(dict.fromkeys(warnings)), m is not floats)


def tangents(graph: Graph, at: Mapping[str, Any], wrt: str | None = None,
             m: Any = floats) -> Tangents:
    """One forward-mode pass at `at`: every stage's value and its tangent ∂stage/∂wrt
    (`wrt` may be left out when the graph has one input)."""
    autodiff.check_inputs(graph, at)
    if wrt is None:
        if len(graph.inputs) != 1:
            raise UsageError(f"forward mode differentiates by one input: give it with wrt NAME "
                             f"(one of {', '.join(graph.input_names) or 'none'})").about("wrt")
        wrt = graph.input_names[0]
    autodiff.check_wrt(graph, (wrt,))
    warnings: list[str] = []
    result = forward_pass(graph, autodiff.forward(graph, at, m), wrt, m, warnings)
    result.warnings = list(dict.fromkeys(warnings))
    result.exact = m is not floats
    return result


def forward_pass(graph: Graph, values: list, wrt: str, m: Any = floats,
                 warnings: list[str] | None = None) -> Tangents:
    """Tangents in topological order: each stage's is the sum over its inputs of the local
    derivative times the input's tangent; only inputs that depend on `wrt` need their local
    derivative, and only stages some output uses are computed."""
    nodes, used = graph.nodes, graph.used
    seed = graph.index[wrt]
    tangents: list = [m.ZERO] * len(nodes)
    tangents[seed] = m.ONE
    reached = [False] * len(nodes)
    reached[seed] = True
    partials: list = [()] * len(nodes)
    count = 0
    for i, node in enumerate(nodes):
        if not node.inputs:
            continue
        if not used[i]:
            tangents[i] = None
            partials[i] = (None,) * len(node.inputs)
            continue
        local: list = []
        total = m.ZERO
        for k, j in enumerate(node.inputs):
            if not reached[j]:
                local.append(None)
                continue
            p = _local(graph, values, i, k, m)
            count += 1
            local.append(p)
            total = total + p * tangents[j]
            reached[i] = True
        partials[i] = tuple(local)
        tangents[i] = total
        if reached[i] and warnings is not None:
            _kink(graph, values, i, warnings)
    return Tangents(graph, values, wrt, tangents, partials, count)


def reverse_pass(graph: Graph, values: list, output: int, m: Any = floats,
                 warnings: list[str] | None = None) -> tuple[list, int]:
    """One backward pass seeded at `output`: every node's ∂output/∂node, and how many local
    derivatives it evaluated (one per edge into a varying node of the output's cone)."""
    nodes, varying = graph.nodes, graph.varying
    live = graph.seeded_at(output).live
    grads: list = [m.ZERO] * len(nodes)
    grads[output] = m.ONE
    count = 0
    for i in range(output, -1, -1):
        node = nodes[i]
        if not (node.inputs and live[i]):
            continue
        upstream = grads[i]
        for k, j in enumerate(node.inputs):
            if not varying[j]:
                continue
            p = _local(graph, values, i, k, m)
            count += 1
            grads[j] = grads[j] + p * upstream
        if warnings is not None:
            _kink(graph, values, i, warnings)
    return grads, count


def _local(graph: Graph, values: list, i: int, k: int, m: Any):
    """The registry's ∂node/∂(its k-th input), strict: undefined or infinite is a DomainError."""
    node = graph.nodes[i]
    op = REGISTRY[node.op]
    assert op.partial is not None  # a node with inputs is not a leaf
    args = tuple(values[j] for j in node.inputs)
    try:
        p = op.partial(m, values[i], args, k)
        ok = m.isfinite(p)
    except GradcalcError:  # a limit (exact digits), not a derivative that fails
        raise
    except _FAILURES:
        ok = False
    if not ok:
        raise autodiff.derivative_error(graph, i, k, args)
    return p


def _kink(graph: Graph, values: list, i: int, warnings: list[str]) -> None:
    node = graph.nodes[i]
    kink = REGISTRY[node.op].kink
    if kink is not None:
        note = kink(values[i], tuple(values[j] for j in node.inputs))
        if note:
            warnings.append(f"stage {graph.stage(i)}: {note}")


@dataclass
class Outputs:
    """Several outputs, each evaluated with its own backward pass in one number system:
    `rows` holds per output a Result (floats, exact) or a digits.Decimals (`number` says which)."""

    graph: Graph
    rows: list
    number: str = "float"  # "float", "exact" or "digits"
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)  # as the Jacobian's

    @property
    def results(self) -> list:
        return [getattr(row, "result", row) for row in self.rows]
