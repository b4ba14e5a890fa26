"""Syntax → a frozen staged graph that keeps what the user wrote.

Nodes are born in topological order (lowering consumes postfix items), so forward is one
loop up the list and backward one loop down. Equal subexpressions are one node
(hash-consing), which is what makes `x**2` in `x**2*(3*x+1) - sin(x**2)` a node with two
consumers. Each assignment of a program is a stage of its own, named as the user named it.
"""
from __future__ import annotations

from functools import cached_property
from itertools import compress, count, repeat
from operator import attrgetter, is_
from typing import Any, Iterable, NamedTuple, Sequence, cast

from gradcalc import limits
from gradcalc.core.ops import BINARY, CONSTANTS, REGISTRY, arity_text, function_op
from gradcalc.core.parse import Program, collector_paused, error_at, parse
from gradcalc.errors import ConstantAssignment, ParseError, UsageError

_LEAVES = ("input", "const")
# Where vectors and matrices work, for the messages of the modes that do not have them yet.
VECTOR_MODES = ("vectors and matrices are computed at one point, in float64 by eval, trace, check, "
                "graph and descend, in exact numbers by eval and trace, to N digits, with a hessian "
                "and with a jacobian of several outputs by eval, in forward mode by eval's jacobian "
                "and by trace on their elements, with nonfinite ieee by eval, by grad and paths on "
                "their elements, and over data, shaped")
_MESSAGE_WIDTH = 60  # characters of a stage's definition quoted in a message
_LISTED = 10  # names listed in a warning; the rest are counted


class Node(NamedTuple):  # tuples, not dataclasses: quick to make, and a class costs start-up
    name: str  # unique display name: input name, literal text, user stage name or u1, u2...
    op: str  # registry key
    inputs: tuple[int, ...] = ()  # indices of earlier nodes
    text: str = ""  # a constant's literal or named-constant text ("0.1", "pi")


class Graph:
    """The staged program: nodes in topological order, the output, and the text it came from.

    Immutable. What is derived from the nodes is computed on first use and kept: the
    properties below, and in `memo` what other modules derive once per graph (autodiff's plan).
    """

    nodes: tuple[Node, ...]
    output: int
    output_name: str
    source: str
    named: tuple[int, ...]
    outputs: tuple[int, ...]
    memo: dict[str, Any]

    def __init__(self, nodes: tuple[Node, ...], output: int, output_name: str, source: str = "",
                 named: tuple[int, ...] = (), outputs: tuple[int, ...] | None = None):
        fields = self.__dict__
        fields["nodes"] = nodes
        fields["output"] = output  # index of the output node (the last one, unless chosen)
        fields["output_name"] = output_name  # what the user calls it: `f`, or the last assigned name
        fields["source"] = source
        fields["named"] = named  # the stages the user assigned a name to, in order
        fields["outputs"] = (output,) if outputs is None else outputs  # every output chosen
        fields["memo"] = {}

    def __setattr__(self, name: str, value) -> None:
        raise AttributeError(f"a Graph cannot be changed (setting {name})")

    def __eq__(self, other) -> bool:
        if not isinstance(other, Graph):
            return NotImplemented
        return (self.nodes, self.output, self.output_name, self.outputs) == \
            (other.nodes, other.output, other.output_name, other.outputs)

    def __hash__(self) -> int:
        return hash((self.nodes, self.output, self.output_name, self.outputs))

    def __repr__(self) -> str:
        return f"Graph({len(self.nodes)} nodes, output {self.output_name!r})"

    @cached_property
    def inputs(self) -> tuple[int, ...]:
        """Indices of the input nodes, in order of first appearance."""
        return tuple(compress(count(), map("input".__eq__, map(attrgetter("op"), self.nodes))))  # in C

    @cached_property
    def input_names(self) -> tuple[str, ...]:
        return tuple(self.nodes[i].name for i in self.inputs)

    @cached_property
    def index(self) -> dict[str, int]:
        return {node.name: i for i, node in enumerate(self.nodes)}

    @cached_property
    def varying(self) -> tuple[bool, ...]:
        """Whether each node depends on some input (constants need no gradient)."""
        flags: list[bool] = []
        for node in self.nodes:
            flag = node.op == "input"
            for j in node.inputs:
                flag = flag or flags[j]
            flags.append(flag)
        return tuple(flags)

    def varying_in(self, names: Iterable[str]) -> tuple[bool, ...]:
        """Whether each node depends on one of the inputs named: the nodes a backward pass
        for the gradients of those inputs alone has to reach (`varying`: for every input)."""
        chosen = frozenset(names)
        kept = self.memo.setdefault("varying in", {})
        found = kept.get(chosen)
        if found is None:
            flags: list[bool] = []
            for node in self.nodes:
                flag = node.op == "input" and node.name in chosen
                for j in node.inputs:
                    flag = flag or flags[j]
                flags.append(flag)
            found = kept[chosen] = tuple(flags)
        return found

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
    def used(self) -> tuple[bool, ...]:
        """Whether some output depends on each node (`live` for every output together)."""
        flags = [False] * len(self.nodes)
        for i in self.outputs:
            flags[i] = True
        for i in range(max(self.outputs), -1, -1):
            if flags[i]:
                for j in self.nodes[i].inputs:
                    flags[j] = True
        return tuple(flags)

    @cached_property
    def unused_stages(self) -> tuple[str, ...]:
        """The stages the user assigned that no output depends on, in order: only the last
        statement is the output unless others are chosen, so a program that ends with
        `g = x+y` after `f = x*y` computes f for nothing, which is rarely what was meant."""
        used = self.used
        return tuple(self.nodes[i].name for i in self.named if not used[i])

    @property
    def notes(self) -> tuple[str, ...]:
        """What the user should hear about the program itself, as warnings: the stages its
        outputs ignore, in one line however many there are."""
        unused = self.unused_stages
        if not unused:
            return ()
        shown = ", ".join(unused[:_LISTED]) + (f" and {len(unused) - _LISTED:,} more" if len(unused) > _LISTED else "")
        stages, them = ("stages", "them") if len(unused) > 1 else ("stage", "it")
        if self.outputs == (len(self.nodes) - 1,):
            output = self.nodes[self.output].name
            return (f"the output {output} (the last statement) does not use {stages} {shown}: "
                    f"use {them} in {output}, or remove {them}",)
        chosen = ", ".join(self.nodes[i].name for i in self.outputs)
        return (f"no output of {chosen} uses {stages} {shown}: add {them} to the outputs, "
                f"use {them} in an output, or remove {them}",)

    @cached_property
    def output_names(self) -> tuple[str, ...]:
        """The name of each output: the program's own output keeps the name it is called by."""
        return tuple(self.output_name if i == self.output else self.nodes[i].name
                     for i in self.outputs)

    @cached_property
    def ends(self) -> tuple[int, ...]:
        """The stages nothing else uses, in order: what `outputs="all"` chooses."""
        consumers = self.consumers
        return tuple(i for i, node in enumerate(self.nodes)
                     if node.op not in _LEAVES and not consumers[i])

    def with_outputs(self, names: str | Sequence[str]) -> "Graph":
        """The same nodes with these stages as the outputs (`"all"`: every stage nothing else
        uses); the last one chosen is `output`, what one backward pass is seeded by."""
        chosen = self.ends if names == "all" else tuple(map(self._output_index, names))
        if not chosen:
            raise UsageError("outputs names no stage").about("outputs")
        twice = sorted({self.nodes[i].name for i in chosen if chosen.count(i) > 1})
        if twice:
            raise UsageError(f"outputs names {', '.join(twice)} more than once").about("outputs")
        last = chosen[-1]
        name = self.output_name if last == self.output else self.nodes[last].name
        return Graph(self.nodes, last, name, self.source, self.named, chosen)

    def seeded_at(self, i: int) -> "Graph":
        """The same outputs with output i the one a backward pass is seeded at (one row of
        a Jacobian); `live` follows it, `used` and the notes stay those of every output."""
        name = self.output_names[self.outputs.index(i)] if i in self.outputs else self.nodes[i].name
        outputs = self.outputs if i in self.outputs else (i,)
        return Graph(self.nodes, i, name, self.source, self.named, outputs)

    def seeded_by(self, name: str) -> "Graph":
        """`seeded_at` the output called `name`."""
        if name not in self.output_names:
            raise UsageError(f"seed_output names {name}, which is not an output (the outputs: "
                             f"{', '.join(self.output_names)})").about("seed_output")
        return self.seeded_at(self.outputs[self.output_names.index(name)])

    def _output_index(self, name: str) -> int:
        index = self.index.get(name)
        if name == self.output_name:
            index = self.output
        stages = [node.name for node in self.nodes if node.op not in _LEAVES]
        if index is None:
            shown = ", ".join(stages[:_LISTED]) + (" ..." if len(stages) > _LISTED else "")
            raise UsageError(f"outputs names {name}, which is not a stage of the program "
                             f"(its stages: {shown})").about("outputs")
        if self.nodes[index].op in _LEAVES:
            what = "an input" if self.nodes[index].op == "input" else "a constant"
            raise UsageError(f"outputs names {name}, which is {what}: an output is a stage "
                             f"that computes something").about("outputs")
        return index

    @cached_property
    def vectorised(self) -> bool:
        """Whether some stage is a vector op (`@`, `sum`, `[a, b]`...): the array system runs it."""
        vector_ops = {name for name, op in REGISTRY.items() if op.vector}
        return not vector_ops.isdisjoint(map(attrgetter("op"), self.nodes))

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

    def stage(self, i: int) -> str:
        """`name = definition` for a message, kept to one readable line: a call of hundreds of
        arguments is cut and says how many it has (`u9 = max(x0, x1, …; 1,000 arguments)`)."""
        node = self.nodes[i]
        definition = self.definition(i)
        if len(definition) > _MESSAGE_WIDTH:
            definition = f"{definition[:_MESSAGE_WIDTH].rsplit(', ', 1)[0]}, …; {len(node.inputs):,} arguments)"
        return f"{node.name} = {definition}"

    def with_inputs(self, indices: Iterable[int]) -> "Graph":
        """The same graph with these nodes turned into inputs of the same names (so a forward
        pass takes their values as given: a stage perturbed, or a stage kept as a symbol)."""
        chosen = set(indices)
        nodes = tuple(Node(node.name, "input") if i in chosen else node
                      for i, node in enumerate(self.nodes))
        return Graph(nodes, self.output, self.output_name, self.source, self.named, self.outputs)


class Rewrite:
    """A new node list made from an old graph's nodes (the gate modes, the scalar circuit of
    vectors): equal new gates are one node, each new one named u1, u2, ... past every name in use."""

    def __init__(self, old: Graph):
        self.old = old
        self.nodes: list[Node] = []
        self.memo: dict[tuple, int] = {}
        self.taken = {node.name for node in old.nodes}
        self.counter = 0

    def made(self, op: str, args: tuple[int, ...], text: str = "") -> int:
        """The index of a new gate, shared with an equal one already made."""
        key = (op, args, text)
        if key not in self.memo:
            self.memo[key] = self.append(Node(text if op == "const" else self.fresh(), op, args, text))
        return self.memo[key]

    def append(self, node: Node) -> int:
        self.nodes.append(node)
        return len(self.nodes) - 1

    def fresh(self) -> str:
        self.counter += 1
        while f"u{self.counter}" in self.taken:
            self.counter += 1
        name = f"u{self.counter}"
        self.taken.add(name)
        return name


def format_call(op_name: str, args: list[str]) -> str:
    """Write an op applied to already-named arguments, the way the user would."""
    return REGISTRY[op_name].write(args)


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
        self.scope_history: list[int] = []  # every assigned stage, in order
        self.taken: set[str] = set()  # every user name in use, inputs and stages
        self.max_nodes = limits.limit("GRADCALC_MAX_NODES")
        self.reassigned: dict[str, int] = {}  # how often each stage name was assigned again
        self.leaves: dict[str, int] = {}  # inputs and constants by name, once made
        self.unary: dict[str, str] = {}  # the op each function called with one argument lowers to

    def build(self) -> Graph:
        output_name = self._statements()
        self._refuse_lone_constant_assignment()
        names = self._final_names(output_name)
        nodes = tuple(map(tuple.__new__, repeat(Node), zip(names, self.ops, self.args, self.texts)))  # Node(...), in C
        return Graph(nodes, len(nodes) - 1, output_name or names[-1], self.program.text,
                     tuple(self.scope_history))

    def _statements(self) -> str | None:
        """Each statement's nodes, then its stage; the name of the last one (None if bare).

        The node of each postfix item is found in the memo (an equal node exists) or made.
        One loop for all statements, its names bound once: it runs for every item.
        """
        memo, scope, leaves, unary, ops = self.memo, self.scope, self.leaves, self.unary, self.ops
        add_op, add_args, add_text, add_name = ops.append, self.args.append, self.texts.append, self.names.append
        names, taken, add_stage, max_nodes = self.names, self.taken, self.scope_history.append, self.max_nodes
        args: tuple[int, ...]
        stack: list[int] = []  # each statement leaves it as it found it, empty: its root popped
        push, pop = stack.append, stack.pop
        target = None
        for target, first, kinds, texts, offsets, counts in self.program.statements:
            for i, kind in enumerate(kinds):
                text = texts[i]
                if kind == "name":
                    index = scope.get(text)
                    if index is None:  # an input or a constant: the same node at every use
                        index = leaves.get(text)
                        if index is None:
                            index = leaves[text] = self._name(text)
                    push(index)
                    continue
                if kind == "bin":  # the commonest items get their key without a generic tuple
                    right = pop()
                    left = pop()
                    op, literal = BINARY[text], ""
                    args = (left, right)
                    key: tuple = (op, left, right, "")
                elif kind == "call" and counts[i] == 1:
                    op = unary.get(text) or self._unary(text, first + offsets[i])
                    args, literal = (pop(),), ""
                    key = (op, args[0], "")
                elif kind == "num":
                    op, args, literal = "const", (), text
                    key = (op, text)
                elif kind == "neg":
                    op, args, literal = "neg", (pop(),), ""
                    key = (op, args[0], "")
                else:  # call, vector (`[a, b]`) or index (`z[0]`)
                    argc = counts[i]
                    args = tuple(stack[len(stack) - argc:])
                    del stack[len(stack) - argc:]
                    op, literal = self._function(text, argc, first + offsets[i]) if kind == "call" else kind, ""
                    key = (op, *args, literal)  # flat: hashing a nested tuple costs more
                index = memo.get(key)
                if index is None:  # a new node (what _node does, inline: this loop is hot)
                    index = memo[key] = len(ops)
                    if index == max_nodes:
                        raise limits.exceeded("GRADCALC_MAX_NODES", max_nodes, "the graph needs more nodes")
                    add_op(op)
                    add_args(args)
                    add_text(literal)
                    add_name(None)
                push(index)
            root = pop()
            if root != len(ops) - 1 or names[root] is not None or ops[root] in _LEAVES:
                root = self._fresh_root(root)
            if target is not None:
                if target in taken:
                    names[root] = self._stage_name(target)
                else:  # what _stage_name does for a name not taken yet
                    taken.add(target)
                    names[root] = target
                scope[target] = root
                add_stage(root)
        return target

    def _unary(self, name: str, pos: int) -> str:
        """The op of a one-argument call, kept for the next call of the same function."""
        op = self.unary[name] = self._function(name, 1, pos)
        return op

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
        key = (op, *args, text)
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
            raise ConstantAssignment(statements[0].target)

    def _final_names(self, output_name: str | None) -> list[str]:
        """Literal text for constants, `f` for a bare output, u1, u2... for the other stages."""
        used = self.taken | set(self.scope)
        names = list(self.names)
        last = len(names) - 1
        if output_name is None:
            fresh = names[last] = _fresh("f", used)
            used.add(fresh)
        counter = 0
        ops, texts = self.ops, self.texts
        for i in compress(count(), map(is_, names, repeat(None))):  # the nodes without a name, in C
            if ops[i] == "const":
                names[i] = texts[i]
                continue
            counter += 1
            name = f"u{counter}"
            while name in used:
                counter += 1
                name = f"u{counter}"
            names[i] = name
        return cast("list[str]", names)  # every name is filled in now

    def _error(self, message: str, pos: int) -> ParseError:
        return error_at(message, self.program.text, pos)


def _fresh(base: str, used: set[str]) -> str:
    name, n = base, 0
    while name in used:
        n += 1
        name = f"{base}{n}"
    return name
