"""Timing, memory and reporting helpers for the benchmark suite (standard library only).

The machine is shared and noisy, so every timing is a median over repeats,
with min and max kept to show the spread.
"""

from __future__ import annotations

import gc
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Callable, Mapping, NamedTuple, Sequence


class Timing(NamedTuple):
    """Seconds: median of the repeats, plus the fastest and slowest one."""

    median: float
    min: float
    max: float


def summarise(samples: Sequence[float]) -> Timing:
    """Median, fastest and slowest of some samples."""
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


def timing(fn: Callable[[], object], repeats: int = 7, warmup: int = 1) -> Timing:
    """Median, min and max in-process wall seconds of one call of ``fn``."""
    return summarise(time_samples(fn, repeats, warmup))


class ProcessRun(NamedTuple):
    """One child process: wall seconds, peak resident memory in bytes, exit code and outputs."""

    seconds: float
    peak_rss: int | None  # None unless asked for
    code: int
    stdout: str
    stderr: str


# A child's peak RSS as the kernel reports it (wait4) starts from the memory of the process
# that forked it, so a big parent would inflate every reading. A small process forks the
# child instead: GNU time when installed (about 2 MB), else this bare interpreter (about 8 MB).
_GNU_TIME = "/usr/bin/time"
_FORKER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as f:
    f.write(str(usage.ru_maxrss))
code = os.waitstatus_to_exitcode(status)
os._exit(code if code >= 0 else 128 - code)
"""


def _with_memory_probe(argv: Sequence[str], report: str) -> list[str]:
    if os.path.exists(_GNU_TIME):
        return [_GNU_TIME, "-f", "%M", "-o", report, *argv]
    return [sys.executable, "-S", "-c", _FORKER, report, *argv]


def run_process(argv: Sequence[str], stdin: str | bytes | None = None,
                env: Mapping[str, str] | None = None, cwd: str | None = None,
                memory: bool = False) -> ProcessRun:
    """Run ``argv`` once: its wall time (start-up included) and, with ``memory``, its peak RSS.

    Outputs go to temporary files, not pipes, so a chatty child never blocks and nothing but
    the child itself is timed. Timed runs leave ``memory`` off: the probe's own start-up
    would be billed to the child.
    """
    data = stdin.encode() if isinstance(stdin, str) else stdin
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.TemporaryFile() as source, tempfile.NamedTemporaryFile("r") as report:
        if data is not None:
            source.write(data)
            source.seek(0)
        command = _with_memory_probe(argv, report.name) if memory else list(argv)
        start = time.perf_counter()
        done = subprocess.run(command, stdin=source if data is not None else subprocess.DEVNULL,
                              stdout=out, stderr=err, env=None if env is None else dict(env), cwd=cwd)
        seconds = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        peak = None
        if memory:
            kib = report.read().split()
            peak = int(kib[-1]) * 1024 if kib and kib[-1].isdigit() else None  # Linux: KiB
        return ProcessRun(seconds, peak, done.returncode, out.read().decode(errors="replace"),
                          err.read().decode(errors="replace"))


def interleaved(commands: Mapping[str, Callable[[], float]], repeats: int, warmup: int = 1
                ) -> dict[str, list[float]]:
    """Samples of several timed callables taken in rounds (each round runs every one once).

    On a shared machine the load drifts; taking the commands in turn spreads the drift over
    all of them instead of billing it to whichever ran during the busy minute.
    """
    for _ in range(warmup):
        for call in commands.values():
            call()
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeats):
        for name, call in commands.items():
            samples[name].append(call())
    return samples


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


class Target(NamedTuple):
    """One target of the suite: what is compared, the measured ratio, and its bound."""

    name: str
    measured: float
    bound: float  # met when measured <= bound
    detail: str = ""

    @property
    def met(self) -> bool:
        return self.measured <= self.bound


def targets_table(targets: Sequence[Target]) -> str:
    """The targets as a Markdown table: measured ratio, bound, met or not."""
    rows = [[t.name, f"{t.measured:.2f}", f"≤ {t.bound:g}", "met" if t.met else "**not met**",
             t.detail] for t in targets]
    return markdown_table(["target", "measured", "bound", "", "detail"], rows)


def megabytes(n_bytes: float | None) -> str:
    return "-" if n_bytes is None else f"{n_bytes / 1e6:.0f}"


def ratio(numerator: float | None, denominator: float | None) -> str:
    """A ratio for the tables (``1.23×``); ``-`` when either side is missing."""
    if numerator is None or not denominator:
        return "-"
    return f"{numerator / denominator:.2f}×"
