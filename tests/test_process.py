"""gradcalc as a real process in a hostile environment: closed or full standard streams,
signals, an encoding that is not UTF-8, the debug switch. Each ends with its documented exit
code and at most one line on stderr, never "a bug in gradcalc"."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

GRADCALC = [sys.executable, "-m", "gradcalc"]
POINT = ["eval", "3*(a+b*c)", "--at", "a=5,b=3,c=2"]
FULL = "/dev/full"
needs_dev_full = pytest.mark.skipif(not os.path.exists(FULL), reason="no /dev/full on this system")


def run(args, *, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        close=(), env=None, cwd=None):
    """Run gradcalc with the descriptors in `close` closed, as `<&-`, `>&-` or `2>&-` do."""
    environment = {**os.environ, **(env or {})}

    def closing():
        for fd in close:
            os.close(fd)

    return subprocess.run([*GRADCALC, *args], stdin=stdin, stdout=stdout, stderr=stderr,
                          preexec_fn=closing, env=environment, cwd=cwd, timeout=60, text=True)


def one_error(stderr: str, fragment: str) -> None:
    assert stderr.count("\n") == 1 and stderr.startswith("error: "), stderr
    assert fragment in stderr and "bug" not in stderr, stderr


def test_a_closed_standard_input_is_named_when_the_expression_is_to_be_read_from_it():
    done = run(["eval", "-", "--at", "x=1"], stdin=None, close=(0,))
    assert (done.returncode, done.stdout) == (2, "")
    one_error(done.stderr, "standard input is closed, so the expression ('-') cannot be read")


def test_a_closed_standard_input_is_named_when_the_data_is_to_be_read_from_it():
    done = run(["eval", "w*x", "--data", "-", "--at", "w=1"], stdin=None, close=(0,))
    assert (done.returncode, done.stdout) == (2, "")
    one_error(done.stderr, "standard input is closed, so the rows of --data - cannot be read")


def test_a_closed_standard_input_is_not_needed_when_the_expression_is_given():
    done = run(POINT + ["--format", "json"], stdin=None, close=(0,))
    assert done.returncode == 0 and '"value": 33.0' in done.stdout


@pytest.mark.parametrize("args, code", [(POINT, 0), (["eval", "3*(a+", "--at", "a=5"], 2),
                                        (["eval", "log(x)", "--at", "x=0"], 3),
                                        (["check", "x", "--at", "x=1"], 0)])
def test_a_closed_standard_error_keeps_the_exit_code(args, code):
    done = run(args, stderr=None, close=(2,))
    assert done.returncode == code


def test_a_closed_standard_error_does_not_become_the_output_file(tmp_path):
    """The first file opened would get descriptor 2 if it stayed closed."""
    done = run(["eval", "x", "--at", "x=1,y=2", "-o", "out.json"], stderr=None, close=(2,),
               cwd=tmp_path)
    assert done.returncode == 0
    text = (tmp_path / "out.json").read_text()
    assert text.startswith("{") and "warning" not in text


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_a_closed_standard_output_is_a_normal_end(fmt):
    done = run(POINT + ["--format", fmt], stdout=None, close=(1,))
    assert (done.returncode, done.stderr) == (0, "")


@needs_dev_full
@pytest.mark.parametrize("args", [POINT, POINT + ["--format", "json"], ["--help"], ["eval", "--help"],
                                  ["--version"], ["trace", "-f", "examples/chain.txt", "--at", "x=0.3,r=2.5"],
                                  ["eval", "(w*x - y)**2", "--data", "examples/points.csv", "--at", "w=1",
                                   "--reduce", "none"]])
def test_a_full_disk_on_standard_output_is_exit_2_in_one_line(args):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(FULL, "w") as full:
        done = run(args, stdout=full, cwd=root)
    assert done.returncode == 2
    one_error(done.stderr.replace("warning: columns of examples/points.csv that the expression "
                                  "does not use: y\n", ""),
              "cannot write standard output: No space left on device")


@pytest.mark.parametrize("value", ["0", "", "no", "false", "off"])
def test_gradcalc_debug_with_a_false_value_shows_no_traceback(value):
    done = run(["eval", "x", "--at", "x=1"], env={"GRADCALC_DEBUG": value, "PYTHONIOENCODING": "utf-8"},
               stdout=subprocess.PIPE)
    assert done.returncode == 0 and done.stderr == ""
    from gradcalc.cli.app import debug_asked

    os.environ["GRADCALC_DEBUG"] = value
    try:
        assert not debug_asked()
    finally:
        del os.environ["GRADCALC_DEBUG"]


@pytest.mark.parametrize("value", ["1", "true", "YES", " on "])
def test_gradcalc_debug_with_a_true_value_asks_for_tracebacks(monkeypatch, value):
    from gradcalc.cli.app import debug_asked

    monkeypatch.setenv("GRADCALC_DEBUG", value)
    assert debug_asked()


def test_a_table_on_an_ascii_standard_output_falls_back_to_ascii():
    done = run(POINT, env={"PYTHONIOENCODING": "ascii"})
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.splitlines() == [
        "f = 33",
        "+---------------------------+",
        "| input | value | df/dinput |",
        "|-------+-------+-----------|",
        "| a     |     5 |         3 |",
        "| b     |     3 |         6 |",
        "| c     |     2 |         9 |",
        "+---------------------------+",
    ]


@pytest.mark.parametrize("args", [["trace", "x**2*(3*x+1) - sin(x**2)", "--at", "x=1.5"],
                                  ["check", "sin(x)", "--at", "x=1"], ["grad", "sin(x)*y"],
                                  ["paths", "x**2*(3*x+1) - sin(x**2)", "--at", "x=1.5"],
                                  ["eval", "x**2*y", "--at", "x=1.5,y=-2", "--hessian"],
                                  ["eval", "x**2*y", "--at", "x=1.5,y=-2", "--exact"]])
def test_every_command_writes_ascii_when_standard_output_takes_only_ascii(args):
    done = run(args, env={"PYTHONIOENCODING": "ascii"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.isascii() and "d" in done.stdout
    widths = {len(line) for line in done.stdout.splitlines() if line.startswith("|")}
    assert len(widths) <= 3  # each table's rows keep its width (a trace has two tables)


def _started(args, **options):
    process = subprocess.Popen([*GRADCALC, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, **options)
    time.sleep(1.5)  # past start-up: the run waits on its standard input, or computes
    return process


SLOW = ["eval", "+".join(f"sin({k}*x)" for k in range(1, 300)), "--at", "x=1", "--digits", "3000"]


@pytest.mark.parametrize("args", [["eval", "-", "--at", "x=1"], SLOW], ids=["reading", "computing"])
@pytest.mark.parametrize("signum, code, said", [(signal.SIGINT, 130, "interrupted"),
                                                (signal.SIGTERM, 143, "terminated")])
def test_a_signal_ends_the_run_with_one_line(args, signum, code, said):
    process = _started(args)
    process.send_signal(signum)
    out, err = process.communicate(timeout=30)
    assert (process.returncode, out, err) == (code, "", f"error: {said}\n")


def test_sigterm_leaves_an_existing_output_file_as_it_was(tmp_path):
    target = tmp_path / "result.json"
    target.write_text("old\n")
    process = _started(SLOW + ["-o", str(target)])
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=30)
    assert process.returncode == 143
    assert target.read_text() == "old\n" and sorted(os.listdir(tmp_path)) == ["result.json"]


@pytest.mark.parametrize("option, value", [("--rtol", "nan"), ("--atol", "nan"), ("--rtol", "inf"),
                                           ("--atol", "NaN")])
def test_check_tolerances_are_finite_numbers(cli, option, value):
    done = cli("check", "x", "--at", "x=1", option, value)
    assert (done.code, done.stdout) == (2, "")
    assert done.stderr == (f"error: Invalid value for '{option}': '{value}' is not a finite number "
                           "(see 'gradcalc check --help')\n")


@pytest.mark.parametrize("value", ["nan", "inf", "-nan"])
def test_the_learning_rate_is_a_finite_number(cli, tmp_path, value):
    data = tmp_path / "d.csv"
    data.write_text("x,y\n1,2\n")
    done = cli("descend", "(w*x-y)**2", "--data", str(data), "--at", "w=0", "--lr", value)
    assert (done.code, done.stdout) == (2, "")
    assert f"'{value}' is not a finite number" in done.stderr and done.stderr.count("\n") == 1


def test_an_eof_error_from_a_library_is_reported_as_what_it_is(cli, monkeypatch):
    """click turns an EOFError into "aborted" after a blank line; no prompt reads a terminal
    here, so one escaping a library is a bug, and said in one line."""
    from gradcalc.cli import options

    def prepare(*args, **kwargs):
        raise EOFError("No data left in file")

    monkeypatch.setattr(options, "prepare", prepare)
    from gradcalc.cli import commands

    monkeypatch.setattr(commands, "prepare", prepare)
    done = cli("eval", "x", "--at", "x=1")
    assert (done.code, done.stdout) == (1, "")
    assert done.stderr == ("error: internal error (EOFError: No data left in file); this is a bug in "
                           "gradcalc — rerun with --debug for the traceback\n")


@needs_dev_full
@pytest.mark.parametrize("args, code", [(POINT, 0), (["eval", "x", "--at", "x=1,y=2"], 0),
                                        (["eval", "3*(a+", "--at", "a=5"], 2),
                                        (["eval", "log(x)", "--at", "x=0"], 3)])
def test_a_full_standard_error_keeps_the_exit_code(args, code):
    with open(FULL, "w") as full:
        done = run(args, stderr=full)
    assert done.returncode == code
