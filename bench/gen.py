"""Deterministic generator of benchmark programs.

A generated program exists in two equivalent forms:

* ``text``: a gradcalc program of named stages, one per line
  (``t1 = sin(x3)``, ``t2 = t1 * x7``, ..., last assignment is the output);
* ``ops``: the same computation pre-parsed into ``(out, opname, ins)`` tuples
  over one flat value array, so floors and peers can run it without parsing.

A stage may span several ops (``log(1 + t4 * t4)`` is mul, add, log); the
size asked for counts ops, in the order a left-associative parser would build
them, so the two forms describe the same graph node for node.

Value array layout: slots ``0..9`` hold the inputs ``x0..x9``, the next slots
hold the constants (``CONSTANTS``), and every op writes a fresh slot, in order.

Every stage is consumed by a later one (a FIFO of ten pending results) and
stages also reuse random earlier results, so the graph is a DAG with shared
subexpressions in which every input and every stage reaches the output.
An interval bound is tracked per slot so the program stays finite for all
inputs in [-1, 1]: ``log`` only sees ``1 + t*t`` or ``sigmoid(t)`` with ``t``
bounded, division is only by ``1 + t*t`` or ``2 + sin(t)``, ``exp`` only of
``sin`` or ``tanh``, and a product is only formed while its bound is small.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from collections import deque
from dataclasses import dataclass

N_INPUTS = 10
CONSTANTS = (1.0, 2.0)
OPNAMES = ("add", "sub", "mul", "div", "exp", "log", "sin", "tanh", "sigmoid")
UNARY = frozenset({"exp", "log", "sin", "tanh", "sigmoid"})
BOUND_CAP = 40.0  # largest |value| any slot may reach; keeps sigmoid/log safe
MIN_OPS = N_INPUTS - 1  # summing the ten inputs is the smallest program

_ONE = N_INPUTS  # slot of the constant 1.0
_TWO = N_INPUTS + 1  # slot of the constant 2.0

Op = tuple[int, str, tuple[int, ...]]


@dataclass(frozen=True)
class Program:
    """One benchmark problem: program text, its op list and its input values."""

    text: str
    ops: tuple[Op, ...]
    inputs: tuple[float, ...]
    constants: tuple[float, ...]
    output: int

    @property
    def n_ops(self) -> int:
        return len(self.ops)

    @property
    def n_slots(self) -> int:
        return N_INPUTS + len(self.constants) + len(self.ops)

    @property
    def first_op_slot(self) -> int:
        return N_INPUTS + len(self.constants)

    def input_assignments(self) -> str:
        """Input values as ``x0=... x1=...`` with exact float reprs."""
        return " ".join(f"x{i}={v!r}" for i, v in enumerate(self.inputs))


@dataclass(frozen=True)
class _Template:
    """A stage shape: how it prints, which ops it emits, how it bounds its value."""

    name: str
    cost: int
    binary: bool
    fmt: str


_TEMPLATES = (
    _Template("add", 1, True, "{a} + {b}"),
    _Template("sub", 1, True, "{a} - {b}"),
    _Template("mul", 1, True, "{a} * {b}"),
    _Template("div_sq", 3, True, "{a} / (1 + {b} * {b})"),
    _Template("div_sin", 3, True, "{a} / (2 + sin({b}))"),
    _Template("sin", 1, False, "sin({a})"),
    _Template("tanh", 1, False, "tanh({a})"),
    _Template("sigmoid", 1, False, "sigmoid({a})"),
    _Template("exp_sin", 2, False, "exp(sin({a}))"),
    _Template("exp_tanh", 2, False, "exp(tanh({a}))"),
    _Template("log_sq", 3, False, "log(1 + {a} * {a})"),
    _Template("log_sigmoid", 2, False, "log(sigmoid({a}))"),
)


def _template_bound(name: str, ba: float, bb: float) -> float:
    """Upper bound of |stage value| given bounds of its operands."""
    if name in ("add", "sub"):
        return ba + bb
    if name == "mul":
        return ba * bb
    if name in ("div_sq", "div_sin"):
        return ba  # denominators are >= 1
    if name in ("sin", "tanh"):
        return min(1.0, ba)
    if name == "sigmoid":
        return 1.0
    if name in ("exp_sin", "exp_tanh"):
        return math.e
    if name == "log_sq":
        return math.log1p(ba * ba)
    if name == "log_sigmoid":
        return ba + math.log(2.0)
    raise ValueError(name)


class _Builder:
    """Accumulates ops and their text while tracking slot bounds."""

    def __init__(self) -> None:
        self.ops: list[Op] = []
        self.bounds: list[float] = [1.0] * N_INPUTS + [abs(c) for c in CONSTANTS]
        self.names: list[str] = [f"x{i}" for i in range(N_INPUTS)] + ["1", "2"]
        self.lines: list[str] = []

    def op(self, opname: str, *ins: int) -> int:
        out = len(self.bounds)
        self.ops.append((out, opname, ins))
        self.bounds.append(math.inf)  # set by the stage that owns the op
        self.names.append("")
        return out

    def stage(self, template: _Template, a: int, b: int, name: str) -> int:
        """Emit one stage's ops and its text line; return the stage's slot."""
        out = self._emit_ops(template.name, a, b)
        self.bounds[out] = _template_bound(template.name, self.bounds[a], self.bounds[b])
        self.names[out] = name
        expr = template.fmt.format(a=self.names[a], b=self.names[b])
        self.lines.append(f"{name} = {expr}")
        return out

    def _emit_ops(self, name: str, a: int, b: int) -> int:
        if name in ("add", "sub", "mul"):
            return self.op(name, a, b)
        if name == "div_sq":
            return self.op("div", a, self.op("add", _ONE, self.op("mul", b, b)))
        if name == "div_sin":
            return self.op("div", a, self.op("add", _TWO, self.op("sin", b)))
        if name in ("sin", "tanh", "sigmoid"):
            return self.op(name, a)
        if name == "exp_sin":
            return self.op("exp", self.op("sin", a))
        if name == "exp_tanh":
            return self.op("exp", self.op("tanh", a))
        if name == "log_sq":
            return self.op("log", self.op("add", _ONE, self.op("mul", a, a)))
        if name == "log_sigmoid":
            return self.op("log", self.op("sigmoid", a))
        raise ValueError(name)

    def fold_sum(self, slots: list[int], name: str) -> int:
        """Sum the remaining results into the output stage, left to right."""
        acc = slots[0]
        for s in slots[1:]:
            acc = self.op("add", acc, s)
        self.bounds[acc] = sum(self.bounds[s] for s in slots)
        self.names[acc] = name
        self.lines.append(f"{name} = " + " + ".join(self.names[s] for s in slots))
        return acc


def _pick_template(rng: random.Random, b: _Builder, a: int, other: int, budget: int):
    """Draw a stage shape that fits the op budget and keeps values bounded."""
    while True:
        t = rng.choice(_TEMPLATES)
        if t.cost <= budget and _template_bound(t.name, b.bounds[a], b.bounds[other]) <= BOUND_CAP:
            return t


def input_values(seed: int = 0) -> tuple[float, ...]:
    """Ten fixed inputs in [-1, 1] with short exact decimal reprs."""
    rng = random.Random(f"inputs:{seed}")
    return tuple(rng.randint(-999, 999) / 1000 for _ in range(N_INPUTS))


def generate(n_ops: int, seed: int = 0, sep: str = "\n") -> Program:
    """Build a program of exactly ``n_ops`` ops; same (n_ops, seed) -> same program."""
    if n_ops < MIN_OPS:
        raise ValueError(f"n_ops must be >= {MIN_OPS} (the output sums all inputs)")
    rng = random.Random(seed)
    b = _Builder()
    pending = deque(range(N_INPUTS))  # results waiting to feed a later stage, oldest first
    referable = list(range(N_INPUTS))  # inputs and stage results, never temporaries
    fold_cost = N_INPUTS - 1
    while (budget := n_ops - len(b.ops) - fold_cost) > 0:
        a = pending.popleft()
        other = rng.choice(referable)
        template = _pick_template(rng, b, a, other, budget)
        out = b.stage(template, a, other, f"t{len(referable) - N_INPUTS + 1}")
        pending.append(out)
        referable.append(out)
    out = b.fold_sum(list(pending), "y")
    assert len(b.ops) == n_ops, (len(b.ops), n_ops)
    return Program(
        text=sep.join(b.lines) + "\n",
        ops=tuple(b.ops),
        inputs=input_values(seed),
        constants=CONSTANTS,
        output=out,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, required=True, help="number of operations")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sep", choices=("newline", "semicolon"), default="newline")
    parser.add_argument(
        "--inputs", action="store_true", help="print the input assignments instead"
    )
    args = parser.parse_args(argv)
    sep = "\n" if args.sep == "newline" else "; "
    program = generate(args.ops, args.seed, sep=sep)
    sys.stdout.write(program.input_assignments() + "\n" if args.inputs else program.text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
