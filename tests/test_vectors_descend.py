"""descend without --data: on the expression's value at the --at point, where vectors and
matrices are parameters stepped whole and the data is given as values. The matrix network
against the scalar program over its data file, a logistic regression against gradient descent
written here in numpy, and the refusals."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest
from helpers import one_error

import gradcalc

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "network"
POINTS = f"@{EXAMPLES / 'points.txt'}"
MATRIX = ("-f", str(EXAMPLES / "matrix.txt"), "--at", POINTS, "--at",
          "W1=[[-7.8751],[-8.3499]],b1=[-3.9181,3.8380],w2=[5.0297,-4.0937],b2=1.6347",
          "--wrt", "W1,b1,w2,b2")
SCALAR = ("-f", str(EXAMPLES / "loss.txt"), "--data", str(EXAMPLES / "data.csv"), "--reduce", "sum",
          "--at", "w1=[-7.8751,-8.3499],b1=[-3.9181,3.8380],w2=[5.0297,-4.0937],b2=1.6347")
# The matrix program's elements in the scalar program's names: W1[i, 0] is w1i, b1[i] is b1i...
SCALAR_NAMES = {"W1[0, 0]": "w10", "W1[1, 0]": "w11", "b1[0]": "b10", "b1[1]": "b11",
                "w2[0]": "w20", "w2[1]": "w21", "b2": "b2"}


def history(run) -> list[dict[str, float]]:
    assert run.code == 0 and run.stderr == "", run.stderr
    return [{name: float(v) for name, v in row.items()} for row in csv.DictReader(io.StringIO(run.stdout))]


def test_the_matrix_network_descends_as_the_scalar_program_does(cli):
    """Twenty steps of lr 0.1: the same loss curve and the same parameters at every step."""
    steps = ("--lr", "0.1", "--steps", "20", "--history", "-")
    matrix, scalar = history(cli("descend", *MATRIX, *steps)), history(cli("descend", *SCALAR, *steps))
    assert list(matrix[0]) == ["step", "loss", *SCALAR_NAMES]
    assert len(matrix) == len(scalar) == 21
    for ours, theirs in zip(matrix, scalar):
        assert ours["loss"] == pytest.approx(theirs["loss"], rel=1e-9)
        assert {SCALAR_NAMES[n]: ours[n] for n in SCALAR_NAMES} == pytest.approx(
            {n: theirs[n] for n in SCALAR_NAMES.values()}, rel=1e-9)
    assert round(matrix[0]["loss"], 3) == 12.017


def test_the_summary_gives_the_arrays_as_nested_lists(cli):
    out = cli("descend", *MATRIX, "--lr", "0.1", "--steps", "20", "--format", "json").json()
    scalar = cli("descend", *SCALAR, "--lr", "0.1", "--steps", "20", "--format", "json").json()
    assert (out["output"], out["steps"], out["lr"], out["reduce"], out["rows"], out["batch_size"]) == (
        "L", 20, 0.1, None, None, None)
    assert out["start"] == {"W1": [[-7.8751], [-8.3499]], "b1": [-3.9181, 3.838], "w2": [5.0297, -4.0937],
                            "b2": 1.6347}
    assert np.shape(out["at"]["W1"]) == np.shape(out["gradient"]["W1"]) == (2, 1)
    assert out["at"]["W1"][1][0] == pytest.approx(scalar["at"]["w11"], rel=1e-9)
    assert out["gradient"]["b1"][0] == pytest.approx(scalar["gradient"]["b10"], rel=1e-9)
    assert (out["initial_loss"], out["loss"]) == pytest.approx((scalar["initial_loss"], scalar["loss"]),
                                                               rel=1e-9)


def test_the_table_has_no_rows_to_count_and_shows_the_arrays(cli):
    run = cli("descend", *MATRIX, "--lr", "0.1", "--steps", "3000")
    assert run.code == 0 and run.stderr == ""
    lines = run.stdout.splitlines()
    assert lines[0] == "L = 0.393133 after 3,000 steps (from 12.017)"  # the scalar program's 0.393
    assert "[-3.9181, 3.838]" in run.stdout and "L per step" in run.stdout


LOGISTIC = "p = sigmoid(X@w + b); L = mean(-y*log(p) - (1-y)*log(1-p))"
X = [[0.5, 1.0], [-1.5, 2.0], [2.0, -0.5], [1.0, 1.0], [-0.5, -2.0], [0.0, 1.5]]
Y = [1.0, 0.0, 1.0, 1.0, 0.0, 0.0]


def logistic_descent(lr: float, steps: int) -> tuple[np.ndarray, float, list[float]]:
    """The lecture's vectorised logistic regression: dz = p - y, dw = Xᵀ·dz/m, db = mean(dz);
    the loss before each step and at the end."""
    X_, y = np.array(X), np.array(Y)
    w, b, losses = np.zeros(2), 0.0, []

    def forward(w, b):
        p = 1 / (1 + np.exp(-(X_ @ w + b)))
        return p, float(np.mean(-y * np.log(p) - (1 - y) * np.log(1 - p)))

    for _ in range(steps):
        p, loss = forward(w, b)
        losses.append(loss)
        dz = p - y
        w, b = w - lr * X_.T @ dz / len(y), b - lr * np.mean(dz)
    return w, b, losses + [forward(w, b)[1]]


def test_a_logistic_regression_descends_as_numpy_written_by_hand(cli):
    w, b, losses = logistic_descent(0.5, 40)
    out = cli("descend", LOGISTIC, "--at", f"X={X},y={Y},w=[0,0],b=0".replace(" ", ""), "--wrt", "w,b",
              "--lr", "0.5", "--steps", "40", "--format", "json")
    assert out.code == 0 and out.stderr == ""
    result = out.json()
    assert result["at"]["w"] == pytest.approx(w.tolist(), rel=1e-9)
    assert result["at"]["b"] == pytest.approx(b, rel=1e-9)
    assert (result["initial_loss"], result["loss"]) == pytest.approx((losses[0], losses[-1]), rel=1e-9)
    assert result["initial_loss"] == pytest.approx(np.log(2), rel=1e-15)


def test_the_python_api_descends_without_data():
    w, b, losses = logistic_descent(0.5, 40)
    d = gradcalc.descend(LOGISTIC, X=np.array(X), y=Y, w=[0, 0], b=0, wrt=["w", "b"], lr=0.5, steps=40)
    assert d.at["w"].tolist() == pytest.approx(w.tolist(), rel=1e-9)
    assert d.losses + [d.loss] == pytest.approx(losses, rel=1e-9)
    assert d.rendered("csv").splitlines()[0] == "step,loss,w[0],w[1],b"


def test_a_scalar_expression_descends_on_its_value_with_every_input_by_default(cli):
    out = cli("descend", "(w - 3)**2 + (v + 1)**2", "--at", "w=0,v=0", "--lr", "0.25", "--steps", "1",
              "--format", "json").json()
    # one step of lr 1/4 halves the distance: w = 0 - 0.25 * 2 * (0 - 3), v = 0 - 0.25 * 2 * (0 + 1)
    assert (out["at"], out["initial_loss"], out["loss"]) == ({"w": 1.5, "v": -0.5}, 10.0, 2.5)


@pytest.mark.parametrize("args, line", [
    (("(w - 3)**2", "--at", "w=0", "--batch-size", "2"),
     "error: --reduce, --on-error, --batch-size and --seed need --data FILE; without it descend trains "
     "on the value at the --at point (see 'gradcalc descend --help')"),
    (("(w - 3)**2", "--at", "w=0", "--reduce", "sum"),
     "error: --reduce, --on-error, --batch-size and --seed need --data FILE; without it descend trains "
     "on the value at the --at point (see 'gradcalc descend --help')"),
    (("w*x", "--at", "w=[1,2],x=3", "--wrt", "w"),
     "error: the output f is a 2-vector: a gradient needs a scalar output; reduce it (sum(f), norm(...)) "
     "or take one element (f[0])"),
    (("sum(w*x)", "--at", "w=[1,2],x=[1,1]", "--wrt", "z"),
     "error: --wrt names z, which the expression does not use (its inputs: w, x)"),
    (("sum(w*x)", "--at", "w=[1,2]"), "error: missing value for x (give it with --at x=...)"),
    (("pi",), "error: nothing to descend on: the expression has no inputs; give the parameters' "
              "starting values with --at (see 'gradcalc descend --help')"),
])
def test_what_cannot_descend_at_a_point_says_so_in_one_line(cli, args, line):
    assert one_error(cli("descend", *args)) == line


def test_a_diverging_rate_names_the_step_and_the_array(cli):
    line = one_error(cli("descend", "sum(1e300*w)", "--at", "w=[1,2]", "--lr", "1e10"), code=3)
    assert line == ("error: step 0: w is no longer finite; the steps diverge (try a smaller --lr "
                    "than 1e+10)")
    line = one_error(cli("descend", "sum(w**4)", "--at", "w=[1,2]", "--lr", "1e10", "--steps", "5"), code=3)
    assert line == "error: step 3: stage u1 = w**4: overflow at [0] (w[0] = -6.71089e+137)"


def test_a_math_error_on_the_way_names_the_step(cli):
    line = one_error(cli("descend", "sum(log(w))", "--at", "w=[1,2]", "--lr", "3", "--steps", "5"), code=3)
    assert line.startswith("error: step 1: stage u1 = log(w): log of a negative"), line


def test_the_python_api_refuses_the_rows_options_without_data():
    with pytest.raises(gradcalc.UsageError, match=r"^reduce, on_error, batch_size and seed need data; "
                                                  r"without it descend trains on the value at the point$"):
        gradcalc.descend("(w - 3)**2", w=0, batch_size=2)
