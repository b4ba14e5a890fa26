"""Workload 5, vectors and matrices: the value and gradient of `sum(sigmoid(W@x + b))` and of a
two-layer MLP loss, for W of 10×10, 100×100 and 1000×1000, beside torch's autograd (float64)
and the gradient formulas written by hand in numpy, in the same run.

* In-process: gradcalc's Python API on numpy arrays (the graph lowered once), torch
  (`loss.backward()`), numpy by hand; each answer is checked against the hand formulas.
* Whole processes: `gradcalc eval ... --at @FILE --format json` against a torch script that
  reads the same values, computes the same and prints the same numbers (10×10 and 100×100).

Every contender runs one thread (OPENBLAS_NUM_THREADS=1, torch.set_num_threads(1)): on a
shared 2-core machine a multi-threaded matrix–vector product mostly measures contention.

    python3 bench/vectors.py                 # the report, as Markdown
    python3 bench/vectors.py --quick
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the ``bench`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.install import Interpreter  # noqa: E402
from bench.measure import Target, format_seconds, markdown_table, run_process, summarise  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SIZES = (10, 100, 1000)
PROCESS_SIZES = (10, 100)
NEURON = "sum(sigmoid(W@x + b))"
MLP = "h = tanh(W1@x + b1); yhat = W2@h + b2; L = sum((yhat - y)**2)"
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

# One child measures every contender at one size, in-process, and prints JSON.
CHILD = r'''
import json, sys, time
import numpy as np
n, repeats, which = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rng = np.random.default_rng(n)
values = {"W": rng.normal(size=(n, n)) / np.sqrt(n), "x": rng.normal(size=n), "b": rng.normal(size=n),
          "W1": rng.normal(size=(n, n)) / np.sqrt(n), "b1": rng.normal(size=n),
          "W2": rng.normal(size=(n, n)) / np.sqrt(n), "b2": rng.normal(size=n), "y": rng.normal(size=n)}
NEURON_INPUTS, MLP_INPUTS = ("W", "x", "b"), ("W1", "x", "b1", "W2", "b2", "y")


def by_hand(workload):
    if workload == "neuron":
        W, x, b = (values[k] for k in NEURON_INPUTS)
        s = 1 / (1 + np.exp(-(W @ x + b)))
        dz = s * (1 - s)
        return s.sum(), {"W": np.outer(dz, x), "x": W.T @ dz, "b": dz}
    W1, x, b1, W2, b2, y = (values[k] for k in MLP_INPUTS)
    h = np.tanh(W1 @ x + b1)
    r = W2 @ h + b2 - y
    dyhat = 2 * r
    dz = (W2.T @ dyhat) * (1 - h * h)
    return (r * r).sum(), {"W1": np.outer(dz, x), "x": W1.T @ dz, "b1": dz, "W2": np.outer(dyhat, h),
                           "b2": dyhat, "y": -dyhat}


def timed(fn):
    """The function, to be timed in rounds with the others (see below)."""
    return fn


def gradcalc_run(workload):
    import gradcalc
    graph = gradcalc.lower(SOURCES[workload])
    inputs = {k: values[k] for k in (NEURON_INPUTS if workload == "neuron" else MLP_INPUTS)}
    def once():
        result = gradcalc.evaluate(graph, inputs)
        return float(result.value), {k: np.asarray(g) for k, g in result.gradient.items()}
    return timed(once)


def torch_run(workload):
    import torch
    torch.set_num_threads(1)
    names = NEURON_INPUTS if workload == "neuron" else MLP_INPUTS
    def once():
        t = {k: torch.tensor(values[k], requires_grad=True) for k in names}
        if workload == "neuron":
            loss = torch.sigmoid(t["W"] @ t["x"] + t["b"]).sum()
        else:
            h = torch.tanh(t["W1"] @ t["x"] + t["b1"])
            loss = ((t["W2"] @ h + t["b2"] - t["y"]) ** 2).sum()
        loss.backward()
        return float(loss), {k: v.grad.numpy() for k, v in t.items()}
    return timed(once)


SOURCES = json.loads(sys.argv[4])
out = {}
for workload in ("neuron", "mlp"):
    want_value, want = by_hand(workload)
    row = {}
    runs = {"numpy by hand": lambda: timed(lambda: by_hand(workload)), "gradcalc": lambda: gradcalc_run(workload)}
    if which == "torch":
        runs["torch"] = lambda: torch_run(workload)
    calls = {who: run() for who, run in runs.items()}
    samples = {who: [] for who in calls}
    for who, call in calls.items():  # a warm-up, and the answers checked
        value, gradient = call()
        error = max([abs(value - want_value) / max(1.0, abs(want_value))] +
                    [float(np.max(np.abs(gradient[k] - want[k]))) for k in want])
        row[who] = {"error": error}
    for _ in range(repeats):  # in rounds, the contenders in turn: the load drifts over all alike
        for who, call in calls.items():
            began = time.perf_counter()
            call()
            samples[who].append(time.perf_counter() - began)
    for who in calls:
        row[who]["samples"] = samples[who]
    out[workload] = row
print(json.dumps(out))
'''

TORCH_PROCESS = r'''
import json, sys
import numpy as np, torch
torch.set_num_threads(1)
values = {}
for item in open(sys.argv[1]).read().replace("\n", "").split("|"):
    name, text = item.split("=", 1)
    values[name] = torch.tensor(json.loads(text), dtype=torch.float64, requires_grad=True)
loss = torch.sigmoid(values["W"] @ values["x"] + values["b"]).sum()
loss.backward()
print(json.dumps({"value": loss.item(), "gradient": {k: v.grad.tolist() for k, v in values.items()}}))
'''


def _values_file(folder: Path, n: int) -> tuple[Path, Path]:
    """The neuron's values at size n, as `--at @FILE` reads them and as the torch script does."""
    import numpy as np

    rng = np.random.default_rng(n)
    values = {"W": (rng.normal(size=(n, n)) / np.sqrt(n)).tolist(), "x": rng.normal(size=n).tolist(),
              "b": rng.normal(size=n).tolist()}
    ours, theirs = folder / f"at{n}.txt", folder / f"torch{n}.txt"
    ours.write_text(",\n".join(f"{k}={json.dumps(v)}" for k, v in values.items()) + "\n")
    theirs.write_text("|".join(f"{k}={json.dumps(v)}" for k, v in values.items()))
    return ours, theirs


def measure(python: Interpreter, repeats: int, has_torch: bool, sizes=SIZES) -> tuple[str, list[Target]]:
    env = {**python.env, **ONE_THREAD}
    sources = json.dumps({"neuron": NEURON, "mlp": MLP})
    rows, targets = [], []
    for n in sizes:
        run = run_process(python.code(CHILD) + [str(n), str(repeats), "torch" if has_torch else "-", sources],
                          env=env, cwd=str(ROOT))
        if run.code:
            raise RuntimeError(f"vectors run at {n} failed: {run.stderr[-800:]}")
        found = json.loads(run.stdout)
        for workload, row in found.items():
            medians = {who: summarise(r["samples"]).median for who, r in row.items()}
            worst = max(r["error"] for r in row.values())
            ratio = medians["gradcalc"] / medians["torch"] if "torch" in medians else None
            rows.append([f"{'sum(sigmoid(W@x + b))' if workload == 'neuron' else 'two-layer MLP'}, {n}×{n}",
                         format_seconds(medians["gradcalc"]),
                         format_seconds(medians["torch"]) if "torch" in medians else "-",
                         format_seconds(medians["numpy by hand"]),
                         f"{ratio:.2f}" if ratio else "-", f"{worst:.1e}"])
            if ratio:
                targets.append(Target(f"vectors: {workload} {n}×{n} in-process, gradcalc / torch", ratio, 1.5))
    text = (f"In-process, the value and every gradient, median of {repeats} rounds after a warm-up, the "
            "contenders in turn in each round (one "
            "thread each; the largest difference from the numpy formulas in the last column):\n\n" +
            markdown_table(["workload", "gradcalc", "torch", "numpy by hand", "gradcalc / torch",
                            "max difference"], rows) + "\n")
    process_rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for n in PROCESS_SIZES:
            ours_file, theirs_file = _values_file(Path(scratch), n)
            ours = [run_process(python.command("eval", NEURON, "--at", f"@{ours_file}", "--format", "json"),
                                env=env, cwd=str(ROOT)) for _ in range(repeats + 1)][1:]
            line = [f"`gradcalc eval` against a torch script, {n}×{n}",
                    format_seconds(summarise([r.seconds for r in ours]).median)]
            if has_torch:
                theirs = [run_process(python.code(TORCH_PROCESS) + [str(theirs_file)], env=env, cwd=str(ROOT))
                          for _ in range(repeats + 1)][1:]
                a, b = json.loads(ours[0].stdout), json.loads(theirs[0].stdout)
                assert abs(a["value"] - b["value"]) <= 1e-9 * max(1.0, abs(b["value"])), (a["value"], b["value"])
                ratio = summarise([r.seconds for r in ours]).median / summarise([r.seconds for r in theirs]).median
                line += [format_seconds(summarise([r.seconds for r in theirs]).median), f"{ratio:.2f}"]
                targets.append(Target(f"vectors: {n}×{n} as whole processes, gradcalc / torch", ratio, 1.0))
            else:
                line += ["-", "-"]
            process_rows.append(line)
    text += ("\nWhole processes (start-up, reading the values, the value and gradient, JSON out), "
             f"median of {repeats}:\n\n" +
             markdown_table(["what", "gradcalc", "torch", "gradcalc / torch"], process_rows) + "\n")
    return text, targets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The vectors workload alone, as Markdown.")
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args(argv)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    here = Interpreter("here", sys.executable, (sys.executable, "-m", "gradcalc"), env, "this interpreter")
    text, targets = measure(here, 5 if args.quick else 21, here.has("torch"))
    print(text)
    for target in targets:
        print(f"- {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
