"""Long fuzzing of the command line: hostile inputs for as many minutes as you give it.

    python3 scripts/fuzz.py --minutes 10

Feeds random strings, random token sequences from the grammar's alphabet and hostile `--at`
values to `eval`, `trace`, `graph` and `paths` in-process (every format, gate mode and
--nonfinite mode) and checks the contract of tests/test_fuzz.py on each: exit code 0, 2 or 3,
no traceback, empty stdout on error, under 2 s of CPU. Prints how many inputs it tried and
every failing input (hypothesis shrinks each to a minimal one); exits 1 if there was any.
"""
from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from helpers import (  # noqa: E402
    at_values,
    check_contract,
    commands,
    formats,
    hostile_texts,
    nonfinite,
    run_cli,  # noqa: E402
    timed,
)
from hypothesis import HealthCheck, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

BATCH = 2_000  # examples per hypothesis run; each run has its own seed


def fuzz(minutes: float, first_seed: int) -> tuple[int, list[str]]:
    deadline = time.monotonic() + 60 * minutes
    tried, findings = 0, []
    gates = st.sampled_from(["written", "fused", "primitive"])
    drawings = st.sampled_from(["dot", "mermaid", "svg"])
    for batch in range(first_seed, first_seed + 10**9):
        if time.monotonic() >= deadline:
            break

        @seed(batch)
        @settings(max_examples=BATCH, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(st.one_of(commands, st.sampled_from(["graph", "paths"])), hostile_texts, at_values,
               formats, nonfinite, gates, drawings)
        def case(command, expression, at, fmt, mode, gate, drawing):
            nonlocal tried
            if time.monotonic() >= deadline:
                return
            tried += 1
            args = [command, expression, "--at", at, "--gates", gate]
            if command == "graph":
                args += ["--format", drawing]
            elif command == "paths":
                args += ["--wrt", "x"]
            else:
                args += ["--format", fmt, "--nonfinite", mode]
            run, elapsed = timed(run_cli, *args)
            check_contract(run, elapsed, fmt if command in ("eval", "trace") else "table", mode)

        try:
            case()
        except Exception as exc:  # a finding: hypothesis has shrunk it and says which input
            notes = "\n".join(getattr(exc, "__notes__", []))  # the shrunk falsifying input
            findings.append(f"seed {batch}: {type(exc).__name__}: {exc}\n{notes}")
            print(findings[-1], flush=True)
        gc.collect()
        gc.freeze()  # click's test runner keeps every run's streams: don't rescan them while timing
    return tried, findings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=0, help="seed of the first batch")
    args = parser.parse_args()
    start = time.monotonic()
    tried, findings = fuzz(args.minutes, args.seed)
    elapsed = (time.monotonic() - start) / 60
    print(f"fuzzed {tried:,} inputs in {elapsed:.1f} minutes: {len(findings)} finding(s)")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
