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
formulas, and torch autograd when installed), which is where the graph's overhead shows. Not a
test: it takes minutes. `bench/run.py` runs the same measurements at 10^4, 10^5 and 10^6 rows
(workload 3 of the suite) and this script's 10^7-row table.

    python3 bench/data_bench.py --compute 1000000   # the computation alone, as JSON
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script: make the ``bench`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.install import Interpreter  # noqa: E402
from bench.measure import Target, format_seconds, markdown_table, megabytes, run_process, summarise  # noqa: E402

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

GRADCALC, FORMULAS, TORCH = ("gradcalc batch engine", "numpy formulas by hand", "torch autograd")
PANDAS_C, PANDAS_ARROW = ("numpy by hand, pandas.read_csv (C engine)",
                          "numpy by hand, pandas.read_csv (pyarrow engine)")


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


def measure(command: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """Wall seconds, peak resident memory in MB, and stdout of one child process."""
    run = run_process(command, env=env, cwd=str(ROOT), memory=True)
    if run.code:
        sys.exit(f"{command[:3]} failed: {run.stderr[-500:]}")
    return run.seconds, run.peak_rss / 1e6, run.stdout


def gradcalc_command(path: Path, *extra: str, gradcalc: tuple[str, ...] = ()) -> list[str]:
    at = ",".join(f"{k}={v!r}" for k, v in AT.items())
    prefix = list(gradcalc) or [sys.executable, "-m", "gradcalc"]
    return [*prefix, "eval", LOSS, "--data", str(path), "--at", at, "--format", "json", *extra]


def _problem(rows: int):
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(2, rows)), (rng.random(rows) < 0.5).astype(float)
    return X, y


def _engine(rows: int):
    """gradcalc's data engine on in-memory columns, as `eval --data` runs it once the file is
    read: chunk by chunk (its own chunk size), cells checked, mean loss and gradient reduced."""
    from gradcalc.core.values import Point
    from gradcalc.data.files import ArraysTable
    from gradcalc.data.plan import plan_data, reduce_data

    class InMemory(ArraysTable):
        def __init__(self, columns: dict):
            self.columns = columns
            super().__init__("memory", list(columns), rows, "rows")

        def column(self, name):
            return self.columns[name]

    X, y = _problem(rows)
    plan = plan_data(LOSS, InMemory({"x1": X[0], "x2": X[1], "y": y}), Point({k: repr(v) for k, v in AT.items()}))

    def engine():
        reduced = reduce_data(plan, "mean")
        return [reduced.value, *(reduced.gradient[n] for n in AT)]

    return engine


def _formulas(rows: int):
    """The lecture's vectorised formulas, by hand."""
    X, y = _problem(rows)

    def formulas():
        z = np.array([AT["w1"], AT["w2"]]) @ X + AT["b"]
        a = 1 / (1 + np.exp(-z))
        dz = a - y
        dw = X @ dz / rows
        return [float(np.mean(-y * np.log(a) - (1 - y) * np.log(1 - a))), float(dw[0]), float(dw[1]),
                float(dz.sum() / rows)]

    return formulas


def _torch(rows: int):
    """The same loss in torch; its autograd gives the gradient."""
    import torch

    torch.set_num_threads(1)
    X, y = (torch.from_numpy(a) for a in _problem(rows))

    def autograd():
        w = torch.tensor([AT["w1"], AT["w2"]], dtype=torch.float64, requires_grad=True)
        b = torch.tensor(AT["b"], dtype=torch.float64, requires_grad=True)
        a = torch.sigmoid(w @ X + b)
        loss = torch.mean(-y * torch.log(a) - (1 - y) * torch.log(1 - a))
        loss.backward()
        return [loss.item(), *w.grad.tolist(), b.grad.item()]

    return autograd


def compute_only(rows: int, repeats: int = 5) -> dict[str, dict]:
    """Seconds and results of value and gradient over `rows` in-memory rows, per contender.

    The contenders run in interleaved rounds after a warm-up; torch is skipped when absent.
    torch runs on one thread, like numpy's elementwise operations.
    """
    contenders = {GRADCALC: _engine(rows), FORMULAS: _formulas(rows)}
    try:
        contenders[TORCH] = _torch(rows)
    except ImportError:
        pass
    results = {name: call() for name, call in contenders.items()}
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, call in contenders.items():
            start = time.perf_counter()
            call()
            samples[name].append(time.perf_counter() - start)
    return {name: {"samples": samples[name], "result": results[name]} for name in contenders}


# ---- workload 3 of bench/run.py --------------------------------------------------------------

def _compute_child(rows: int, repeats: int) -> dict[str, dict]:
    argv = [sys.executable, str(Path(__file__).resolve()), "--compute", str(rows), "--repeats", str(repeats)]
    done = run_process(argv, cwd=str(ROOT))
    if done.code:
        raise RuntimeError(f"compute child failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout)


def _agree(a: list[float], b: list[float], tol: float = 1e-9) -> bool:
    return all(abs(x - y) <= tol * max(1.0, abs(y)) for x, y in zip(a, b))


def _document_values(document: dict) -> list[float]:
    return [document["value"], *(document["gradient"][name] for name in AT)]


def whole_process(python: Interpreter, path: Path, repeats: int, engines=("c",)) -> dict[str, list]:
    """gradcalc against the pandas + formulas script, each a whole process (seconds, RSS, result)."""
    commands = {"gradcalc eval --data": gradcalc_command(path, gradcalc=python.gradcalc)}
    for engine in engines:
        label = PANDAS_C if engine == "c" else PANDAS_ARROW
        commands[label] = [python.python, "-c", NUMPY_SCRIPT, str(path), engine]
    runs: dict[str, list] = {label: [] for label in commands}
    peaks: dict[str, int] = {}
    for round_ in range(repeats + (1 if repeats > 1 else 0)):
        for label, argv in commands.items():
            run = run_process(argv, env=python.env, cwd=str(ROOT), memory=round_ == 0)
            if run.code:
                raise RuntimeError(f"{label} failed: {run.stderr[-500:]}")
            peaks.setdefault(label, run.peak_rss)
            if round_ or repeats == 1:
                runs[label].append(run._replace(peak_rss=peaks[label]))
    return runs


def measure_workload(python: Interpreter, sizes: list[int], memory_rows: int, repeats: int,
                     scratch: Path) -> tuple[str, list[Target]]:
    """Workload 3: computation alone, whole processes, and peak memory of a streamed big file."""
    targets: list[Target] = []
    compute_rows, whole_rows = [], []
    peaks: dict[int, int] = {}  # rows → gradcalc's peak memory streaming that many
    for rows in sizes:
        print(f"  data: {rows:,} rows", file=sys.stderr, flush=True)
        found = _compute_child(rows, repeats)
        reference = found[FORMULAS]["result"]
        times = {name: summarise(entry["samples"]) for name, entry in found.items()}
        for name, entry in found.items():
            t = times[name]
            compute_rows.append([f"{rows:,}", name, format_seconds(t.median),
                                 f"{format_seconds(t.min)} – {format_seconds(t.max)}",
                                 f"{t.median / times[FORMULAS].median:.2f}×",
                                 "agrees" if _agree(entry["result"], reference) else "**differs**"])
        ours = times[GRADCALC].median
        targets.append(Target(f"data {rows:,}: gradient computation / numpy formulas",
                              ours / times[FORMULAS].median, 1.3))
        if TORCH in times:
            targets.append(Target(f"data {rows:,}: gradient computation / torch autograd",
                                  ours / times[TORCH].median, 1.0))
        path = scratch / f"points-{rows}.csv"
        write_csv(path, rows)
        runs = whole_process(python, path, max(3, repeats // 2))
        whole_rows += _whole_rows(rows, path, runs)
        peaks[rows] = runs["gradcalc eval --data"][0].peak_rss
        ours, theirs = (summarise([r.seconds for r in runs[k]]).median for k in ("gradcalc eval --data", PANDAS_C))
        targets.append(Target(f"data {rows:,}: whole gradcalc process / pandas + formulas script",
                              ours / theirs, 1.5))
        path.unlink()
    big = scratch / f"points-{memory_rows}.csv"
    print(f"  data: writing {memory_rows:,} rows", file=sys.stderr, flush=True)
    write_csv(big, memory_rows)
    runs = whole_process(python, big, 1, engines=("c", "pyarrow"))
    whole_rows += _whole_rows(memory_rows, big, runs)
    peak = runs["gradcalc eval --data"][0].peak_rss
    targets.append(Target(f"data {memory_rows:,} rows streamed: gradcalc peak memory, MB / 150 MB",
                          peak / 150e6, 1.0, f"{peak / 1e6:.0f} MB"))
    if sizes:  # the same peak for a file 10 times larger (± 10 %)
        rows = max(sizes)
        change = peak / peaks[rows]
        targets.append(Target(f"data: peak memory, {memory_rows:,} rows against {rows:,} rows, "
                              "|ratio − 1|", abs(change - 1), 0.1,
                              f"{peaks[rows] / 1e6:.0f} → {peak / 1e6:.0f} MB ({change:.2f}×)"))
    ours, theirs = (runs[k][0].seconds for k in ("gradcalc eval --data", PANDAS_C))
    targets.append(Target(f"data {memory_rows:,}: whole gradcalc process / pandas + formulas script",
                          ours / theirs, 1.5))
    big.unlink()
    text = ("The computation alone, on columns already in memory (value and gradient of the mean "
            f"log loss; median of {repeats}, interleaved; torch on one thread):\n\n" +
            markdown_table(["rows", "contender", "median", "min – max", "× numpy", "result"], compute_rows) +
            "\nWhole processes reading the CSV (start-up, reading and computing; peak RSS from the kernel):\n\n" +
            markdown_table(["rows", "CSV MB", "process", "median s", "min – max s", "rows/s", "peak RSS MB",
                            "result"], whole_rows))
    return text, targets


def _whole_rows(rows: int, path: Path, runs: dict[str, list]) -> list[list]:
    reference = _document_values(json.loads(runs[PANDAS_C][0].stdout))
    out = []
    for label, found in runs.items():
        t = summarise([r.seconds for r in found])
        agrees = _agree(_document_values(json.loads(found[0].stdout)), reference)
        out.append([f"{rows:,}", f"{path.stat().st_size / 1e6:.0f}", label, f"{t.median:.3f}",
                    f"{t.min:.3f} – {t.max:.3f}", f"{rows / t.median / 1e6:.2f} M",
                    megabytes(max(r.peak_rss for r in found)), "agrees" if agrees else "**differs**"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--keep", type=Path, help="write the CSV here and keep it")
    parser.add_argument("--compute", type=int, metavar="ROWS", help="time the computation alone, print JSON")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if args.compute:
        json.dump(compute_only(args.compute, args.repeats), sys.stdout)
        return
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
    found = compute_only(1_000_000)
    print()
    print("| value and gradient of 1,000,000 rows in memory | ms |")
    print("| --- | ---: |")
    for name, entry in found.items():
        print(f"| {name} | {min(entry['samples']) * 1e3:.1f} |")


if __name__ == "__main__":
    main()
