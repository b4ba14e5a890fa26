"""Time every case of the bad-input corpus as its own process, interpreter start-up included.

    python3 scripts/time_corpus.py            # each case must finish within 2 s
    python3 scripts/time_corpus.py --bound 1.5

Runs `python3 -m gradcalc eval ...` for each row of tests/test_corpus.py (arguments that no
real argv can carry — NUL bytes, more than 100 kB — go through a JSON file instead), checks
its exit code, and then times a 1 MB expression read from standard input. Prints the slowest
cases; exits 1 if any case is too slow or gets the wrong exit code.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests")]

from test_corpus import CORPUS, arguments, corpus_id  # noqa: E402

ARGV_BYTES = 100_000  # Linux refuses a single argument over 128 kB
RUN_ARGS_FROM_FILE = ("import json, sys; from gradcalc.cli import main; "
                      "main(json.load(open(sys.argv[1], encoding='utf-8')), prog_name='gradcalc')")


def command(args: list[str], scratch: Path) -> list[str]:
    if all("\x00" not in a for a in args) and sum(len(a) for a in args) < ARGV_BYTES:
        return [sys.executable, "-m", "gradcalc", *args]
    path = scratch / "args.json"
    path.write_text(json.dumps(args), encoding="utf-8")
    return [sys.executable, "-c", RUN_ARGS_FROM_FILE, str(path)]


def timed_run(argv: list[str], stdin: bytes | None = None) -> tuple[int, float, str]:
    start = time.perf_counter()
    done = subprocess.run(argv, input=stdin, stdin=None if stdin else subprocess.DEVNULL,
                          capture_output=True, cwd=ROOT, timeout=120)
    return done.returncode, time.perf_counter() - start, done.stderr.decode(errors="replace")


def megabyte_expression() -> str:
    """About 1 MB: a sum of products of 1,000 inputs, sines and sigmoids."""
    terms, size, k = [], 0, 0
    while size < 1_000_000:
        term = f"sin(x{k % 1000})*x{(7 * k) % 1000} + sigmoid(x{(3 * k) % 1000})"
        terms.append(term)
        size += len(term) + 3
        k += 1
    return " + ".join(terms)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bound", type=float, default=2.0, help="seconds allowed per case")
    bound = parser.parse_args().bound
    times, failures = [], []
    with tempfile.TemporaryDirectory() as scratch:
        for case in CORPUS:
            code, elapsed, stderr = timed_run(command(arguments(case), Path(scratch)))
            times.append((elapsed, corpus_id(case)))
            if code != case.code or elapsed >= bound:
                failures.append(f"{corpus_id(case)}: exit {code} (want {case.code}), "
                                f"{elapsed:.2f} s {stderr[:200]}")
    times.sort(reverse=True)
    print(f"{len(CORPUS)} corpus cases as processes: slowest {times[0][0]:.2f} s, "
          f"median {times[len(times) // 2][0]:.2f} s (bound {bound} s)")
    for elapsed, name in times[:5]:
        print(f"  {elapsed:.2f} s  {name}")
    text = megabyte_expression()
    at = "x=[" + ",".join(str(k % 7 - 3) for k in range(1000)) + "]"
    code, elapsed, stderr = timed_run([sys.executable, "-m", "gradcalc", "eval", "-", "--at", at,
                                       "--format", "json"], text.encode())
    print(f"a {len(text):,}-character expression on stdin: exit {code} in {elapsed:.2f} s")
    if code != 0:
        failures.append(f"1 MB expression: exit {code}: {stderr[:200]}")
    for failure in failures:
        print("FAIL", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
