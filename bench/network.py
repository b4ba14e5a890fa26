"""Workload 4, the tutorial network: one input, two sigmoid hidden units, a sigmoid output,
log loss summed over 51 points (`examples/network/`), at the tutorial's starting weights.

* The loss and its seven gradients from gradcalc (`eval --data --reduce sum`) beside torch's.
* 1,000 steps of gradient descent (learning rate 0.1, full batch): `gradcalc descend` against a
  torch loop doing the same (`loss.backward()`, then `p -= lr * p.grad`), both as whole
  processes and with the loop alone timed in-process; the trained parameters must agree.

    python3 bench/network.py --child torch --steps 1000   # one contender's run, as JSON
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the ``bench`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.install import Interpreter  # noqa: E402
from bench.measure import Target, format_seconds, markdown_table, megabytes, run_process, summarise  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LOSS, DATA = ROOT / "examples" / "network" / "loss.txt", ROOT / "examples" / "network" / "data.csv"
START = {"w10": -7.8751, "w11": -8.3499, "b10": -3.9181, "b11": 3.8380, "w20": 5.0297,
         "w21": -4.0937, "b2": 1.6347}  # the tutorial's partially trained network
AT = "w1=[-7.8751,-8.3499],b1=[-3.9181,3.8380],w2=[5.0297,-4.0937],b2=1.6347"
LR, STEPS = 0.1, 1000

TORCH_SCRIPT = """
import json, sys, time
import numpy as np, torch
steps, lr, start = int(sys.argv[1]), float(sys.argv[2]), json.loads(sys.argv[3])
torch.set_num_threads(1)
x, y = (torch.from_numpy(c) for c in np.loadtxt(sys.argv[4], delimiter=",", skiprows=1, unpack=True))
p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in start.items()}

def loss():
    h1 = torch.sigmoid(p["w10"] * x + p["b10"])
    h2 = torch.sigmoid(p["w11"] * x + p["b11"])
    yhat = torch.sigmoid(p["w20"] * h1 + p["w21"] * h2 + p["b2"])
    return (-y * torch.log(yhat) - (1 - y) * torch.log(1 - yhat)).sum()

began = time.perf_counter()
first = loss()
first.backward()
gradient = {k: v.grad.item() for k, v in p.items()}
one = time.perf_counter() - began
for v in p.values():
    v.grad = None
began = time.perf_counter()
for step in range(steps):
    L = loss()
    L.backward()
    with torch.no_grad():
        for v in p.values():
            v -= lr * v.grad
            v.grad = None
loop = time.perf_counter() - began
print(json.dumps({"loss": first.item(), "gradient": gradient, "one": one, "loop": loop,
                  "final": {k: v.item() for k, v in p.items()}, "final_loss": loss().item()}))
"""

GRADCALC_SCRIPT = """
import json, sys, time
from gradcalc.cli.options import parse_at
from gradcalc.core.values import Point
from gradcalc.data.descent import descend
from gradcalc.data.plan import plan_data, reduce_data
try:  # the CSV reader, imported before the clock starts, as torch is
    import pyarrow.compute, pyarrow.csv
except ImportError:
    pass
steps, lr, at, loss_file, data = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
source = open(loss_file, encoding="utf-8").read()
began = time.perf_counter()
plan = plan_data(source, data, Point(parse_at([at])), reduce="sum")
first = reduce_data(plan, "sum")
one = time.perf_counter() - began
plan = plan_data(source, data, Point(parse_at([at])), reduce="sum")  # a table is read once
began = time.perf_counter()
result = descend(plan, lr=lr, steps=steps, reduce="sum")
loop = time.perf_counter() - began
print(json.dumps({"loss": first.value, "gradient": first.gradient, "one": one, "loop": loop,
                  "final": result.at, "final_loss": result.loss}))
"""


def _child(python: Interpreter, who: str, steps: int, memory: bool = False):
    if who == "torch":
        argv = python.code(TORCH_SCRIPT) + [str(steps), str(LR), json.dumps(START), str(DATA)]
    else:
        argv = python.code(GRADCALC_SCRIPT) + [str(steps), str(LR), AT, str(LOSS), str(DATA)]
    return run_process(argv, env=python.env, cwd=str(ROOT), memory=memory)


def _cli(python: Interpreter, steps: int | None, memory: bool = False):
    args = ["-f", str(LOSS), "--data", str(DATA), "--reduce", "sum", "--at", AT, "--format", "json"]
    argv = python.command("descend", *args, "--lr", str(LR), "--steps", str(steps)) if steps else \
        python.command("eval", *args)
    return run_process(argv, env=python.env, cwd=str(ROOT), memory=memory)


def _max_difference(a: dict, b: dict) -> float:
    return max(abs(a[k] - b[k]) / max(1.0, abs(b[k])) for k in b)


def measure(python: Interpreter, repeats: int, has_torch: bool) -> tuple[str, list[Target]]:
    contenders = ["gradcalc"] + (["torch"] if has_torch else [])
    children: dict[str, list] = {who: [] for who in contenders}
    whole: dict[str, list] = {"gradcalc descend": [], "gradcalc eval": []}
    if has_torch:
        whole["torch script"] = []
    peaks: dict[str, int | None] = {}
    for round_ in range(repeats + 1):  # round 0 warms up and reads peak memory
        for who in contenders:
            run = _child(python, who, STEPS, memory=round_ == 0)
            if run.code:
                raise RuntimeError(f"{who} network run failed: {run.stderr[-800:]}")
            children[who].append(run)
        whole["gradcalc descend"].append(_cli(python, STEPS, memory=round_ == 0))
        whole["gradcalc eval"].append(_cli(python, None, memory=round_ == 0))
        if has_torch:
            whole["torch script"].append(children["torch"][-1])
        if round_ == 0:
            peaks = {label: runs[0].peak_rss for label, runs in whole.items()}
            for runs in (*children.values(), *whole.values()):
                runs.clear()
    results = {who: json.loads(runs[0].stdout) for who, runs in children.items()}
    ours = results["gradcalc"]
    cli_eval, cli_descend = (json.loads(whole[k][0].stdout) for k in ("gradcalc eval", "gradcalc descend"))
    lines = [f"Loss at the starting weights: gradcalc {ours['loss']!r} (CLI {cli_eval['value']!r})"]
    rows = [[name, repr(ours["gradient"][name]), repr(results["torch"]["gradient"][name]) if has_torch else "-"]
            for name in START]
    text = ""
    targets: list[Target] = []
    if has_torch:
        theirs = results["torch"]
        lines[0] += f", torch {theirs['loss']!r}"
        lines.append(f"largest relative difference of the gradients: "
                     f"{_max_difference(ours['gradient'], theirs['gradient']):.1e}; after {STEPS:,} steps, of "
                     f"the parameters: {_max_difference(ours['final'], theirs['final']):.1e} (CLI: "
                     f"{_max_difference(cli_descend['at'], theirs['final']):.1e}); final loss gradcalc "
                     f"{ours['final_loss']:.6f}, torch {theirs['final_loss']:.6f}")
    text += "\n".join(f"- {line}" for line in lines) + "\n\n"
    text += markdown_table(["parameter", "∂L/∂parameter, gradcalc", "torch"], rows) + "\n"
    timing_rows = []
    loops = {who: summarise([json.loads(r.stdout)["loop"] for r in runs]) for who, runs in children.items()}
    ones = {who: summarise([json.loads(r.stdout)["one"] for r in runs]) for who, runs in children.items()}
    for who in contenders:
        timing_rows.append([f"{who}: loss and gradient once, in-process", format_seconds(ones[who].median),
                            f"{format_seconds(ones[who].min)} – {format_seconds(ones[who].max)}", "-"])
        timing_rows.append([f"{who}: {STEPS:,} steps, in-process", format_seconds(loops[who].median),
                            f"{format_seconds(loops[who].min)} – {format_seconds(loops[who].max)}", "-"])
    for label, runs in whole.items():
        t = summarise([r.seconds for r in runs])
        what = f"{label} ({STEPS:,} steps)" if label != "gradcalc eval" else "gradcalc eval --data (loss and gradient)"
        timing_rows.append([f"{what}, whole process", format_seconds(t.median),
                            f"{format_seconds(t.min)} – {format_seconds(t.max)}",
                            megabytes(peaks.get(label))])
    text += (f"\nMedian of {repeats} runs after a warm-up:\n\n" +
             markdown_table(["what", "median", "min – max", "peak RSS MB"], timing_rows))
    if has_torch:
        targets.append(Target(f"network: {STEPS:,} descent steps in-process, gradcalc / torch",
                              loops["gradcalc"].median / loops["torch"].median, 0.5))
        ours_whole = summarise([r.seconds for r in whole["gradcalc descend"]]).median
        theirs_whole = summarise([r.seconds for r in whole["torch script"]]).median
        targets.append(Target(f"network: {STEPS:,} descent steps as whole processes, gradcalc / torch",
                              ours_whole / theirs_whole, 1.0))
    return text, targets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="One contender's network run, as JSON.")
    parser.add_argument("--child", choices=("gradcalc", "torch"), required=True)
    parser.add_argument("--steps", type=int, default=STEPS)
    args = parser.parse_args(argv)
    here = Interpreter("here", sys.executable, (sys.executable, "-m", "gradcalc"), None, "")
    run = _child(here, args.child, args.steps)
    sys.stdout.write(run.stdout)
    sys.stderr.write(run.stderr)
    return run.code


if __name__ == "__main__":
    raise SystemExit(main())
