"""Cross-check and time the interpreter floor against the peers; print a Markdown report.

    python bench/compare.py --ops 1000 --ops 10000 --peers micrograd,torch

Every peer's value and gradients must agree with ``bench.tape`` to 1e-9
relative before its time is quoted; a disagreeing peer is reported as such
and gets no time.  Peers run in child processes under a timeout; times are of warm
calls after a first, cold call (reported apart, as it includes lazy set-up;
library imports are left out of both), unless that first call was too slow to repeat.  A peer that is missing or
timed out is skipped with a note, as is one whose time at a smaller size,
scaled linearly, already exceeds the timeout.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the ``bench`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import gen, peers, tape  # noqa: E402
from bench.measure import Timing, format_seconds, loglog_slope, markdown_table, timing  # noqa: E402


@dataclass
class Row:
    """One tool at one size: its timing (None if skipped) and why it may lack one."""

    n_ops: int
    tool: str
    timing: Timing | None
    first_call: float | None = None
    import_seconds: float | None = None
    error: float | None = None
    note: str = ""
    peak_rss: int | None = None  # bytes, of the peer's child process


def time_floor(program: gen.Program, repeats: int) -> tuple[tuple[float, list[float]], Row]:
    """Reference result and in-process timing of the interpreter floor."""
    start = time.perf_counter()
    reference = tape.value_and_grad(program)
    first_call = time.perf_counter() - start
    t = timing(lambda: tape.value_and_grad(program), repeats=repeats, warmup=0)
    return reference, Row(program.n_ops, "tape", t, first_call, error=0.0)


def time_peer(peer: str, program: gen.Program, seed: int, reference, repeats: int, timeout: float) -> Row:
    """Run a peer in a child, check it against the reference, quote its time only if it agrees."""
    n = program.n_ops
    try:
        run = peers.run_in_subprocess(peer, n, seed, timeout=timeout, repeats=repeats)
    except RuntimeError as failure:
        last_line = (str(failure).strip().splitlines() or ["?"])[-1]
        return Row(n, peer, None, note=f"failed: {last_line[:120]}")
    if run is None:
        return Row(n, peer, None, note=f"timed out after {timeout:g} s")
    error = peers.max_relative_error(reference, (run.value, run.grads))
    if error > peers.RELATIVE_TOLERANCE:
        return Row(n, peer, None, error=error, note="DISAGREES with tape; not timed")
    if run.warm is None:
        single = Timing(run.first_call, run.first_call, run.first_call)
        return Row(n, peer, single, run.first_call, run.import_seconds, error, "first call only (slow)",
                   run.peak_rss)
    note = "one warm call (slow)" if run.warm.min == run.warm.max and repeats > 1 else ""
    return Row(n, peer, run.warm, run.first_call, run.import_seconds, error, note, run.peak_rss)


def report(rows: list[Row]) -> str:
    """Markdown table of all rows, then growth exponents for tools timed at several sizes."""
    floor = {r.n_ops: r.timing.median for r in rows if r.tool == "tape" and r.timing}
    table = [
        [
            r.n_ops,
            r.tool,
            format_seconds(r.timing.median if r.timing else None),
            format_seconds(r.timing.min if r.timing else None),
            format_seconds(r.timing.max if r.timing else None),
            format_seconds(r.first_call),
            format_seconds(r.import_seconds),
            _short(r.timing.median / r.n_ops * 1e6) if r.timing else None,
            _short(r.timing.median / floor[r.n_ops]) if r.timing and r.n_ops in floor else None,
            "-" if r.error is None else f"{r.error:.1e}",
            r.note,
        ]
        for r in rows
    ]
    headers = ["ops", "tool", "median", "min", "max", "first call", "import", "us/op", "x tape", "max rel err", "note"]
    out = markdown_table(headers, table)
    slopes = _growth_exponents(rows)
    if slopes:
        fitted = ", ".join(f"{tool} {slope:.2f}" for tool, slope in slopes.items())
        out += f"\nlog-log slope of time vs ops: {fitted}\n"
    return out


def _short(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:.2g}" if x < 1 else f"{x:.1f}"


def _growth_exponents(rows: list[Row]) -> dict[str, float]:
    by_tool: dict[str, list[tuple[int, float]]] = {}
    for r in rows:
        if r.timing:
            by_tool.setdefault(r.tool, []).append((r.n_ops, r.timing.median))
    return {
        tool: loglog_slope([n for n, _ in pts], [t for _, t in pts])
        for tool, pts in by_tool.items()
        if len({n for n, _ in pts}) >= 2
    }


def _skip_reason(peer: str, n: int, last_time: dict[str, tuple[int, float]], timeout: float) -> str | None:
    """Why ``peer`` is not run at ``n`` ops: missing, or expected to exceed the timeout.

    The expectation scales the last size's time linearly, the best case.

    Skipping by extrapolation also spares the machine: jit-compiling large
    programs grows memory as fast as time (jax_jit passed 16 GB at 10^5 ops).
    """
    reason = peers.unavailable_reason(peer)
    if reason or peer not in last_time:
        return reason
    n_prev, seconds = last_time[peer]
    expected = seconds * n / n_prev
    if expected > timeout:
        if math.isinf(expected):
            return "skipped: no usable result at a smaller size"
        return f"skipped: >= {expected:.0f} s expected from {n_prev} ops"
    return None


def _call_seconds(row: Row) -> float:
    """Seconds of one warm call (the first, if only that ran); infinite if none succeeded."""
    if row.timing is None:
        return math.inf
    return row.timing.median


def run(sizes: list[int], peer_names: list[str], seed: int, repeats: int, timeout: float) -> list[Row]:
    """All tools at all sizes, smallest first; peers expected to exceed ``timeout`` are skipped."""
    rows: list[Row] = []
    last_time: dict[str, tuple[int, float]] = {}
    for n in sorted(sizes):
        program = gen.generate(n, seed)
        reference, floor_row = time_floor(program, repeats)
        rows.append(floor_row)
        for peer in peer_names:
            reason = _skip_reason(peer, n, last_time, timeout)
            if reason:
                rows.append(Row(n, peer, None, note=reason))
                continue
            row = time_peer(peer, program, seed, reference, repeats, timeout)
            last_time[peer] = (n, _call_seconds(row))
            rows.append(row)
            print(f"  {n} ops {peer}: {format_seconds(row.timing.median if row.timing else None)} {row.note}",
                  file=sys.stderr, flush=True)  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, action="append", help="program size; repeatable")
    parser.add_argument("--peers", default=",".join(peers.PEERS), help="comma-separated peer names")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per peer child process")
    args = parser.parse_args(argv)
    names = [p for p in args.peers.split(",") if p]
    unknown = [p for p in names if p not in peers.PEERS]
    if unknown:
        parser.error(f"unknown peers {unknown}; choose from {sorted(peers.PEERS)}")
    rows = run(args.ops or [1000], names, args.seed, args.repeats, args.timeout)
    sys.stdout.write(report(rows))
    return 0 if all("DISAGREES" not in r.note for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
