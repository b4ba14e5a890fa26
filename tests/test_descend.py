"""descend: each step is w := w - lr * dJ/dw on the reduced loss; history, curve and SVG."""
from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from gradcalc.render.curve import terminal_curve


@pytest.fixture
def line_csv(tmp_path):
    """y = 3x - 1 on 20 points: least squares recovers w = 3, b = -1."""
    x = np.linspace(-1, 1, 20)
    path = tmp_path / "line.csv"
    path.write_text("x,y\n" + "".join(f"{a!r},{3 * a - 1!r}\n" for a in x.tolist()))
    return str(path)


LOSS = "(w*x + b - y)**2"


def test_steps_follow_the_update_rule(cli, line_csv):
    out = cli("descend", LOSS, "--data", line_csv, "--at", "w=0,b=0", "--wrt", "w,b",
              "--lr", "0.1", "--steps", "2", "--format", "json").json()
    x = np.linspace(-1, 1, 20)
    y = 3 * x - 1
    w = b = 0.0
    for _ in range(2):
        r = w * x + b - y
        w, b = w - 0.1 * np.mean(2 * r * x), b - 0.1 * np.mean(2 * r)
    assert out["at"] == pytest.approx({"w": w, "b": b}, rel=1e-12)
    assert out["loss"] == pytest.approx(np.mean((w * x + b - y) ** 2), rel=1e-12)
    assert out["initial_loss"] == pytest.approx(np.mean(y ** 2), rel=1e-12)
    assert (out["steps"], out["lr"], out["reduce"], out["rows"]) == (2, 0.1, "mean", 20)


def test_descent_converges_and_writes_history_and_plot(cli, line_csv, tmp_path):
    history, plot = tmp_path / "h.csv", tmp_path / "loss.svg"
    run = cli("descend", LOSS, "--data", line_csv, "--at", "w=0,b=0", "--wrt", "w,b",
              "--lr", "0.2", "--steps", "300", "--history", str(history), "--plot", str(plot))
    assert run.code == 0 and run.stderr == ""
    assert "after 300 steps" in run.stdout and "loss per step" not in run.stdout
    assert "f per step" in run.stdout and "█" in run.stdout  # the curve in the terminal
    rows = list(csv.DictReader(io.StringIO(history.read_text())))
    assert list(rows[0]) == ["step", "loss", "w", "b"]
    assert [int(r["step"]) for r in rows] == list(range(301))
    assert float(rows[-1]["w"]) == pytest.approx(3, abs=1e-6)
    assert float(rows[-1]["b"]) == pytest.approx(-1, abs=1e-6)
    losses = [float(r["loss"]) for r in rows]
    assert losses[-1] < 1e-10 < losses[0]
    svg = ET.fromstring(plot.read_text())
    assert svg.tag.endswith("svg")
    assert len(svg.find("{http://www.w3.org/2000/svg}polyline").get("points").split()) == 300


def test_minibatches_are_reproducible_with_a_seed(cli, line_csv):
    args = ("descend", LOSS, "--data", line_csv, "--at", "w=0,b=0", "--lr", "0.1",
            "--steps", "50", "--batch-size", "4", "--format", "json")
    first, again = cli(*args, "--seed", "3").json(), cli(*args, "--seed", "3").json()
    other = cli(*args, "--seed", "4").json()
    assert first == again and first["at"] != other["at"]
    assert first["batch_size"] == 4 and first["loss"] < first["initial_loss"] / 10


def test_a_diverging_rate_is_a_math_error(cli, line_csv):
    run = cli("descend", "exp(w*x)*y", "--data", line_csv, "--at", "w=0", "--lr", "1e6",
              "--steps", "100")
    assert run.code == 3 and run.stdout == ""
    assert run.stderr.startswith("error: step 1, row 1: stage u2 = exp(u1): overflow")


def test_math_error_names_the_step_and_row(cli, tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("x\n1\n2\n")
    run = cli("descend", "log(w*x)", "--data", str(data), "--at", "w=0.5", "--lr", "1",
              "--steps", "5")
    assert run.code == 3 and run.stdout == ""
    assert run.stderr.startswith("error: step 1, row 1: stage f = log(u1): log of a negative")


def test_descend_needs_parameters_and_data(cli, line_csv):
    assert "needs --data" in cli("descend", LOSS, "--at", "w=0,b=0").stderr
    run = cli("descend", "x*y", "--data", line_csv)
    assert run.code == 2 and "nothing to descend on" in run.stderr


def test_terminal_curve_starts_at_the_first_loss():
    text = terminal_curve([10.0, 5.0, 2.0, 1.0], height=4)
    lines = text.splitlines()
    assert lines[1].startswith("10 ┤█") and lines[4].startswith(" 1 ┤")
    assert lines[-1].strip().endswith("step")
