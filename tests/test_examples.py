"""The ready examples in examples/: the seeds' two-layer network (51 points, summed log loss
12.017 at the start, 0.347 at the trained weights) and logistic regression, checked against
backpropagation written out by hand in numpy and against central differences."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NETWORK = ("-f", str(EXAMPLES / "network" / "loss.txt"), "--data",
           str(EXAMPLES / "network" / "data.csv"), "--reduce", "sum")
START = "w1=[-7.8751,-8.3499],b1=[-3.9181,3.8380],w2=[5.0297,-4.0937],b2=1.6347"
TRAINED = "w1=[27.6292,29.6453],b1=[-13.8410,14.6499],w2=[18.5647,-16.8853],b2=7.7300"
ORDER = ("w10", "w11", "b10", "b11", "w20", "w21", "b2")


def seed_data():
    x = np.linspace(-1, 1, 51)
    return x, ((x < -0.5) | (x > 0.5)).astype(float)


def network_loss(p, x, y):
    w1, b1, w2, b2 = p[0:2, None], p[2:4, None], p[4:6], p[6]
    a1 = 1 / (1 + np.exp(-(w1 * x + b1)))
    yhat = 1 / (1 + np.exp(-(w2 @ a1 + b2)))
    return -(y * np.log(yhat) + (1 - y) * np.log(1 - yhat)).sum()


def network_backprop(p, x, y):
    """The lecture's backward pass, layer by layer, summed over the 51 points."""
    w1, b1, w2, b2 = p[0:2, None], p[2:4, None], p[4:6], p[6]
    a1 = 1 / (1 + np.exp(-(w1 * x + b1)))
    a2 = 1 / (1 + np.exp(-(w2 @ a1 + b2)))
    dz2 = a2 - y
    dz1 = w2[:, None] * dz2 * a1 * (1 - a1)
    return np.concatenate([(dz1 * x).sum(1), dz1.sum(1), a1 @ dz2, [dz2.sum()]])


def vector(text):
    names = {"w1": ("w10", "w11"), "b1": ("b10", "b11"), "w2": ("w20", "w21")}
    values = {}
    for part in text.replace("],", "];").split(";"):
        name, value = part.split("=")
        for n, v in zip(names.get(name, (name,)), value.strip("[]").split(",")):
            values[n] = float(v)
    return np.array([values[n] for n in ORDER])


def test_network_loss_at_the_start_is_12_017_with_seven_gradients(cli):
    out = cli("eval", *NETWORK, "--at", START, "--format", "json").json()
    assert round(out["value"], 3) == 12.017
    x, y = seed_data()
    p = vector(START)
    assert out["value"] == pytest.approx(network_loss(p, x, y), rel=1e-12)
    got = np.array([out["gradient"][n] for n in ORDER])
    assert got == pytest.approx(network_backprop(p, x, y), rel=1e-10)
    h = 1e-6
    central = [(network_loss(p + h * e, x, y) - network_loss(p - h * e, x, y)) / (2 * h)
               for e in np.eye(7)]
    assert got == pytest.approx(central, rel=1e-5, abs=1e-7)


def test_network_loss_at_the_trained_weights_is_0_347(cli):
    out = cli("eval", *NETWORK, "--at", TRAINED, "--format", "json").json()
    assert round(out["value"], 3) == 0.347
    x, y = seed_data()
    assert out["value"] == pytest.approx(network_loss(vector(TRAINED), x, y), rel=1e-12)


def test_network_descent_lowers_the_loss(cli):
    out = cli("descend", *NETWORK, "--at", START, "--lr", "0.1", "--steps", "300",
              "--format", "json").json()
    assert round(out["initial_loss"], 3) == 12.017
    assert out["loss"] < 2.5  # from 12.017 in 300 steps
    x, y = seed_data()
    trained = np.array([out["at"][n] for n in ORDER])
    assert out["loss"] == pytest.approx(network_loss(trained, x, y), rel=1e-12)


def test_logistic_example_runs_as_the_readme_says(cli):
    args = ("-f", str(EXAMPLES / "logistic" / "loss.txt"), "--data",
            str(EXAMPLES / "logistic" / "data.csv"), "--at", "w1=0,w2=0,b=0")
    start = cli("eval", *args, "--format", "json").json()
    assert start["value"] == pytest.approx(np.log(2), rel=1e-12) and start["rows"] == 200
    trained = cli("descend", *args, "--wrt", "w1,w2,b", "--lr", "0.5", "--steps", "200",
                  "--format", "json").json()
    assert trained["loss"] < 0.45 * start["value"]


def test_example_data_is_the_seed_data():
    rows = np.loadtxt(EXAMPLES / "network" / "data.csv", delimiter=",", skiprows=1)
    x, y = seed_data()
    assert rows[:, 0] == pytest.approx(x, abs=1e-15) and (rows[:, 1] == y).all()
