"""THE op registry: every operation declared once, with its forward function and local rule.

A rule is written against a number-system namespace `m` (`gradcalc.floatmath` for floats;
sympy, mpmath or numpy for the other modes), so one table serves evaluation, printing of
the rule and exact arithmetic. A partial derivative receives the op's output too:
sigmoid's rule is `out*(1-out)`, exp's is `out`, sqrt's `0.5/out`.

    forward(m, *args) -> out
    partial(m, out, args, i) -> ∂out/∂args[i]
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple, Optional


class Op(NamedTuple):  # a tuple, not a dataclass: creating a dataclass costs start-up time
    name: str
    forward: Callable[..., Any]
    partial: Callable[[Any, Any, tuple, int], Any]
    arity: tuple[int, Optional[int]] = (1, 1)  # (fewest, most) arguments; None: no upper bound
    symbol: str = ""  # infix or prefix operator; empty for a function call
    why: Optional[Callable[..., str]] = None  # why forward failed at these arguments
    kink: Optional[Callable[..., Optional[str]]] = None  # note at a non-differentiable point

    def accepts(self, count: int) -> bool:
        low, high = self.arity
        return count >= low and (high is None or count <= high)


def _each(*rules: Callable) -> Callable:
    """Turn one rule per argument, each `(m, out, *args)`, into a `partial(m, out, args, i)`.

    The rules stay reachable as `partial.rules`, so a hot loop can call them directly.
    """
    partial = lambda m, out, args, i: rules[i](m, out, *args)  # noqa: E731
    partial.rules = rules
    return partial


def _log_why(x) -> str:
    return "log of 0" if x == 0 else "log of a negative number"


def _pow_why(base, exponent) -> str:
    if base == 0 and exponent < 0:
        return "0 raised to a negative power"
    if base < 0 and exponent != int(exponent):
        return "negative base with a non-integer exponent"
    return "overflow"


def _at_zero(name: str, subgradient: str = "0"):
    def kink(out, args):
        if args[0] == 0:
            return f"{name} is not differentiable at 0; using the subgradient {subgradient}"
        return None

    return kink


def _tie(name: str):
    def kink(out, args):
        ties = sum(1 for a in args if a == out)
        if ties > 1:
            return f"{name} has a {ties}-way tie; the gradient is split evenly between them"
        return None

    return kink


def _outside_unit(name: str):
    return lambda x: f"{name} of a number outside [-1, 1]"


_OVERFLOW = lambda *args: "overflow"  # noqa: E731

REGISTRY: dict[str, Op] = {}


def _declare(*ops: Op) -> None:
    for op in ops:
        REGISTRY[op.name] = op


_declare(
    # The leaves: values come from the point, not from a rule.
    Op("input", forward=None, partial=None, arity=(0, 0)),
    Op("const", forward=None, partial=None, arity=(0, 0)),
    # `v = a` in a program: a stage of its own that passes its input through.
    Op("copy", lambda m, a: a, _each(lambda m, out, a: m.ONE)),
    Op("add", lambda m, a, b: a + b,
       _each(lambda m, out, a, b: m.ONE, lambda m, out, a, b: m.ONE), (2, 2), "+"),
    Op("sub", lambda m, a, b: a - b,
       _each(lambda m, out, a, b: m.ONE, lambda m, out, a, b: -m.ONE), (2, 2), "-"),
    Op("mul", lambda m, a, b: a * b,
       _each(lambda m, out, a, b: b, lambda m, out, a, b: a), (2, 2), "*"),
    Op("div", lambda m, a, b: a / b,
       _each(lambda m, out, a, b: m.ONE / b, lambda m, out, a, b: -out / b), (2, 2), "/",
       why=lambda a, b: "division by zero" if b == 0 else "overflow"),
    Op("pow", lambda m, a, b: m.pow(a, b),
       _each(lambda m, out, a, b: b * m.pow(a, b - 1), lambda m, out, a, b: m.xlogy(out, a)),
       (2, 2), "**", why=_pow_why),
    Op("neg", lambda m, a: -a, _each(lambda m, out, a: -m.ONE), (1, 1), "-"),
    Op("exp", lambda m, x: m.exp(x), _each(lambda m, out, x: out), why=_OVERFLOW),
    Op("log", lambda m, x: m.log(x), _each(lambda m, out, x: m.ONE / x), why=_log_why),
    Op("logb", lambda m, x, b: m.log(x) / m.log(b),
       _each(lambda m, out, x, b: m.ONE / (x * m.log(b)),
             lambda m, out, x, b: -out / (b * m.log(b))),
       (2, 2), why=lambda x, b: _log_why(x) if x <= 0 else "log to a base that is not positive and not 1"),
    Op("sqrt", lambda m, x: m.sqrt(x), _each(lambda m, out, x: 1 / (2 * out)),
       why=lambda x: "sqrt of a negative number"),
    Op("abs", lambda m, x: m.abs(x), _each(lambda m, out, x: m.sign(x)), kink=_at_zero("abs")),
    Op("sin", lambda m, x: m.sin(x), _each(lambda m, out, x: m.cos(x))),
    Op("cos", lambda m, x: m.cos(x), _each(lambda m, out, x: -m.sin(x))),
    Op("tan", lambda m, x: m.tan(x), _each(lambda m, out, x: 1 + out * out)),
    Op("asin", lambda m, x: m.asin(x), _each(lambda m, out, x: 1 / m.sqrt(1 - x * x)),
       why=_outside_unit("asin")),
    Op("acos", lambda m, x: m.acos(x), _each(lambda m, out, x: -1 / m.sqrt(1 - x * x)),
       why=_outside_unit("acos")),
    Op("atan", lambda m, x: m.atan(x), _each(lambda m, out, x: 1 / (1 + x * x))),
    Op("sinh", lambda m, x: m.sinh(x), _each(lambda m, out, x: m.cosh(x)), why=_OVERFLOW),
    Op("cosh", lambda m, x: m.cosh(x), _each(lambda m, out, x: m.sinh(x)), why=_OVERFLOW),
    Op("tanh", lambda m, x: m.tanh(x), _each(lambda m, out, x: 1 - out * out)),
    Op("sigmoid", lambda m, x: m.sigmoid(x), _each(lambda m, out, x: out * (1 - out))),
    Op("softplus", lambda m, x: m.softplus(x), _each(lambda m, out, x: m.sigmoid(x))),
    # Fused, numerically stable gates: made by `--gates fused`, not called by users.
    Op("log_sigmoid", lambda m, x: m.log_sigmoid(x), _each(lambda m, out, x: m.sigmoid(-x))),
    # -y*log(σ(z)) - (1-y)*log(1-σ(z)) as a sum of non-negative terms (for y in [0, 1]):
    # softplus(z) - y*z is the same number but loses its digits to cancellation when small
    Op("logloss", lambda m, y, z: y * m.softplus(-z) + (1 - y) * m.softplus(z),
       _each(lambda m, out, y, z: -z, lambda m, out, y, z: m.sigmoid(z) - y), (2, 2)),
    Op("relu", lambda m, x: m.relu(x), _each(lambda m, out, x: m.step(x)), kink=_at_zero("relu")),
    Op("max", lambda m, *xs: m.max(*xs), lambda m, out, args, i: m.tie_share(out, args, i),
       (1, None), kink=_tie("max")),
    Op("min", lambda m, *xs: m.min(*xs), lambda m, out, args, i: m.tie_share(out, args, i),
       (1, None), kink=_tie("min")),
)

# What users call, mapped to the op it lowers to; `log(x, b)` is the two-argument `logb`.
FUNCTIONS: dict[str, str] = {
    name: name
    for name in ("exp", "log", "sqrt", "abs", "sin", "cos", "tan", "asin", "acos", "atan",
                 "sinh", "cosh", "tanh", "sigmoid", "relu", "softplus", "max", "min")
}
FUNCTIONS["ln"] = "log"

# Infix operators as the parser spells them, mapped to their ops.
BINARY: dict[str, str] = {"+": "add", "-": "sub", "*": "mul", "/": "div", "^": "pow", "**": "pow"}

CONSTANTS = ("pi", "e")


def function_op(name: str, argc: int) -> Op:
    """The op a call `name(...)` with `argc` arguments lowers to, or None if none fits."""
    op_name = FUNCTIONS[name]
    if op_name == "log" and argc == 2:
        op_name = "logb"
    op = REGISTRY[op_name]
    return op if op.accepts(argc) else None


def arity_text(name: str) -> str:
    if name in ("log", "ln"):
        return "1 or 2 arguments"
    low, high = REGISTRY[FUNCTIONS[name]].arity
    if high is None:
        return f"at least {low} argument{'s' if low > 1 else ''}"
    return f"{low} argument{'s' if low > 1 else ''}"
