"""Long fuzzing of the command line: hostile inputs for as many minutes as you give it.

    python3 scripts/fuzz.py --minutes 10

Three targets in turn, each for a batch of examples with its own seed:
- `commands`: every command (eval, trace, graph, paths, check, grad) with every format, gate
  mode, number mode and --nonfinite mode, in-process, on random strings, token soups, random
  expression trees and expressions with kinks and steep functions;
- `data`: the same plus `eval --data` and `descend` on hostile CSV, .npy, .npz and Parquet
  files (odd headers and cells, ragged rows, odd dtypes, files cut short, random bytes);
- `processes`: command lines of both as processes of their own, with standard input, output or
  error closed, or standard output on a full disk (/dev/full).

Each case is held to the contract of tests/test_fuzz.py: exit code 0, 2 or 3 (a check that
exits 4 on a correct registry blamed a correct gradient), no traceback or internal error, one
error line and an empty stdout on error, bounded time. Prints how many inputs it tried and
every failing input (hypothesis shrinks each to a minimal one); exits 1 if there was any.
"""
from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from helpers import (  # noqa: E402
    STREAMS,
    check_contract,
    check_process_contract,
    command_lines,
    run_cli,
    run_process,
    timed,
)
from hypothesis import HealthCheck, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

BATCH = {"commands": 1_000, "data": 500, "processes": 60}  # examples per hypothesis run
TARGETS = tuple(BATCH)


def fuzz(minutes: float, first_seed: int, targets=TARGETS) -> tuple[int, list[str]]:
    deadline = time.monotonic() + 60 * minutes
    tried, findings = 0, []
    for batch in range(first_seed, first_seed + 10**9):
        if time.monotonic() >= deadline:
            break
        target = targets[batch % len(targets)]
        with tempfile.TemporaryDirectory() as data_dir:
            lines = command_lines(data_dir=None if target == "commands" else data_dir)

            @seed(batch)
            @settings(max_examples=BATCH[target], deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
            @given(lines, st.sampled_from(STREAMS))
            def case(line, streams):
                nonlocal tried
                if time.monotonic() >= deadline:
                    return
                tried += 1
                args, fmt, mode = line
                if target == "processes":
                    if any("\x00" in arg for arg in args):
                        return  # no process takes a NUL byte in an argument
                    start = time.monotonic()
                    check_process_contract(run_process(args, streams, cwd=str(ROOT)), streams,
                                           time.monotonic() - start)
                else:
                    run, elapsed = timed(run_cli, *args)
                    check_contract(run, elapsed, fmt, mode)

            try:
                case()
            except Exception as exc:  # findings: hypothesis has shrunk each and says which input
                for found in getattr(exc, "exceptions", [exc]):  # several distinct ones: a group
                    notes = "\n".join(getattr(found, "__notes__", []))  # the shrunk falsifying input
                    findings.append(f"seed {batch} ({target}): {type(found).__name__}: {found}\n{notes}")
                    print(findings[-1], flush=True)
        gc.collect()
        gc.freeze()  # click's test runner keeps every run's streams: don't rescan them while timing
    return tried, findings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=0, help="seed of the first batch")
    parser.add_argument("--target", choices=TARGETS, action="append",
                        help="fuzz only this target (repeatable) [default: all, in turn]")
    args = parser.parse_args()
    start = time.monotonic()
    tried, findings = fuzz(args.minutes, args.seed, tuple(args.target or TARGETS))
    elapsed = (time.monotonic() - start) / 60
    print(f"fuzzed {tried:,} inputs in {elapsed:.1f} minutes: {len(findings)} finding(s)")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
