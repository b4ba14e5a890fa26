"""`trace --format python` grows with the input, not with its square: a stage of n arguments
(max, min) names them once, and its local rules refer to that tuple."""
from __future__ import annotations

import json
import subprocess
import sys


def _program(cli, n: int) -> str:
    names = ",".join(f"x{k}" for k in range(n))
    at = ",".join(f"x{k}={k % 7}" for k in range(n))
    run = cli("trace", f"max({names})", "--at", at, "--format", "python", "-q")
    assert run.code == 0
    return run.stdout


def test_a_wide_max_is_written_in_linear_size(cli):
    small, large = len(_program(cli, 300)), len(_program(cli, 3000))
    assert large < 12 * small  # ten times the arguments: about ten times the text (it was 100)
    assert large < 400_000


def test_the_program_of_a_wide_max_prints_what_eval_prints(cli, tmp_path):
    program = _program(cli, 200)
    assert program.count("f_args = (x0, x1, x2,") == 1
    assert program.count("tie_share(f, f_args, ") == 200
    at = ",".join(f"x{k}={k % 7}" for k in range(200))
    names = ",".join(f"x{k}" for k in range(200))
    expected = cli("eval", f"max({names})", "--at", at, "--format", "json", "-q").json()
    ran = subprocess.run([sys.executable, "-"], input=program, capture_output=True, text=True, check=True)
    assert json.loads(ran.stdout) == expected
