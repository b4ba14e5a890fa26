"""Independent oracles for the numerics tests: the seeds' worked examples written directly as
sympy expressions (never by parsing gradcalc's text with sympy), and random expression trees
built as text and sympy form side by side."""
from __future__ import annotations

import sympy as sp
from hypothesis import strategies as st

S = {name: sp.Symbol(name, real=True)
     for name in ("a", "b", "c", "x", "y", "z", "w0", "w1", "w2", "x0", "x1", "x2")}


def sigma(t):
    return 1 / (1 + sp.exp(-t))


a, b, c, x, y = (S[n] for n in "abcxy")
NEURON_AT = {"w0": "2", "w1": "-3", "w2": "-3", "x0": "-1", "x1": "-2"}
NEURON = sigma(S["w0"] * S["x0"] + S["w1"] * S["x1"] + S["w2"])
LOSS = "z = w1*x1 + w2*x2 + b; yhat = sigmoid(z); L = -y*log(yhat) - (1-y)*log(1-yhat)"
LOSS_AT = {"x1": "1.5", "x2": "2.5", "w1": "-4", "w2": "3", "b": "-1", "y": "1"}
_z = S["w1"] * S["x1"] + S["w2"] * S["x2"] + b
LOSS_FORM = -y * sp.log(sigma(_z)) - (1 - y) * sp.log(1 - sigma(_z))

# The worked examples of ../shared/golden/seed-examples.json: text, point, sympy form.
WORKED = [
    ("3*(a+b*c)", {"a": "5", "b": "3", "c": "2"}, 3 * (a + b * c)),
    ("u = b*c; v = a + u; J = 3*v", {"a": "5", "b": "3", "c": "2"}, 3 * (a + b * c)),
    ("1/(1+exp(-(w0*x0+w1*x1+w2)))", NEURON_AT, NEURON),
    ("sigmoid(w0*x0+w1*x1+w2)", NEURON_AT, NEURON),
    ("(x + sigmoid(y)) / (sigmoid(x) + (x+y)**2)", {"x": "3", "y": "-4"},
     (x + sigma(y)) / (sigma(x) + (x + y) ** 2)),
    (LOSS, LOSS_AT, LOSS_FORM),
    ("x**2*(3*x+1) - sin(x**2)", {"x": "1.5"}, x ** 2 * (3 * x + 1) - sp.sin(x ** 2)),
    ("(exp(x) + x)**2", {"x": "1"}, (sp.exp(x) + x) ** 2),
    ("max(x, y) * 2 + x*y", {"x": "3", "y": "-4"}, sp.Max(x, y) * 2 + x * y),
]


def staged(text: str, at: dict):
    """The graph of `text` and the point `at`, read as the command line reads `--at`."""
    from gradcalc.cli.options import parse_at
    from gradcalc.core.graph import lower
    from gradcalc.core.values import Point

    point = Point(parse_at([at_option(at)]))
    return lower(text, given=point.names), point


def at_option(at: dict) -> str:
    return ",".join(f"{name}={value}" for name, value in at.items())


def exact_point(at: dict) -> dict:
    return {S[name]: sp.Rational(value) for name, value in at.items()}


# Random trees: each builder writes text and sympy form side by side, in safe domains.
NAMES = ("x", "y", "z")
RATIONAL = {
    "add": (lambda p, q: f"({p} + {q})", lambda p, q: p + q),
    "sub": (lambda p, q: f"({p} - {q})", lambda p, q: p - q),
    "mul": (lambda p, q: f"({p}*{q})", lambda p, q: p * q),
    "div": (lambda p, q: f"({p}/(2 + ({q})^2))", lambda p, q: p / (2 + q ** 2)),
}
SMOOTH = {
    "exp": (lambda p: f"exp(tanh({p}))", lambda p: sp.exp(sp.tanh(p))),
    "log": (lambda p: f"log(1 + ({p})**2)", lambda p: sp.log(1 + p ** 2)),
    "sqrt": (lambda p: f"sqrt(3 + sin({p}))", lambda p: sp.sqrt(3 + sp.sin(p))),
    "sigmoid": (lambda p: f"sigmoid({p})", sigma),
    "softplus": (lambda p: f"softplus({p})", lambda p: sp.log(1 + sp.exp(p))),
    "cos": (lambda p: f"cos({p})", sp.cos),
    "atan": (lambda p: f"atan({p})", sp.atan),
    "neg": (lambda p: f"(-{p})", lambda p: -p),
    "cube": (lambda p: f"({p})^3", lambda p: p ** 3),
}


@st.composite
def expressions(draw, unary=SMOOTH, size=8):
    """A random tree whose nodes may reuse earlier subtrees, so subexpressions are shared."""
    pool = [(name, S[name]) for name in NAMES] + [("1.5", sp.Rational(3, 2))]
    for _ in range(draw(st.integers(1, size))):
        if unary and draw(st.booleans()):
            text, form = unary[draw(st.sampled_from(sorted(unary)))]
            p = draw(st.sampled_from(pool))
            pool.append((text(p[0]), form(p[1])))
        else:
            text, form = RATIONAL[draw(st.sampled_from(sorted(RATIONAL)))]
            p, q = draw(st.sampled_from(pool)), draw(st.sampled_from(pool))
            pool.append((text(p[0], q[0]), form(p[1], q[1])))
    return pool[-1]


rational_expressions = expressions(unary={k: SMOOTH[k] for k in ("neg", "cube")})

# Points as decimal texts, so exact and many-digit modes read them exactly.
points = st.fixed_dictionaries({name: st.integers(-200, 200).map(lambda k: str(k / 100))
                                for name in NAMES})
