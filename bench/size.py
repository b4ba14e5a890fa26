"""Workload 2, size: generated programs of N = 10^3, 10^4, 10^5 operations over 10 inputs.

gradcalc takes the program as text (parse + lower + forward + backward, every gradient out);
the floor and the peers start from the pre-parsed op list (`bench.gen`), so they skip the
parsing gradcalc has to do. Timed in-process with imports excluded:

* tape: `bench.tape`'s forward and backward over its compiled op list (the interpreter's
  floor);
* gradcalc phases: parse + lower; the first evaluation of the lowered graph (which also
  lays out its per-graph plan); forward + backward again on that graph; and the whole
  text → gradients;
* peers (`bench.peers`, each in a child process, checked against the tape to 1e-9).

The tape and gradcalc run in one child process per size, in interleaved rounds. gradcalc is
also timed as a whole process (`gradcalc eval - --format json`, the text on standard input),
start-up included, with its peak memory.

    python3 bench/size.py --ops 10000 --repeats 5   # one size's in-process timings, as JSON
"""
from __future__ import annotations

import argparse
import gc
import json
import resource
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the ``bench`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import compare, gen, peers, tape  # noqa: E402
from bench.install import Interpreter  # noqa: E402
from bench.measure import Target, format_seconds, markdown_table, megabytes, run_process, summarise  # noqa: E402

TAPE, TOTAL, LOWER = ("tape (floor): forward + backward", "gradcalc: text → gradients",
                      "gradcalc: parse + lower")
FIRST, FWD_BWD = "gradcalc: first evaluation (+ per-graph plan)", "gradcalc: forward + backward"
WHOLE = "gradcalc eval - (whole process)"
PEERS = ("micrograd", "torch", "jax_eager", "jax_jit", "sympy")


def _inputs(program: gen.Program) -> dict[str, float]:
    return {f"x{i}": v for i, v in enumerate(program.inputs)}


def child(n_ops: int, repeats: int, seed: int = 0) -> dict:
    """In-process timings of the tape and of gradcalc's phases on one program (JSON-ready)."""
    from gradcalc import api
    from gradcalc.core import autodiff
    from gradcalc.core.graph import lower

    program = gen.generate(n_ops, seed)
    at = _inputs(program)
    compiled = tape.compile_ops(program.ops, program.first_op_slot, program.output)
    leaves = list(program.inputs) + list(program.constants)
    samples: dict[str, list[float]] = {TAPE: [], LOWER: [], FIRST: [], FWD_BWD: [], TOTAL: []}

    def timed(label: str, call) -> object:
        gc.collect()
        start = time.perf_counter()
        out = call()
        samples[label].append(time.perf_counter() - start)
        return out

    for round_ in range(repeats + 1):  # round 0 warms up
        timed(TAPE, lambda: tape.run(compiled, leaves, len(program.inputs)))
        graph = timed(LOWER, lambda: lower(program.text, given=at))
        timed(FIRST, lambda: autodiff.evaluate(graph, at))
        timed(FWD_BWD, lambda: autodiff.evaluate(graph, at))
        graph = None  # freed before the whole pipeline runs
        result = timed(TOTAL, lambda: api.evaluate(program.text, at))
        if round_ == 0:
            for values in samples.values():
                values.clear()
    gradient = result.gradient
    return {"ops": n_ops, "nodes": len(result.graph.nodes), "value": result.value,
            "grads": [gradient[f"x{i}"] for i in range(len(program.inputs))],
            "samples": samples, "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


def _in_process(n_ops: int, repeats: int, seed: int) -> dict:
    argv = [sys.executable, str(Path(__file__).resolve()), "--ops", str(n_ops), "--repeats", str(repeats),
            "--seed", str(seed)]
    done = run_process(argv)
    if done.code != 0:
        raise RuntimeError(f"size child failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout)


def _whole_process(python: Interpreter, program: gen.Program, reference, repeats: int) -> compare.Row:
    at = ",".join(f"x{i}={v!r}" for i, v in enumerate(program.inputs))
    argv = python.command("eval", "-", "--at", at, "--format", "json")
    first = run_process(argv, stdin=program.text, env=python.env, memory=True)  # also warms up
    if first.code != 0:
        return compare.Row(program.n_ops, WHOLE, None, note=f"failed: {first.stderr.strip()[-150:]}")
    document = json.loads(first.stdout)
    got = (document["value"], [document["gradient"][f"x{i}"] for i in range(len(program.inputs))])
    error = peers.max_relative_error(reference, got)
    timing = summarise([run_process(argv, stdin=program.text, env=python.env).seconds for _ in range(repeats)])
    return compare.Row(program.n_ops, WHOLE, timing, error=error, peak_rss=first.peak_rss,
                       note=f"`{python.label}` interpreter, start-up included")


def measure(python: Interpreter, sizes: list[int], repeats: int, timeout: float, seed: int = 0,
            peer_names=PEERS) -> list[compare.Row]:
    rows: list[compare.Row] = []
    last_time: dict[str, tuple[int, float]] = {}
    for n in sorted(sizes):
        print(f"  size: {n} ops", file=sys.stderr, flush=True)
        program = gen.generate(n, seed)
        reference = tape.value_and_grad(program)
        inside = _in_process(n, repeats, seed)
        error = peers.max_relative_error(reference, (inside["value"], inside["grads"]))
        for label, values in inside["samples"].items():
            note = f"{inside['nodes']:,} graph nodes" if label == TOTAL else ""
            rows.append(compare.Row(n, label, summarise(values), error=0.0 if label == TAPE else error,
                                    note=note, peak_rss=inside["peak_rss"] if label == TOTAL else None))
        rows.append(_whole_process(python, program, reference, max(3, repeats // 2)))
        for peer in peer_names:
            reason = compare._skip_reason(peer, n, last_time, timeout)
            if reason:
                rows.append(compare.Row(n, peer, None, note=reason))
                continue
            row = compare.time_peer(peer, program, seed, reference, repeats, timeout)
            last_time[peer] = (n, compare._call_seconds(row))
            rows.append(row)
    return rows


def _median(rows: list[compare.Row], n: int, tool: str) -> float | None:
    for r in rows:
        if r.n_ops == n and r.tool == tool and r.timing:
            return r.timing.median
    return None


def table(rows: list[compare.Row]) -> str:
    out = []
    for r in rows:
        t = r.timing
        floor = _median(rows, r.n_ops, TAPE)
        whole = (r.first_call + r.import_seconds) if r.first_call is not None and r.import_seconds is not None \
            else None
        out.append([f"{r.n_ops:,}", r.tool, format_seconds(t.median if t else None),
                    f"{format_seconds(t.min)} – {format_seconds(t.max)}" if t else "-",
                    f"{t.median / r.n_ops * 1e6:.2f}" if t else "-",
                    f"{t.median / floor:.2f}×" if t and floor else "-",
                    format_seconds(whole), megabytes(r.peak_rss),
                    "-" if r.error is None else f"{r.error:.0e}", r.note])
    headers = ["ops", "tool", "median", "min – max", "µs/op", "× tape", "import + first call",
               "peak RSS MB", "max rel err", "note"]
    return markdown_table(headers, out)


def slopes(rows: list[compare.Row]) -> dict[str, float]:
    return compare._growth_exponents([r for r in rows if r.timing and "first call only" not in r.note])


def targets(rows: list[compare.Row], sizes: list[int]) -> list[Target]:
    found = []
    grow = slopes(rows)
    for tool in (TOTAL, FWD_BWD, WHOLE):
        if tool in grow:
            found.append(Target(f"size: log-log slope of {tool}", grow[tool], 1.1,
                                f"N = {', '.join(f'{n:,}' for n in sorted(sizes))}"))
    for n in sorted(sizes):
        floor, ours, total = (_median(rows, n, tool) for tool in (TAPE, FWD_BWD, TOTAL))
        reading = _median(rows, n, LOWER)
        if reading:
            found.append(Target(f"size {n:,}: gradcalc parse + lower, µs per op", reading / n * 1e6, 2.0))
        if floor and ours:
            found.append(Target(f"size {n:,}: gradcalc forward + backward / tape", ours / floor, 2.0))
        for peer in ("micrograd", "torch"):
            theirs = _median(rows, n, peer)
            if theirs and total:
                found.append(Target(f"size {n:,}: gradcalc text → gradients / {peer} from the op list",
                                    total / theirs, 1.0))
    return found


def run(python: Interpreter, sizes: list[int], repeats: int, timeout: float) -> tuple[str, list[Target]]:
    rows = measure(python, sizes, repeats, timeout)
    text = (f"Median of {repeats} in-process runs after a warm-up (imports excluded); peers' "
            "“import + first call” is their cold start in a fresh process.\n\n" + table(rows) +
            "\nlog-log slope of time against N, over all sizes: " + _slopes_text(slopes(rows)))
    if len(sizes) > 2:
        last = sorted(sizes)[-2:]
        text += (f"\nover the last decade ({last[0]:,} to {last[1]:,} ops): " +
                 _slopes_text(slopes([r for r in rows if r.n_ops in last])))
    return text + "\n", targets(rows, sizes)


def _slopes_text(grow: dict[str, float]) -> str:
    return ", ".join(f"{tool} {slope:.2f}" for tool, slope in grow.items())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="In-process timings of the tape and gradcalc on one size.")
    parser.add_argument("--ops", type=int, required=True)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    json.dump(child(args.ops, args.repeats, args.seed), sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
