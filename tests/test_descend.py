"""descend: each step is w := w - lr * dJ/dw on the reduced loss; history, curve and SVG."""
from __future__ import annotations

import csv
import io
import math
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
    # steps 0 to 300, as the history: the curve ends at the final loss the headline gives
    assert len(svg.find("{http://www.w3.org/2000/svg}polyline").get("points").split()) == 301


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


def test_descend_needs_parameters_and_the_rows_options_need_data(cli, line_csv):
    assert "need --data FILE" in cli("descend", LOSS, "--at", "w=0,b=0", "--batch-size", "4").stderr
    run = cli("descend", "x*y", "--data", line_csv)
    assert run.code == 2 and "nothing to descend on" in run.stderr


def test_terminal_curve_starts_at_the_first_loss():
    text = terminal_curve([10.0, 5.0, 2.0, 1.0], height=4)
    lines = text.splitlines()
    assert lines[1].startswith("10 ┤█") and lines[4].startswith(" 1 ┤")
    assert lines[-1].strip().endswith("step")


# ---- the plots: round ticks, grid, axis titles, log scale, the final value marked ----

NETWORK = ("descend", "-f", "examples/network/loss.txt", "--data", "examples/network/data.csv", "--reduce", "sum",
           "--at", "w1=[-7.8751,-8.3499],b1=[-3.9181,3.8380],w2=[5.0297,-4.0937],b2=1.6347", "--lr", "0.1")
SVG = "{http://www.w3.org/2000/svg}"


def is_round(tick: float) -> bool:
    """1, 2 or 5 times a power of ten, times a whole number of steps: what a person writes."""
    return any(abs(tick / (m * 10.0 ** k) - round(tick / (m * 10.0 ** k))) < 1e-9
               for m in (1, 2, 5) for k in range(-12, 13) if abs(tick) >= m * 10.0 ** k)


@pytest.mark.parametrize("low, high, want", [
    (0.214926, 0.693147, [0.2, 0.4, 0.6, 0.8]),
    (0.393133, 12.017, [0, 5, 10, 15]),
    (9.111, 2249, [0, 1000, 2000, 3000]),
    (0, 374, [0, 100, 200, 300, 400]),
])
def test_ticks_are_round_and_cover_the_range(low, high, want):
    from gradcalc.render.curve import nice_ticks

    ticks = nice_ticks(low, high)
    assert ticks == want
    assert ticks[0] <= low and ticks[-1] >= high and all(is_round(t) for t in ticks if t)
    steps = {round(b - a, 12) for a, b in zip(ticks, ticks[1:])}
    assert len(steps) == 1  # evenly spaced


def test_log_ticks_are_powers_of_ten_or_one_two_five():
    from gradcalc.render.curve import log_ticks

    assert log_ticks(0.393133, 12.017) == [0.1, 1, 10, 100]
    assert log_ticks(1e-10, 0.5) == [10.0 ** k for k in range(-10, 1)]
    assert log_ticks(0.3, 0.9) == [0.2, 0.5, 1]


def plot_of(cli, tmp_path, *extra):
    target = tmp_path / "loss.svg"
    run = cli(*NETWORK, "--steps", "300", "--plot", str(target), *extra)
    assert run.code == 0, run.stderr
    return run, ET.fromstring(target.read_text())


def test_the_plot_has_axis_titles_a_grid_and_the_headline_final_value(cli, tmp_path):
    run, svg = plot_of(cli, tmp_path)
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    final = run.stdout.splitlines()[0].split(" = ")[1].split(" after")[0]
    assert f"final L = {final}" in texts  # the same number as the headline
    assert {"step", "L", "L per step"} <= set(texts)
    assert sorted(y_ticks(svg)) == [0, 5, 10, 15]  # the loss axis
    steps = [t.text for t in svg.iter(f"{SVG}text") if t.get("y") == "362"]
    assert steps == ["0", "100", "200", "300"]  # the step axis, to the last step
    grid = [ln for ln in svg.iter(f"{SVG}line") if ln.get("stroke") == "#e3e3e3"]
    assert len(grid) == 4 + 4
    marker = svg.find(f"{SVG}circle")
    last = svg.find(f"{SVG}polyline").get("points").split()[-1].split(",")
    assert (marker.get("cx"), marker.get("cy")) == tuple(last)  # at the curve's last point


def y_ticks(svg) -> dict[float, float]:
    """The loss axis's tick labels and their heights."""
    return {float(t.text): float(t.get("y")) for t in svg.iter(f"{SVG}text")
            if t.get("text-anchor") == "end" and t.get("x") == "70"}


def test_log_y_draws_the_loss_on_a_log_axis(cli, tmp_path):
    _, svg = plot_of(cli, tmp_path, "--log-y")
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert "L (log scale)" in texts
    ticks = y_ticks(svg)
    assert sorted(ticks) == [2, 5, 10, 20] and all(is_round(t) for t in ticks)
    per_decade = (ticks[2] - ticks[20]) / math.log10(10)
    for a, b in [(2, 5), (5, 10), (2, 20)]:  # height is proportional to the log of the ratio
        assert ticks[a] - ticks[b] == pytest.approx(per_decade * math.log10(b / a), abs=0.02)  # 2-decimal SVG
    assert sorted(y_ticks(plot_of(cli, tmp_path)[1])) == [0, 5, 10, 15]  # linear without --log-y


def test_log_y_is_refused_without_a_plot_or_for_a_loss_that_reaches_zero(cli, line_csv, tmp_path):
    run = cli(*NETWORK, "--steps", "3", "--log-y")
    assert (run.code, run.stdout) == (2, "")
    assert run.stderr.startswith("error: --log-y draws the curve of --plot FILE: give --plot too")
    run = cli("descend", "0*w*x + 0*y", "--data", line_csv, "--at", "w=1", "--steps", "2", "--plot",
              str(tmp_path / "zero.svg"), "--log-y")
    assert (run.code, run.stdout) == (2, "")
    assert run.stderr == "error: --log-y needs positive losses; this descent reaches 0\n"
    assert not (tmp_path / "zero.svg").exists()


def test_the_terminal_chart_shows_the_curve_after_a_steep_first_step(cli):
    rows = cli(*NETWORK, "--steps", "3000").stdout.splitlines()
    chart = rows[next(k for k, row in enumerate(rows) if row == "L per step"):]
    drawn = [row.split("┤")[1] if "┤" in row else "" for row in chart[1:7]]
    assert drawn[0] == "█"  # only the first step reaches the top
    assert all(len(row.strip("█")) > 0 for row in drawn[1:])  # the curve crosses every other row
    assert chart[4].split(" ┤")[0].strip() == "log"
    linear = terminal_curve([4.0, 3.0, 2.0, 1.0], height=4)  # within a decade: linear, unmarked
    assert "log" not in linear
