"""Syntax → a frozen staged graph that keeps what the user wrote.

Nodes are born in topological order (lowering consumes postfix items), so forward is one
loop up the list and backward one loop down. Equal subexpressions are one node
(hash-consing), which is what makes `x**2` in `x**2*(3*x+1) - sin(x**2)` a node with two
consumers. Each assignment of a program is a stage of its own, named as the user named it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Iterable

from . import limits
from .errors import ParseError, UsageError
from .ops import BINARY, CONSTANTS, FUNCTIONS, REGISTRY, arity_text, function_op
from .parse import Program, collector_paused, parse

_LEAVES = ("input", "const")


@dataclass(frozen=True, slots=True)
class Node:
    name: str  # unique display name: input name, literal text, user stage name or u1, u2...
    op: str  # registry key
    inputs: tuple[int, ...] = ()  # indices of earlier nodes
    text: str = ""  # a constant's literal or named-constant text ("0.1", "pi")


@dataclass(frozen=True)
class Graph:
    nodes: tuple[Node, ...]
    output: int  # index of the output node (the last one)
    output_name: str  # what the user calls the output: `f`, or the last assigned name
    source: str = field(default="", compare=False)

    @cached_property
    def inputs(self) -> tuple[int, ...]:
        """Indices of the input nodes, in order of first appearance."""
        return tuple(i for i, node in enumerate(self.nodes) if node.op == "input")

    @cached_property
    def input_names(self) -> tuple[str, ...]:
        return tuple(self.nodes[i].name for i in self.inputs)

    @cached_property
    def index(self) -> dict[str, int]:
        return {node.name: i for i, node in enumerate(self.nodes)}

    @cached_property
    def varying(self) -> tuple[bool, ...]:
        """Whether each node depends on some input (constants need no gradient)."""
        flags = []
        for node in self.nodes:
            flags.append(node.op == "input" or any(flags[j] for j in node.inputs))
        return tuple(flags)

    @cached_property
    def live(self) -> tuple[bool, ...]:
        """Whether the output depends on each node (dead stages get gradient 0)."""
        flags = [False] * len(self.nodes)
        flags[self.output] = True
        for i in range(self.output, -1, -1):
            if flags[i]:
                for j in self.nodes[i].inputs:
                    flags[j] = True
        return tuple(flags)

    @cached_property
    def consumers(self) -> tuple[tuple[int, ...], ...]:
        users: list[list[int]] = [[] for _ in self.nodes]
        for i, node in enumerate(self.nodes):
            for j in node.inputs:
                users[j].append(i)
        return tuple(tuple(u) for u in users)

    @property
    def operations(self) -> list[int]:
        """Indices of the nodes that compute something (not inputs or constants)."""
        return [i for i, node in enumerate(self.nodes) if node.op not in _LEAVES]

    def definition(self, i: int) -> str:
        """The stage's right-hand side in terms of earlier stages: `b*c`, `a + u1`, `exp(u2)`."""
        node = self.nodes[i]
        if node.op in _LEAVES:
            return node.text or node.name
        return format_call(node.op, [self.nodes[j].name for j in node.inputs])


def format_call(op_name: str, args: list[str]) -> str:
    """Write an op applied to already-named arguments, the way the user would."""
    op = REGISTRY[op_name]
    if op_name == "neg":
        return f"-{args[0]}"
    if op_name in ("add", "sub"):
        return f"{args[0]} {op.symbol} {args[1]}"
    if op.symbol:
        return f"{args[0]}{op.symbol}{args[1]}"
    if op_name == "copy":
        return args[0]
    if op_name == "logb":
        return f"log({args[0]}, {args[1]})"
    return f"{op_name}({', '.join(args)})"


def lower(source: str | Program, given: Iterable[str] = ()) -> Graph:
    """Build the staged graph of an expression or program.

    `given` names the inputs that will receive values: `pi` or `e` among them are inputs,
    otherwise they are the constants.
    """
    with collector_paused():
        program = source if isinstance(source, Program) else parse(source)
        return _Builder(program, frozenset(given)).build()


class _Builder:
    def __init__(self, program: Program, given: frozenset[str]):
        self.program = program
        self.given = given
        self.ops: list[str] = []
        self.args: list[tuple[int, ...]] = []
        self.texts: list[str] = []
        self.names: list[str | None] = []  # user-given names; generated ones come last
        self.memo: dict[tuple, int] = {}
        self.scope: dict[str, int] = {}  # the latest stage for each assigned name
        self.taken: set[str] = set()  # every user name in use, inputs and stages
        self.max_nodes = limits.limit("GRADCALC_MAX_NODES")
        self.reassigned: dict[str, int] = {}  # how often each stage name was assigned again

    def build(self) -> Graph:
        statements = self.program.statements
        output_name = None
        for statement in statements:
            root = self._expression(statement.rpn)
            if statement.target is None:
                output_name = None
                root = self._fresh_root(root)
            else:
                root = self._fresh_root(root)
                self.names[root] = self._stage_name(statement.target)
                self.scope[statement.target] = root
                output_name = statement.target
        self._refuse_lone_constant_assignment()
        names = self._final_names(output_name)
        nodes = tuple(Node(names[i], op, self.args[i], self.texts[i]) for i, op in enumerate(self.ops))
        return Graph(nodes, len(nodes) - 1, output_name or names[-1], self.program.text)

    def _expression(self, rpn: tuple) -> int:
        stack: list[int] = []
        for kind, text, pos, argc in rpn:
            if kind == "num":
                stack.append(self._node("const", (), text))
            elif kind == "name":
                stack.append(self._name(text))
            elif kind == "neg":
                stack.append(self._node("neg", (stack.pop(),)))
            elif kind == "bin":
                right = stack.pop()
                stack.append(self._node(BINARY[text], (stack.pop(), right)))
            else:  # call
                args = tuple(stack[len(stack) - argc:])
                del stack[len(stack) - argc:]
                stack.append(self._node(self._function(text, argc, pos), args))
        return stack[0]

    def _function(self, name: str, argc: int, pos: int) -> str:
        op = function_op(name, argc)
        if op is None:
            raise self._error(f"{name}() takes {arity_text(name)}, got {argc}", pos)
        return op.name

    def _name(self, name: str) -> int:
        if name in self.scope:
            return self.scope[name]
        if name in CONSTANTS and name not in self.given:
            return self._node("const", (), name)
        return self._node("input", (), name, user_name=name)

    def _node(self, op: str, args: tuple[int, ...], text: str = "", user_name: str | None = None) -> int:
        key = (op, args, text)
        index = self.memo.get(key)
        if index is None:
            index = self._append(op, args, text, user_name)
            self.memo[key] = index
        return index

    def _append(self, op: str, args: tuple[int, ...], text: str = "", user_name: str | None = None) -> int:
        if len(self.ops) == self.max_nodes:
            raise limits.exceeded("GRADCALC_MAX_NODES", self.max_nodes, "the graph needs more nodes")
        self.ops.append(op)
        self.args.append(args)
        self.texts.append(text)
        self.names.append(user_name)
        if user_name is not None:
            self.taken.add(user_name)
        return len(self.ops) - 1

    def _fresh_root(self, root: int) -> int:
        """Every assignment, and the output, is an operation stage of its own, last in order."""
        if self.ops[root] in _LEAVES or self.names[root] is not None:
            return self._append("copy", (root,))
        if root != len(self.ops) - 1:  # an earlier, shared subexpression: repeat it here
            return self._append(self.ops[root], self.args[root], self.texts[root])
        return root

    def _stage_name(self, target: str) -> str:
        """A reassigned name gets primes (c, c', c'', then c'3, c'4...) so every stage stays distinct."""
        if target not in self.taken:
            self.taken.add(target)
            return target
        count = self.reassigned.get(target, 0) + 1
        self.reassigned[target] = count
        name = target + ("'" * count if count <= 2 else f"'{count}")
        self.taken.add(name)
        return name

    def _refuse_lone_constant_assignment(self) -> None:
        statements = self.program.statements
        if len(statements) == 1 and statements[0].target is not None and "input" not in self.ops:
            target = statements[0].target
            raise UsageError(f"'{target} = ...' assigns a constant: to give {target} a value, "
                             f"use --at {target}=...; to compute it, write the expression alone")

    def _final_names(self, output_name: str | None) -> list[str]:
        """Literal text for constants, `f` for a bare output, u1, u2... for the other stages."""
        used = self.taken | set(self.scope)
        names = list(self.names)
        last = len(names) - 1
        if output_name is None:
            names[last] = _fresh("f", used)
            used.add(names[last])
        counter = 0
        for i, op in enumerate(self.ops):
            if names[i] is not None:
                continue
            if op == "const":
                names[i] = self.texts[i]
                continue
            counter += 1
            while f"u{counter}" in used:
                counter += 1
            names[i] = f"u{counter}"
        return names

    def _error(self, message: str, pos: int) -> ParseError:
        from .parse import _error

        return _error(message, self.program.text, pos)


def _fresh(base: str, used: set[str]) -> str:
    name, n = base, 0
    while name in used:
        n += 1
        name = f"{base}{n}"
    return name
