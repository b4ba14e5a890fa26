"""Every op's local rule against sympy's derivative of its forward function, and against
central differences; the sympy forms are written here independently of the registry."""
from __future__ import annotations

import math

import pytest
import sympy as sp
from helpers import ORACLE, S

from gradcalc.core.ops import FUNCTIONS, REGISTRY
from gradcalc.numbers import floats


def test_every_op_has_an_oracle():
    """Every scalar op; the vector ops' rules are checked in tests/test_vectors.py."""
    computing = {name for name, op in REGISTRY.items() if name not in ("input", "const") and not op.vector}
    assert computing == set(ORACLE)


def test_every_function_users_call_is_registered():
    assert set(FUNCTIONS.values()) <= set(REGISTRY)


@pytest.mark.parametrize("name", sorted(ORACLE))
def test_forward_and_local_rule_match_sympy(name):
    op = REGISTRY[name]
    form, points = ORACLE[name]
    symbols = [S["x"], S["y"]][: len(points[0])]
    for point in points:
        subs = dict(zip(symbols, point))
        out = op.forward(floats, *point)
        assert out == pytest.approx(float(form.subs(subs)), rel=1e-12)
        for i, s in enumerate(symbols):
            want = float(sp.diff(form, s).subs(subs).evalf(30))
            got = op.partial(floats, out, point, i)
            assert got == pytest.approx(want, rel=1e-10, abs=1e-14), (name, point, i)


@pytest.mark.parametrize("name", sorted(ORACLE))
def test_local_rule_matches_central_differences(name):
    op = REGISTRY[name]
    for point in ORACLE[name][1]:
        out = op.forward(floats, *point)
        for i in range(len(point)):
            h = 1e-6 * max(1.0, abs(point[i]))
            up, down = list(point), list(point)
            up[i] += h
            down[i] -= h
            estimate = (op.forward(floats, *up) - op.forward(floats, *down)) / (2 * h)
            assert op.partial(floats, out, point, i) == pytest.approx(estimate, rel=1e-6, abs=1e-8)


def test_sigmoid_and_softplus_stay_finite_far_out():
    assert floats.sigmoid(-1000.0) == 0.0
    assert floats.sigmoid(1000.0) == 1.0
    assert floats.softplus(1000.0) == 1000.0
    assert floats.softplus(-1000.0) == 0.0
    assert math.isclose(floats.log_sigmoid(-1000.0), -1000.0)


def test_min_norm_subgradients():
    assert REGISTRY["abs"].partial(floats, 0.0, (0.0,), 0) == 0.0
    assert REGISTRY["relu"].partial(floats, 0.0, (0.0,), 0) == 0.0
    assert REGISTRY["max"].partial(floats, 2.0, (2.0, 2.0, 1.0), 0) == 0.5
    assert REGISTRY["max"].partial(floats, 2.0, (2.0, 2.0, 1.0), 2) == 0.0
