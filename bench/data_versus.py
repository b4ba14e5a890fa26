"""The data engine of this checkout against an earlier revision's, measured in one run.

    python3 bench/data_versus.py --before 2c6419b          # 10^4-10^6 rows, then 10^6 and 10^7 streamed
    python3 bench/data_versus.py --before 2c6419b --rows 10000,100000 --stream 1000000

Two parts, each revision in processes of its own (allocator settings are per process):

* the computation alone on columns in memory: each revision's `bench/data_bench.py --compute`
  in child processes taken in turn (before, now, before, now, ...), each timing its engine,
  the hand-written numpy formulas and torch (when installed) interleaved; the ratios to the
  formulas and to torch are taken within each child, then their medians over the children;
* `gradcalc eval --data` streaming a CSV as a whole process, both revisions in turn: wall
  time and peak memory (the child's max RSS from the kernel), results checked to 1e-9.

Not part of `bench/run.py`: it compares revisions, not gradcalc with its peers.
"""
from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the ``bench`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.data_bench import AT, FORMULAS, GRADCALC, LOSS, TORCH, write_csv  # noqa: E402
from bench.measure import markdown_table, run_process  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def agree(a: list[float], b: list[float], tol: float = 1e-9) -> bool:
    return all(abs(x - y) <= tol * max(1.0, abs(y)) for x, y in zip(a, b))


def document_values(document: dict) -> list[float]:
    return [document["value"], *(document["gradient"][name] for name in AT)]


def checkout(revision: str, folder: Path) -> Path:
    """The files of `revision`, unpacked into `folder` (no work tree of git's is touched)."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", revision],
                             capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def compute(root: Path, rows: int, repeats: int) -> dict:
    argv = [sys.executable, str(root / "bench" / "data_bench.py"), "--compute", str(rows),
            "--repeats", str(repeats)]
    done = run_process(argv, cwd=str(root))
    if done.code:
        raise RuntimeError(f"{root}: {done.stderr[-1500:]}")
    return json.loads(done.stdout)


def compute_table(roots: dict[str, Path], sizes: list[int], children: int, repeats: int) -> str:
    table = []
    for rows in sizes:
        ratios: dict[str, dict[str, list[float]]] = {label: {"formulas": [], "torch": [], "ms": []}
                                                    for label in roots}
        for _ in range(children):
            for label, root in roots.items():
                found = compute(root, rows, repeats)
                ours = statistics.median(found[GRADCALC]["samples"])
                assert agree(found[GRADCALC]["result"], found[FORMULAS]["result"]), label
                ratios[label]["ms"].append(ours * 1e3)
                ratios[label]["formulas"].append(ours / statistics.median(found[FORMULAS]["samples"]))
                if TORCH in found:
                    ratios[label]["torch"].append(ours / statistics.median(found[TORCH]["samples"]))
        for label, got in ratios.items():
            torch = f"{statistics.median(got['torch']):.2f}×" if got["torch"] else "-"
            table.append([f"{rows:,}", label, f"{statistics.median(got['ms']):.3f}",
                          f"{statistics.median(got['formulas']):.2f}×",
                          f"{min(got['formulas']):.2f}× – {max(got['formulas']):.2f}×", torch])
    return markdown_table(["rows", "engine", "median ms", "× numpy formulas",
                           "range over children", "× torch"], table)


def stream_table(roots: dict[str, Path], sizes: list[int], scratch: Path) -> str:
    at = ",".join(f"{k}={v!r}" for k, v in AT.items())
    table = []
    for rows in sizes:
        path = scratch / f"points-{rows}.csv"
        print(f"  writing {rows:,} rows", file=sys.stderr, flush=True)
        write_csv(path, rows)
        results = {}
        for label, root in roots.items():
            argv = [sys.executable, "-m", "gradcalc", "eval", LOSS, "--data", str(path), "--at", at,
                    "--format", "json"]
            run = run_process(argv, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
                              cwd=str(scratch), memory=True)
            if run.code:
                raise RuntimeError(f"{label}: {run.stderr[-1500:]}")
            results[label] = document_values(json.loads(run.stdout))
            agrees = agree(results[label], next(iter(results.values())))
            table.append([f"{rows:,}", f"{path.stat().st_size / 1e6:.0f}", label,
                          f"{run.seconds:.2f}", f"{(run.peak_rss or 0) / 1e6:.0f}",
                          "agrees" if agrees else "**differs**"])
        path.unlink()
    return markdown_table(["rows", "CSV MB", "engine", "wall s", "peak RSS MB", "result"], table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="the earlier revision (a commit, a tag)")
    parser.add_argument("--rows", default="10000,100000,1000000")
    parser.add_argument("--stream", default="1000000,10000000", help="CSV sizes streamed ('' for none)")
    parser.add_argument("--children", type=int, default=3, help="child processes per revision and size")
    parser.add_argument("--repeats", type=int, default=9, help="timed calls per child")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        roots = {f"before ({args.before})": checkout(args.before, scratch / "before"), "now": ROOT}
        sizes = [int(n) for n in args.rows.split(",") if n]
        print("The computation alone, on columns in memory (medians):\n")
        print(compute_table(roots, sizes, args.children, args.repeats))
        streamed = [int(n) for n in args.stream.split(",") if n]
        if streamed:
            print("`gradcalc eval --data` streaming a CSV, whole processes:\n")
            print(stream_table(roots, streamed, scratch))


if __name__ == "__main__":
    main()
