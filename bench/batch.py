"""Workload 5, batch mode: many small evaluations from a script, in one process or one per call.

* `gradcalc eval --batch FILE` as a whole process (start-up included) on N JSON lines of
  `3*(a+b*c)` at points drawn from a fixed seed, and on N lines of N different expressions of
  the same size (every graph new: the cache's worst case).
* The same work as a shell loop of processes (`while read ...; do gradcalc eval ... --format
  json; done`), on fewer lines: what a script pays without batch mode.
* The floor: a Python process that reads the same lines with `json` and writes the value and
  gradient of the formula written by hand, and the engine in-process (`gradcalc.api.batch`).

Every answer is checked against the formula (f = 3(a + bc), ∂a = 3, ∂b = 3c, ∂c = 3b).

    python3 bench/batch.py --lines 20000     # the workload alone, on the dev interpreter
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from pathlib import Path
from typing import Callable

if __package__ in (None, ""):  # run as a script: make the ``bench`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.install import Interpreter  # noqa: E402
from bench.measure import (  # noqa: E402
    Target,
    format_seconds,
    interleaved,
    markdown_table,
    run_process,
    summarise,
)

EXPRESSION = "3*(a+b*c)"
LOOP_LINES = 40  # calls of the shell loop: each is a whole process

# The floor: reading and writing the same JSON lines, the formula written by hand.
FLOOR = """
import json, sys
out = sys.stdout
for line in open(sys.argv[1]):
    at = json.loads(line)["at"]
    a, b, c = at["a"], at["b"], at["c"]
    out.write(json.dumps({"output": "f", "value": 3.0 * (a + b * c), "at": at,
                          "gradient": {"a": 3.0, "b": 3.0 * c, "c": 3.0 * b}}) + "\\n")
"""

# The engine in-process: seconds per line of Batch.answer, imports and start-up excluded.
IN_PROCESS = """
import json, sys, time
from gradcalc.api.jsonlines import Batch
lines = open(sys.argv[1]).read().splitlines()
answers = Batch()
began = time.perf_counter()
for number, line in enumerate(lines, 1):
    json.dumps(answers.answer(line, number))
print((time.perf_counter() - began) / len(lines))
"""

LOOP = """
while IFS= read -r at; do
  "$@" eval '3*(a+b*c)' --at "$at" --format json
done < "$POINTS"
"""


def points(count: int, seed: int = 5) -> list[tuple[int, float, int]]:
    rng = random.Random(seed)
    return [(rng.randint(-9, 9), round(rng.uniform(-5, 5), 3), rng.randint(1, 5)) for _ in range(count)]


def write_lines(path: Path, at: list[tuple[int, float, int]], distinct: bool = False) -> None:
    """One JSON line per point; `distinct` gives each its own expression (`3*(a+b*c) + k`)."""
    with path.open("w") as f:
        for k, (a, b, c) in enumerate(at):
            expr = f"{EXPRESSION} + {k}" if distinct else EXPRESSION
            f.write(json.dumps({"expr": expr, "at": {"a": a, "b": b, "c": c}}) + "\n")


def documents(text: str) -> list[dict]:
    """The JSON documents one after another in `text`: one per line, or indented (the loop's)."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while text[at:].strip():
        document, at = decoder.raw_decode(text, len(text) - len(text[at:].lstrip()))
        found.append(document)
    return found


def check(stdout: str, at: list[tuple[int, float, int]], distinct: bool = False) -> str | None:
    """None when every answer is the formula's, else what is wrong."""
    answers = documents(stdout)
    if len(answers) != len(at):
        return f"{len(answers)} answers to {len(at)} lines"
    for k, ((a, b, c), answer) in enumerate(zip(at, answers)):
        value = 3.0 * (a + b * c) + (k if distinct else 0)
        gradient = {"a": 3.0, "b": 3.0 * c, "c": 3.0 * b}
        if abs(answer.get("value", float("nan")) - value) > 1e-12 * max(1.0, abs(value)) or \
                any(abs(answer["gradient"][n] - g) > 1e-12 * max(1.0, abs(g)) for n, g in gradient.items()):
            return f"line {k + 1}: {answer}"
    return None


def measure(python: Interpreter, count: int, repeats: int) -> tuple[str, list[Target]]:
    """The workload's Markdown section and its two targets."""
    scratch = tempfile.TemporaryDirectory(prefix="gradcalc-batch-")
    root = Path(scratch.name)
    at, few = points(count), points(LOOP_LINES)
    same, distinct, loop_points = root / "same.jsonl", root / "distinct.jsonl", root / "points.txt"
    write_lines(same, at)
    write_lines(distinct, at, distinct=True)
    loop_points.write_text("".join(f"a={a},b={b},c={c}\n" for a, b, c in few))
    loop_env = {**python.env, "POINTS": str(loop_points)}
    contenders = {
        f"gradcalc eval --batch, one expression ({count:,} lines)":
            (python.command("eval", "--batch", str(same)), python.env, at, False),
        f"gradcalc eval --batch, {count:,} different expressions":
            (python.command("eval", "--batch", str(distinct)), python.env, at, True),
        f"floor: json + the formula by hand, one process ({count:,} lines)":
            (python.code(FLOOR) + [str(same)], python.env, at, False),
        f"shell loop: one gradcalc eval process per line ({LOOP_LINES} lines)":
            (["bash", "-c", LOOP, "loop", *python.gradcalc], loop_env, few, False),
    }
    for label, (argv, env, expected, varied) in contenders.items():
        run = run_process(argv, env=env)
        problem = f"exit {run.code}: {run.stderr[-300:]}" if run.code else check(run.stdout, expected, varied)
        if problem:
            raise RuntimeError(f"{label}: wrong answers ({problem})")

    def timed(argv: list[str], env: dict) -> Callable[[], float]:
        return lambda: run_process(argv, env=env).seconds

    print(f"  batch: {len(contenders)} processes x {repeats} rounds", file=sys.stderr, flush=True)
    samples = interleaved({label: timed(argv, env) for label, (argv, env, _, _) in contenders.items()}, repeats)
    times = {label: summarise(s) for label, s in samples.items()}
    inside = [float(run_process(python.code(IN_PROCESS) + [str(same)], env=python.env).stdout)
              for _ in range(repeats)]
    per_line = {label: times[label].median / len(contenders[label][2]) for label in times}
    rows = []
    for label, t in times.items():
        rows.append([label, format_seconds(t.median), f"{format_seconds(t.min)} – {format_seconds(t.max)}",
                     f"{per_line[label] * 1e6:,.1f}", f"{1 / per_line[label]:,.0f}"])
    engine = summarise(inside).median
    rows.append([f"in-process: gradcalc.api.batch, one expression ({count:,} lines)",
                 format_seconds(engine * count), "-", f"{engine * 1e6:,.1f}", f"{1 / engine:,.0f}"])
    batch_label, loop_label = next(iter(times)), list(times)[-1]
    throughput, loop = 1 / per_line[batch_label], 1 / per_line[loop_label]
    text = (f"Whole processes (start-up included), median of {repeats} interleaved rounds after a "
            "warm-up; every answer checked against the formula:\n\n")
    text += markdown_table(["what", "median", "min – max", "µs per evaluation", "evaluations/s"], rows)
    text += (f"\n- batch mode: {throughput:,.0f} evaluations per second, {throughput / loop:,.0f}× the "
             f"shell loop's {loop:,.1f}\n")
    targets = [
        Target("batch: 10,000 evaluations of 3*(a+b*c)-sized lines, seconds (whole process)",
               10_000 / throughput, 1.0, f"{throughput:,.0f} evaluations/s"),
        Target("batch: time per evaluation / (shell loop's ÷ 200)", 200 * loop / throughput, 1.0,
               f"{throughput / loop:,.0f}× the shell loop"),
    ]
    scratch.cleanup()
    return text, targets


def main(argv: list[str] | None = None) -> int:
    from bench.install import dev_interpreter, scratch_directory

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=20_000, help="lines of the batch file (default 20,000)")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved rounds (default 5)")
    args = parser.parse_args(argv)
    scratch = scratch_directory()
    text, targets = measure(dev_interpreter(Path(scratch.name)), args.lines, args.repeats)
    scratch.cleanup()
    sys.stdout.write(text)
    for target in targets:
        print(f"{target.name}: {target.measured:.2f} (≤ {target.bound:g}: {'met' if target.met else 'not met'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
