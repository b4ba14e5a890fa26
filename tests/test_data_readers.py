"""Every reader names columns by one rule, its header cell without the spaces around it, so a
file gives the same result whichever reader reads it: pyarrow's CSV reader, the csv module
(without pyarrow, and for standard input), Parquet, .npz, .npy and Dask."""
from __future__ import annotations

import numpy as np
import pytest

from gradcalc.data import files

LOSS = "(w*x + b - y)**2"
AT = ("--at", "w=2,b=0.5")
X = np.array([0.5, -1.25, 3.0, 2.0])
Y = np.array([1.0, 0.0, 2.5, -1.0])


def oracle() -> dict:
    """The summed loss and its gradient, written out in numpy: d/dw = Σ 2rx, d/db = Σ 2r."""
    r = 2 * X + 0.5 - Y
    return {"value": float(np.sum(r ** 2)),
            "gradient": {"w": float(np.sum(2 * r * X)), "b": float(np.sum(2 * r))}}


def spaced_csv(tmp_path) -> str:
    """`x, y` with spaces around the names (and around the cells)."""
    path = tmp_path / "spaced.csv"
    path.write_text(" x , y\n" + "".join(f"{a!r}, {b!r}\n" for a, b in zip(X.tolist(), Y.tolist())))
    return str(path)


def close(got: dict, want: dict, rel: float = 1e-14) -> bool:
    return (got["value"] == pytest.approx(want["value"], rel=rel)
            and got["gradient"] == pytest.approx(want["gradient"], rel=rel))


def reduced(cli, data: str, *more: str, stdin: str | None = None) -> dict:
    run = cli("eval", LOSS, "--data", data, *AT, "--reduce", "sum", "--format", "json", *more,
              stdin=stdin)
    assert (run.code, run.stderr) == (0, "")
    out = run.json()
    return {"value": out["value"], "gradient": out["gradient"]}


def test_a_spaced_header_reads_alike_with_pyarrow_and_with_the_csv_module(cli, tmp_path,
                                                                          monkeypatch):
    pytest.importorskip("pyarrow")
    data = spaced_csv(tmp_path)
    with_arrow = reduced(cli, data)
    monkeypatch.setattr(files, "has_pyarrow", lambda: False)
    without = reduced(cli, data)
    assert with_arrow == without
    assert close(with_arrow, oracle())


def test_a_spaced_header_on_standard_input(cli, tmp_path):
    text = open(spaced_csv(tmp_path)).read()
    assert close(reduced(cli, "-", stdin=text), oracle())


def test_per_row_output_names_the_stripped_columns(cli, tmp_path):
    run = cli("eval", LOSS, "--data", spaced_csv(tmp_path), *AT, "--reduce", "none",
              "--wrt", "w,x")
    assert run.code == 0 and run.stderr == ""
    assert run.stdout.splitlines()[0] == "row,f,df/dw,df/dx"
    assert len(run.stdout.splitlines()) == 1 + len(X)


def test_the_column_list_of_a_message_shows_the_stripped_names(cli, tmp_path):
    run = cli("eval", "x*z", "--data", spaced_csv(tmp_path))
    assert run.code == 2 and run.stdout == ""
    assert "(its columns: x, y)" in run.stderr


def test_parquet_and_npz_columns_follow_the_same_rule(cli, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    parquet, npz = tmp_path / "spaced.parquet", tmp_path / "spaced.npz"
    pq.write_table(pa.table({" x ": X, " y": Y}), parquet)
    np.savez(npz, **{" x ": X, " y": Y})
    want = reduced(cli, spaced_csv(tmp_path))
    assert reduced(cli, str(parquet)) == want
    assert reduced(cli, str(npz)) == want


def test_npy_fields_follow_the_same_rule(cli, tmp_path):
    npy = tmp_path / "spaced.npy"
    array = np.zeros(len(X), dtype=[(" x ", "f8"), ("y ", "f8")])
    array[" x "], array["y "] = X, Y
    np.save(npy, array)
    assert close(reduced(cli, str(npy)), oracle())


def test_dask_reads_a_spaced_header_as_the_other_readers(cli, tmp_path):
    pytest.importorskip("dask.dataframe")
    data = spaced_csv(tmp_path)
    assert close(reduced(cli, data, "--engine", "dask"), reduced(cli, data), rel=1e-12)


def test_two_headers_naming_one_column_are_refused(cli, tmp_path):
    path = tmp_path / "twice.csv"
    path.write_text("x, x ,y\n1,2,3\n")
    run = cli("eval", "x*y", "--data", str(path))
    assert run.code == 2 and run.stdout == ""
    assert run.stderr == (f"error: --data {path}: two columns are named x (header cells 'x' and "
                          "' x '); rename one\n")


def test_per_row_csv_is_the_same_with_or_without_pyarrow(cli, tmp_path, monkeypatch):
    import builtins

    data = tmp_path / "points.csv"
    data.write_text("x\n0\n2.5\n1e-300\n123456789\n-3\n1e22\n0.1\n")
    args = ("eval", "x*w", "--data", str(data), "--at", "w=1", "--reduce", "none")
    with_pyarrow = cli(*args).stdout
    real_import = builtins.__import__

    def no_pyarrow(name, *rest, **kwargs):
        if name.startswith("pyarrow"):
            raise ImportError(name)
        return real_import(name, *rest, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    without = cli(*args).stdout
    assert with_pyarrow == without
    assert without.splitlines()[1:3] == ["1,0,1,0", "2,2.5,1,2.5"]  # row, f, df/dx = w, df/dw = x
