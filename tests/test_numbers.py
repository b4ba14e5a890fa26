"""Every number system provides the declared protocol and computes what floats compute.

The systems: floats, IEEE floats, numpy columns, sympy, mpmath in randomized rounding, and
the derived ones — dual numbers (Hessians), formula sizes (`grad`'s limit) and Python source
(`trace --format python`). floats itself is checked against formulas written here.
"""
from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest

from gradcalc import numbers
from gradcalc.analyses.formulas import Terms, TermsSystem
from gradcalc.analyses.hessian import Dual, DualSystem
from gradcalc.core.ops import REGISTRY
from gradcalc.numbers import columns, exact_arrays, floats, ieee, precise, symbolic
from gradcalc.render.python import Code, SourceMath

SYSTEMS = {"floats": floats, "ieee": ieee, "columns": columns, "symbolic": symbolic,
           "precise": precise, "duals": DualSystem(floats), "exact duals": DualSystem(symbolic),
           "sizes": TermsSystem(), "python source": SourceMath(), "exact arrays": exact_arrays}

# Points inside every function's domain; (x,) for one argument, (base, exponent) for pow...
POINTS = {name: [(0.3,), (0.6,), (0.9,)] for name in numbers.FUNCTIONS}
POINTS |= {name: [(0.3,), (-0.7,), (1.9,)] for name in
           ("exp", "abs", "sin", "cos", "tan", "atan", "sinh", "cosh", "tanh", "sigmoid", "softplus",
            "log_sigmoid", "relu", "step", "sign")}
POINTS |= {"log": [(0.3,), (2.5,)], "sqrt": [(0.3,), (2.5,)], "pow": [(1.7, 0.5), (0.3, 3.0), (2.0, -1.5)],
           "max": [(0.3, 0.9, -0.2), (0.5, 0.5)], "min": [(0.3, 0.9, -0.2), (0.5, 0.5)],
           "xlogy": [(0.0, 2.0), (1.5, 0.7)], "step": [(-1.0,), (0.0,), (2.0,)],
           "sign": [(-1.0,), (0.0,), (2.0,)], "relu": [(-1.0,), (0.0,), (2.0,)]}

# floats against formulas written out here, with the standard library's math.
DIRECT = {
    "exp": math.exp, "log": math.log, "sqrt": math.sqrt, "abs": abs, "sin": math.sin,
    "cos": math.cos, "tan": math.tan, "asin": math.asin, "acos": math.acos, "atan": math.atan,
    "sinh": math.sinh, "cosh": math.cosh, "tanh": math.tanh,
    "sigmoid": lambda x: 1 / (1 + math.exp(-x)), "softplus": lambda x: math.log(1 + math.exp(x)),
    "log_sigmoid": lambda x: math.log(1 / (1 + math.exp(-x))), "relu": lambda x: x if x > 0 else 0.0,
    "max": max, "min": min, "pow": lambda a, b: a ** b,
    "xlogy": lambda x, y: 0.0 if x == 0 else x * math.log(y),
    "step": lambda x: 1.0 if x > 0 else 0.0, "sign": lambda x: (x > 0) - (x < 0),
}


def cases():
    for name in (*numbers.FUNCTIONS, "xlogy", "step", "sign"):
        for args in POINTS[name]:
            yield name, args


@pytest.mark.parametrize("system", SYSTEMS, ids=str)
def test_every_system_provides_the_whole_protocol(system):
    assert numbers.missing(SYSTEMS[system]) == []


def test_each_function_of_the_protocol_is_the_forward_of_the_op_of_its_name():
    """What dual numbers rely on to carry tangents through the registry's own rules."""
    for name in numbers.FUNCTIONS:
        op = REGISTRY[name]
        args = POINTS[name][0]
        assert op.forward(floats, *args) == getattr(floats, name)(*args)


@pytest.mark.parametrize("name, args", list(cases()), ids=str)
def test_floats_computes_the_formulas(name, args):
    assert getattr(floats, name)(*args) == pytest.approx(DIRECT[name](*args), rel=1e-14, abs=1e-15)


def test_ties_share_the_gradient_evenly():
    assert floats.tie_share(0.5, (0.5, 0.5, 0.1), 0) == 0.5
    assert floats.tie_share(0.5, (0.5, 0.5, 0.1), 2) == 0.0


def in_system(system: str, value: float):
    m = SYSTEMS[system]
    if system == "floats":
        return value
    if system == "columns":
        return np.array([value, value])
    if system == "exact arrays":
        return m.array([repr(value), repr(value)], (2,))
    if system in ("ieee",):
        return m.IEEE(value)
    if system in ("symbolic", "precise"):
        return m.number(repr(value))
    if system == "duals":
        return m.lift(value)
    if system == "exact duals":
        return m.lift(symbolic.number(repr(value)))
    if system == "sizes":
        return Terms(1)
    return Code(repr(value))


def as_float(system: str, value) -> float:
    if system == "columns":
        first, second = np.broadcast_to(value, (2,))
        assert first == second
        return float(first)
    if system == "exact arrays":
        first, second = np.broadcast_to(np.asarray(value, dtype=object), (2,))
        assert first == second
        return float(first.evalf(30))
    if system == "exact duals":
        return float(value.value.evalf(30))
    if system == "duals":
        return float(value.value)
    if system == "symbolic":
        return float(value.evalf(30))
    if system == "python source":
        return float(eval(value.text if isinstance(value, Code) else repr(value),  # noqa: S307
                          {"math": math, **vars(floats)}))
    return float(value)


VALUED = [system for system in SYSTEMS if system != "sizes"]


@pytest.mark.parametrize("system", VALUED, ids=str)
@pytest.mark.parametrize("name, args", list(cases()), ids=str)
def test_every_system_computes_what_floats_computes(system, name, args):
    m = SYSTEMS[system]
    with mpmath.workdps(30):
        got = getattr(m, name)(*(in_system(system, a) for a in args))
        assert as_float(system, got) == pytest.approx(getattr(floats, name)(*args), rel=1e-12, abs=1e-14)


@pytest.mark.parametrize("system", VALUED, ids=str)
def test_every_system_reads_literals_and_constants(system):
    m = SYSTEMS[system]
    with mpmath.workdps(30):
        assert as_float(system, m.number("0.1")) == 0.1
        assert as_float(system, m.constant("pi")) == pytest.approx(math.pi, rel=1e-15)
        assert as_float(system, m.ONE) == 1.0 and as_float(system, m.ZERO) == 0.0


@pytest.mark.parametrize("name, args", list(cases()), ids=str)
def test_a_dual_number_carries_the_derivative_a_central_difference_gives(name, args):
    if name in ("step", "sign", "relu", "abs", "max", "min"):  # kinks: derivatives hold elsewhere
        args = tuple(a + 0.05 for a in args) if len(set(args)) == len(args) else args
        if len(set(args)) != len(args):
            return
    system = DualSystem(floats)
    seeded = [Dual(a, 1.0 if k == 0 else 0.0, system) for k, a in enumerate(args)]
    got = getattr(system, name)(*seeded)
    h = 1e-6
    f = getattr(floats, name)
    estimate = (f(args[0] + h, *args[1:]) - f(args[0] - h, *args[1:])) / (2 * h)
    assert got.tangent == pytest.approx(estimate, rel=1e-6, abs=1e-8)


@pytest.mark.parametrize("name, args", list(cases()), ids=str)
def test_a_size_counts_the_function_and_its_arguments(name, args):
    sizes = TermsSystem()
    got = getattr(sizes, name)(*(Terms(2) for _ in args))
    assert isinstance(got, Terms) and int(got) == 1 + 2 * len(args)
