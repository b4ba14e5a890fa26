"""The registry's rules as JavaScript, for the page that recomputes in the browser.

Nothing here is written per op: each op's forward function and local rule is run, as
`trace --format python` runs it, on a number system whose "numbers" are JavaScript source
text, so the page computes with the very rules `eval` computes with, and an op registered
anywhere (`tests/test_new_op.py`'s `cube`) gets its script for free. The names of the number
system (`sigmoid`, `tie_share`, ...) are written once below, in RUNTIME, as floats computes
them. An op whose rule needs anything else (a name RUNTIME lacks, a comparison, a Python
builtin) has no script: the page then shows it and says that recomputation is unavailable.

The script is made of the registry's rules only; the user's program reaches the page as
data (stage ops, inputs, constants), never as code.
"""
from __future__ import annotations

import json
import math
from typing import Any, Sequence

from gradcalc.core.ops import REGISTRY, Op
from gradcalc.render.python import ATOM, UNARY, Code  # JavaScript's + - * / bind as Python's

# The number system's names in JavaScript: what numbers/floats.py computes, in the same way
# (the stable sigmoid and softplus, the min-norm subgradients, the even split of ties).
# A failure is not an exception here: it is a number that is not finite, which the page's
# interpreter refuses as autodiff refuses it.
RUNTIME = {
    "exp": "Math.exp", "log": "Math.log", "sqrt": "Math.sqrt", "abs": "Math.abs",
    "sin": "Math.sin", "cos": "Math.cos", "tan": "Math.tan", "asin": "Math.asin",
    "acos": "Math.acos", "atan": "Math.atan", "sinh": "Math.sinh", "cosh": "Math.cosh",
    "tanh": "Math.tanh", "max": "Math.max", "min": "Math.min",
    "pow": "(b, e) => (b < 0 && !Number.isInteger(e) ? NaN : Math.pow(b, e))",
    "sigmoid": "x => { if (x >= 0) return 1 / (1 + Math.exp(-x)); const z = Math.exp(x); return z / (1 + z); }",
    "softplus": "x => (x > 0 ? x : 0) + Math.log1p(Math.exp(-Math.abs(x)))",
    "log_sigmoid": "x => -M.softplus(-x)",
    "relu": "x => (x > 0 ? x : 0)",
    "step": "x => (x > 0 ? 1 : 0)",
    "sign": "x => (x > 0 ? 1 : x < 0 ? -1 : 0)",
    "xlogy": "(x, y) => (x === 0 ? 0 : x * Math.log(y))",
    "tie_share": "(out, args, i) => (args[i] !== out ? 0 : 1 / args.filter(a => a === out).length)",
}


class NoScript(Exception):
    """A rule that cannot be written as JavaScript from the names above."""


class Script(Code):
    """A JavaScript expression and its precedence: `Code`'s arithmetic, JavaScript's numbers."""

    __slots__ = ()

    @classmethod
    def of(cls, value) -> "Script":
        return _script(value)

    def __neg__(self):
        inner = self.at_least(UNARY)
        return Script(f"-({inner})" if inner.startswith("-") else f"-{inner}", UNARY)  # never `--x`


def _script(value) -> Script:
    if isinstance(value, Script):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise NoScript(f"{value!r} is not a finite number")
    text = repr(float(value)) if isinstance(value, float) else str(value)
    return Script(text, UNARY if text.startswith("-") else ATOM)


class Arguments(tuple):
    """A stage's arguments: `a[0]`, `a[1]`... one by one, and `a` where a rule takes them all."""


def _argument(value) -> str:
    if isinstance(value, Arguments):
        return "a"
    if isinstance(value, tuple):
        return f"[{', '.join(_script(v).text for v in value)}]"
    return _script(value).text


class ScriptMath:
    """The registry's number-system namespace, writing JavaScript instead of computing floats."""

    ZERO = Script("0")
    ONE = Script("1")

    def number(self, text: str) -> Script:
        return _script(float(text))

    def constant(self, name: str) -> Script:
        return Script({"pi": "Math.PI", "e": "Math.E"}[name])

    def __getattr__(self, name: str):
        if name not in RUNTIME:
            raise NoScript(f"the page has no {name}")
        return lambda *args: Script(f"M.{name}({', '.join(_argument(a) for a in args)})")


def op_script(op: Op, count: int) -> str:
    """`{f: (a) => ..., d: [(out, a) => ..., ...]}`: the forward function and each local rule of
    `op` with `count` arguments `a`; NoScript when the rules need what the page lacks."""
    if op.forward is None or op.partial is None:
        raise NoScript(f"{op.name} is a leaf")
    m = ScriptMath()
    args = Arguments(Script(f"a[{k}]") for k in range(count))
    out = Script("out")
    try:
        forward = _script(op.forward(m, *args)).text
        partials = [_script(op.partial(m, out, args, k)).text for k in range(count)]
    except NoScript:
        raise
    except Exception as exc:  # a comparison, a builtin, an index: not arithmetic on numbers
        raise NoScript(f"{op.name}: {type(exc).__name__}") from None
    rules = ", ".join(f"(out, a) => {p}" for p in partials)
    return f"{{f: (a) => {forward}, d: [{rules}]}}"


def ops_script(calls: Sequence[tuple[str, int]]) -> tuple[str, list[str]]:
    """The JavaScript table `OPS["name/count"]` of the ops a graph calls (name, argument count),
    and the ops that have no script (the page cannot recompute with them)."""
    entries, missing = [], []
    for name, count in sorted(set(calls)):
        try:
            entries.append(f"{script_json(f'{name}/{count}')}: {op_script(REGISTRY[name], count)}")
        except NoScript:
            missing.append(name)
    return "{" + ",\n".join(entries) + "}", sorted(set(missing))


def runtime_script() -> str:
    """`const M = {...}`: the number system's names, in JavaScript."""
    body = ",\n".join(f"  {name}: {source}" for name, source in RUNTIME.items())
    return f"const M = {{\n{body},\n}};"


def script_json(value: Any) -> str:
    """JSON that stays data inside a <script> element: `<`, `>` and `&` as \\u escapes, so
    no text can close the element or open another."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))

