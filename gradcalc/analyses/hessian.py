"""Second derivatives by forward-over-reverse: the backward pass run on dual numbers.

A dual number carries a value and a tangent (its derivative along one direction of the
inputs). `DualSystem` is one more number-system namespace for the op registry: each of its
functions is a registry op, applied to the values by the op's own forward rule and to the
tangents by the op's own local derivative. Running the ordinary backward pass on it with the
tangent of input x_j set to 1 gives, in the tangents of the gradient, column j of the Hessian
∂²f/∂x_i∂x_j — exact up to rounding, no finite differences, and no rule but the registry's.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from gradcalc import limits
from gradcalc.core import autodiff
from gradcalc.core.autodiff import Result
from gradcalc.core.graph import Graph
from gradcalc.core.ops import REGISTRY
from gradcalc.errors import DomainError
from gradcalc.numbers import FUNCTIONS, floats


class Dual:
    """value + tangent·ε with ε² = 0; compares and prints as its value."""

    __slots__ = ("value", "tangent", "system")

    def __init__(self, value, tangent, system: "DualSystem"):
        self.value, self.tangent, self.system = value, tangent, system

    def _lift(self, other) -> "Dual":
        return other if isinstance(other, Dual) else self.system.lift(other)

    def __add__(self, other):
        return self.system.apply("add", self, self._lift(other))

    def __radd__(self, other):
        return self.system.apply("add", self._lift(other), self)

    def __sub__(self, other):
        return self.system.apply("sub", self, self._lift(other))

    def __rsub__(self, other):
        return self.system.apply("sub", self._lift(other), self)

    def __mul__(self, other):
        return self.system.apply("mul", self, self._lift(other))

    def __rmul__(self, other):
        return self.system.apply("mul", self._lift(other), self)

    def __truediv__(self, other):
        return self.system.apply("div", self, self._lift(other))

    def __rtruediv__(self, other):
        return self.system.apply("div", self._lift(other), self)

    def __pow__(self, other):
        return self.system.apply("pow", self, self._lift(other))

    def __rpow__(self, other):
        return self.system.apply("pow", self._lift(other), self)

    def __neg__(self):
        return self.system.apply("neg", self)

    # Comparisons (domain checks, kinks, ties) look at the value only.
    def __eq__(self, other):
        return self.value == _value(other)

    def __ne__(self, other):
        return self.value != _value(other)

    def __lt__(self, other):
        return self.value < _value(other)

    def __le__(self, other):
        return self.value <= _value(other)

    def __gt__(self, other):
        return self.value > _value(other)

    def __ge__(self, other):
        return self.value >= _value(other)

    def __hash__(self):
        return hash(self.value)

    def __float__(self):
        return float(self.value)

    def __int__(self):
        return int(self.value)

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    def __repr__(self) -> str:
        return f"Dual({self.value!r}, {self.tangent!r})"


def _value(x):
    return x.value if isinstance(x, Dual) else x


class DualSystem:
    """The registry's number-system namespace for dual numbers over a base system `m`."""

    log: Callable[[Dual], Dual]  # set in __init__, like every other name of FUNCTIONS

    def __init__(self, m: Any = floats):
        self.m = m
        self.ZERO, self.ONE = self.lift(m.ZERO), self.lift(m.ONE)
        for name in FUNCTIONS:  # each the forward function of the registry op of that name
            setattr(self, name, self._op(name))

    def lift(self, value) -> Dual:
        """A constant: its tangent is 0."""
        return Dual(value, self.m.ZERO, self)

    def number(self, text: str) -> Dual:
        return self.lift(self.m.number(text))

    def constant(self, name: str) -> Dual:
        return self.lift(self.m.constant(name))

    def settled(self, x: Dual) -> Dual:
        return x

    def isfinite(self, x: Dual) -> bool:
        return self.m.isfinite(x.value) and self.m.isfinite(x.tangent)

    def _op(self, name: str):
        return lambda *args: self.apply(name, *args)

    def apply(self, name: str, *args: Dual) -> Dual:
        """The op's forward rule on the values; its local derivatives carry the tangents."""
        op, m = REGISTRY[name], self.m
        assert op.forward is not None and op.partial is not None  # not a leaf
        values = tuple(a.value for a in args)
        out = op.forward(m, *values)
        tangent = m.ZERO
        for k, a in enumerate(args):
            if a.tangent:  # a constant direction needs no derivative (x**2 at x < 0 has no ∂/∂2)
                tangent = tangent + op.partial(m, out, values, k) * a.tangent
        return Dual(out, tangent, self)

    def xlogy(self, x: Dual, y: Dual) -> Dual:
        """x*log(y), 0 where x is 0 (then its tangent is x'·log(y))."""
        if x.value == 0:
            return Dual(self.m.ZERO, x.tangent * self.m.log(y.value) if x.tangent else self.m.ZERO,
                        self)
        return x * self.log(y)

    # Piecewise-constant subgradients: their own derivative is 0.
    def step(self, x: Dual) -> Dual:
        return self.lift(self.m.step(x.value))

    def sign(self, x: Dual) -> Dual:
        return self.lift(self.m.sign(x.value))

    def tie_share(self, out: Dual, args: tuple, index: int) -> Dual:
        return self.lift(self.m.tie_share(out.value, tuple(a.value for a in args), index))


@dataclass
class Hessian:
    """An evaluation and its matrix of second derivatives, `matrix[row][column]`."""

    result: Result
    matrix: dict[str, dict[str, Any]]
    exact: bool = False  # values are sympy's (--exact)
    # vectors and matrices, computed on the scalar circuit of their elements: their shapes
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)


def hessian(graph: Graph, at: Mapping[str, Any], wrt: Sequence[str] | None = None,
            m: Any = floats) -> dict[str, dict[str, Any]]:
    """∂²output/∂x_i∂x_j for every pair of inputs in `wrt`: row i, column j.

    One forward and one backward pass of dual numbers per column, so the work is the
    graph's size times the number of inputs (bounded by GRADCALC_MAX_HESSIAN).
    """
    names = tuple(graph.input_names if wrt is None else wrt)
    limits.check("GRADCALC_MAX_HESSIAN", len(graph.nodes) * len(names),
                  f"the Hessian needs {len(graph.nodes):,} nodes × {len(names):,} inputs")
    system = DualSystem(m)
    matrix: dict[str, dict[str, Any]] = {name: {} for name in names}
    for column in names:
        point = {name: Dual(value, m.ONE if name == column else m.ZERO, system)
                 for name, value in at.items()}
        try:
            result = autodiff.evaluate(graph, point, names, m=system)
        except DomainError as exc:
            raise DomainError(f"second derivatives: {exc}", exc.stage) from None
        gradient = result.gradient
        for row in names:
            matrix[row][column] = gradient[row].tangent
    return matrix
