"""`--gates scalar`: a vector expression unrolled into the scalar circuit of its elements.

With the shapes of the inputs known (from the values), every stage becomes the scalar stages of
its elements: an input `W` of shape 2×2 becomes the inputs W_0_0, W_0_1, W_1_0, W_1_1 (`x_1` is
x[1]; `W_i_j` is W[i, j]); a stage that computes a vector or a matrix keeps its name in its
elements (`z_0`, `z_1`); an elementwise op applies to each element with numpy's broadcasting,
an n-ary one (`max`) applied to one array reduces it, and each vector op is written out by the
scalar definition the registry gives it (`Op.unrolled`: sums of products for `@`, the stable
forms for softmax and logsumexp). The scalar engine then runs it as any other expression, so
its gradients are those of the vectorised trace, element by element.

An array is a nested list of Elements (a scalar is one Element); nothing here imports numpy.
"""
from __future__ import annotations

import re
from typing import Any, Collection, Iterable, Mapping, Sequence

from gradcalc import limits
from gradcalc.core.graph import Graph, Node, Rewrite
from gradcalc.core.ops import BINARY, REGISTRY, function_op
from gradcalc.errors import GradcalcError, UsageError, VectorOutput

_LEAVES = ("input", "const")
LIMIT = "GRADCALC_MAX_UNROLLED"


def element_name(name: str, index: Sequence[int]) -> str:
    """The scalar that stands for name[index]: `x_1`, `W_0_1` (the name itself for a scalar)."""
    return "_".join((name, *map(str, index)))


def element_names(name: str, shape: Sequence[int]) -> list[str]:
    """The names of every element of an array of this shape, in row-major order."""
    return [element_name(name, index) for index in _indices(tuple(shape))]


def element_label(name: str, index: Sequence[int]) -> str:
    """name[index] as written in expressions: `W[0, 1]` (the name itself for a scalar)."""
    return f"{name}[{', '.join(map(str, index))}]" if index else name


def element_labels_of(name: str, shape: Sequence[int]) -> list[str]:
    """The labels of every element of an array of this shape, in row-major order."""
    return [element_label(name, index) for index in _indices(tuple(shape))]


def element_inputs(names: Sequence[str], shapes: Mapping[str, tuple[int, ...]],
                   inputs: Sequence[str]) -> tuple[str, ...]:
    """Names of inputs, where a vector or matrix that was unrolled stands for its elements
    (`wrt W` is W_0_0, W_0_1, ...)."""
    known = set(inputs)
    return tuple(element for name in names for element in
                 (element_names(name, shapes[name]) if name not in known and name in shapes else (name,)))


def element_labels(shapes: Mapping[str, tuple[int, ...]]) -> dict[str, str]:
    """Each element's name → its label as written in expressions: `W_0_1` → `W[0, 1]`."""
    return {element_name(name, index): element_label(name, index)
            for name, shape in shapes.items() for index in _indices(tuple(shape)) if shape}


def whole_arrays(shapes: Mapping[str, tuple[int, ...]], names: Collection[str]) -> dict[str, tuple[int, ...]]:
    """The arrays of `shapes` that fold back whole: all of their elements among `names` (the
    gradient's), or none; one with the gradient of some of its elements stays as elements."""
    return {name: shape for name, shape in shapes.items()
            if len({element in names for element in element_names(name, shape)}) == 1}


def folded(values: Mapping[str, Any], shapes: Mapping[str, tuple[int, ...]]) -> dict[str, Any]:
    """Values by element (`w_0`, `w_1`), each array of `shapes` whose elements are all there
    folded back into nested lists under its own name (`w`), in the place of its first
    element; the other names as they are."""
    names = {name: element_names(name, shape) for name, shape in shapes.items() if shape}
    first = {elements[0]: name for name, elements in names.items()
             if all(element in values for element in elements)}
    taken = {element for name in first.values() for element in names[name]}
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key in first:
            name = first[key]
            out[name] = _shaped([values[element] for element in names[name]], tuple(shapes[name]))
        elif key not in taken:
            out[key] = value
    return out


def unroll(graph: Graph, shapes: Mapping[str, tuple[int, ...]], fed: Collection[str] = (),
           asked: bool = False) -> Graph:
    """The scalar circuit of a graph whose inputs have these shapes (a name not given is a
    scalar); a graph with no vector in it is returned as it is. The vectors `fed` by data
    columns name their elements after the columns (`x0`, `x1`), not `x_0`, `x_1`. `asked`:
    the circuit is the one gates scalar asks for (not a mode's way to vectors), for messages."""
    if not graph.vectorised and not any(shapes.get(graph.nodes[i].name) for i in graph.inputs):
        return graph
    return _Circuit(graph, shapes, frozenset(fed), asked=asked).build()


def unroll_outputs(graph: Graph, shapes: Mapping[str, tuple[int, ...]]) -> tuple[Graph, dict[str, tuple[int, ...]]]:
    """The scalar circuit whose outputs are every element of the graph's outputs (the rows of
    a Jacobian: `z_0`, `z_1`, `L`), and the shape of each output that is an array, by name."""
    if not graph.vectorised and not any(shapes.get(graph.nodes[i].name) for i in graph.inputs):
        return graph, {}
    circuit = _Circuit(graph, shapes, frozenset(), arrays_out=True)
    return circuit.build(), circuit.output_shapes


def column_vectors(inputs: Sequence[str], columns: Iterable[str], given: Iterable[str],
                   label: str) -> dict[str, int]:
    """The inputs that data columns feed as vectors, with their lengths: an input `x` that is
    neither a value nor a column is the vector of the columns x0, x1, ..., x{n-1}, each row
    one vector. A gap in the numbers, or the expression naming x0 too, is an error."""
    known, named = set(columns), set(inputs)
    taken = {*given, *known}
    numbered: dict[str, list[int]] = {}
    for column in known:
        match = _NUMBERED.fullmatch(column)
        if match:
            numbered.setdefault(match[1], []).append(int(match[2]))
    fed = {}
    for name in inputs:
        if name in taken or name not in numbered:
            continue
        numbers = sorted(numbered[name])
        _refuse_gaps(name, numbers, label)
        _refuse_both(name, [f"{name}{k}" for k in numbers if f"{name}{k}" in named], label)
        fed[name] = len(numbers)
    return fed


_NUMBERED = re.compile(r"(.*?)(0|[1-9][0-9]*)")


def _refuse_gaps(name: str, numbers: list[int], label: str) -> None:
    gaps = sorted(set(range(numbers[-1] + 1)) - set(numbers))
    if gaps:
        have = ", ".join(f"{name}{k}" for k in numbers)
        lack = ", ".join(f"{name}{k}" for k in gaps)
        raise UsageError(f"data {label}: the columns {have} would feed the vector {name}, but "
                         f"{lack} {'is' if len(gaps) == 1 else 'are'} missing: name the columns "
                         f"{name}0 to {name}{len(numbers) - 1}, without a gap").about("data")


def _refuse_both(name: str, used: list[str], label: str) -> None:
    if used:
        raise UsageError(f"data {label}: the expression names both the vector {name} and its elements "
                         f"({', '.join(used)}): use one or the other").about("data")


class Element:
    """One scalar stage of the circuit being built; arithmetic on it adds gates."""

    __slots__ = ("circuit", "index")

    def __init__(self, circuit: "_Circuit", index: int):
        self.circuit = circuit
        self.index = index

    def __add__(self, other: "Element") -> "Element":
        return self.circuit.binary("+", self, other)

    def __sub__(self, other: "Element") -> "Element":
        return self.circuit.binary("-", self, other)

    def __mul__(self, other: "Element") -> "Element":
        return self.circuit.binary("*", self, other)

    def __truediv__(self, other: "Element") -> "Element":
        return self.circuit.binary("/", self, other)


class _Circuit(Rewrite):
    """Builds the scalar node list; also the namespace the registry's `unrolled` rules use."""

    def __init__(self, graph: Graph, shapes: Mapping[str, tuple[int, ...]], fed: frozenset[str],
                 arrays_out: bool = False, asked: bool = False):
        super().__init__(graph)
        self.asked = asked
        self.arrays_out = arrays_out  # outputs may be arrays: each element an output
        self.output_shapes: dict[str, tuple[int, ...]] = {}
        self.shapes = shapes
        self.fed = fed
        self.cap = limits.limit(LIMIT)
        self.stage = 0  # the old node being unrolled, for messages
        self.images: list[Any] = []  # each old node's elements
        self.own: set[str] = set()  # the names given to elements of old stages

    # ---- the graph ----

    def build(self) -> Graph:
        old = self.old
        images = self.images
        for i, node in enumerate(old.nodes):
            self.stage = i
            start = len(self.nodes)
            image = self._image(i, node, images)
            keep = i in old.named or i in old.outputs
            images.append(self._named(i, image, start, keep))
        for i in old.outputs:
            if isinstance(images[i], list):
                name = self._output_name(i)
                if not self.arrays_out:
                    raise VectorOutput(name, _words(_shape(images[i])))
                self.output_shapes[name] = _shape(images[i])
        outputs = tuple(e.index for i in old.outputs for e in _flat(images[i]))
        output = _flat(images[old.output])[0].index
        output_name = self.nodes[output].name if old.output_name in self.output_shapes else old.output_name
        named = tuple(e.index for i in old.named for e in _flat(images[i]))
        return Graph(tuple(self.nodes), output, output_name, old.source, named, outputs)

    def _output_name(self, i: int) -> str:
        return self.old.output_name if i == self.old.output else self.old.nodes[i].name

    def _image(self, i: int, node: Node, images: list) -> Any:
        if node.op == "input":
            shape = tuple(self.shapes.get(node.name, ()))
            names = [f"{node.name}{k}" for k in range(shape[0])] if node.name in self.fed else \
                element_names(node.name, shape)
            for index, name in zip(_indices(shape), names):
                self._claim(name, i, index)
                self.own.add(name)
            elements = [self.append(Node(name, "input")) for name in names]
            return _shaped([Element(self, k) for k in elements], shape)
        if node.op == "const":
            return self.gate("const", (), node.text)
        op = REGISTRY[node.op]
        args = [images[j] for j in node.inputs]
        try:
            if op.unrolled is not None:
                return op.unrolled(self, *args)
            if op.vector:
                raise UsageError(f"stage {self.old.stage(i)}: gates scalar cannot unroll {op.name}, "
                                 "which has no scalar definition: keep it whole with the written "
                                 "gates").about("gates")
            if len(args) == 1 and op.arity[1] is None and isinstance(args[0], list):
                return self.gate(node.op, tuple(e.index for e in _flat(args[0])))  # max(x)
            return self._elementwise(node.op, args)
        except GradcalcError:
            raise
        except ValueError:
            from gradcalc.core.autodiff import shape_error

            raise shape_error(self.old, i, [_shape(a) for a in args]) from None
        except IndexError:
            raise self._index_error(i, args) from None

    def _elementwise(self, op: str, args: list) -> Any:
        shape = _broadcast_shape([_shape(a) for a in args])
        spread = [_broadcast(a, _shape(a), shape) for a in args]
        return _zip_apply(lambda *xs: self.gate(op, tuple(x.index for x in xs)), spread, len(shape))

    def _named(self, i: int, image: Any, start: int, keep: bool) -> Any:
        """The image with its elements named after stage i (`z_0`, `z_1`); an element that is
        an earlier stage (a transpose, an index) gets a copy of its own when i is named."""
        name = self._output_name(i) if self.arrays_out and i in self.old.outputs else self.old.nodes[i].name
        if self.old.nodes[i].op in _LEAVES:
            return image
        shape = _shape(image)
        flat = _flat(image)
        renamed = []
        for index, element in zip(_indices(shape), flat):
            wanted = element_name(name, index)
            made = self.nodes[element.index]
            if element.index >= start and made.op != "const" and made.name not in self.own:
                self._claim(wanted, i, index)
                self.nodes[element.index] = self.nodes[element.index]._replace(name=wanted)
                self.own.add(wanted)
            elif keep:
                self._claim(wanted, i, index)
                element = Element(self, self.append(Node(wanted, "copy", (element.index,))))
                self.own.add(wanted)
            renamed.append(element)
        return _shaped(renamed, shape)

    def _claim(self, name: str, i: int, index: tuple) -> None:
        old = self.old.nodes[i].name
        if index and (name in self.taken or name in self.own):
            raise UsageError(f"gates scalar names the element {element_label(old, index)} "
                             f"{name}, a name the expression already uses: rename {name}").about("gates")

    def _where(self, i: int) -> str:
        """The old node being unrolled, with the shapes it is unrolled from."""
        node = self.old.nodes[i]
        if node.op == "input":
            return f"the input {node.name}, {_words(tuple(self.shapes.get(node.name, ())))}"
        shapes = ", ".join(f"{self.old.nodes[j].name} is {_words(_shape(self.images[j]))}"
                           for j in node.inputs if _shape(self.images[j]))
        return f"stage {self.old.stage(i)}" + (f" ({shapes})" if shapes else "")

    def _index_error(self, i: int, args: list) -> UsageError:
        shape = _shape(args[0])
        at = [self._integer(a) for a in args[1:]]
        name = self.old.nodes[self.old.nodes[i].inputs[0]].name
        stage = self.old.stage(i)
        if len(at) > len(shape):
            fix = "a scalar has no elements" if not shape else \
                f"index it with at most {len(shape)} ind{'ex' if len(shape) == 1 else 'ices'}"
            return UsageError(f"stage {stage}: {name} is {_words(shape)}: {fix}")
        return UsageError(f"stage {stage}: index [{', '.join(map(str, at))}] is out of range for "
                          f"{name}, {_words(shape)} (indices count from 0)")

    # ---- gates ----

    def gate(self, op: str, args: tuple[int, ...], text: str = "") -> Element:
        """A scalar gate, shared with an equal one already made."""
        return Element(self, self.made(op, args, text))

    def append(self, node: Node) -> int:
        if len(self.nodes) >= self.cap:
            where = self._where(self.stage)
            if self.asked:
                raise limits.exceeded(LIMIT, what=f"gates scalar needs more scalar stages for {where}"
                                      ).about("gates")
            raise limits.exceeded(LIMIT, what="vectors and matrices are computed here on the scalar "
                                  f"circuit of their elements, which needs more scalar stages for {where}")
        return super().append(node)

    def binary(self, symbol: str, a: Element, b: Element) -> Element:
        return self.gate(BINARY[symbol], (a.index, b.index))

    def call(self, function: str, *args: Element) -> Element:
        op = function_op(function, len(args))
        assert op is not None
        return self.gate(op.name, tuple(a.index for a in args))

    # ---- what the registry's scalar definitions are written with ----

    def number(self, value: float) -> Element:
        return self.gate("const", (), repr(value) if isinstance(value, float) else str(value))

    def exp(self, x: Element) -> Element:
        return self.call("exp", x)

    def log(self, x: Element) -> Element:
        return self.call("log", x)

    def sqrt(self, x: Element) -> Element:
        return self.call("sqrt", x)

    def max(self, *xs: Element) -> Element:
        """The largest of these: one gate (the element itself when there is one)."""
        return xs[0] if len(xs) == 1 else self.call("max", *xs)

    def total(self, xs: Sequence[Element]) -> Element:
        """x0 + x1 + ... as a chain of + gates, left to right, as written by hand."""
        result = xs[0]
        for x in xs[1:]:
            result = result + x
        return result

    def flat(self, x: Any) -> list[Element]:
        return _flat(x)

    def transpose(self, x: Any) -> Any:
        if isinstance(x, list) and x and isinstance(x[0], list):
            return [list(column) for column in zip(*x)]
        return x

    def dot(self, a: Any, b: Any) -> Element:
        if _rank(a) != 1 or _rank(b) != 1 or len(a) != len(b):
            raise ValueError("dot takes two vectors of one length")
        return self.total([p * q for p, q in zip(a, b)])

    def matmul(self, a: Any, b: Any) -> Any:
        """Sums of products: (A @ B)[i][k] = A[i][0]*B[0][k] + A[i][1]*B[1][k] + ..."""
        rank = (_rank(a), _rank(b))
        if 0 in rank or max(rank) > 2 or _shape(a)[-1] != _shape(b)[0]:
            raise ValueError("the shapes do not fit")
        if rank == (1, 1):
            return self.dot(a, b)
        if rank == (2, 1):
            return [self.dot(row, b) for row in a]
        columns = self.transpose(b)
        if rank == (1, 2):
            return [self.dot(a, column) for column in columns]
        return [[self.dot(row, column) for column in columns] for row in a]

    def rows(self, x: Any, each) -> Any:
        """`each(c, row)` over the last axis: of a vector, itself; of a matrix, each row."""
        rank = _rank(x)
        if rank == 0:
            raise ValueError("a scalar has no axis")
        return each(self, x) if rank == 1 else [self.rows(row, each) for row in x]

    def stack(self, xs: Sequence[Any]) -> list:
        if len({_shape(x) for x in xs}) != 1:
            raise ValueError("elements of different shapes")
        return list(xs)

    def at(self, x: Any, at: Sequence[Element]) -> Any:
        for position in map(self._integer, at):
            if not isinstance(x, list) or not 0 <= position < len(x):
                raise IndexError(position)
            x = x[position]
        return x

    def _integer(self, element: Element) -> int:
        return int(float(self.nodes[element.index].text))


# ---- arrays as nested lists --------------------------------------------------------------------

def _indices(shape: tuple[int, ...]) -> list[tuple[int, ...]]:
    indices: list[tuple[int, ...]] = [()]
    for n in shape:
        indices = [(*index, k) for index in indices for k in range(n)]
    return indices


def _shape(x: Any) -> tuple[int, ...]:
    shape = []
    while isinstance(x, list):
        shape.append(len(x))
        x = x[0]
    return tuple(shape)


def _rank(x: Any) -> int:
    return len(_shape(x))


def _flat(x: Any) -> list[Element]:
    if not isinstance(x, list):
        return [x]
    return [e for item in x for e in _flat(item)]


def _shaped(flat: list, shape: tuple[int, ...]) -> Any:
    """The flat elements (row-major) nested in this shape."""
    if not shape:
        return flat[0]
    step = len(flat) // shape[0]
    return [_shaped(flat[k * step:(k + 1) * step], shape[1:]) for k in range(shape[0])]


def _broadcast_shape(shapes: list[tuple[int, ...]]) -> tuple[int, ...]:
    """numpy's rule: the trailing dimensions equal, or 1."""
    rank = max(map(len, shapes))
    result = []
    for k in range(rank):
        sizes = {shape[k - rank + len(shape)] for shape in shapes if k - rank + len(shape) >= 0}
        sizes.discard(1)
        if len(sizes) > 1:
            raise ValueError("the shapes do not broadcast")
        result.append(sizes.pop() if sizes else 1)
    return tuple(result)


def _broadcast(x: Any, shape: tuple[int, ...], target: tuple[int, ...]) -> Any:
    if len(shape) < len(target):
        return [_broadcast(x, shape, target[1:])] * target[0]
    if not target:
        return x
    if shape[0] == target[0]:
        return [_broadcast(item, shape[1:], target[1:]) for item in x]
    return [_broadcast(x[0], shape[1:], target[1:])] * target[0]


def _zip_apply(apply, arrays: list, rank: int) -> Any:
    if rank == 0:
        return apply(*arrays)
    return [_zip_apply(apply, list(items), rank - 1) for items in zip(*arrays)]


def _words(shape: tuple[int, ...]) -> str:
    if not shape:
        return "a scalar"
    if len(shape) == 1:
        return f"a {shape[0]}-vector"
    return "a " + "×".join(map(str, shape)) + (" matrix" if len(shape) == 2 else " array")
