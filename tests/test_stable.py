"""Numerically stable gates: sigmoid, softplus, log-sigmoid and the log loss of a sigmoid stay
finite and accurate far out (|z| = 30, 1000, 1e6), checked against mpmath at 50 digits."""
from __future__ import annotations

import math

import mpmath
import pytest

from gradcalc.core.ops import REGISTRY
from gradcalc.numbers import floats

FAR = [-1e6, -1000.0, -30.0, 30.0, 1000.0, 1e6]


def truth(f, *args) -> float:
    """f at 50 digits (and at enough precision for exp(-1e6)), rounded to a float."""
    with mpmath.workdps(50):
        return float(f(*map(mpmath.mpf, args)))


def sigmoid(z):
    return 1 / (1 + mpmath.exp(-z))


def softplus(z):
    return mpmath.log1p(mpmath.exp(z)) if z < 0 else z + mpmath.log1p(mpmath.exp(-z))


def log_loss(y, z):
    return -y * mpmath.log(sigmoid(z)) - (1 - y) * mpmath.log(1 - sigmoid(z))


def close(got: float, want: float) -> bool:
    """Within a few units in the last place, or both below the smallest normal float."""
    return math.isclose(got, want, rel_tol=4e-16) or abs(got - want) < 1e-300


@pytest.mark.parametrize("z", FAR)
def test_sigmoid_softplus_and_log_sigmoid_are_accurate(z):
    for name, oracle in (("sigmoid", sigmoid), ("softplus", softplus),
                         ("log_sigmoid", lambda t: -softplus(-t))):
        value = REGISTRY[name].forward(floats, z)
        assert math.isfinite(value) and close(value, truth(oracle, z)), (name, z)


@pytest.mark.parametrize("z", FAR)
def test_local_rules_stay_finite_and_right(z):
    out = REGISTRY["sigmoid"].forward(floats, z)
    slope = REGISTRY["sigmoid"].partial(floats, out, (z,), 0)
    assert not math.isnan(slope) and 0 <= slope <= 0.25
    if abs(z) > 40:  # the true slope is below 1e-17: σ(1−σ) gives 0, as in PyTorch
        assert slope == pytest.approx(truth(lambda t: sigmoid(t) * sigmoid(-t), z), abs=1e-17)
    softplus_slope = REGISTRY["softplus"].partial(floats, None, (z,), 0)
    assert close(softplus_slope, truth(sigmoid, z))
    log_sigmoid_slope = REGISTRY["log_sigmoid"].partial(floats, None, (z,), 0)
    assert close(log_sigmoid_slope, truth(sigmoid, -z))


@pytest.mark.parametrize("y", [0.0, 1.0, 0.3])
@pytest.mark.parametrize("z", FAR + [2.0])
def test_the_log_loss_gate_is_accurate_also_when_tiny(y, z):
    value = REGISTRY["logloss"].forward(floats, y, z)
    with mpmath.workdps(50):
        want = float(y * softplus(mpmath.mpf(-z)) + (1 - y) * softplus(mpmath.mpf(z)))
        assert abs(want - float(log_loss(mpmath.mpf(y), mpmath.mpf(z)))) <= 1e-12 * abs(want) \
            or abs(z) >= 1000  # mpmath's own longhand loses the tail there
    assert math.isfinite(value) and close(value, want), (y, z)
    slope = REGISTRY["logloss"].partial(floats, value, (y, z), 1)
    # σ(z) − y, as PyTorch computes it: right to an ulp of σ(z), the size of σ's rounding
    assert slope == pytest.approx(truth(sigmoid, z) - y, abs=2.5e-16)


def test_sigmoid_at_minus_1000_is_0_with_gradient_0_never_nan(cli):
    out = cli("eval", "sigmoid(x)", "--at", "x=-1000", "--format", "json").json()
    assert out["value"] == 0.0 and out["gradient"] == {"x": 0.0}
    out = cli("eval", "sigmoid(x)", "--at", "x=-700", "--format", "json").json()
    assert 0 < out["value"] < 1e-300 and out["gradient"]["x"] == pytest.approx(out["value"], rel=1e-12)


@pytest.mark.parametrize("z, value, slope", [(-1e6, 0.0, 0.0), (-1000, 0.0, 0.0),
                                             (1000, 1000.0, 1.0), (1e6, 1e6, 1.0)])
def test_softplus_far_out_through_the_cli(cli, z, value, slope):
    out = cli("eval", "softplus(x)", "--at", f"x={z}", "--format", "json").json()
    assert out["value"] == value and out["gradient"] == {"x": slope}


@pytest.mark.parametrize("z", ["-1000", "-1e6"])
def test_fused_log_of_a_sigmoid_is_a_stable_gate(cli, z):
    written = cli("eval", "log(sigmoid(x))", "--at", f"x={z}")
    assert written.code == 3 and "log of 0" in written.stderr
    out = cli("eval", "log(sigmoid(x))", "--at", f"x={z}", "--gates", "fused",
              "--format", "json").json()
    assert out["value"] == float(z) and out["gradient"] == {"x": 1.0}


@pytest.mark.parametrize("z", [-1e6, -1000.0, 1000.0, 1e6])
def test_fused_log_loss_far_out(cli, z):
    loss = "-y*log(sigmoid(z)) - (1-y)*log(1-sigmoid(z))"
    for y in (0, 1):
        out = cli("eval", loss, "--at", f"y={y},z={z}", "--gates", "fused",
                  "--format", "json").json()
        assert math.isfinite(out["value"]) and out["value"] == pytest.approx(
            max(z, 0) - y * z, abs=1e-300)
        assert out["gradient"]["z"] == pytest.approx((1.0 if z > 0 else 0.0) - y)
