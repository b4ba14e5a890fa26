"""`gradcalc eval --batch FILE`: one JSON answer per JSON line, in order; a bad line answers with
its exit code and message and the lines after it go on; the exit code says whether any failed."""
from __future__ import annotations

import doctest
import json
import os
import random
import select
import subprocess
import sys

import pytest
from helpers import run_cli

import gradcalc
import gradcalc.api.jsonlines
from gradcalc.api.jsonlines import CACHED_GRAPHS, Batch, batch

GRADCALC = [sys.executable, "-m", "gradcalc"]


def lines(*documents) -> str:
    return "".join((d if isinstance(d, str) else json.dumps(d)) + "\n" for d in documents)


def answers(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


def json_error(line: str) -> str:
    """The answer to a line that is not JSON: the json module's own words, which differ between
    Python versions (3.13: "Illegal trailing comma before end of object"), and the column."""
    try:
        json.loads(line)
    except json.JSONDecodeError as exc:
        return f"not valid JSON: {exc.msg} at column {exc.pos + 1}: {line}"
    raise AssertionError(f"{line} is valid JSON")


def point(a, b, c) -> dict:
    return {"expr": "3*(a+b*c)", "at": {"a": a, "b": b, "c": c}}


# ---- answers, in order ----------------------------------------------------------------------

def test_each_line_is_answered_in_order_with_the_numbers_of_the_formula():
    rng = random.Random(17)
    points = [(rng.randint(-9, 9), rng.uniform(-5, 5), rng.randint(1, 5)) for _ in range(200)]
    run = run_cli("eval", "--batch", "-", stdin=lines(*(point(*p) for p in points)))
    assert (run.code, run.stderr) == (0, "")
    got = answers(run.stdout)
    assert len(got) == len(points)
    for (a, b, c), answer in zip(points, got):  # f = 3(a + bc): ∂a = 3, ∂b = 3c, ∂c = 3b
        assert answer["value"] == pytest.approx(3 * (a + b * c), rel=1e-15)
        assert answer["gradient"] == pytest.approx({"a": 3.0, "b": 3.0 * c, "c": 3.0 * b}, rel=1e-15)


def test_an_answer_is_what_eval_format_json_prints_for_the_same_options():
    cases = [
        ({"expr": "3*(a+b*c)", "at": {"a": 5, "b": 3, "c": 2}}, ["3*(a+b*c)", "--at", "a=5,b=3,c=2"]),
        ({"expr": "sum(sigmoid(W@x + b))", "at": {"W": [[1, -2], [0.5, 1]], "x": [1, -1], "b": [0.5, -0.5]}},
         ["sum(sigmoid(W@x + b))", "--at", "W=[[1,-2],[0.5,1]],x=[1,-1],b=[0.5,-0.5]"]),
        ({"expr": "dot(w, x)", "at": {"w": [2, -3], "x": [-1, "1/2"]}}, ["dot(w, x)", "--at", "w=[2,-3],x=[-1,1/2]"]),
        ({"expr": "sigmoid(w0*x0+w1*x1+w2)", "at": {"w": [2, -3, -3], "x": [-1, -2]}, "wrt": ["w0", "x1"]},
         ["sigmoid(w0*x0+w1*x1+w2)", "--at", "w=[2,-3,-3],x=[-1,-2]", "--wrt", "w0,x1"]),
        ({"expr": "1/(1+exp(-z))", "at": {"z": "1/3"}, "gates": "fused"},
         ["1/(1+exp(-z))", "--at", "z=1/3", "--gates", "fused"]),
        ({"expr": "f = x*y; g = x + y; h = sin(x)", "at": {"x": 2, "y": 3}, "output": "all"},
         ["f = x*y; g = x + y; h = sin(x)", "--at", "x=2,y=3", "--output", "all"]),
        ({"expr": "f = x*y; g = x + y", "at": {"x": 2, "y": 3}, "output": ["g"]},
         ["f = x*y; g = x + y", "--at", "x=2,y=3", "--output", "g"]),
        ({"expr": "sigmoid(w0*x0+w1*x1+w2)", "at": {"w": [2, -3, -3], "x": [-1, -2]}, "jacobian": True,
          "mode": "forward"},
         ["sigmoid(w0*x0+w1*x1+w2)", "--at", "w=[2,-3,-3],x=[-1,-2]", "--jacobian", "--mode", "forward"]),
        ({"expr": "sin(pi*x)", "at": {"x": "1/4"}, "exact": True}, ["sin(pi*x)", "--at", "x=1/4", "--exact"]),
        ({"expr": "sigmoid(x)", "at": {"x": 1000}, "digits": 20}, ["sigmoid(x)", "--at", "x=1000", "--digits", "20"]),
        ({"expr": "x**2*y", "at": {"x": 1.5, "y": -2}, "hessian": True}, ["x**2*y", "--at", "x=1.5,y=-2", "--hessian"]),
        ({"expr": "log(x) + sqrt(y)", "at": {"x": 0, "y": 0}, "nonfinite": "ieee"},
         ["log(x) + sqrt(y)", "--at", "x=0,y=0", "--nonfinite", "ieee"]),
        ({"expr": "pi*x", "at": {"x": 2, "pi": 3}}, ["pi*x", "--at", "x=2,pi=3"]),
    ]
    run = run_cli("eval", "--batch", "-", "-q", stdin=lines(*(line for line, _ in cases)))
    assert run.code == 0, run.stderr
    for answer, (_, args) in zip(answers(run.stdout), cases, strict=True):
        alone = run_cli("eval", *args, "--format", "json")
        assert alone.code == 0
        assert answer == alone.json()


@pytest.mark.parametrize("line, args, code", [
    ({"expr": "3*(a+b*c", "at": {"a": 1}}, ["3*(a+b*c", "--at", "a=1"], 2),
    ({"expr": "log(x)", "at": {"x": 0}}, ["log(x)", "--at", "x=0"], 3),
    ({"expr": "sine(x)", "at": {"x": 1}}, ["sine(x)", "--at", "x=1"], 2),
    ({"expr": "1/x", "at": {"x": "1/0"}}, ["1/x", "--at", "x=1/0"], 2),
    ({"expr": "x", "at": {"x": 1}, "wrt": "z"}, ["x", "--at", "x=1", "--wrt", "z"], 2),
])
def test_an_error_is_the_message_and_exit_code_of_eval_for_the_same_options(line, args, code):
    run = run_cli("eval", "--batch", "-", stdin=lines(line))
    alone = run_cli("eval", *args, "--format", "json")
    message = alone.stderr.removeprefix("error: ").rstrip("\n").replace("--wrt", "wrt").replace("--at", "at")
    assert (alone.code, answers(run.stdout)) == (code, [{"line": 1, "exit_code": code, "error": message}])


# ---- bad lines ------------------------------------------------------------------------------

def test_bad_lines_answer_with_their_error_and_the_stream_goes_on():
    stdin = lines(point(5, 3, 2), "[1, 2]", '{"expr": "x", "at": {"x": 1,}}', {"at": {"x": 1}},
                  {"expr": "x", "at": {"x": 1}, "wrtt": ["x"]}, {"expr": "x", "data": "points.csv"},
                  '{"expr": "x", "expr": "y"}', {"expr": "log(x)", "at": {"x": 0}}, point(1, 1, 1))
    run = run_cli("eval", "--batch", "-", stdin=stdin)
    got = answers(run.stdout)
    assert run.code == 2  # the first failed line's exit code (line 2), not the highest
    assert run.stderr == "error: 7 of 9 lines failed (lines 2, 3, 4, 5, 6, 7, 8): each one's answer says why\n"
    assert [a.get("value") for a in got] == [33.0, None, None, None, None, None, None, None, 6.0]
    keys = "expr, at, wrt, output, gates, nonfinite, exact, digits, hessian, jacobian, mode, format, id"
    assert got[1:8] == [
        {"line": 2, "exit_code": 2, "error": 'a line is a JSON object such as {"expr": "3*(a+b*c)", '
                                             '"at": {"a": 5, "b": 3, "c": 2}}, not a list'},
        {"line": 3, "exit_code": 2, "error": json_error('{"expr": "x", "at": {"x": 1,}}')},
        {"line": 4, "exit_code": 2, "error": 'missing "expr": the expression or program, as in '
                                             '{"expr": "3*(a+b*c)", "at": {"a": 5, "b": 3, "c": 2}}'},
        {"line": 5, "exit_code": 2, "error": f'unknown key "wrtt" (did you mean "wrt"?): a line\'s keys are {keys}'},
        {"line": 6, "exit_code": 2, "error": '"data" is not an option of a line: a line evaluates at one '
                                             "point (for the rows of a file use gradcalc eval --data); "
                                             f"a line's keys are {keys}"},
        {"line": 7, "exit_code": 2, "error": '"expr" is given twice in one object: give it once'},
        {"line": 8, "exit_code": 3, "error": "stage f = log(x): log of 0 (x = 0)"},
    ]


@pytest.mark.parametrize("line, error", [
    ({"expr": 3}, "expr: expected the expression as a string, not the number 3"),
    ({"expr": "x", "at": [1]}, 'at: expected an object of names and values such as {"a": 5, "b": "1/3"}, not a list'),
    ({"expr": "x", "at": {"x": True}},
     'at x: a value is a number, a string such as "pi/4", a list ([2, -3]: the vector x, or x0 and x1) '
     'or a list of lists (a matrix), not true'),
    ({"expr": "x", "at": {"x": None}},
     'at x: a value is a number, a string such as "pi/4", a list ([2, -3]: the vector x, or x0 and x1) '
     'or a list of lists (a matrix), not null'),
    ({"expr": "sum(x)", "at": {"x": [[[1]]]}},
     'at x: a value is a number, a string such as "pi/4", a list ([2, -3]: the vector x, or x0 and x1) '
     'or a list of lists (a matrix), not a list'),
    ({"expr": "W@x", "at": {"W": [[1, 2]], "x": [1, 2, 3]}},
     "stage f = W @ x: shapes do not fit: W is a 1×2 matrix and x is a 3-vector: the inner dimensions "
     "differ (2 ≠ 3)"),
    ({"expr": "x*y", "at": {"x": 2}}, 'missing value for y (give it in "at": {"y": ...})'),
    ({"expr": "a = 5"}, "'a = ...' assigns a constant: to give a a value, put it in \"at\" ({\"a\": ...}); "
                        "to compute it, write the expression alone"),
    ({"expr": "f = x*y; g = x+y", "at": {"x": 1, "y": 2}, "output": "h"},
     "output names h, which is not a stage of the program (its stages: f, g)"),
    ({"expr": "x", "at": {"x": 1}, "gates": "fast"},
     'gates "fast": choose one of "written", "fused", "primitive", "scalar"'),
    ({"expr": "x", "at": {"x": 1}, "exact": "yes"}, 'exact: expected true or false, not the string "yes"'),
    ({"expr": "x", "at": {"x": 1}, "digits": 0}, "digits: expected a whole number of at least 1, not the number 0"),
    ({"expr": "x", "at": {"x": 1}, "mode": "forward"},
     'mode says how jacobian computes the Jacobian: add "jacobian": true'),
    ({"expr": "x", "at": {"x": 1}, "exact": True, "digits": 5},
     "exact and digits exclude each other: exact values have every digit"),
    ({"expr": "f = x; g = 2*x", "at": {"x": 1}, "output": "all", "hessian": True},
     "hessian is of one output: choose it with output NAME"),
    ({"expr": "x", "at": {"x": 1}, "format": "csv"},
     'format "csv": each answer is JSON (leave format out, or give "json")'),
    ({"expr": "x", "at": {"x": float("nan")}},
     "at x=nan: a value must be a finite number (nan and inf are not allowed)"),
    ("[" * 100_000, "not valid JSON here: its arrays or objects are nested too deeply"),
])
def test_each_kind_of_bad_line_says_what_and_how_to_fix_it(line, error):
    run = run_cli("eval", "--batch", "-", stdin=lines(line))
    assert run.code == 2 and answers(run.stdout) == [{"line": 1, "exit_code": 2, "error": error}]


def test_the_id_of_a_line_comes_back_with_its_answer_and_its_error():
    run = run_cli("eval", "--batch", "-", stdin=lines({"id": "first", **point(5, 3, 2)},
                                                      {"id": [2], "expr": "x", "at": {"x": 1}, "gates": "?"}))
    first, second = answers(run.stdout)
    assert list(first) == ["id", "output", "value", "at", "gradient"] and first["id"] == "first"
    assert (second["id"], second["line"], second["exit_code"]) == ([2], 2, 2)


def test_blank_lines_are_skipped_and_lines_are_numbered_as_the_file_is():
    run = run_cli("eval", "--batch", "-", stdin="\n   \n" + lines({"expr": "1/x", "at": {"x": 0}}) + "\r\n")
    assert answers(run.stdout) == [{"line": 3, "exit_code": 3, "error": "stage f = 1/x: division by zero (x = 0)"}]
    assert run.stderr == "error: 1 of 1 lines failed (line 3): each one's answer says why\n"


def test_a_line_over_the_input_limit_is_read_no_further_and_the_next_is_answered(monkeypatch):
    monkeypatch.setenv("GRADCALC_MAX_INPUT", "60")
    long = {"expr": "+".join(["x"] * 40), "at": {"x": 1}}
    run = run_cli("eval", "--batch", "-", stdin=lines(long, point(5, 3, 2)))
    first, second = answers(run.stdout)
    assert first == {"line": 1, "exit_code": 2, "error": "limit GRADCALC_MAX_INPUT reached: the line is longer "
                     "(at most 60 characters in an expression, program or value, or in a batch line); "
                     "raise it with the "
                     "environment variable GRADCALC_MAX_INPUT=N"}
    assert second["value"] == 33.0


def test_an_undecodable_byte_is_named():
    run = run_cli("eval", "--batch", "-", stdin=b'{"expr": "x\xff", "at": {"x": 1}}\n'.decode("latin-1"))
    assert run.code == 2  # CliRunner encodes its input as UTF-8, so the byte arrives as 'ÿ'
    assert "U+00FF" in answers(run.stdout)[0]["error"]
    done = subprocess.run([*GRADCALC, "eval", "--batch", "-"], input=b'{"expr": "x\xff", "at": {"x": 1}}\n',
                          capture_output=True, timeout=60)
    assert done.returncode == 2 and "byte 0xFF" in json.loads(done.stdout)["error"]


def test_a_bug_on_one_line_is_exit_code_1_in_its_answer_and_the_stream_goes_on(monkeypatch):
    real = gradcalc.api.jsonlines.eval_document

    def broken(result):
        if result.graph.source.startswith("boom"):
            raise RuntimeError("no such thing")
        return real(result)

    monkeypatch.setattr(gradcalc.api.jsonlines, "eval_document", broken)
    run = run_cli("eval", "--batch", "-", stdin=lines({"expr": "boom*x", "at": {"x": 1, "boom": 2}}, point(5, 3, 2)))
    first, second = answers(run.stdout)
    assert first == {"line": 1, "exit_code": 1, "error": "internal error (RuntimeError: no such thing); this is "
                     "a bug in gradcalc — rerun with --debug for the traceback"}
    assert second["value"] == 33.0 and run.code == 1


# ---- warnings, options, files ---------------------------------------------------------------

def test_warnings_come_with_the_answer_and_quiet_leaves_them_out():
    line = lines({"expr": "relu(x) + y", "at": {"x": 0, "y": 1, "z": 2}})
    loud, quiet = run_cli("eval", "--batch", "-", stdin=line), run_cli("eval", "--batch", "-", "-q", stdin=line)
    assert answers(loud.stdout)[0]["warnings"] == [
        "at gives z, which the expression does not use",
        "stage u1 = relu(x): relu is not differentiable at 0; using the subgradient 0"]
    assert "warnings" not in answers(quiet.stdout)[0]
    assert loud.stderr == quiet.stderr == ""


@pytest.mark.parametrize("args, error", [
    (["x*y"], 'EXPR goes in each line with --batch ("expr": ...), not on the command line'),
    (["--at", "x=1"], '--at goes in each line with --batch ("at": ...), not on the command line'),
    (["--gates", "fused"], '--gates goes in each line with --batch ("gates": ...), not on the command line'),
    (["--data", "points.csv"], "--data does not go with --batch: each line evaluates at one point "
                               "(--data evaluates over the rows of a file)"),
    (["--format", "table"], "--batch writes one JSON answer per line, not table: leave out --format "
                            "(or give -o a .jsonl file)"),
    (["--batch", "no/such.jsonl"], "--batch no/such.jsonl: no such file"),
])
def test_options_that_do_not_go_with_batch_are_refused_before_any_line(args, error):
    run = run_cli("eval", "--batch", "-", *args, stdin=lines(point(5, 3, 2)))
    assert (run.code, run.stdout) == (2, "")
    assert run.stderr == f"error: {error} (see 'gradcalc eval --help')\n"


def test_a_file_and_standard_input_give_the_same_answers_and_o_writes_them(tmp_path):
    source = tmp_path / "points.jsonl"
    source.write_text(lines(point(5, 3, 2), {"expr": "x^2", "at": {"x": 3}, "format": "json"}))
    from_file = run_cli("eval", "--batch", str(source))
    from_stdin = run_cli("eval", "--batch", "-", stdin=source.read_text())
    into = tmp_path / "answers.jsonl"
    written = run_cli("eval", "--batch", str(source), "-o", str(into))
    assert from_file.code == from_stdin.code == written.code == 0
    assert from_file.stdout == from_stdin.stdout == into.read_text() and written.stdout == ""
    assert [a["value"] for a in answers(from_file.stdout)] == [33.0, 9.0]
    refused = run_cli("eval", "--batch", str(source), "-o", str(source))
    assert refused.code == 2 and "-o " in refused.stderr and "is also --batch" in refused.stderr


# ---- the cache ------------------------------------------------------------------------------

def test_one_expression_is_lowered_once_and_answers_as_if_it_were_new_each_time():
    text = [json.dumps(point(a, 2, 3)) for a in range(50)]
    answers_ = Batch()
    got = [answers_.answer(line, k) for k, line in enumerate(text, 1)]
    assert len(answers_.graphs.kept) == 1
    assert got == [Batch().answer(line, k) for k, line in enumerate(text, 1)]


def test_the_cache_tells_a_constant_from_an_input_given_a_value():
    got = list(batch([json.dumps({"expr": "pi*x", "at": {"x": 1}}),
                      json.dumps({"expr": "pi*x", "at": {"x": 1, "pi": 3}}),
                      json.dumps({"expr": "pi*x", "at": {"x": 1}, "gates": "primitive"})]))
    assert [a["value"] for a in got] == [pytest.approx(3.141592653589793), 3.0, pytest.approx(3.141592653589793)]
    assert got[1]["gradient"] == {"x": 3.0, "pi": 1.0} and "pi" not in got[0]["gradient"]


def test_the_cache_keeps_a_bounded_number_of_graphs_and_nodes(monkeypatch):
    answers_ = Batch()
    for k in range(CACHED_GRAPHS + 10):
        answers_.answer(json.dumps({"expr": f"x*{k}", "at": {"x": 1}}), k)
    assert len(answers_.graphs.kept) == CACHED_GRAPHS
    monkeypatch.setenv("GRADCALC_MAX_NODES", "100")
    for k in range(30):
        answers_.answer(json.dumps({"expr": "+".join(f"x*{j}" for j in range(k, k + 5)), "at": {"x": 1}}), k)
    assert answers_.graphs.nodes <= 100
    assert answers_.graphs.nodes == sum(len(g.nodes) for g in answers_.graphs.kept.values())


# ---- streaming ------------------------------------------------------------------------------

def test_the_python_api_answers_each_line_before_it_reads_the_next():
    read = []

    def source():
        for a in range(5):
            read.append(a)
            yield json.dumps(point(a, 1, 1))

    for a, answer in enumerate(batch(source())):
        assert read == list(range(a + 1)) and answer["value"] == 3 * (a + 1)


def test_a_coprocess_gets_each_answer_before_it_writes_the_next_line():
    process = subprocess.Popen([*GRADCALC, "eval", "--batch", "-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, bufsize=1)
    try:
        for a in range(3):
            process.stdin.write(json.dumps(point(a, 1, 1)) + "\n")
            process.stdin.flush()
            ready, _, _ = select.select([process.stdout], [], [], 30)
            assert ready, "no answer while the input is still open"
            assert json.loads(process.stdout.readline())["value"] == 3 * (a + 1)
        process.stdin.close()
        assert process.wait(timeout=30) == 0 and process.stderr.read() == ""
    finally:
        if process.poll() is None:
            process.kill()
        process.stdout.close()
        process.stderr.close()


def test_a_large_batch_streams_through_a_process_and_a_reader_that_stops_early_ends_it(tmp_path):
    source = tmp_path / "many.jsonl"
    source.write_text(lines(*(point(a % 7, 2, 3) for a in range(20_000))))
    done = subprocess.run([*GRADCALC, "eval", "--batch", str(source)], capture_output=True, text=True, timeout=120)
    got = answers(done.stdout)
    assert (done.returncode, done.stderr, len(got)) == (0, "", 20_000)
    assert all(answer["value"] == 3 * (a % 7 + 6) for a, answer in enumerate(got))
    head = subprocess.run(f"{' '.join(GRADCALC)} eval --batch {source} | head -1", shell=True, capture_output=True,
                          text=True, timeout=120, executable="/bin/bash")
    assert head.stdout.count("\n") == 1 and head.stderr == ""


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full on this system")
def test_a_full_standard_output_is_one_error_line_and_exit_2():
    with open("/dev/full", "w") as full:
        done = subprocess.run([*GRADCALC, "eval", "--batch", "-"], input=lines(point(5, 3, 2)), stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith("error: cannot write standard output: No space left on device")
    assert done.stderr.count("\n") == 1


def test_the_docstring_example_runs_and_batch_is_in_the_api():
    assert doctest.testmod(gradcalc.api.jsonlines).failed == 0
    assert gradcalc.batch is gradcalc.api.batch is batch
