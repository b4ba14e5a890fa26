"""Hostile data files, one shared corpus (helpers.write_hostile_files): every reader and both
engines accept and refuse each file alike, with one clean line; and the cases behind each
rule: one ASCII cell rule, real dtypes only, headers that do not lie, sums that do not
overflow, pipes streamed."""
from __future__ import annotations

import json
import math
import os
import re
import threading
import tracemalloc
from fractions import Fraction

import numpy as np
import pytest
from helpers import HOSTILE_CSV, write_hostile_files

from gradcalc.data import files

EXPR, AT = "w*x + y", ("--at", "w=2")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_hostile_files(tmp_path_factory.mktemp("hostile"))


def reduce(cli, data: str, *more: str, stdin: bytes | None = None):
    return cli("eval", EXPR, "--data", data, *AT, "--reduce", "sum", "--format", "json", *more,
               stdin=stdin)


def clean(run) -> None:
    """The contract of every command: a result, or exit 2 or 3 with one `error:` line."""
    assert run.code in (0, 2, 3), run.stderr
    assert "Traceback" not in run.stderr and "internal error" not in run.stderr
    assert "RuntimeWarning" not in run.stderr
    if run.code:
        assert run.stdout == ""
        assert run.stderr.count("error: ") == 1 and run.stderr.endswith("\n")
        assert run.stderr.splitlines()[-1].startswith("error: ")
    else:
        json.loads(run.stdout)


def test_every_file_of_the_corpus_gets_a_result_or_one_clean_error(cli, corpus):
    for name, path in corpus.items():
        for on_error in ("fail", "skip"):
            run = reduce(cli, path, "--on-error", on_error)
            clean(run)


@pytest.mark.parametrize("name", sorted(HOSTILE_CSV))
def test_both_csv_readers_and_standard_input_agree_on_every_csv_file(cli, corpus, name,
                                                                     monkeypatch):
    pytest.importorskip("pyarrow")
    path = corpus[name]
    for on_error in ("fail", "skip"):
        with_arrow = reduce(cli, path, "--on-error", on_error)
        with monkeypatch.context() as patch:
            patch.setattr(files, "has_pyarrow", lambda: False)
            without = reduce(cli, path, "--on-error", on_error)
        piped = reduce(cli, "-", "--on-error", on_error, stdin=HOSTILE_CSV[name])
        assert without == with_arrow
        assert (piped.code, piped.stdout) == (with_arrow.code, with_arrow.stdout)
        assert piped.stderr == with_arrow.stderr.replace(path, "standard input")


@pytest.mark.parametrize("name", sorted(HOSTILE_CSV))
def test_the_dask_engine_accepts_and_refuses_every_csv_file_as_the_numpy_engine(cli, corpus,
                                                                               name):
    pytest.importorskip("dask.dataframe")
    path = corpus[name]
    for on_error in ("fail", "skip"):
        here = reduce(cli, path, "--on-error", on_error)
        dask = reduce(cli, path, "--on-error", on_error, "--engine", "dask")
        assert (dask.code, dask.stderr) == (here.code, here.stderr)
        if here.code == 0:
            got, want = dask.json(), here.json()
            assert got["value"] == pytest.approx(want["value"], rel=1e-15)
            assert got["gradient"] == pytest.approx(want["gradient"], rel=1e-15)
            assert (got["rows"], got["skipped"]) == (want["rows"], want["skipped"])


def test_a_ragged_row_is_refused_by_the_dask_engine_as_in_process(cli, tmp_path):
    pytest.importorskip("dask.dataframe")
    path = tmp_path / "ragged.csv"
    path.write_text("x,y\n1,2\n3,4,5\n6,7\n")
    for engine in ("numpy", "dask"):
        run = reduce(cli, str(path), "--engine", engine)
        assert (run.code, run.stdout, run.stderr) == (2, "", "error: row 2: expected 2 fields, "
                                                             "found 3\n")


def test_a_later_partition_keeps_the_row_numbers_and_the_header(cli, tmp_path, monkeypatch):
    pytest.importorskip("dask.dataframe")
    from gradcalc.data import daskengine

    monkeypatch.setattr(daskengine, "CSV_BLOCK", 64)  # a block of a few lines each
    path = tmp_path / "long.csv"
    path.write_text("x,y\n" + "".join(f"{k},{k % 3}\n" for k in range(1, 60)) + "1,abc\n")
    run = reduce(cli, str(path), "--engine", "dask", "--on-error", "skip")
    assert run.code == 0 and "row 60, column y: 'abc' is not a number" in run.stderr
    k = np.arange(1, 60)
    assert run.json()["value"] == float(np.sum(2 * k + k % 3))


# ---- one cell rule -------------------------------------------------------------------------

@pytest.mark.parametrize("cell", ["1_000", "١٢", "１", "\u00a01", "0x10", "1.5f", "e5", "."])
def test_a_cell_outside_the_ascii_rule_is_not_a_number_on_every_path(cli, tmp_path, cell,
                                                                     monkeypatch):
    text = f"x,y\n{cell},2\n"
    path = tmp_path / "cell.csv"
    path.write_text(text)
    want = f"error: row 1, column x: '{files.printable(cell)}' is not a number\n"
    assert reduce(cli, "-", stdin=text.encode()).stderr == want
    assert reduce(cli, str(path)).stderr == want
    monkeypatch.setattr(files, "has_pyarrow", lambda: False)
    assert reduce(cli, str(path)).stderr == want


@pytest.mark.parametrize("cell, value", [("1", 1), ("+1.", 1), ("-.5", -0.5), ("1E+2", 100),
                                         (" 2\t", 2), ("1.e1", 10)])
def test_numbers_the_rule_reads(cli, cell, value):
    run = reduce(cli, "-", stdin=f"x,y\n{cell},0\n".encode())
    assert run.code == 0 and run.json()["value"] == 2 * value


@pytest.mark.parametrize("cell", ["nan", "-Infinity", "INF", "1e400"])
def test_a_number_that_is_not_finite_is_named_so(cli, cell):
    run = reduce(cli, "-", stdin=f"x,y\n{cell},0\n".encode())
    assert run.stderr == f"error: row 1, column x: '{cell}' is not a finite number\n"


def test_the_column_check_costs_no_python_call_per_good_cell():
    cells = [repr(k * 0.25) for k in range(100_000)]
    assert np.array_equal(files.floats_of(cells), np.arange(100_000) * 0.25)
    assert np.isnan(files.floats_of(["1", "1\x002", "3"])[1])  # a NUL cannot pass for two cells


# ---- numpy files ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype, shown", [("c16", "complex128"), ("M8[D]", "datetime64[D]"),
                                          ("m8[s]", "timedelta64[s]"), ("U3", "<U3"),
                                          ("S3", "|S3"), ("O", "object")])
def test_a_column_that_is_not_real_is_refused_by_name_and_dtype(cli, tmp_path, dtype, shown):
    npz = tmp_path / "bad.npz"
    np.savez(npz, x=np.zeros(2, dtype=dtype), y=np.zeros(2), allow_pickle=True)
    run = reduce(cli, str(npz))
    assert (run.code, run.stdout) == (2, "")
    assert run.stderr == (f"error: --data {npz}: column x has dtype {shown}; a column must hold "
                          "real numbers (bool, integer or float)\n")
    if dtype != "O":
        npy = tmp_path / "bad.npy"
        np.save(npy, np.zeros(2, dtype=[("x", dtype), ("y", "f8")]))
        assert f"column x has dtype {shown};" in reduce(cli, str(npy)).stderr


def test_bool_and_integer_columns_are_numbers(cli, tmp_path):
    npz = tmp_path / "ints.npz"
    np.savez(npz, x=np.array([1, -3], dtype=np.int8), y=np.array([True, False]))
    assert reduce(cli, str(npz)).json()["value"] == 2 * (1 - 3) + 1


def test_a_file_that_is_not_numpy_gets_a_true_message(cli, corpus):
    assert reduce(cli, corpus["npy_not_numpy"]).stderr == (
        f"error: --data {corpus['npy_not_numpy']}: the file is not in .npy format (it does not "
        "start with numpy's magic string)\n")
    assert reduce(cli, corpus["npz_not_zip"]).stderr == (
        f"error: --data {corpus['npz_not_zip']}: not a .npz file (it is not a zip archive)\n")


def test_a_shape_header_larger_than_its_data_is_refused_before_reading(cli, corpus):
    assert reduce(cli, corpus["npz_huge_shape"]).stderr == (
        f"error: --data {corpus['npz_huge_shape']}: member x.npy declares shape "
        "(1000000000000,) (8,000,000,000,000 bytes) but holds 32 bytes; the file is truncated "
        "or corrupt\n")
    assert "declares shape (1000000000000000,)" in reduce(cli, corpus["npy_huge_shape"]).stderr


def test_a_compressed_npz_is_read_chunk_by_chunk_in_bounded_memory(cli, tmp_path):
    """64 MB of zeros compress to a few hundred kB; reading them takes chunks, not 64 MB."""
    rows = 8 << 20
    npz = tmp_path / "bomb.npz"
    np.savez_compressed(npz, x=np.zeros(rows), y=np.ones(rows))
    assert os.path.getsize(npz) < 1 << 20
    tracemalloc.start()
    try:
        run = reduce(cli, str(npz), "--chunk-size", "100000")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert run.code == 0 and run.json()["value"] == rows and run.json()["rows"] == rows
    assert peak < 32 << 20, peak


def test_npz_columns_read_in_chunks_keep_their_values_and_row_numbers(cli, tmp_path):
    x = np.linspace(-3, 3, 1001)
    x[700] = np.inf
    npz = tmp_path / "x.npz"
    np.savez_compressed(npz, x=x.astype(">f4"), y=np.arange(1001))
    run = reduce(cli, str(npz), "--chunk-size", "64", "--on-error", "skip")
    keep = np.isfinite(x)
    want = np.sum(2 * x.astype(">f4").astype(float)[keep] + np.arange(1001)[keep])
    assert run.json()["value"] == pytest.approx(want, rel=1e-14)
    assert "row 701, column x: inf is not a finite number" in run.stderr


# ---- Parquet -------------------------------------------------------------------------------

@pytest.mark.parametrize("name, kind", [("pq_list", "list<element: double>"),
                                        ("pq_struct", "struct<a: int64>"),
                                        ("pq_map", "map<string, double ('x')>"),
                                        ("pq_binary", "binary"),
                                        ("pq_timestamp", "timestamp[ms]")])
def test_a_parquet_column_that_is_not_numbers_is_refused_by_name_and_type(cli, corpus, name,
                                                                         kind):
    pytest.importorskip("pyarrow")
    run = reduce(cli, corpus[name])
    assert run.stderr == (f"error: --data {corpus[name]}: column x has type {kind}; a column "
                          "must hold real numbers (or text cells that are numbers)\n")


@pytest.mark.parametrize("name", ["pq_good", "pq_list", "pq_struct", "pq_map", "pq_binary",
                                  "pq_timestamp", "pq_duplicate"])
def test_the_dask_engine_accepts_and_refuses_every_parquet_file_as_the_numpy_engine(cli, corpus, name):
    here = reduce(cli, corpus[name])
    there = reduce(cli, corpus[name], "--engine", "dask")
    assert (there.code, there.stderr) == (here.code, here.stderr)
    if here.code == 0:
        assert there.json()["value"] == pytest.approx(here.json()["value"], rel=1e-15)


def test_parquet_duplicate_names_and_text_cells_follow_the_rules_of_csv(cli, corpus):
    pytest.importorskip("pyarrow")
    assert reduce(cli, corpus["pq_duplicate"]).stderr == (
        f"error: --data {corpus['pq_duplicate']}: two columns are named x (header cells 'x' and "
        "'x'); rename one\n")
    assert reduce(cli, corpus["pq_text"]).stderr == "error: row 2, column x: '1_000' is not a number\n"


# ---- headers -------------------------------------------------------------------------------

def test_a_trailing_header_comma_is_one_clear_warning(cli, corpus):
    path = corpus["trailing_header_comma"]
    run = reduce(cli, path)
    assert run.code == 0 and run.json()["value"] == 4
    assert run.stderr == (f"warning: column 3 of {path} has an empty name in the header (a "
                          "trailing comma?) and is not read\n")


def test_several_empty_names_are_listed_once(cli):
    run = reduce(cli, "-", stdin=b"x,,y,\n1,5,2,\n")
    assert run.stderr == ("warning: columns 2, 4 of standard input have an empty name in the "
                          "header (a trailing comma?) and are not read\n")


# ---- sums that overflow --------------------------------------------------------------------

def test_a_mean_whose_sum_overflows_is_still_the_mean(cli, tmp_path):
    path = tmp_path / "o.csv"
    path.write_text("x\n1e308\n1e308\n1.5e308\n")
    run = cli("eval", "x*w", "--data", str(path), "--at", "w=1", "--format", "json")
    assert run.code == 0 and run.stderr == ""
    exact = float((2 * Fraction(1e308) + Fraction(1.5e308)) / 3)
    assert run.json()["value"] == pytest.approx(exact, rel=1e-15)  # a sum, then a division
    assert run.json()["gradient"]["w"] == run.json()["value"]


def test_a_sum_beyond_the_largest_float_is_a_math_error(cli, tmp_path):
    path = tmp_path / "o.csv"
    path.write_text("x\n1e308\n1e308\n")
    run = cli("eval", "x*w", "--data", str(path), "--at", "w=1", "--reduce", "sum")
    assert (run.code, run.stdout) == (3, "")
    assert run.stderr == ("error: the sum of f over 2 rows is beyond the largest float (about "
                          "1.8e308); the mean of the same rows is not: --reduce mean gives it\n")


def test_an_overflowing_sum_that_cancels_is_kept(cli, tmp_path):
    path = tmp_path / "o.csv"
    path.write_text("x\n1e308\n1e308\n-1e308\n-1e308\n5\n")
    run = cli("eval", "x*w", "--data", str(path), "--at", "w=1", "--reduce", "sum",
              "--chunk-size", "1", "--format", "json")
    assert run.code == 0 and run.json()["value"] == 5.0


def test_the_dask_engine_sums_without_overflow_too(cli, tmp_path):
    pytest.importorskip("dask.dataframe")
    path = tmp_path / "o.csv"
    path.write_text("x\n1e308\n1e308\n")
    run = cli("eval", "x*w", "--data", str(path), "--at", "w=1", "--engine", "dask",
              "--format", "json")
    assert run.json()["value"] == 1e308 and run.stderr == ""


def test_descend_on_an_overflowing_sum_stops_with_the_step(cli, tmp_path):
    path = tmp_path / "o.csv"
    path.write_text("x\n1e308\n1e308\n")
    run = cli("descend", "x*w", "--data", str(path), "--at", "w=1", "--reduce", "sum")
    assert (run.code, run.stdout) == (3, "")
    assert run.stderr.startswith("error: the sum of f over the 2 rows of step 0 is beyond the "
                                 "largest float")


# ---- options -------------------------------------------------------------------------------

def test_a_chunk_size_beyond_any_file_reads_the_file_whole(cli, corpus):
    for name in ("good", "npz_good", "pq_good", "npy_good"):
        run = reduce(cli, corpus[name], "--chunk-size", str(10 ** 20))
        assert run.code == 0 and run.stdout == reduce(cli, corpus[name]).stdout


def test_a_negative_seed_is_one_line(cli, corpus):
    run = cli("descend", "(w*x - y)**2", "--data", corpus["good"], "--at", "w=0",
              "--batch-size", "1", "--seed", "-1")
    assert (run.code, run.stdout) == (2, "")
    assert run.stderr == "error: --seed -1: a seed is a whole number from 0 up\n"


# ---- pipes ---------------------------------------------------------------------------------

def test_a_pipe_is_streamed_as_csv(cli, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)

    def writer():
        with open(fifo, "w") as out:
            out.write("x,y\n1,2\n3,4\n")

    thread = threading.Thread(target=writer)
    thread.start()
    run = reduce(cli, str(fifo))
    thread.join()
    assert run.code == 0 and run.json()["value"] == 14.0


def test_a_pipe_cannot_hold_a_file_read_by_seeking(cli, tmp_path):
    fifo = tmp_path / "pipe.npz"
    os.mkfifo(fifo)
    run = reduce(cli, str(fifo))
    assert run.stderr == (f"error: --data {fifo}: a .npz file is read by seeking, so it must be "
                          "a regular file, not a pipe or a device\n")


def test_a_directory_is_not_a_data_file(cli, tmp_path):
    assert reduce(cli, str(tmp_path)).stderr == (f"error: --data {tmp_path}: is a directory, "
                                                 "not a data file\n")


# ---- the loss curve ------------------------------------------------------------------------

def test_a_curve_spanning_more_than_float_max_is_drawn():
    from gradcalc.render.curve import loss_svg, terminal_curve

    values = [1.7e308, -1.7e308, 0.0]
    lines = terminal_curve(values, height=2).splitlines()
    assert lines[1:3] == [" 1.7e+308 ┤█ ▁", "-1.7e+308 ┤█▁█"]  # 0 is just over half way
    svg = loss_svg(values)
    points = re.search(r'<polyline[^>]* points="([^"]+)"', svg).group(1).split()
    heights = [float(point.split(",")[1]) for point in points]
    assert "nan" not in svg and "inf" not in svg and len(heights) == 3
    assert heights[0] < heights[2] < heights[1]  # top, bottom, and 0 in between


def test_steps_that_are_not_finite_leave_gaps_never_nan_coordinates():
    from gradcalc.render.curve import loss_svg, terminal_curve

    values = [3.0, math.inf, math.nan, 1.0, 2.0]
    assert terminal_curve(values, height=2).splitlines()[1:3] == ["3 ┤█   ▁", "1 ┤█  ▁█"]
    svg = loss_svg(values)
    assert "nan" not in svg and "inf" not in svg
    assert svg.count("<polyline") == 2
    assert terminal_curve([math.nan]) == ""
