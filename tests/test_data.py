"""eval --data: reduced gradients against the vectorised formulas written directly in numpy,
chunk boundaries, per-row output, every file format, and bad rows named by row number."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from helpers import run_cli
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcalc.data import files

LOGISTIC = "z = w1*x1 + w2*x2 + b; a = sigmoid(z); L = -y*log(a) - (1-y)*log(1-a)"


def write_csv(path, header, rows):
    lines = [",".join(header)] + [",".join(str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


@pytest.fixture(scope="module")
def points():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(2, 300))
    y = (rng.random(300) < 0.4).astype(float)
    return X, y


@pytest.fixture(scope="module")
def logistic_csv(tmp_path_factory, points):
    X, y = points
    return write_csv(tmp_path_factory.mktemp("data") / "points.csv", ["x1", "x2", "y"],
                     [(repr(float(a)), repr(float(b)), c) for a, b, c in zip(X[0], X[1], y)])


def numpy_logistic(X, y, w, b):
    """The lecture's vectorised formulas, written out directly."""
    m = X.shape[1]
    z = w @ X + b
    a = 1 / (1 + np.exp(-z))
    loss = np.mean(-y * np.log(a) - (1 - y) * np.log(1 - a))
    dz = a - y
    return loss, X @ dz / m, dz.sum() / m


@settings(max_examples=15, deadline=None)
@given(st.floats(-3, 3), st.floats(-3, 3), st.floats(-2, 2))
def test_mean_gradient_matches_the_vectorised_formulas(logistic_csv, points, w1, w2, b):
    out = run_cli("eval", LOGISTIC, "--data", logistic_csv, "--at", f"w1={w1!r},w2={w2!r},b={b!r}",
              "--format", "json").json()
    loss, dw, db = numpy_logistic(*points, np.array([w1, w2]), b)
    assert out["value"] == pytest.approx(loss, rel=1e-12)
    assert out["gradient"]["w1"] == pytest.approx(dw[0], rel=1e-10, abs=1e-14)
    assert out["gradient"]["w2"] == pytest.approx(dw[1], rel=1e-10, abs=1e-14)
    assert out["gradient"]["b"] == pytest.approx(db, rel=1e-10, abs=1e-14)
    assert (out["reduce"], out["rows"], out["skipped"]) == ("mean", 300, 0)


@pytest.mark.parametrize("chunk", ["1", "7", "299", "1000"])
def test_chunk_boundaries_do_not_change_the_sum(cli, logistic_csv, points, chunk):
    out = cli("eval", LOGISTIC, "--data", logistic_csv, "--at", "w1=0.5,w2=-1,b=0.25",
              "--reduce", "sum", "--chunk-size", chunk, "--format", "json").json()
    loss, dw, db = numpy_logistic(*points, np.array([0.5, -1.0]), 0.25)
    assert out["value"] == pytest.approx(loss * 300, rel=1e-12)
    assert out["gradient"]["b"] == pytest.approx(db * 300, rel=1e-12)


def test_csv_module_reader_agrees_with_pyarrow(cli, logistic_csv, monkeypatch):
    args = ("eval", LOGISTIC, "--data", logistic_csv, "--at", "w1=0.5,w2=-1,b=0.25",
            "--chunk-size", "13", "--format", "json")
    fast = cli(*args).json()
    monkeypatch.setattr(files, "has_pyarrow", lambda: False)
    assert cli(*args).json() == fast


def test_reduce_none_streams_one_csv_line_per_row(cli, logistic_csv, points):
    run = cli("eval", LOGISTIC, "--data", logistic_csv, "--at", "w1=0.5,w2=-1,b=0.25",
              "--reduce", "none", "--chunk-size", "64")
    lines = run.stdout.splitlines()
    assert lines[0] == "row,L,dL/dw1,dL/dx1,dL/dw2,dL/dx2,dL/db,dL/dy"
    assert len(lines) == 301
    X, y = points
    a = 1 / (1 + np.exp(-(0.5 * X[0] - X[1] + 0.25)))
    cells = np.array([[float(c) for c in line.split(",")] for line in lines[1:]])
    assert cells[:, 0].tolist() == list(range(1, 301))
    assert cells[:, 1] == pytest.approx(-y * np.log(a) - (1 - y) * np.log(1 - a), rel=1e-12)
    assert cells[:, 2] == pytest.approx((a - y) * X[0], rel=1e-10, abs=1e-15)  # dL/dw1 per row
    assert cells[:, 3] == pytest.approx((a - y) * 0.5, rel=1e-10, abs=1e-15)  # dL/dx1 per row


def test_reduce_none_json_lines(cli, tmp_path):
    data = write_csv(tmp_path / "d.csv", ["x"], [(1,), (2,), (3,)])
    run = cli("eval", "w*x**2", "--data", data, "--at", "w=2", "--reduce", "none",
              "--format", "json", "--wrt", "w,x")
    rows = [json.loads(line) for line in run.stdout.splitlines()]
    assert rows == [{"row": 1, "value": 2.0, "gradient": {"w": 1.0, "x": 4.0}},
                    {"row": 2, "value": 8.0, "gradient": {"w": 4.0, "x": 8.0}},
                    {"row": 3, "value": 18.0, "gradient": {"w": 9.0, "x": 12.0}}]


def test_reduce_none_refuses_a_table(cli, tmp_path):
    data = write_csv(tmp_path / "d.csv", ["x"], [(1,)])
    run = cli("eval", "x", "--data", data, "--reduce", "none", "--format", "table")
    assert run.code == 2 and run.stdout == "" and "--format csv or json" in run.stderr


def test_table_says_what_was_reduced(cli, tmp_path):
    data = write_csv(tmp_path / "d.csv", ["x", "id"], [(1, "a"), (3, "b")])
    run = cli("eval", "(w*x - 1)**2", "--data", data, "--at", "w=1")
    assert run.code == 0
    assert "f = 2" in run.stdout and "mean over 2 rows" in run.stdout
    assert "columns of" in run.stderr and "does not use: id" in run.stderr


def test_standard_input_as_data(cli):
    out = cli("eval", "w*x", "--data", "-", "--at", "w=3", "--reduce", "sum", "--format", "json",
              stdin="x\n1\n2\n\n4\n").json()
    assert out["value"] == 21.0 and out["gradient"] == {"w": 7.0} and out["rows"] == 3


def test_npy_npz_and_parquet_agree_with_csv(cli, tmp_path, logistic_csv, points):
    X, y = points
    npz = tmp_path / "points.npz"
    np.savez(npz, x1=X[0], x2=X[1], y=y)
    npy = tmp_path / "points.npy"
    records = np.zeros(300, dtype=[("x1", "f8"), ("x2", "f8"), ("y", "f8")])
    records["x1"], records["x2"], records["y"] = X[0], X[1], y
    np.save(npy, records)
    import pyarrow as pa
    import pyarrow.parquet as pq

    parquet = tmp_path / "points.parquet"
    pq.write_table(pa.table({"x1": X[0], "x2": X[1], "y": y}), parquet, row_group_size=50)
    args = ("eval", LOGISTIC, "--at", "w1=0.5,w2=-1,b=0.25", "--format", "json",
            "--chunk-size", "40")
    want = cli(*args, "--data", logistic_csv).json()
    for path in (npz, npy, parquet):
        got = cli(*args, "--data", str(path)).json()
        assert got["value"] == pytest.approx(want["value"], rel=1e-14)
        assert got["gradient"] == pytest.approx(want["gradient"], rel=1e-12)


# ---- bad rows ------------------------------------------------------------------------------

@pytest.fixture
def with_bad_rows(tmp_path):
    """Rows 4 (log of 0) and 8 (not a number) are bad; row 11 is a ragged line."""
    rows = [(0.5,), (1,), (2,), (0,), (3,), (1.5,), (2.5,), ("abc",), (4,), (0.25,)]
    path = write_csv(tmp_path / "bad.csv", ["x"], rows)
    with open(path, "a") as f:
        f.write("1,2\n5\n")
    return path


@pytest.mark.parametrize("chunk", ["3", "1000"])
def test_first_bad_row_fails_with_its_number_and_stage(cli, with_bad_rows, chunk):
    run = cli("eval", "u = w*x; L = log(u)", "--data", with_bad_rows, "--at", "w=2",
              "--chunk-size", chunk)
    assert run.code == 3 and run.stdout == ""
    assert run.stderr == "error: row 4: stage L = log(u): log of 0 (u = 0)\n"


def test_non_numeric_cell_fails_with_exit_2_naming_row_and_column(cli, with_bad_rows):
    run = cli("eval", "w*x", "--data", with_bad_rows, "--at", "w=2", "--chunk-size", "3")
    assert run.code == 2 and run.stdout == ""
    assert run.stderr == "error: row 8, column x: 'abc' is not a number\n"


def test_reduce_none_prints_nothing_when_a_row_fails(cli, with_bad_rows):
    run = cli("eval", "log(w*x)", "--data", with_bad_rows, "--at", "w=2", "--reduce", "none",
              "--chunk-size", "2")
    assert run.code == 3 and run.stdout == "" and "row 4:" in run.stderr


@pytest.mark.parametrize("chunk", ["2", "1000"])
def test_skip_drops_bad_rows_reports_them_and_reduces_the_rest(cli, with_bad_rows, chunk):
    run = cli("eval", "log(w*x)", "--data", with_bad_rows, "--at", "w=2", "--on-error", "skip",
              "--reduce", "sum", "--format", "json", "--chunk-size", chunk)
    assert run.code == 0
    good = np.array([0.5, 1, 2, 3, 1.5, 2.5, 4, 0.25, 5])
    out = run.json()
    assert out["value"] == pytest.approx(np.sum(np.log(2 * good)), rel=1e-12)
    assert out["gradient"]["w"] == pytest.approx(len(good) / 2, rel=1e-12)
    assert (out["rows"], out["skipped"]) == (9, 3)
    lines = run.stderr.splitlines()
    assert lines[0] == ("warning: skipped 3 bad rows of 12 (rows 4, 8, 11); "
                        "the result uses the other 9")
    assert lines[1:] == ["warning: row 4: stage f = log(u1): log of 0 (u1 = 0)",
                         "warning: row 8, column x: 'abc' is not a number",
                         "warning: row 11: expected 1 fields, found 2"]


def test_skip_with_reduce_none_leaves_out_the_bad_rows(cli, with_bad_rows):
    run = cli("eval", "log(w*x)", "--data", with_bad_rows, "--at", "w=2", "--on-error", "skip",
              "--reduce", "none")
    numbers = [int(line.split(",")[0]) for line in run.stdout.splitlines()[1:]]
    assert numbers == [1, 2, 3, 5, 6, 7, 9, 10, 12]


def test_missing_column_is_a_usage_error_naming_it(cli, logistic_csv):
    run = cli("eval", LOGISTIC, "--data", logistic_csv, "--at", "w1=0,w2=0")
    assert run.code == 2 and run.stdout == ""
    assert "missing column b" in run.stderr and "its columns: x1, x2, y" in run.stderr


def test_empty_and_infinite_cells_are_bad(cli, tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("x,y\n1,2\n,3\n4,inf\n")
    run = cli("eval", "x*y", "--data", str(data), "--on-error", "skip", "--format", "json")
    assert run.json()["rows"] == 1
    assert "row 2, column x: empty cell" in run.stderr
    assert "row 3, column y: 'inf' is not a finite number" in run.stderr


def test_all_rows_skipped_is_an_error(cli, tmp_path):
    data = write_csv(tmp_path / "d.csv", ["x"], [(0,), (0,)])
    run = cli("eval", "log(x)", "--data", data, "--on-error", "skip")
    assert run.code == 2 and run.stdout == "" and "no rows to reduce" in run.stderr


def test_gradient_with_respect_to_a_column_needs_reduce_none(cli, logistic_csv):
    run = cli("eval", LOGISTIC, "--data", logistic_csv, "--at", "w1=0,w2=0,b=0", "--wrt", "x1")
    assert run.code == 2 and "--reduce none" in run.stderr


def test_kinks_are_counted_over_rows(cli, tmp_path):
    data = write_csv(tmp_path / "d.csv", ["x"], [(1,), (-1,), (1,), (2,)])
    run = cli("eval", "relu(x - w)", "--data", data, "--at", "w=1", "--format", "json")
    assert run.json()["gradient"]["w"] == -0.25
    assert ("relu is not differentiable at 0; using the subgradient 0 (at 2 rows, first row 1)"
            in run.stderr)


def test_data_options_need_data(cli):
    run = cli("eval", "x", "--at", "x=1", "--reduce", "sum")
    assert run.code == 2 and "need --data" in run.stderr


def test_scalar_path_does_not_import_numpy():
    trace = subprocess.run([sys.executable, "-X", "importtime", "-m", "gradcalc", "eval", "x*y",
                            "--at", "x=1,y=2", "--format", "json"], capture_output=True, text=True)
    assert trace.returncode == 0
    assert not [line for line in trace.stderr.splitlines() if "numpy" in line or "pyarrow" in line]


# ---- the numpy number system ---------------------------------------------------------------

def test_columns_provide_every_name_of_floatmath():
    from gradcalc.numbers import columns, floats

    public = {n for n in vars(floats)
              if not n.startswith("_") and n not in ("annotations", "math")}
    assert public <= set(vars(columns))


def test_every_rule_on_columns_matches_the_scalar_rule():
    """One registry, two number systems: column-wise results equal the float results row by row."""
    from helpers import ORACLE

    from gradcalc.core.ops import REGISTRY
    from gradcalc.numbers import columns, floats

    for name, (_, points) in ORACLE.items():
        op = REGISTRY[name]
        args = tuple(np.array(column) for column in zip(*points))
        out = op.forward(columns, *args)
        for k, point in enumerate(points):
            want = op.forward(floats, *point)
            assert out[k] == pytest.approx(want, rel=1e-14), name
            for i in range(len(point)):
                got = np.broadcast_to(op.partial(columns, out, args, i), out.shape)[k]
                assert got == pytest.approx(op.partial(floats, want, point, i), rel=1e-12), name


def test_the_unused_columns_warning_stays_one_short_line(cli, tmp_path):
    names = [f"c{k}" for k in range(1000)]
    data = tmp_path / "wide.csv"
    data.write_text("x," + ",".join(names) + "\n1," + ",".join("0" for _ in names) + "\n")
    run = cli("eval", "2*x", "--data", str(data), "--format", "json")
    assert run.code == 0 and run.json()["value"] == 2.0
    warning = [line for line in run.stderr.splitlines() if "does not use" in line]
    assert warning == [f"warning: columns of {data} that the expression does not use: "
                       "c0, c1, c2, c3, c4, c5, c6, c7, c8, c9 and 990 more"]
