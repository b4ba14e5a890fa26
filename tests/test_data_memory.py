"""Streaming a CSV file takes memory bounded by pyarrow's block, whatever the file's size, and
loads nothing it does not use (pyarrow's own conversions to numpy import pandas)."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("pyarrow")

# Streams FILE through `eval --data`'s reader and engine with a 16 KB block, then prints the
# peak bytes each of pyarrow's memory pools held and the modules loaded.
CHILD = """
import json, sys
import pyarrow as pa
from gradcalc.core.values import Point
from gradcalc.data import files
from gradcalc.data.plan import plan_data, reduce_data
files.ARROW_BLOCK = int(sys.argv[2])
reduced = reduce_data(plan_data("x*w + y", sys.argv[1], Point({"w": "2"})))
print(json.dumps({"peak": pa.system_memory_pool().max_memory() + pa.default_memory_pool().max_memory(),
                  "rows": reduced.rows, "value": reduced.value, "modules": sorted(sys.modules)}))
"""


def write_points(path, rows: int) -> np.ndarray:
    x = np.random.default_rng(0).normal(size=(rows, 2))
    path.write_text("x,y\n" + "".join(f"{a!r},{b!r}\n" for a, b in x.tolist()))
    return x


def stream(path, block: int) -> dict:
    run = subprocess.run([sys.executable, "-c", CHILD, str(path), str(block)],
                         capture_output=True, text=True, check=True)
    return json.loads(run.stdout)


def test_reading_memory_is_bounded_by_the_block_not_the_file(tmp_path):
    small, large = tmp_path / "small.csv", tmp_path / "large.csv"
    write_points(small, 40_000)
    x = write_points(large, 160_000)
    block = 16 << 10
    a, b = stream(small, block), stream(large, block)
    assert (a["rows"], b["rows"]) == (40_000, 160_000)
    assert b["value"] == pytest.approx(np.mean(2 * x[:, 0] + x[:, 1]), rel=1e-12)
    assert abs(b["peak"] - a["peak"]) <= 0.1 * a["peak"]  # the same for 4x the rows
    assert b["peak"] < 64 * block < large.stat().st_size / 4  # pyarrow's queue of 32 blocks


def test_streaming_a_csv_does_not_import_pandas(tmp_path):
    path = tmp_path / "points.csv"
    write_points(path, 1_000)
    assert "pandas" not in stream(path, 512 << 10)["modules"]
