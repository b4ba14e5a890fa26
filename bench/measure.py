"""Timing, memory and reporting helpers for the benchmark suite (standard library only).

The machine is shared and noisy, so every timing is a median over repeats,
with min and max kept to show the spread.
"""

from __future__ import annotations

import gc
import math
import statistics
import subprocess
import sys
import time
from typing import Callable, NamedTuple, Sequence


class Timing(NamedTuple):
    """Seconds: median of the repeats, plus the fastest and slowest one."""

    median: float
    min: float
    max: float


def _summarise(samples: Sequence[float]) -> Timing:
    return Timing(statistics.median(samples), min(samples), max(samples))


def time_samples(fn: Callable[[], object], repeats: int = 7, warmup: int = 1) -> list[float]:
    """Wall seconds of ``repeats`` calls of ``fn`` after ``warmup`` untimed calls.

    Garbage is collected before each call (untimed) so one call's leftovers do
    not bill the next; the collector stays on during the call, as in real use.
    """
    if repeats < 1:
        raise ValueError("repeats must be >= 1")
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def median_time(fn: Callable[[], object], repeats: int = 7, warmup: int = 1) -> float:
    """Median in-process wall seconds of one call of ``fn``."""
    return statistics.median(time_samples(fn, repeats, warmup))


def timing(fn: Callable[[], object], repeats: int = 7, warmup: int = 1) -> Timing:
    """Median, min and max in-process wall seconds of one call of ``fn``."""
    return _summarise(time_samples(fn, repeats, warmup))


def _run_quietly(argv: Sequence[str], stdin_bytes: bytes | None) -> None:
    completed = subprocess.run(
        list(argv),
        input=stdin_bytes,
        stdin=None if stdin_bytes is not None else subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"{argv!r} exited {completed.returncode}: {completed.stderr.decode(errors='replace')[-2000:]}"
        )


def process_time(
    argv: Sequence[str], repeats: int = 15, warmup: int = 1, stdin: str | bytes | None = None
) -> Timing:
    """Whole-process wall seconds of running ``argv`` (start-up and imports included)."""
    stdin_bytes = stdin.encode() if isinstance(stdin, str) else stdin
    return _summarise(time_samples(lambda: _run_quietly(argv, stdin_bytes), repeats, warmup))


_RSS_PROBE = """
import resource, subprocess, sys
argv = sys.argv[1:]
rc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL).returncode
if rc != 0:
    sys.exit(f"{argv!r} exited {rc}")
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def peak_rss(argv: Sequence[str]) -> int:
    """Peak resident set size of running ``argv``, in bytes.

    RUSAGE_CHILDREN reports the largest child ever waited for, so the probe runs
    in a fresh intermediate process whose only child is ``argv``.
    """
    out = subprocess.run(
        [sys.executable, "-c", _RSS_PROBE, *argv],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    kib = int(out.split()[-1])  # Linux reports ru_maxrss in KiB
    return kib * 1024 if sys.platform != "darwin" else kib


def loglog_slope(sizes: Sequence[float], seconds: Sequence[float]) -> float:
    """Least-squares slope of log(seconds) against log(size): ~1 linear, ~2 quadratic."""
    if len(sizes) != len(seconds) or len(sizes) < 2:
        raise ValueError("need at least two (size, seconds) pairs")
    xs = [math.log(s) for s in sizes]
    ys = [math.log(t) for t in seconds]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        raise ValueError("sizes must not all be equal")
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx


def format_seconds(seconds: float | None) -> str:
    """Human-scaled duration (``850 us``, ``12.3 ms``, ``4.56 s``); ``-`` if absent."""
    if seconds is None or math.isnan(seconds):
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} us"
    if seconds < 1.0:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub-flavoured Markdown table; numbers right-aligned, text left-aligned."""
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    numeric = [bool(rows) and all(_is_number(row[i]) for row in rows) for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        padded = (v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric))
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join("-" * (w + 1) + (":" if num else "-") for w, num in zip(widths, numeric)) + "|"
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])]) + "\n"


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value).replace("|", "\\|")
