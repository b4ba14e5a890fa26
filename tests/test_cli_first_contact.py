"""The command line at the door: what a new user meets in the first minutes.

A bare `gradcalc`, mistyped options, values given the wrong way, a missing optional library,
a pipe closed early, output files (suffixes, `-`, atomic replacement), the expression on
standard input, help that matches behaviour, -q, --debug and --color. Where a real terminal,
pipe or missing module matters, the test runs a real process.
"""
from __future__ import annotations

import json
import os
import pty
import select
import stat
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest

from gradcalc.cli import main
from gradcalc.cli.app import missing_module

ROOT = Path(__file__).resolve().parent.parent
LOGISTIC = ("-f", str(ROOT / "examples" / "logistic" / "loss.txt"),
            "--data", str(ROOT / "examples" / "logistic" / "data.csv"), "--at", "w1=0,w2=0,b=0")
BOLD = "\x1b[1m"


def gradcalc(*args: str, stdin=subprocess.DEVNULL, prelude: str = "", **options) -> subprocess.CompletedProcess:
    """gradcalc as a process of its own; `prelude` runs first (to hide a module, say)."""
    code = f"import sys; sys.argv[0] = 'gradcalc'; {prelude}\nfrom gradcalc.cli import run; run()"
    streams = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, **options}
    return subprocess.run([sys.executable, "-c", code, *args], stdin=stdin, text=True, timeout=120,
                          cwd=ROOT, **streams)


def without(module: str) -> str:
    """A prelude that makes `import module` fail as if it were not installed."""
    return f"sys.modules[{module!r}] = None"


# ---- a bare gradcalc, and options that click must name ------------------------------------

def test_bare_gradcalc_prints_its_help_and_exits_0(cli):
    run = cli()
    assert (run.code, run.stderr) == (0, "")
    assert run.stdout.startswith("Usage: gradcalc [OPTIONS] COMMAND [ARGS]...\n")
    assert "\\n" not in run.stdout and "Commands:" in run.stdout


def test_python_m_gradcalc_without_arguments_is_the_same_help():
    done = subprocess.run([sys.executable, "-m", "gradcalc"], capture_output=True, text=True, cwd=ROOT)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("Usage: gradcalc [OPTIONS] COMMAND [ARGS]...\n")


@pytest.mark.parametrize("args, message", [
    (("eval", "x*y", "--at", "x=1,y=2", "--formt", "json"),
     "error: No such option '--formt'. (Did you mean one of: '--format', '--wrt'?) "
     "(see 'gradcalc eval --help')\n"),
    (("trace", "x", "--at", "x=1", "--data", "f.csv"),
     "error: No such option '--data'. (Did you mean one of: '--at', '--exact', '--gates'?) "
     "(see 'gradcalc trace --help')\n"),
    (("eval", "--bogus", "x", "--at", "x=1"), "error: No such option '--bogus'. (see 'gradcalc eval --help')\n"),
    (("graph", "x", "--wrt", "x"),
     "error: No such option '--wrt'. (Did you mean one of: '--at', '--format'?) (see 'gradcalc graph --help')\n"),
])
def test_an_unknown_option_is_named_by_click_and_never_moved(cli, args, message):
    run = cli(*args)
    assert (run.code, run.stdout, run.stderr) == (2, "", message)


@pytest.mark.parametrize("expression, at, value", [
    ("-y*log(p)", "y=1,p=0.5", 0.6931471805599453),
    ("-3*x", "x=2", -6.0),
    ("-(a+b)", "a=1,b=2", -3.0),
    ("--x", "x=2", 2.0),  # two minus signs: an expression, as the corpus expects
])
def test_a_leading_minus_expression_is_the_argument_wherever_it_stands(cli, expression, at, value):
    for args in (("eval", expression, "--at", at), ("eval", "--at", at, expression),
                 ("eval", "-q", expression, "--at", at)):
        run = cli(*args, "--format", "json")
        assert (run.code, run.stderr) == (0, ""), args
        assert run.json()["value"] == value


# ---- values given the wrong way ---------------------------------------------------------

def test_a_second_assignment_outside_at_says_how_to_give_it(cli):
    run = cli("eval", "a*b", "--at", "a=5", "b=3")
    assert (run.code, run.stdout) == (2, "")
    assert run.stderr == ("error: b=3 follows --at a=5 as an argument of its own: separate the values "
                          "with ',' (--at a=5,b=3) or repeat --at (--at a=5 --at b=3) "
                          "(see 'gradcalc eval --help')\n")


def test_an_assignment_after_the_expression_says_to_use_at(cli):
    run = cli("eval", "a*b", "b=3", "--at", "a=5")
    assert run.code == 2
    assert run.stderr.startswith("error: b=3 is an argument of its own: give values with --at (--at b=3)")


def test_values_given_as_the_expression_say_to_use_at(cli):
    run = cli("eval", "a=5,b=3")
    assert (run.code, run.stdout) == (2, "")
    assert run.stderr == ("error: a=5,b=3 gives values, not an expression: give them with --at "
                          "(--at a=5,b=3) and the expression as EXPR (see 'gradcalc eval --help')\n")


def test_a_program_that_assigns_is_still_an_expression(cli):
    assert cli("eval", "y=3*x", "--at", "x=2", "--format", "json").json()["value"] == 6.0


# ---- a missing optional library is an installation line, exit 2 ----------------------------

@pytest.mark.parametrize("module, args, message", [
    ("numpy", ("eval", *LOGISTIC), "--data needs numpy: pip install 'gradcalc[data]'"),
    ("numpy", ("descend", *LOGISTIC, "--steps", "1"), "descend needs numpy: pip install 'gradcalc[data]'"),
    ("numpy", ("eval", *LOGISTIC, "--engine", "dask"), "--engine dask needs numpy: pip install 'gradcalc[dask]'"),
    ("s3fs", ("eval", "x", "--data", "s3://bucket/points.csv", "--engine", "dask"),
     "--engine dask needs s3fs: pip install s3fs"),
    ("distributed", ("eval", "x1", *LOGISTIC[2:4], "--engine", "dask", "--scheduler", "tcp://localhost:1"),
     "--scheduler needs dask.distributed: pip install 'gradcalc[dask]'"),
])
def test_a_missing_library_is_exit_2_with_the_line_that_installs_it(module, args, message):
    if module != "numpy":
        pytest.importorskip("dask.dataframe")
    done = gradcalc(*args, prelude=without(module))
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.splitlines()[-1] == f"error: {message}"
    assert "internal error" not in done.stderr and "\\n" not in done.stderr


def test_parquet_without_pyarrow_says_which_extra(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    path = tmp_path / "points.parquet"
    pq.write_table(pa.table({"x": [1.0, 2.0]}), path)
    done = gradcalc("eval", "x", "--data", str(path), prelude=without("pyarrow"))
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (f"error: --data {path}: reading Parquet needs pyarrow "
                           "(pip install 'gradcalc[arrow]')\n")


def test_the_missing_library_is_found_however_deep_the_library_wrapped_it():
    """Dask's own ImportError wraps fsspec's, which wraps the missing module (s3fs)."""
    try:
        try:
            try:
                raise ModuleNotFoundError("No module named 's3fs'", name="s3fs")
            except ImportError as inner:
                raise ImportError("Install s3fs to access S3") from inner
        except ImportError:
            raise ImportError("An error occurred while calling the read_csv method registered "
                              "to the pandas backend.\nOriginal Message: Install s3fs to access S3")
    except ImportError as outer:
        assert missing_module(outer) == "s3fs"
    assert missing_module(ImportError("cannot import name 'x' from 'numpy'")) is None


def test_a_missing_module_of_gradcalc_itself_is_a_bug(cli, monkeypatch):
    monkeypatch.setitem(sys.modules, "gradcalc.cli.data", None)
    run = cli("eval", "x", "--data", "points.csv")
    assert run.code == 1 and run.stdout == ""
    assert run.stderr.startswith("error: internal error (ModuleNotFoundError: import of gradcalc.cli.data")


# ---- a closed standard output is a normal end, exit 0 -------------------------------------

def into_closed_pipe(*args: str, prelude: str = "") -> tuple[int, str]:
    """Run with standard output a pipe whose reader has already gone, as `| head` leaves it."""
    read, write = os.pipe()
    os.close(read)
    try:
        done = gradcalc(*args, prelude=prelude, stdout=write, stderr=subprocess.PIPE)
    finally:
        os.close(write)
    return done.returncode, done.stderr


BIG_SUM = "+".join(f"x{k}" for k in range(600))
BIG_AT = "x=[" + ",".join("1" for _ in range(600)) + "]"


@pytest.fixture(scope="module")
def rows_csv(tmp_path_factory):
    """Enough rows that --reduce none writes far more than a pipe holds."""
    path = tmp_path_factory.mktemp("rows") / "rows.csv"
    path.write_text("x,y\n" + "".join(f"{k / 1000},{k % 7}\n" for k in range(30_000)))
    return str(path)


@pytest.mark.parametrize("args", [
    ("--help",),
    ("eval", "--help"),
    ("eval", "x*y", "--at", "x=1,y=2"),
    ("eval", "x*y", "--at", "x=1,y=2", "--format", "json"),
    ("trace", BIG_SUM, "--at", BIG_AT, "--no-collapse"),
    ("trace", BIG_SUM, "--at", BIG_AT, "--format", "python"),
    ("graph", BIG_SUM, "--format", "svg", "-o", "-"),
    ("paths", "x*y", "--at", "x=1,y=2", "--wrt", "x"),
    ("grad", "x*y*z"),
    ("check", "x*y", "--at", "x=1,y=2"),
    ("eval", "x", "--at", "x=1", "--digits", "3000"),
], ids=lambda args: " ".join(a[:12] for a in args[:3]))
def test_a_closed_stdout_ends_every_command_with_exit_0_and_nothing_on_stderr(args):
    assert into_closed_pipe(*args) == (0, "")


@pytest.mark.parametrize("extra", [(), ("--on-error", "skip"), ("--format", "json")])
def test_per_row_output_into_a_closed_pipe_ends_with_exit_0(rows_csv, extra):
    assert into_closed_pipe("eval", "(w*x - y)**2", "--data", rows_csv, "--at", "w=1",
                            "--reduce", "none", *extra) == (0, "")


def test_descend_into_a_closed_pipe_ends_with_exit_0(rows_csv):
    for extra in ((), ("--history", "-")):
        assert into_closed_pipe("descend", "(w*x - y)**2", "--data", rows_csv, "--at", "w=0",
                                "--steps", "2", *extra) == (0, "")


def test_a_pipeline_under_pipefail_succeeds_when_head_stops_reading(rows_csv):
    command = (f"set -o pipefail; {sys.executable} -m gradcalc eval '(w*x - y)**2' --data {rows_csv} "
               "--at w=1 --reduce none | head -2")
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert (done.returncode, done.stderr) == (0, "")
    header, first = done.stdout.splitlines()
    assert header == "row,f,df/dw,df/dx,df/dy" and first.startswith("1,")


def test_check_keeps_its_verdict_when_the_reader_goes():
    wrong_rule = ("from gradcalc.core.ops import REGISTRY; "
                  "REGISTRY['mul'] = REGISTRY['mul']._replace(partial=lambda m, out, args, i: args[i])")
    code, stderr = into_closed_pipe("check", "a*b", "--at", "a=2,b=3", prelude=wrong_rule)
    assert code == 4 and stderr.startswith("error: ")


# ---- output files ------------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (("graph", "x*y", "-o", "circuit.jpg"),
     "error: -o circuit.jpg: graph does not write .jpg files; it writes .dot, .gv, .mmd, .mermaid, "
     ".svg, .png, .pdf, .html or .tikz ('-': standard output), or any file with --format dot, mermaid, svg, "
     "png, pdf, html or tikz (see 'gradcalc graph --help')\n"),
    (("eval", "x", "--at", "x=1", "-o", "out.svg"),
     "error: -o out.svg: eval does not write .svg files; it writes .txt, .json, .jsonl or .csv "
     "('-': standard output), or any file with --format table, json or csv (see 'gradcalc eval --help')\n"),
    (("trace", "x", "--at", "x=1", "-o", "notes"),
     "error: -o notes: trace does not write files without a suffix; it writes .txt, .json, .jsonl, .csv, "
     ".md, .markdown, .tex, .py or .html ('-': standard output), or any file with --format table, json, "
     "csv, python, markdown, latex or html (see 'gradcalc trace --help')\n"),
    (("descend", *LOGISTIC, "--plot", "curve.pdf"),
     "error: --plot curve.pdf: --plot does not write .pdf files; it writes .svg ('-': standard output) "
     "(see 'gradcalc descend --help')\n"),
    (("descend", *LOGISTIC, "--history", "steps.txt"),
     "error: --history steps.txt: --history does not write .txt files; it writes .csv "
     "('-': standard output) (see 'gradcalc descend --help')\n"),
])
def test_a_file_name_that_does_not_say_what_to_write_is_refused(cli, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    run = cli(*args)
    assert (run.code, run.stdout, run.stderr) == (2, "", message)
    assert list(tmp_path.iterdir()) == []


def test_format_says_what_to_write_under_any_name(cli, tmp_path):
    target = tmp_path / "circuit.png"
    assert cli("graph", "x*y", "--format", "dot", "-o", str(target)).code == 0
    assert target.read_text() == cli("graph", "x*y", "--format", "dot").stdout


@pytest.mark.parametrize("command, name, fmt", [
    (("eval", "x*y", "--at", "x=2,y=3"), "out.json", "json"),
    (("eval", "x*y", "--at", "x=2,y=3"), "out.txt", "table"),
    (("trace", "x*y", "--at", "x=2,y=3"), "backprop.py", "python"),
    (("trace", "x*y", "--at", "x=2,y=3"), "notes.md", "markdown"),
    (("trace", "x*y", "--at", "x=2,y=3"), "notes.tex", "latex"),
    (("trace", "x*y", "--at", "x=2,y=3"), "nodes.csv", "csv"),
    (("grad", "x*y"), "grad.tex", "latex"),
    (("grad", "x*y"), "grad.txt", "table"),
    (("paths", "x*y", "--at", "x=2,y=3", "--wrt", "x"), "paths.json", "json"),
    (("check", "x*y", "--at", "x=2,y=3"), "check.json", "json"),
    (("graph", "x*y"), "circuit.mmd", "mermaid"),
])
def test_o_writes_what_stdout_would_get_in_the_format_of_the_suffix(cli, tmp_path, command, name, fmt):
    target = tmp_path / name
    run = cli(*command, "-o", str(target))
    assert (run.code, run.stdout) == (0, "")
    assert target.read_text(encoding="utf-8") == cli(*command, "--format", fmt).stdout


def test_o_dash_is_standard_output_and_creates_no_file(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = cli("graph", "x*y", "-o", "-")
    assert run.code == 0 and run.stdout == cli("graph", "x*y").stdout
    assert list(tmp_path.iterdir()) == []


def test_a_failed_run_leaves_the_existing_file_as_it_was(cli, tmp_path):
    target = tmp_path / "result.json"
    target.write_text("precious\n")
    run = cli("eval", "log(x)", "--at", "x=0", "-o", str(target))
    assert run.code == 3 and run.stdout == ""
    assert target.read_text() == "precious\n"
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]  # no temporary file is left


def test_a_failed_per_row_run_leaves_the_existing_file_as_it_was(cli, tmp_path):
    data, target = tmp_path / "points.csv", tmp_path / "rows.csv"
    data.write_text("x\n1\n0\n2\n")
    target.write_text("precious\n")
    run = cli("eval", "log(x)", "--data", str(data), "--reduce", "none", "-o", str(target))
    assert run.code == 3 and run.stderr.startswith("error: row 2: stage f = log(x)")
    assert target.read_text() == "precious\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["points.csv", "rows.csv"]
    assert cli("eval", "log(x)", "--data", str(data), "--reduce", "none", "--on-error", "skip",
               "-o", str(target)).code == 0
    assert target.read_text().splitlines()[0] == "row,f,df/dx"


def test_a_replaced_file_keeps_its_permissions_and_a_new_one_follows_the_umask(cli, tmp_path):
    kept, new = tmp_path / "kept.json", tmp_path / "new.json"
    kept.write_text("{}")
    kept.chmod(0o640)
    assert cli("eval", "x", "--at", "x=1", "-o", str(kept)).code == 0
    assert stat.S_IMODE(kept.stat().st_mode) == 0o640 and json.loads(kept.read_text())["value"] == 1.0
    umask = os.umask(0o022)
    try:
        assert cli("eval", "x", "--at", "x=1", "-o", str(new)).code == 0
    finally:
        os.umask(umask)
    assert stat.S_IMODE(new.stat().st_mode) == 0o644


def test_an_output_that_is_also_an_input_is_refused(cli, tmp_path):
    program = tmp_path / "loss.txt"
    program.write_text("x*x\n")
    run = cli("eval", "-f", str(program), "--at", "x=1", "--format", "json", "-o", str(program))
    assert (run.code, run.stdout) == (2, "")
    assert run.stderr.startswith(f"error: -o {program} is also -f: writing it would destroy what "
                                 "this run reads or writes; choose another file")
    assert program.read_text() == "x*x\n"
    data = str(ROOT / "examples" / "logistic" / "data.csv")
    run = cli("descend", *LOGISTIC, "--history", data)
    assert run.code == 2 and run.stderr.startswith(f"error: --history {data} is also --data")


def test_descend_history_to_stdout_takes_the_place_of_the_summary(cli, tmp_path):
    run = cli("descend", *LOGISTIC, "--steps", "2", "--history", "-")
    assert run.code == 0
    lines = run.stdout.splitlines()
    assert lines[0] == "step,loss,w1,w2,b" and len(lines) == 4
    both = cli("descend", *LOGISTIC, "--history", "-", "--plot", "-")
    assert both.code == 2 and "--history and --plot both ask for standard output" in both.stderr


# ---- the expression on standard input -------------------------------------------------------

def test_a_piped_expression_is_read_when_none_is_given():
    done = gradcalc("eval", "--at", "x=2,y=3", "--format", "json", stdin=None, input="x*y\n")
    assert (done.returncode, done.stderr) == (0, "")
    assert json.loads(done.stdout)["value"] == 6.0


def test_no_expression_and_no_pipe_is_still_an_error_at_once():
    done = gradcalc("eval", "--at", "x=2")  # standard input: /dev/null
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == ("error: missing the expression (EXPR, '-' for standard input, or -f FILE) "
                           "(see 'gradcalc eval --help')\n")


def test_data_on_standard_input_leaves_the_expression_missing(cli):
    run = cli("eval", "--data", "-", "--at", "w=1", stdin="x\n1\n")
    assert run.code == 2 and "missing the expression" in run.stderr


def test_reading_the_expression_from_a_terminal_says_so():
    """stdin a terminal (a pty): the note comes before gradcalc waits for the text."""
    leader, follower = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "gradcalc", "eval", "-", "--at", "x=2,y=3",
                                "--format", "json"], stdin=follower, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, cwd=ROOT)
    os.close(follower)
    try:
        ready, _, _ = select.select([process.stderr], [], [], 60)
        assert ready, "no note before reading"
        assert process.stderr.readline() == ("note: reading the expression from standard input; "
                                             "end it with Ctrl-D\n")
        os.write(leader, b"x*y\n")
        time.sleep(0.2)
        os.write(leader, b"\x04")  # Ctrl-D at the start of a line: the end of the input
        out, _ = process.communicate(timeout=60)
    finally:
        process.kill()
        os.close(leader)
    assert process.returncode == 0 and json.loads(out)["value"] == 6.0


# ---- help that matches behaviour ----------------------------------------------------------

def commands() -> dict[str, click.Command]:
    assert isinstance(main, click.Group)
    return dict(main.commands)


def test_descend_offers_only_the_reductions_it_minimises(cli):
    assert "--reduce [mean|sum]" in cli("descend", "--help").stdout
    run = cli("descend", *LOGISTIC, "--reduce", "none")
    assert run.code == 2
    assert run.stderr == ("error: Invalid value for '--reduce': 'none' is not one of 'mean', 'sum'. "
                          "(see 'gradcalc descend --help')\n")


def test_wrt_says_what_it_does_in_each_command_and_graph_has_none():
    helps = {name: next((p.help for p in command.params if p.name == "wrt"), None)
             for name, command in commands().items()}
    assert helps["graph"] is None
    assert "parameters to train" in helps["descend"]
    assert "tables and nodes show every stage" in helps["trace"]
    assert "paths are listed" in helps["paths"]
    assert len({h for h in helps.values() if h}) == len(helps) - 1  # each its own words


def test_every_option_has_help_and_one_metavar_style():
    for name, command in commands().items():
        for param in command.params:
            if not isinstance(param, click.Option) or param.name == "help":
                continue
            assert param.help, f"{name} {param.opts[0]} has no help"
            if not param.is_flag and not isinstance(param.type, click.Choice):
                assert param.metavar and param.metavar.split(",")[0].replace("=VALUE", "").isupper(), \
                    f"{name} {param.opts[0]}: metavar {param.metavar!r}"


def test_every_command_writes_to_o_and_reads_data_as_a_path():
    for name, command in commands().items():
        options = {opt: param for param in command.params for opt in param.opts}
        assert "-o" in options, name
        if "--data" in options:
            assert isinstance(options["--data"].type, click.Path)


def test_grad_accepts_table_like_every_command_and_keeps_text(cli):
    table = cli("grad", "x*y", "--format", "table")
    assert (table.code, table.stdout) == (0, "∂f/∂x = y\n∂f/∂y = x\n")
    assert cli("grad", "x*y", "--format", "text").stdout == table.stdout == cli("grad", "x*y").stdout


def test_debug_is_listed_in_help(cli):
    assert "--debug" in cli("--help").stdout and "--debug" in cli("eval", "--help").stdout


# ---- -q/--quiet ----------------------------------------------------------------------------

def test_quiet_silences_warnings_but_not_errors(cli):
    loud = cli("eval", "x", "--at", "x=1,z=2", "--format", "json")
    assert loud.stderr == "warning: --at gives z, which the expression does not use\n"
    quiet = cli("eval", "x", "--at", "x=1,z=2", "--format", "json", "-q")
    assert (quiet.code, quiet.stderr, quiet.stdout) == (0, "", loud.stdout)
    failed = cli("eval", "log(x)", "--at", "x=0", "--quiet")
    assert failed.code == 3 and failed.stderr.startswith("error: ")


# ---- --color and NO_COLOR -------------------------------------------------------------------

def on_terminal(*args: str, env: dict[str, str]) -> str:
    """What gradcalc prints on a terminal (a pty as its stdout)."""
    leader, follower = pty.openpty()
    environment = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    process = subprocess.Popen([sys.executable, "-m", "gradcalc", *args], stdout=follower,
                               stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, cwd=ROOT,
                               env={**environment, "TERM": "xterm", **env})
    os.close(follower)
    out = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the process has ended and closed its side
            break
        if not chunk:
            break
        out += chunk
    process.wait(timeout=60)
    os.close(leader)
    return out.decode()


POINT = ("eval", "x*y", "--at", "x=2,y=3")


def test_a_terminal_gets_bold_headers_unless_no_color_or_never():
    assert BOLD in on_terminal(*POINT, env={})
    for shown in (on_terminal(*POINT, env={"NO_COLOR": "1"}), on_terminal(*POINT, "--color", "never", env={})):
        assert "\x1b" not in shown and "┃ input ┃ value ┃ ∂f/∂input ┃" in shown


def test_color_always_writes_escape_codes_into_a_pipe_even_with_no_color(cli, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    assert BOLD in cli(*POINT, "--color", "always").stdout
    assert BOLD in cli("trace", "x*y", "--at", "x=2,y=3", "--color", "always").stdout
    assert "\x1b" not in cli(*POINT).stdout


def test_no_color_means_no_escape_code_at_all_even_when_forced(cli, monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich: treat stdout as a terminal
    assert BOLD in cli(*POINT).stdout
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b" not in cli(*POINT).stdout and "\x1b" not in cli(*POINT, "--color", "never").stdout


def test_graph_says_which_stages_the_output_does_not_use(cli):
    run = cli("graph", "u = x*y; v = x+y", "--format", "mermaid")
    assert run.code == 0 and run.stdout.startswith("flowchart LR")
    assert run.stderr == ("warning: the output v (the last statement) does not use stage u: "
                          "use it in v, or remove it\n")


def test_a_name_that_reads_as_a_call_is_hinted_in_data_mode_too(cli, tmp_path):
    data = tmp_path / "x.csv"
    data.write_text("x\n1\n")
    run = cli("eval", "sinx + x", "--data", str(data))
    assert run.code == 2 and run.stdout == ""
    assert run.stderr == (f"error: missing column sinx: not in {data} (its columns: x) and not given "
                          "with --at (--at sinx=...); 'sinx' is one name: for the function write sin(x)\n")


def test_many_missing_values_are_one_short_line(cli):
    run = cli("eval", "+".join(f"q{k}" for k in range(3000)), "--at", "q0=1")
    assert run.code == 2
    assert run.stderr == ("error: missing values for q1, q2, q3, q4, q5, q6, q7, q8, q9, q10 and 2,989 "
                          "more (give them with --at q1=...,q2=...,q3=...)\n")
