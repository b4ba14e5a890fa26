"""Data mode benchmark: peak memory and throughput of `gradcalc eval --data` on a big CSV.

    python3 bench/data_bench.py                 # 10 million rows (about 550 MB of CSV)
    python3 bench/data_bench.py --rows 2000000 --keep /tmp/points.csv

It writes a logistic-regression CSV (x1, x2, y), then runs, each as its own process so that
peak memory (max RSS, from the kernel) belongs to one program:

* gradcalc: `gradcalc eval LOSS --data FILE --at w1=..,w2=..,b=.. --format json`
  (streams the file in chunks);
* numpy: `pandas.read_csv` of the whole file, then the vectorised formulas written by hand
  (z = w·X + b; a = σ(z); dz = a − y; dw = X·dzᵀ/m; db = Σdz/m);

checks that both give the same loss and gradient, and prints a Markdown table. A second table
times the computation alone on arrays already in memory (the batch engine against the same
formulas), which is where the graph's overhead shows. Not a test: it takes minutes.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
LOSS = "z = w1*x1 + w2*x2 + b; a = sigmoid(z); L = -y*log(a) - (1-y)*log(1-a)"
AT = {"w1": 0.7, "w2": -1.3, "b": 0.2}

NUMPY_SCRIPT = """
import json, sys
import numpy as np, pandas as pd
frame = pd.read_csv(sys.argv[1], engine="pyarrow" if sys.argv[2] == "pyarrow" else "c")
X = frame[["x1", "x2"]].to_numpy().T
y = frame["y"].to_numpy()
w = np.array([%(w1)r, %(w2)r]); b = %(b)r
m = X.shape[1]
z = w @ X + b
a = 1 / (1 + np.exp(-z))
dz = a - y
print(json.dumps({"value": float(np.mean(-y*np.log(a) - (1-y)*np.log(1-a))),
                  "gradient": {"w1": float(X[0] @ dz / m), "w2": float(X[1] @ dz / m),
                               "b": float(dz.sum() / m)}}))
""" % AT


def write_csv(path: Path, rows: int, block: int = 1_000_000) -> None:
    """x1, x2 normal; y drawn from the logistic model; shortest round-trip decimal text."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(0)
    with open(path, "wb") as f:
        for lo in range(0, rows, block):
            n = min(block, rows - lo)
            x = rng.normal(size=(2, n))
            y = (rng.random(n) < 1 / (1 + np.exp(-(x[0] - 2 * x[1])))).astype(np.float64)
            table = pa.table({"x1": x[0], "x2": x[1], "y": y})
            options = pacsv.WriteOptions(include_header=lo == 0)
            pacsv.write_csv(table, f, write_options=options)


def measure(command: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak resident memory in MB, and stdout of one child process."""
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    out = child.stdout.read()
    err = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    if status:
        sys.exit(f"{command[:3]} failed: {err.decode()[-500:]}")
    return seconds, usage.ru_maxrss / 1024, out.decode()


def gradcalc_command(path: Path, *extra: str) -> list[str]:
    at = ",".join(f"{k}={v!r}" for k, v in AT.items())
    return [sys.executable, "-m", "gradcalc", "eval", LOSS, "--data", str(path), "--at", at,
            "--format", "json", *extra]


def compute_only(rows: int, repeats: int = 5) -> tuple[float, float]:
    """Seconds for value and gradient of `rows` in-memory rows: batch engine vs formulas."""
    from gradcalc.batch import run
    from gradcalc.graph import lower

    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(2, rows)), (rng.random(rows) < 0.5).astype(float)
    graph = lower(LOSS)
    data = {"x1": X[0], "x2": X[1], "y": y}
    numbers = np.arange(1, rows + 1)

    def engine():
        batch = run(graph, data, AT, numbers, ("w1", "w2", "b"))
        return [batch.value.sum()] + [batch.grads[n].sum() for n in ("w1", "w2", "b")]

    def formulas():
        z = np.array([AT["w1"], AT["w2"]]) @ X + AT["b"]
        a = 1 / (1 + np.exp(-z))
        dz = a - y
        return np.mean(-y * np.log(a) - (1 - y) * np.log(1 - a)), X @ dz / rows, dz.sum() / rows

    return best_of(engine, repeats), best_of(formulas, repeats)


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--keep", type=Path, help="write the CSV here and keep it")
    args = parser.parse_args()
    folder = tempfile.TemporaryDirectory()
    path = args.keep or Path(folder.name) / "points.csv"
    if not path.exists():
        start = time.perf_counter()
        write_csv(path, args.rows)
        print(f"wrote {args.rows:,} rows ({path.stat().st_size / 1e6:.0f} MB) in "
              f"{time.perf_counter() - start:.1f} s", file=sys.stderr)
    runs = {
        "gradcalc eval --data (pyarrow reader)": gradcalc_command(path),
        "numpy by hand, pandas.read_csv (C engine)": [sys.executable, "-c", NUMPY_SCRIPT,
                                                      str(path), "c"],
        "numpy by hand, pandas.read_csv (pyarrow engine)": [sys.executable, "-c", NUMPY_SCRIPT,
                                                            str(path), "pyarrow"],
    }
    results = {}
    print(f"| {args.rows:,} rows, {path.stat().st_size / 1e6:.0f} MB CSV | wall s | "
          "rows/s | peak RSS MB |")
    print("| --- | ---: | ---: | ---: |")
    for label, command in runs.items():
        seconds, peak, out = measure(command)
        results[label] = json.loads(out)
        print(f"| {label} | {seconds:.2f} | {args.rows / seconds / 1e6:.2f} M | {peak:.0f} |")
    ours, theirs = (results[k] for k in list(runs)[:2])
    assert abs(ours["value"] - theirs["value"]) <= 1e-9 * abs(theirs["value"])
    for name in AT:
        assert abs(ours["gradient"][name] - theirs["gradient"][name]) <= 1e-9
    engine, formulas = compute_only(1_000_000)
    print()
    print("| value and gradient of 1,000,000 rows in memory | ms |")
    print("| --- | ---: |")
    print(f"| batch engine (gradcalc.batch.run) | {engine * 1e3:.1f} |")
    print(f"| the formulas in numpy by hand | {formulas * 1e3:.1f} |")


if __name__ == "__main__":
    main()
