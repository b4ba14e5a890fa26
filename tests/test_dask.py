"""--engine dask: partitions (here three CSV files matched by a glob) give the same value and
gradient as the in-process engine, on Dask's local scheduler and on a two-worker cluster."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("dask.dataframe")  # installed by the test extra; skipped only by hand

LOGISTIC = "z = w1*x1 + w2*x2 + b; a = sigmoid(z); L = -y*log(a) - (1-y)*log(1-a)"
AT = ("--at", "w1=0.7,w2=-1.3,b=0.2")


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    """Three files of 100, 120 and 80 rows; the same rows in one file for the in-process run."""
    folder = tmp_path_factory.mktemp("parts")
    rng = np.random.default_rng(11)
    rows = np.column_stack([rng.normal(size=(300, 2)), rng.random(300) < 0.5]).astype(float)
    lines = [",".join(repr(float(v)) for v in row) for row in rows]
    for k, (lo, hi) in enumerate([(0, 100), (100, 220), (220, 300)]):
        (folder / f"part{k}.csv").write_text("x1,x2,y\n" + "\n".join(lines[lo:hi]) + "\n")
    (folder / "all.csv").write_text("x1,x2,y\n" + "\n".join(lines) + "\n")
    return folder


def agree(got, want):
    assert got["value"] == pytest.approx(want["value"], rel=1e-12)
    assert got["gradient"] == pytest.approx(want["gradient"], rel=1e-12)
    assert got["rows"] == want["rows"]


@pytest.mark.parametrize("reduce", ["mean", "sum"])
def test_local_scheduler_agrees_with_the_in_process_engine(cli, parts, reduce):
    want = cli("eval", LOGISTIC, "--data", str(parts / "all.csv"), *AT, "--reduce", reduce,
               "--format", "json").json()
    got = cli("eval", LOGISTIC, "--data", str(parts / "part*.csv"), *AT, "--reduce", reduce,
              "--engine", "dask", "--format", "json").json()
    agree(got, want)


def test_two_worker_cluster_agrees_with_the_in_process_engine(cli, parts):
    from distributed import LocalCluster

    want = cli("eval", LOGISTIC, "--data", str(parts / "all.csv"), *AT, "--format", "json").json()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster:
        got = cli("eval", LOGISTIC, "--data", str(parts / "part*.csv"), *AT, "--engine", "dask",
                  "--scheduler", cluster.scheduler_address, "--format", "json").json()
    agree(got, want)


@pytest.fixture(scope="module")
def bad_parts(tmp_path_factory):
    """Row 3 of the second file (row 5 overall) is not a number; row 7 is log(0)."""
    folder = tmp_path_factory.mktemp("bad")
    for k, body in enumerate(["1\n2\n", "3\n4\nabc\n", "5\n0\n6\n"]):
        (folder / f"p{k}.csv").write_text("x\n" + body)
    return folder


def test_bad_rows_are_numbered_across_partitions(cli, bad_parts):
    glob = str(bad_parts / "p*.csv")
    run = cli("eval", "log(w*x)", "--data", glob, "--at", "w=2", "--engine", "dask")
    assert run.code == 2 and run.stdout == ""
    assert run.stderr == "error: row 5, column x: 'abc' is not a number\n"
    run = cli("eval", "log(w*x)", "--data", glob, "--at", "w=2", "--engine", "dask",
              "--on-error", "skip", "--reduce", "sum", "--format", "json")
    assert run.json()["value"] == pytest.approx(np.log(2 * np.array([1, 2, 3, 4, 5, 6.])).sum())
    assert "skipped 2 bad rows of 8" in run.stderr
    assert "row 7: stage f = log(u1): log of 0 (u1 = 0)" in run.stderr


def test_dask_engine_refuses_standard_input_and_row_output(cli, parts):
    run = cli("eval", "x1", "--data", str(parts / "all.csv"), "--engine", "dask",
              "--reduce", "none")
    assert run.code == 2 and "--reduce none" in run.stderr
    assert cli("eval", "x", "--data", "-", "--engine", "dask", stdin="x\n1\n").code == 2


def test_a_file_dask_cannot_read_is_one_line_naming_the_cause(cli, tmp_path):
    missing = tmp_path / "nowhere.csv"
    run = cli("eval", "x", "--data", str(missing), "--engine", "dask")
    assert run.code == 2 and run.stdout == ""
    assert run.stderr == (f"error: --data {missing}: cannot read it with Dask ([Errno 2] No such file "
                          f"or directory: '{missing}')\n")
