"""The CLI end to end, in-process: the seeds' worked examples, the JSON contract, exit codes."""
from __future__ import annotations

import json

import pytest

from gradcalc import __version__

SEED_NEURON = "--at", "w=[2,-3,-3],x=[-1,-2]"


def test_eval_three_stage_example_gives_33_and_3_6_9(cli):
    out = cli("eval", "3*(a+b*c)", "--at", "a=5,b=3,c=2", "--format", "json").json()
    assert out == {"output": "f", "value": 33.0, "at": {"a": 5.0, "b": 3.0, "c": 2.0},
                   "gradient": {"a": 3.0, "b": 6.0, "c": 9.0}}


def test_eval_table_shows_value_and_one_row_per_input(cli):
    run = cli("eval", "3*(a+b*c)", "--at", "a=5,b=3,c=2")
    assert run.code == 0 and run.stderr == ""
    assert "f = 33" in run.stdout
    rows = [line for line in run.stdout.splitlines() if line.startswith("│")]
    assert [r.split("│")[1].strip() for r in rows] == ["a", "b", "c"]
    assert "\x1b[" not in run.stdout  # no escape codes when stdout is not a terminal


def test_trace_names_stages_like_the_lecture(cli):
    nodes = cli("trace", "3*(a+b*c)", "--at", "a=5,b=3,c=2", "--format", "json").json()["nodes"]
    ops = [(n["name"], n["op"], n["expr"], n["value"], n["grad"]) for n in nodes
           if n["op"] not in ("input", "const")]
    assert ops == [("u1", "mul", "b*c", 6.0, 3.0), ("u2", "add", "a + u1", 11.0, 3.0),
                   ("f", "mul", "3*u2", 33.0, 1.0)]
    assert nodes[-1]["name"] == "f"
    by_name = {n["name"]: n for n in nodes}
    assert by_name["u1"]["inputs"] == ["b", "c"] and by_name["u1"]["local"] == [2.0, 3.0]
    assert by_name["3"]["op"] == "const" and by_name["a"]["op"] == "input"


def test_trace_table_shows_backward_accumulation(cli):
    run = cli("trace", "x**2*(3*x+1) - sin(x**2)", "--at", "x=1.5")
    assert run.code == 0
    assert "backward pass" in run.stdout
    assert "du1 +=" in run.stdout  # x**2 has two consumers: its gradient accumulates


def test_staged_program_names_its_stages_and_output(cli):
    out = cli("trace", "u = b*c; v = a + u; J = 3*v", "--at", "a=5,b=3,c=2", "--format", "json").json()
    assert out["output"] == "J" and out["value"] == 33.0
    assert [n["name"] for n in out["nodes"] if n["op"] not in ("input", "const")] == ["u", "v", "J"]


@pytest.mark.parametrize("expression", ["1/(1+exp(-(w0*x0+w1*x1+w2)))", "sigmoid(w0*x0+w1*x1+w2)"])
def test_sigmoid_neuron_matches_the_seed(cli, expression):
    out = cli("eval", expression, *SEED_NEURON, "--format", "json").json()
    assert out["value"] == pytest.approx(0.7310585786300049, rel=1e-12)
    want = {"w0": -0.19661193324148185, "w1": -0.3932238664829637, "w2": 0.19661193324148185,
            "x0": 0.3932238664829637, "x1": -0.5898357997244456}
    assert out["gradient"] == pytest.approx(want, rel=1e-12)


def test_logistic_regression_loss_as_a_program(cli):
    program = "z = w1*x1 + w2*x2 + b; yhat = sigmoid(z); L = -y*log(yhat) - (1-y)*log(1-yhat)"
    out = cli("eval", program, "--at", "x1=1.5,x2=2.5,w1=-4,w2=3,b=-1,y=1", "--format", "json").json()
    assert out["output"] == "L"
    assert out["value"] == pytest.approx(0.4740769841801067, rel=1e-12)
    assert out["gradient"]["w1"] == pytest.approx(-0.5663110031972182, rel=1e-12)
    assert out["gradient"]["b"] == pytest.approx(-0.37754066879814546, rel=1e-12)


def test_shared_subexpression_is_one_node_with_two_consumers(cli):
    out = cli("trace", "x**2*(3*x+1) - sin(x**2)", "--at", "x=1.5", "--format", "json").json()
    operations = [n for n in out["nodes"] if n["op"] not in ("input", "const")]
    assert len(operations) == 6
    squares = [n for n in operations if n["expr"] == "x**2"]
    assert len(squares) == 1
    users = [n for n in operations if squares[0]["name"] in n["inputs"]]
    assert len(users) == 2
    assert out["gradient"]["x"] == pytest.approx(25.134520868168217, rel=1e-12)


def test_max_routes_the_gradient(cli):
    out = cli("eval", "max(x, y) * 2 + x*y", "--at", "x=3,y=-4", "--format", "json").json()
    assert out["value"] == -6.0 and out["gradient"] == {"x": -2.0, "y": 3.0}


def test_max_tie_splits_the_gradient_and_warns(cli):
    run = cli("eval", "max(x, y)", "--at", "x=2,y=2", "--format", "json")
    assert run.json()["gradient"] == {"x": 0.5, "y": 0.5}
    assert "warning" in run.stderr and "max" in run.stderr


def test_abs_at_zero_uses_subgradient_zero_and_names_the_stage(cli):
    run = cli("eval", "abs(x) + relu(x)", "--at", "x=0", "--format", "json")
    assert run.json()["gradient"] == {"x": 0.0}
    assert "stage u1 = abs(x)" in run.stderr and "relu" in run.stderr


def test_csv_output_round_trips(cli):
    run = cli("eval", "x/3", "--at", "x=1", "--format", "csv")
    lines = run.stdout.splitlines()
    assert lines[0] == "role,name,value,gradient"
    assert lines[1] == f"output,f,{1/3!r},"
    assert lines[2] == f"input,x,1.0,{1/3!r}"


def test_trace_csv_has_a_row_per_node(cli):
    run = cli("trace", "3*(a+b*c)", "--at", "a=5,b=3,c=2", "--format", "csv")
    assert run.stdout.splitlines()[0] == "name,op,inputs,expr,value,local,grad"
    assert len(run.stdout.splitlines()) == 1 + 7


def test_wrt_restricts_the_gradient(cli):
    out = cli("eval", "3*(a+b*c)", "--at", "a=5,b=3,c=2", "--wrt", "a,c", "--format", "json").json()
    assert out["gradient"] == {"a": 3.0, "c": 9.0}


def test_at_is_repeatable_and_merged(cli):
    out = cli("eval", "a*b", "--at", "a=2", "--at", "b=1/4", "--format", "json").json()
    assert out["value"] == 0.5


def test_expression_starting_with_minus_is_not_an_option(cli):
    run = cli("eval", "-y*log(yhat) - (1-y)*log(1-yhat)", "--at", "y=1,yhat=0.5", "--format", "json")
    assert run.code == 0 and run.json()["value"] == pytest.approx(0.6931471805599453)


def test_expression_from_stdin_and_from_file(cli, tmp_path):
    assert cli("eval", "-", "--at", "x=2", "--format", "json", stdin="x*x\n").json()["value"] == 4.0
    path = tmp_path / "loss.txt"
    path.write_text("u = x*x\nv = u + 1\n")
    out = cli("eval", "-f", str(path), "--at", "x=2", "--format", "json").json()
    assert out["output"] == "v" and out["value"] == 5.0


def test_json_floats_round_trip(cli):
    out = json.loads(cli("eval", "x/3", "--at", "x=1", "--format", "json").stdout)
    assert out["value"] == 1 / 3


def test_pi_and_e_are_constants_unless_given(cli):
    assert cli("eval", "pi*x", "--at", "x=1", "--format", "json").json()["gradient"] == {"x": 3.141592653589793}
    out = cli("eval", "pi*x", "--at", "x=1,pi=2", "--format", "json").json()
    assert out["gradient"] == {"pi": 1.0, "x": 2.0}


@pytest.mark.parametrize("args, fragment", [
    (["eval", "3*(a+b*c)", "--at", "a=1"], "missing values for b, c"),
    (["eval", "3*(a+b", "--at", "a=1,b=2"], "column"),
    (["eval", "foo(x)", "--at", "x=1"], "unknown function 'foo'"),
    (["eval", "x", "--at", "x=nan"], "--at x=nan"),
    (["eval", "x", "--at", "x=1e400"], "out of range"),
    (["eval", "x", "--at", "x=1,x=2"], "two different values"),
    (["eval", "x", "--at", "x"], "expected name=value"),
    (["eval", "x", "--at", "x=1", "--wrt", "y"], "--wrt"),
])
def test_usage_errors_exit_2_with_one_line_and_empty_stdout(cli, args, fragment):
    run = cli(*args)
    assert run.code == 2
    assert run.stdout == ""
    assert fragment in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1 and "Traceback" not in run.stderr


@pytest.mark.parametrize("expression, at, fragment", [
    ("log(x)", "x=0", "log of 0"),
    ("1/x", "x=0", "division by zero"),
    ("sqrt(x)", "x=-1", "sqrt of a negative number"),
    ("sqrt(x)", "x=0", "derivative"),
    ("x^0.5", "x=-2", "negative base"),
    ("exp(x)", "x=1000", "overflow"),
    ("z = 1 - y; L = log(z)", "y=1", "stage L = log(z): log of 0 (z = 0)"),
])
def test_math_errors_exit_3_naming_the_stage(cli, expression, at, fragment):
    run = cli("eval", expression, "--at", at)
    assert run.code == 3 and run.stdout == ""
    assert fragment in run.stderr and "stage" in run.stderr


def test_unused_value_is_a_warning(cli):
    run = cli("eval", "x", "--at", "x=1,z=2", "--format", "json")
    assert run.code == 0 and "z" in run.stderr and "warning" in run.stderr


def test_internal_errors_exit_1_in_one_line(cli, monkeypatch):
    from gradcalc.core import autodiff

    monkeypatch.setattr(autodiff, "evaluate", lambda *a, **k: 1 / 0)
    run = cli("eval", "x", "--at", "x=1")
    assert run.code == 1 and "internal error" in run.stderr and "Traceback" not in run.stderr


def test_rich_markup_in_names_is_shown_literally(cli):
    run = cli("eval", "a+[/]", "--at", "a=1")
    assert run.code == 2 and "[/]" in run.stderr


def test_version_and_help(cli):
    assert __version__ in cli("--version").stdout
    assert "Examples" in cli("eval", "--help").stdout
    assert "Examples" in cli("trace", "--help").stdout
    assert "Exit codes" in cli("--help").stdout


def test_a_warning_about_a_wide_call_stays_one_readable_line(cli):
    names = ",".join(f"x{k}" for k in range(1000))
    run = cli("eval", f"max({names})", "--at", "x=[" + ",".join("1" for _ in range(1000)) + "]",
              "--format", "json")
    assert run.code == 0
    assert run.stderr == ("warning: stage f = max(x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, …; "
                          "1,000 arguments): max has a 1000-way tie; the gradient is split evenly between "
                          "them\n")
