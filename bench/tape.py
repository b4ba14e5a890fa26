"""Interpreter floor: a tight pure-Python reverse-mode tape over a pre-parsed op list.

This is the yardstick for gradcalc's own evaluator: the least work an
interpreter written in Python can do per op, with no parsing and no objects
per node.  The forward pass dispatches on small integer opcodes with an
if-chain ordered by how often each op occurs, and records each op's local
partial derivatives.  That keeps the backward pass free of dispatch: every op
is treated as binary (a unary op names its operand twice with a zero second
partial, which is skipped), so it is one multiply-add per operand.

The tape relies on single assignment with fresh, consecutive output slots
(the layout ``bench.gen`` produces); ``compile_ops`` checks it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

ADD, SUB, MUL, DIV, SIN, TANH, SIGMOID, EXP, LOG = range(9)
OPCODES = {
    "add": ADD,
    "sub": SUB,
    "mul": MUL,
    "div": DIV,
    "sin": SIN,
    "tanh": TANH,
    "sigmoid": SIGMOID,
    "exp": EXP,
    "log": LOG,
}


@dataclass(frozen=True)
class Tape:
    """An op list lowered to parallel lists of ints, ready to run many times."""

    codes: list[int]
    lhs: list[int]
    rhs: list[int]
    first_op_slot: int
    output: int

    @property
    def n_slots(self) -> int:
        return self.first_op_slot + len(self.codes)


def compile_ops(
    ops: Iterable[tuple[int, str, Sequence[int]]], first_op_slot: int, output: int
) -> Tape:
    """Lower ``(out, opname, ins)`` tuples to opcodes and operand lists."""
    codes: list[int] = []
    lhs: list[int] = []
    rhs: list[int] = []
    for expected_out, (out, opname, ins) in enumerate(ops, start=first_op_slot):
        if out != expected_out:
            raise ValueError(f"op writes slot {out}, expected fresh slot {expected_out}")
        codes.append(OPCODES[opname])
        lhs.append(ins[0])
        rhs.append(ins[-1])  # unary ops repeat their operand; its partial is 0
    return Tape(codes, lhs, rhs, first_op_slot, output)


def forward(tape: Tape, leaves: Sequence[float]) -> tuple[list[float], list[float], list[float]]:
    """Evaluate every op; return slot values and each op's two partials."""
    val = list(leaves)
    if len(val) != tape.first_op_slot:
        raise ValueError(f"expected {tape.first_op_slot} leaf values, got {len(val)}")
    da: list[float] = []
    db: list[float] = []
    push, push_a, push_b = val.append, da.append, db.append
    exp, log, sin, cos, tanh = math.exp, math.log, math.sin, math.cos, math.tanh
    for c, i, j in zip(tape.codes, tape.lhs, tape.rhs):
        x = val[i]
        if c == ADD:
            push(x + val[j])
            push_a(1.0)
            push_b(1.0)
        elif c == MUL:
            y = val[j]
            push(x * y)
            push_a(y)
            push_b(x)
        elif c == SIN:
            push(sin(x))
            push_a(cos(x))
            push_b(0.0)
        elif c == TANH:
            y = tanh(x)
            push(y)
            push_a(1.0 - y * y)
            push_b(0.0)
        elif c == SIGMOID:
            y = 1.0 / (1.0 + exp(-x)) if x >= 0.0 else exp(x) / (1.0 + exp(x))
            push(y)
            push_a(y * (1.0 - y))
            push_b(0.0)
        elif c == EXP:
            y = exp(x)
            push(y)
            push_a(y)
            push_b(0.0)
        elif c == DIV:
            r = 1.0 / val[j]
            y = x * r
            push(y)
            push_a(r)
            push_b(-y * r)
        elif c == LOG:
            push(log(x))
            push_a(1.0 / x)
            push_b(0.0)
        elif c == SUB:
            push(x - val[j])
            push_a(1.0)
            push_b(-1.0)
        else:
            raise ValueError(f"unknown opcode {c}")
    return val, da, db


def backward(tape: Tape, da: list[float], db: list[float], n_leaves: int) -> list[float]:
    """Propagate d(output)/d(slot) from the output back to the first ``n_leaves`` slots.

    Ops are visited last to first and each op's output slot is the last live
    one, so its adjoint is taken with ``list.pop`` instead of an index.
    """
    adj = [0.0] * tape.n_slots
    adj[tape.output] = 1.0
    pop = adj.pop
    for i, j, pa, pb in zip(reversed(tape.lhs), reversed(tape.rhs), reversed(da), reversed(db)):
        g = pop()
        adj[i] += g * pa
        if pb:
            adj[j] += g * pb
    return adj[:n_leaves]


def run(tape: Tape, leaves: Sequence[float], n_inputs: int) -> tuple[float, list[float]]:
    """Forward then backward; return the output value and the input gradients."""
    val, da, db = forward(tape, leaves)
    return val[tape.output], backward(tape, da, db, n_inputs)


def value_and_grad(program) -> tuple[float, list[float]]:
    """Whole floor on a ``bench.gen.Program``: lower the op list, then run it."""
    tape = compile_ops(program.ops, program.first_op_slot, program.output)
    leaves = list(program.inputs) + list(program.constants)
    return run(tape, leaves, len(program.inputs))
