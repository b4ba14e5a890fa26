"""THE op registry: every operation declared once, with its forward function and local rule.

A rule is written against a number-system namespace `m` (`gradcalc.numbers.floats` for
floats; sympy, mpmath or numpy for the other modes; the names every system provides are
declared in `gradcalc.numbers`), so one table serves evaluation, printing of the rule and
exact arithmetic. A partial derivative receives the op's output too:
sigmoid's rule is `out*(1-out)`, exp's is `out`, sqrt's `0.5/out`.

    forward(m, *args) -> out
    partial(m, out, args, i) -> ∂out/∂args[i]

Ops on vectors and matrices (`@`, `sum`, `softmax`, ...) run on the array system
(`gradcalc.numbers.arrays`) only, and have a vector–Jacobian rule instead of a partial:

    vjp(m, out, args, i, upstream) -> the gradient that flows into args[i], in its shape
    vjp_written(names, shapes, i) -> that rule written out, `du @ xᵀ` (names: out, *args)

Every other op applies elementwise there, with numpy's broadcasting: its gradient is
`partial * upstream`, summed over the axes that argument was broadcast along. For
`--gates scalar` a vector op also gives its scalar definition (core/unroll.py):

    unrolled(c, *args) -> its elements, each a scalar gate of the circuit `c`
                          (an array is a nested list of elements; `+ - * /` on them are gates)
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple, Optional, Sequence


class Op(NamedTuple):  # a tuple, not a dataclass: creating a dataclass costs start-up time
    """Everything gradcalc knows about one operation; nothing else names it.

    The spellings are format templates over the arguments' texts, `{0}`, `{1}`... or `{args}`
    for all of them joined by ", "; empty means the default (`name(args)`, and in LaTeX
    `\\operatorname{name}`).
    """

    name: str
    forward: Optional[Callable[..., Any]]  # None for the leaves, "input" and "const"
    partial: Optional[Callable[[Any, Any, tuple, int], Any]]
    arity: tuple[int, Optional[int]] = (1, 1)  # (fewest, most) arguments; None: no upper bound
    symbol: str = ""  # the infix or prefix operator users write; empty for a function call
    why: Optional[Callable[..., str]] = None  # why forward failed at these arguments
    kink: Optional[Callable[..., Optional[str]]] = None  # note at a non-differentiable point
    kink_at: Optional[Callable[..., Any]] = None  # where it is met: per row on columns too
    calls: tuple[str, ...] = ()  # function names users call it by: ("log", "ln")
    written: str = ""  # the definition in a trace: "{0} + {1}", "log({0}, {1})"
    latex: str = ""  # the definition in LaTeX: r"\\frac{{{0}}}{{{1}}}"
    label: str = ""  # the circle of a circuit gate, in print's symbols: "×", "σ" (default: the name)
    longhand: tuple[str, str] = ("", "")  # (argument names, elementary circuit) for --gates primitive
    fused_from: tuple[tuple[str, tuple], ...] = ()  # (longhand pattern, arguments) for --gates fused
    commutative: bool = False  # f(a, b) = f(b, a): patterns match either order; `+1` labels
    vjp: Optional[Callable[..., Any]] = None  # vector ops: (m, out, args, i, upstream) -> gradient of args[i]
    vjp_written: Optional[Callable[..., str]] = None  # (names, shapes, i) -> that rule as text
    mismatch: Optional[Callable[..., str]] = None  # (shapes) -> why these shapes do not fit
    unrolled: Optional[Callable[..., Any]] = None  # vector ops: (c, *args) -> its scalar elements, for --gates scalar

    @property
    def vector(self) -> bool:
        """Whether the op needs the array system (it has no scalar local rule)."""
        return self.vjp is not None

    def accepts(self, count: int) -> bool:
        low, high = self.arity
        return count >= low and (high is None or count <= high)

    def write(self, args: Sequence[str]) -> str:
        """The op applied to arguments already written out, as the user would write it."""
        return (self.written or f"{self.name}({{args}})").format(*args, args=", ".join(args),
                                                                 rest=", ".join(args[1:]))

    def write_latex(self, args: Sequence[str]) -> str:
        # (a template: the braces around the name are doubled, so that format keeps them)
        template = self.latex or rf"\operatorname{{{{{_latex_text(self.name)}}}}}\left({{args}}\right)"
        return template.format(*args, args=", ".join(args), rest=", ".join(args[1:]))

    @property
    def gate_label(self) -> str:
        return self.label or self.name


def _latex_text(name: str) -> str:
    return name.replace("_", r"\_")


def _function(command: str) -> str:
    """The LaTeX of a function with a command of its own: `\\exp\\left(x\\right)`."""
    return command + r"\left({args}\right)"


def each(*rules: Callable) -> Callable:
    """Turn one rule per argument, each `(m, out, *args)`, into a `partial(m, out, args, i)`.

    The rules stay reachable as `partial.rules`, so a hot loop can call them directly.
    """
    partial = lambda m, out, args, i: rules[i](m, out, *args)  # noqa: E731
    setattr(partial, "rules", rules)
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


def _zero_argument(out, args):
    return args[0] == 0


def _ties(out, args) -> int:
    """How many arguments are at the max; of one vector argument, how many of its elements."""
    if len(args) == 1:
        same = args[0] == out
        return int(same.sum()) if hasattr(same, "sum") else 1
    return sum(1 for a in args if a == out)


def _tied(out, args):
    """Where several arguments are at the max; of one vector argument (a reduction: its value
    has another shape), whether several of its elements are."""
    if len(args) == 1 and getattr(out, "shape", ()) != getattr(args[0], "shape", ()):
        return _ties(out, args) > 1
    return sum(a == out for a in args) > 1


def _tie(name: str):
    def kink(out, args):
        ties = _ties(out, args)
        if ties > 1:
            return f"{name} has a {ties}-way tie; the gradient is split evenly between them"
        return None

    return kink


def _outside_unit(name: str):
    return lambda x: f"{name} of a number outside [-1, 1]"


_OVERFLOW = lambda *args: "overflow"  # noqa: E731

REGISTRY: dict[str, Op] = {}
CALLS: dict[str, tuple[Op, ...]] = {}  # a function name users call → the ops it lowers to, by arity
FUNCTIONS: dict[str, str] = {}  # a function name users call → the op it lowers to with one argument
BINARY: dict[str, str] = {"^": "pow"}  # infix operators as the parser spells them → their ops


def register(op: Op) -> Op:
    """Declare an op: from here on, every command and format knows it."""
    REGISTRY[op.name] = op
    for name in op.calls:
        CALLS[name] = (*CALLS.get(name, ()), op)
        FUNCTIONS.setdefault(name, op.name)
    if op.symbol and op.arity == (2, 2):  # unary minus is read apart by the parser: `neg`
        BINARY[op.symbol] = op.name
    return op


def withdraw(name: str) -> None:
    """Undo `register` (for ops declared for a while, such as a test's)."""
    op = REGISTRY.pop(name)
    for call in op.calls:
        CALLS[call] = tuple(o for o in CALLS[call] if o.name != name)
        if CALLS[call]:
            FUNCTIONS[call] = CALLS[call][0].name
        else:
            del CALLS[call], FUNCTIONS[call]
    if BINARY.get(op.symbol) == name:
        del BINARY[op.symbol]


def _declare(*ops: Op) -> None:
    for op in ops:
        register(op)


_UNARY_FUSED = ("x",)
_LOG_LOSS = ("y", "z")

_declare(
    # The leaves: values come from the point, not from a rule.
    Op("input", forward=None, partial=None, arity=(0, 0)),
    Op("const", forward=None, partial=None, arity=(0, 0)),
    # `v = a` in a program: a stage of its own that passes its input through.
    Op("copy", lambda m, a: a, each(lambda m, out, a: m.ONE), written="{0}", latex="{0}",
       label="="),
    Op("add", lambda m, a, b: a + b,
       each(lambda m, out, a, b: m.ONE, lambda m, out, a, b: m.ONE), (2, 2), "+",
       written="{0} + {1}", latex="{0} + {1}", label="+", commutative=True),
    Op("sub", lambda m, a, b: a - b,
       each(lambda m, out, a, b: m.ONE, lambda m, out, a, b: -m.ONE), (2, 2), "-",
       written="{0} - {1}", latex="{0} - {1}", label="−"),
    Op("mul", lambda m, a, b: a * b,
       each(lambda m, out, a, b: b, lambda m, out, a, b: a), (2, 2), "*",
       written="{0}*{1}", latex=r"{0} \cdot {1}", label="×", commutative=True),
    Op("div", lambda m, a, b: a / b,
       each(lambda m, out, a, b: m.ONE / b, lambda m, out, a, b: -out / b), (2, 2), "/",
       why=lambda a, b: "division by zero" if b == 0 else "overflow",
       written="{0}/{1}", latex=r"\frac{{{0}}}{{{1}}}", label="÷"),
    Op("pow", lambda m, a, b: m.pow(a, b),
       each(lambda m, out, a, b: b * m.pow(a, b - 1), lambda m, out, a, b: m.xlogy(out, a)),
       (2, 2), "**", why=_pow_why, written="{0}**{1}", latex="{{{0}}}^{{{1}}}", label="^"),
    Op("neg", lambda m, a: -a, each(lambda m, out, a: -m.ONE), (1, 1), "-",
       written="-{0}", latex="-{0}", label="×−1"),
    Op("exp", lambda m, x: m.exp(x), each(lambda m, out, x: out), why=_OVERFLOW,
       calls=("exp",), latex=_function(r"\exp")),
    Op("log", lambda m, x: m.log(x), each(lambda m, out, x: m.ONE / x), why=_log_why,
       calls=("log", "ln"), latex=_function(r"\log")),
    Op("logb", lambda m, x, b: m.log(x) / m.log(b),
       each(lambda m, out, x, b: m.ONE / (x * m.log(b)),
             lambda m, out, x, b: -out / (b * m.log(b))),
       (2, 2), why=lambda x, b: _log_why(x) if x <= 0 else "log to a base that is not positive and not 1",
       calls=("log",), written="log({0}, {1})", latex=r"\log_{{{1}}}\left({0}\right)",
       longhand=("x b", "log(x)/log(b)")),
    Op("sqrt", lambda m, x: m.sqrt(x), each(lambda m, out, x: 1 / (2 * out)),
       why=lambda x: "sqrt of a negative number", calls=("sqrt",), latex=r"\sqrt{{{0}}}"),
    Op("abs", lambda m, x: m.abs(x), each(lambda m, out, x: m.sign(x)), kink=_at_zero("abs"), kink_at=_zero_argument,
       calls=("abs",), latex=r"\left|{0}\right|"),
    Op("sin", lambda m, x: m.sin(x), each(lambda m, out, x: m.cos(x)), calls=("sin",),
       latex=_function(r"\sin")),
    Op("cos", lambda m, x: m.cos(x), each(lambda m, out, x: -m.sin(x)), calls=("cos",),
       latex=_function(r"\cos")),
    Op("tan", lambda m, x: m.tan(x), each(lambda m, out, x: 1 + out * out), calls=("tan",),
       latex=_function(r"\tan"), longhand=("x", "sin(x)/cos(x)")),
    Op("asin", lambda m, x: m.asin(x), each(lambda m, out, x: 1 / m.sqrt(1 - x * x)),
       why=_outside_unit("asin"), calls=("asin",), latex=_function(r"\arcsin")),
    Op("acos", lambda m, x: m.acos(x), each(lambda m, out, x: -1 / m.sqrt(1 - x * x)),
       why=_outside_unit("acos"), calls=("acos",), latex=_function(r"\arccos")),
    Op("atan", lambda m, x: m.atan(x), each(lambda m, out, x: 1 / (1 + x * x)),
       calls=("atan",), latex=_function(r"\arctan")),
    Op("sinh", lambda m, x: m.sinh(x), each(lambda m, out, x: m.cosh(x)), why=_OVERFLOW,
       calls=("sinh",), latex=_function(r"\sinh"), longhand=("x", "(exp(x)-exp(-x))/2")),
    Op("cosh", lambda m, x: m.cosh(x), each(lambda m, out, x: m.sinh(x)), why=_OVERFLOW,
       calls=("cosh",), latex=_function(r"\cosh"), longhand=("x", "(exp(x)+exp(-x))/2")),
    Op("tanh", lambda m, x: m.tanh(x), each(lambda m, out, x: 1 - out * out),
       calls=("tanh",), latex=_function(r"\tanh"),
       longhand=("x", "(exp(x)-exp(-x))/(exp(x)+exp(-x))"),
       fused_from=(("(exp(x)-exp(-x))/(exp(x)+exp(-x))", _UNARY_FUSED),)),
    Op("sigmoid", lambda m, x: m.sigmoid(x), each(lambda m, out, x: out * (1 - out)),
       calls=("sigmoid",), latex=_function(r"\sigma"), label="σ",
       longhand=("x", "1/(1+exp(-x))"), fused_from=(("1/(1+exp(-x))", _UNARY_FUSED),)),
    Op("softplus", lambda m, x: m.softplus(x), each(lambda m, out, x: m.sigmoid(x)),
       calls=("softplus",), longhand=("x", "log(1+exp(x))"),
       fused_from=(("log(1+exp(x))", _UNARY_FUSED),)),
    # Fused, numerically stable gates: made by `--gates fused`, not called by users. Patterns
    # see earlier fusions: `log(sigmoid(x))` also matches `log(1/(1+exp(-x)))`.
    Op("log_sigmoid", lambda m, x: m.log_sigmoid(x), each(lambda m, out, x: m.sigmoid(-x)),
       latex=_function(r"\log\sigma"), label="log σ", longhand=("x", "-log(1+exp(-x))"),
       fused_from=(("log(sigmoid(x))", _UNARY_FUSED),
                   ("log(1-sigmoid(x))", (("neg", "x"),)))),  # ("neg", v): a new -v gate
    # -y*log(σ(z)) - (1-y)*log(1-σ(z)) as a sum of non-negative terms (for y in [0, 1]):
    # softplus(z) - y*z is the same number but loses its digits to cancellation when small
    Op("logloss", lambda m, y, z: y * m.softplus(-z) + (1 - y) * m.softplus(z),
       each(lambda m, out, y, z: -z, lambda m, out, y, z: m.sigmoid(z) - y), (2, 2),
       longhand=("y z", "log(1+exp(z)) - y*z"),
       fused_from=(("-y*log(sigmoid(z)) - (1-y)*log(1-sigmoid(z))", _LOG_LOSS),
                   ("-(y*log(sigmoid(z))) - (1-y)*log(1-sigmoid(z))", _LOG_LOSS),
                   ("-(y*log(sigmoid(z)) + (1-y)*log(1-sigmoid(z)))", _LOG_LOSS))),
    Op("relu", lambda m, x: m.relu(x), each(lambda m, out, x: m.step(x)), kink=_at_zero("relu"), kink_at=_zero_argument,
       calls=("relu",)),
    Op("max", lambda m, *xs: m.max(*xs), lambda m, out, args, i: m.tie_share(out, args, i),
       (1, None), kink=_tie("max"), kink_at=_tied, calls=("max",), latex=_function(r"\max")),
    Op("min", lambda m, *xs: m.min(*xs), lambda m, out, args, i: m.tie_share(out, args, i),
       (1, None), kink=_tie("min"), kink_at=_tied, calls=("min",), latex=_function(r"\min")),
)

CONSTANTS = ("pi", "e")


# ---- vectors and matrices ---------------------------------------------------------------------
# Each rule below is the staged backward step of the lecture in matrix form: for u = W @ x,
# dW += du ⊗ x and dx += Wᵀ @ du; for u = sum(z), dz += du (broadcast).

def _matmul_vjp(m, out, args, i, g):
    a, b = args
    rank = (m.ndim(a), m.ndim(b))
    if rank == (2, 2):
        return m.matmul(g, m.transpose(b)) if i == 0 else m.matmul(m.transpose(a), g)
    if rank == (2, 1):
        return m.outer(g, b) if i == 0 else m.matmul(m.transpose(a), g)
    if rank == (1, 2):
        return m.matmul(b, g) if i == 0 else m.outer(a, g)
    return g * b if i == 0 else g * a


def _matmul_written(names, shapes, i):
    out, a, b = names
    rank = (len(shapes[1]), len(shapes[2]))
    if rank == (2, 2):
        return f"d{out} @ {b}ᵀ" if i == 0 else f"{a}ᵀ @ d{out}"
    if rank == (2, 1):
        return f"d{out} ⊗ {b}" if i == 0 else f"{a}ᵀ @ d{out}"
    if rank == (1, 2):
        return f"{b} @ d{out}" if i == 0 else f"{a} ⊗ d{out}"
    return f"d{out} * {b}" if i == 0 else f"d{out} * {a}"


def _matmul_mismatch(shapes) -> str:
    a, b = shapes
    if not a or not b:
        return "'@' multiplies vectors and matrices, not scalars (use '*')"
    if len(a) > 2 or len(b) > 2:
        return "'@' multiplies vectors and matrices"
    return f"the inner dimensions differ ({a[-1]} ≠ {b[0]})"


def _dot_mismatch(shapes) -> str:
    a, b = shapes
    if len(a) != 1 or len(b) != 1:
        return "dot takes two vectors (for matrices use '@')"
    return f"the lengths differ ({a[0]} ≠ {b[0]})"


def _needs_array(name: str, rank: str = "a vector or a matrix"):
    return lambda shapes: f"{name} takes {rank}"


def _norm_kink(out, args):
    return "norm is not differentiable at 0; using the subgradient 0" if out == 0 else None


# The scalar definitions of --gates scalar: softmax and logsumexp in the stable forms the
# array system computes, the row's maximum subtracted first (its gradient is 0 up to rounding).

def _logsumexp_row(c, row):
    top = c.max(*row)
    return top + c.log(c.total([c.exp(x - top) for x in row]))


def _softmax_row(c, row):
    top = c.max(*row)
    shifted = [c.exp(x - top) for x in row]
    total = c.total(shifted)
    return [e / total for e in shifted]


def _log_softmax_row(c, row):
    lse = _logsumexp_row(c, row)
    return [x - lse for x in row]


def _mean_unrolled(c, x):
    elements = c.flat(x)
    return c.total(elements) / c.number(len(elements))


def _norm_unrolled(c, x):
    return c.sqrt(c.total([e * e for e in c.flat(x)]))


def _stack_mismatch(shapes) -> str:
    return "the elements of a vector or matrix literal must have one shape (a matrix is rectangular)"


_declare(
    Op("matmul", lambda m, a, b: m.matmul(a, b), None, (2, 2), "@",
       written="{0} @ {1}", latex=r"{0} {1}", label="@",
       vjp=_matmul_vjp, vjp_written=_matmul_written, mismatch=_matmul_mismatch,
       unrolled=lambda c, a, b: c.matmul(a, b)),
    Op("dot", lambda m, a, b: m.dot(a, b), None, (2, 2), calls=("dot",),
       latex=r"{0} \cdot {1}", label="·",
       vjp=lambda m, out, args, i, g: g * args[1 - i],
       vjp_written=lambda names, shapes, i: f"d{names[0]} * {names[2 - i]}", mismatch=_dot_mismatch,
       unrolled=lambda c, a, b: c.dot(a, b)),
    Op("sum", lambda m, x: m.sum(x), None, calls=("sum",), latex=r"\sum {0}", label="Σ",
       vjp=lambda m, out, args, i, g: m.broadcast_to(g, m.shape(args[0])),
       vjp_written=lambda names, shapes, i: f"d{names[0]} (broadcast to {_shape_text(shapes[1])})",
       unrolled=lambda c, x: c.total(c.flat(x))),
    Op("mean", lambda m, x: m.mean(x), None, calls=("mean",), latex=r"\operatorname{{mean}} {0}",
       vjp=lambda m, out, args, i, g: m.broadcast_to(g / m.size(args[0]), m.shape(args[0])),
       vjp_written=lambda names, shapes, i: f"d{names[0]}/{_size(shapes[1])} (broadcast to {_shape_text(shapes[1])})",
       unrolled=_mean_unrolled),
    Op("transpose", lambda m, x: m.transpose(x), None, calls=("transpose",), written="{0}ᵀ",
       latex="{{{0}}}^{{T}}", label="ᵀ",
       vjp=lambda m, out, args, i, g: m.transpose(g),
       vjp_written=lambda names, shapes, i: f"d{names[0]}ᵀ",
       unrolled=lambda c, x: c.transpose(x)),
    Op("softmax", lambda m, x: m.softmax(x), None, calls=("softmax",),
       latex=_function(r"\operatorname{{softmax}}"),
       vjp=lambda m, out, args, i, g: out * (g - m.sum(g * out, axis=-1, keepdims=True)),
       vjp_written=lambda names, shapes, i: f"{names[0]} * (d{names[0]} - sum({names[0]} * d{names[0]}))",
       mismatch=_needs_array("softmax"), unrolled=lambda c, x: c.rows(x, _softmax_row)),
    Op("log_softmax", lambda m, x: m.log_softmax(x), None, calls=("log_softmax",),
       latex=_function(r"\log\operatorname{{softmax}}"),
       vjp=lambda m, out, args, i, g: g - m.exp(out) * m.sum(g, axis=-1, keepdims=True),
       vjp_written=lambda names, shapes, i: f"d{names[0]} - exp({names[0]}) * sum(d{names[0]})",
       mismatch=_needs_array("log_softmax"), unrolled=lambda c, x: c.rows(x, _log_softmax_row)),
    Op("logsumexp", lambda m, x: m.logsumexp(x), None, calls=("logsumexp",),
       latex=_function(r"\operatorname{{logsumexp}}"),
       vjp=lambda m, out, args, i, g: m.exp(args[0] - m.trailing(out)) * m.trailing(g),
       vjp_written=lambda names, shapes, i: f"d{names[0]} * exp({names[1]} - {names[0]})",
       mismatch=_needs_array("logsumexp"), unrolled=lambda c, x: c.rows(x, _logsumexp_row)),
    Op("norm", lambda m, x: m.norm(x), None, calls=("norm",), latex=r"\left\|{0}\right\|",
       kink=_norm_kink, kink_at=lambda out, args: out == 0,
       vjp=lambda m, out, args, i, g: args[0] * m.ZERO if out == 0 else g * args[0] / out,
       vjp_written=lambda names, shapes, i: f"d{names[0]} * {names[1]} / {names[0]}",
       unrolled=_norm_unrolled),
    # `[a, b]` and `[[1, 2], [3, 4]]`: a vector or matrix written in the expression
    Op("vector", lambda m, *xs: m.stack(*xs), None, (1, None), written="[{args}]",
       latex=r"\left[{args}\right]", label="[ ]",
       vjp=lambda m, out, args, i, g: m.index(g, i),
       vjp_written=lambda names, shapes, i: f"d{names[0]}[{i}]", mismatch=_stack_mismatch,
       unrolled=lambda c, *xs: c.stack(xs)),
    # `z[0]`, `W[1, 2]`: the indices are integer constants, its inputs after the first
    Op("index", lambda m, x, *at: m.index(x, *at), None, (2, None), written="{0}[{rest}]",
       latex="{{{0}}}_{{{rest}}}", label="[i]",
       vjp=lambda m, out, args, i, g: m.scatter(m.shape(args[0]), args[1:], g) if i == 0 else None,
       vjp_written=lambda names, shapes, i: f"d{names[0]} at [{', '.join(names[2:])}]",
       unrolled=lambda c, x, *at: c.at(x, at)),
)


def _shape_text(shape) -> str:
    return "×".join(map(str, shape)) if shape else "scalar"


def _size(shape) -> int:
    size = 1
    for n in shape:
        size *= n
    return size



def function_op(name: str, argc: int) -> Op | None:
    """The op a call `name(...)` with `argc` arguments lowers to, or None if none fits."""
    return next((op for op in CALLS[name] if op.accepts(argc)), None)


def arity_text(name: str) -> str:
    """How many arguments a function takes, in words: `1 or 2 arguments`."""
    counts, most = [], 0
    for op in CALLS[name]:
        low, high = op.arity
        counts.append(f"at least {low}" if high is None else
                      str(low) if low == high else f"{low} to {high}")
        most = max(most, high or low)
    plural = "s" if most > 1 or len(counts) > 1 else ""
    return f"{' or '.join(counts)} argument{plural}"

# The arguments through which a non-finite value always reaches the op's value (inf or nan
# in, inf or nan out, whatever the other arguments are: inf*0 is nan, inf-inf is nan, but
# 1/inf is 0 and sigmoid(inf) is 1). The data engine checks a stage's values only where no
# such path carries them to a value it checks anyway; an op not listed keeps none.
KEEPS_NONFINITE: dict[str, tuple[int, ...]] = {
    "copy": (0,), "add": (0, 1), "sub": (0, 1), "mul": (0, 1), "div": (0,), "neg": (0,),
    "log": (0,), "sqrt": (0,), "abs": (0,), "sin": (0,), "cos": (0,), "tan": (0,),
    "asin": (0,), "acos": (0,), "sinh": (0,), "cosh": (0,),
}
