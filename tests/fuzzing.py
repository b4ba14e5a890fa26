"""What the fuzz test and `scripts/fuzz.py` share: hostile inputs and the contract they check.

The contract, for any input whatever: exit code 0, 2 or 3; never a traceback or an internal
error; on error an empty stdout and an `error: ...` line on stderr; a bounded time.
"""
from __future__ import annotations

import json
import math
import time

from hypothesis import strategies as st

from gradcalc.core.ops import FUNCTIONS

# The grammar's alphabet, the characters it refuses, and look-alikes from outside ASCII.
GRAMMAR_CHARS = "0123456789.eE+-*/^(),;=\n\t abcxyz_"
REFUSED_CHARS = "#%!@'\"[]{}:<>&|~`\\$?"
STRANGE_CHARS = "ｘа٣１\x00\x1b\x7f\u200b\ufeff\u2212é\udcff𝑥"

NUMBERS = ["0", "1", "2", "0.5", ".5", "5.", "1e3", "1e-3", "1e400", "1e-400", "1e308",
           "9" * 30, "1e100000000", "0x10", "1_000", "2e", "00"]
NAMES = ["x", "y", "a", "b", "bc", "E", "I", "N", "S", "pi", "e", "lambda", "beta", "gamma",
         "_x", "__import__", "__class__", "if", "for", "not", "eval", "open", "input", "os"]
OPERATORS = ["+", "-", "*", "/", "^", "**", "(", ")", ",", ";", "=", "\n", "==", "//", "%",
             "!", "@", ".", "[", "]", "'", ":", " "]
TOKENS = NUMBERS + NAMES + OPERATORS + [f"{name}(" for name in FUNCTIONS]

# Values for the names the generated inputs use most; odd ones leave no name without a value.
AT = "x=0.5,y=-2,a=3,b=0,c=1e-3,z=7,bc=2,E=1,I=2,N=3,S=4,beta=1,gamma=2,_x=1"

characters = st.text(st.sampled_from(GRAMMAR_CHARS + REFUSED_CHARS + STRANGE_CHARS), max_size=40)
garbage = st.one_of(characters, st.text(max_size=30))  # the second: any Unicode at all
token_soup = st.lists(st.sampled_from(TOKENS), max_size=25).map("".join)
spaced_soup = st.lists(st.sampled_from(TOKENS), max_size=25).map(" ".join)
expressions = st.one_of(garbage, token_soup, spaced_soup)
at_values = st.one_of(
    st.just(AT),
    st.builds(lambda name, value: f"{AT},{name}={value}", st.sampled_from(["w", "x", "q"]),
              st.one_of(token_soup, characters)),
    token_soup,
)
commands = st.sampled_from(["eval", "trace"])
formats = st.sampled_from(["json", "table", "csv"])
nonfinite = st.sampled_from(["strict", "ieee"])

TIME_BOUND = 2.0  # seconds for one small input, in-process


def timed(run_cli, *args: str, **options) -> tuple:
    """The run and the CPU seconds it took; a slow run is timed again, and the faster counts.

    CPU time, because wall time counts other processes' load; twice, because a one-off pause
    (the cycle collector sweeping the fuzzer's own memory) is not the input's fault.
    """
    times = []
    while len(times) < 2 and min(times, default=TIME_BOUND) >= TIME_BOUND:
        start = time.process_time()
        run = run_cli(*args, **options)
        times.append(time.process_time() - start)
    return run, min(times)


def check_contract(run, elapsed: float, fmt: str = "table", mode: str = "strict") -> None:
    """Assert what every input must get: a result or one clean error, quickly."""
    assert run.code in (0, 2, 3), (run.code, run.stderr)
    for text in (run.stdout, run.stderr):
        assert "Traceback" not in text and "internal error" not in text, run.stderr
    if run.code:
        assert run.stdout == "", run.stdout
        lines = run.stderr.splitlines()
        assert lines and lines[-1].startswith("error: "), run.stderr
        assert all(line.startswith(("error: ", "warning: ")) for line in lines), run.stderr
    else:
        assert run.stdout.strip()
        if fmt == "json" and mode == "strict" and not run.stdout.startswith("Usage:"):  # `-h`
            assert_all_finite(json.loads(run.stdout))
    assert elapsed < TIME_BOUND, elapsed


def assert_all_finite(document: dict) -> None:
    """Strict mode prints no inf or nan (JSON would spell them as strings)."""
    numbers = [document["value"], *document["at"].values(), *document["gradient"].values()]
    for node in document.get("nodes", ()):
        numbers += [node["value"], node["grad"], *(p for p in node["local"] if p is not None)]
    assert all(isinstance(x, float) and math.isfinite(x) for x in numbers), numbers
