"""Several outputs, Jacobians and forward mode: reverse and forward passes agree with each
other and with sympy's `Matrix.jacobian`; every stage's tangent agrees with a finite
difference of that stage; the passes and local derivatives counted are the theory's."""
from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
import sympy as sp
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from gradcalc import lower
from gradcalc.analyses.jacobian import jacobian, tangents
from gradcalc.core.autodiff import forward
from gradcalc.errors import UsageError
from gradcalc.numbers import symbolic
from tests.helpers import NAMES, WORKED, S, at_option, expressions, points

TOLERANCE = 1e-9


def close(a, b, tol=TOLERANCE) -> bool:
    return abs(a - b) <= tol * max(1.0, abs(b))


programs = st.lists(expressions(), min_size=2, max_size=4)


def program_text(trees) -> str:
    return "; ".join(f"o{k} = {text}" for k, (text, _) in enumerate(trees))


def several(trees):
    """The program of the trees with every one an output (an equal tree is a copy of the
    earlier one, which `all` would leave out as used)."""
    return lower(program_text(trees)).with_outputs([f"o{k}" for k in range(len(trees))])


@settings(max_examples=60, deadline=None)
@given(programs, points)
def test_forward_and_reverse_jacobians_agree_with_sympy(trees, point):
    graph = several(trees)
    assume(graph.input_names)  # a program of constants has no Jacobian
    at = {name: float(v) for name, v in point.items() if name in graph.input_names}
    inputs = list(graph.input_names)
    oracle = sp.Matrix([form for _, form in trees]).jacobian([S[n] for n in inputs])
    oracle = oracle.subs({S[n]: sp.Rational(point[n]) for n in NAMES})
    reverse = jacobian(graph, at, mode="reverse")
    ahead = jacobian(graph, at, mode="forward")
    assert graph.output_names == tuple(f"o{k}" for k in range(len(trees)))
    for row, name in enumerate(graph.output_names):
        for column, x in enumerate(inputs):
            expected = float(oracle[row, column])
            assert close(reverse.matrix[name][x], expected)
            assert close(ahead.matrix[name][x], expected)
    assert (reverse.passes, ahead.passes) == (len(trees), len(inputs))


@settings(max_examples=40, deadline=None)
@given(programs, points, st.sampled_from(NAMES))
def test_every_stage_tangent_agrees_with_a_finite_difference_of_that_stage(trees, point, x):
    graph = several(trees)
    if x not in graph.input_names:
        return
    at = {name: float(v) for name, v in point.items() if name in graph.input_names}
    result = tangents(graph, at, wrt=x)
    h = 1e-6
    up = forward(graph, {**at, x: at[x] + h})
    down = forward(graph, {**at, x: at[x] - h})
    for i, tangent in enumerate(result.tangents):
        difference = (up[i] - down[i]) / (2 * h)
        assert abs(tangent - difference) <= 1e-5 * max(1.0, abs(difference)), graph.nodes[i].name


NEURON = "sigmoid(w0*x0+w1*x1+w2)"
NEURON_AT = {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0}
FAN_OUT = "u = sin(x); a = u*2; b = u*3; c = exp(u); d = u*u"


def cone_edges(graph, output: int) -> int:
    """Edges into varying nodes of the output's cone: what one reverse pass must evaluate."""
    live = graph.seeded_at(output).live
    return sum(1 for i, node in enumerate(graph.nodes) if live[i] and node.inputs
               for j in node.inputs if graph.varying[j])


def reach_edges(graph, x: str) -> int:
    """Edges out of the nodes that depend on x: what one forward pass must evaluate."""
    reached = [False] * len(graph.nodes)
    reached[graph.index[x]] = True
    count = 0
    for i, node in enumerate(graph.nodes):
        for j in node.inputs:
            if reached[j]:
                count += 1
                reached[i] = True
    return count


def test_the_neuron_takes_one_reverse_pass_against_five_forward_passes():
    graph = lower(NEURON)
    reverse = jacobian(graph, NEURON_AT, mode="reverse")
    ahead = jacobian(graph, NEURON_AT, mode="forward")
    assert (reverse.passes, reverse.evaluations) == (1, cone_edges(graph, graph.output)) == (1, 9)
    assert (ahead.passes, ahead.evaluations) == (5, sum(reach_edges(graph, x) for x in NEURON_AT)) == (5, 18)
    assert jacobian(graph, NEURON_AT, mode="auto").mode == "reverse"
    for x in NEURON_AT:
        assert close(reverse.matrix["f"][x], ahead.matrix["f"][x])


def test_one_input_and_many_outputs_take_one_forward_pass_against_one_reverse_pass_each():
    graph = lower(FAN_OUT).with_outputs("all")
    assert graph.output_names == ("a", "b", "c", "d")
    reverse = jacobian(graph, {"x": 0.5}, mode="reverse")
    ahead = jacobian(graph, {"x": 0.5}, mode="forward")
    assert (reverse.passes, reverse.evaluations) == (4, sum(cone_edges(graph, o) for o in graph.outputs))
    assert (ahead.passes, ahead.evaluations) == (1, reach_edges(graph, "x"))
    assert (reverse.evaluations, ahead.evaluations) == (9, 6)  # sin once per output, then 2 or 1
    assert jacobian(graph, {"x": 0.5}, mode="auto").mode == "forward"
    u = math.sin(0.5)
    expected = {"a": 2 * math.cos(0.5), "b": 3 * math.cos(0.5), "c": math.exp(u) * math.cos(0.5),
                "d": 2 * u * math.cos(0.5)}
    for name, value in expected.items():
        assert close(reverse.matrix[name]["x"], value) and close(ahead.matrix[name]["x"], value)


def test_exact_jacobian_and_tangents_are_sympy_numbers():
    graph = lower("f = sin(pi*x)*y; g = x*y").with_outputs("all")
    at = {"x": sp.Rational(1, 4), "y": sp.Integer(2)}
    for mode in ("reverse", "forward"):
        matrix = jacobian(graph, at, mode=mode, m=symbolic).matrix
        assert sp.simplify(matrix["f"]["x"] - sp.sqrt(2) * sp.pi) == 0
        assert (matrix["f"]["y"], matrix["g"]["x"], matrix["g"]["y"]) == (sp.sqrt(2) / 2, 2, sp.Rational(1, 4))
    result = tangents(graph, at, wrt="y", m=symbolic)
    assert result.derivative == {"f": sp.sqrt(2) / 2, "g": sp.Rational(1, 4)}
    assert result.exact


def test_outputs_are_chosen_by_name_or_all_and_refused_with_the_reason():
    graph = lower("f = x*y; g = x + y; h = f*2")
    assert graph.with_outputs("all").output_names == ("g", "h")
    assert graph.with_outputs(["f", "g"]).outputs == (2, 3)
    with pytest.raises(UsageError, match="outputs names q, which is not a stage of the program"):
        graph.with_outputs(["q"])
    with pytest.raises(UsageError, match="outputs names x, which is an input"):
        graph.with_outputs(["x"])
    with pytest.raises(UsageError, match="outputs names f more than once"):
        graph.with_outputs(["f", "f"])


def test_stages_no_chosen_output_uses_are_warned_about():
    graph = lower("f = x*y; g = x + y; h = sin(x)")
    assert graph.notes == ("the output h (the last statement) does not use stages f, g: use them "
                           "in h, or remove them",)
    assert graph.with_outputs(["f", "h"]).notes == (
        "no output of f, h uses stage g: add it to the outputs, use it in an output, or remove it",)
    assert graph.with_outputs("all").notes == ()


def test_the_library_functions_take_keyword_arguments():
    graph = lower("f = x*y; g = x + y").with_outputs("all")
    assert jacobian(graph, at={"x": 2.0, "y": 3.0}, wrt=["y"], mode="forward").matrix == \
        {"f": {"y": 2.0}, "g": {"y": 1.0}}
    assert tangents(graph, at={"x": 2.0, "y": 3.0}, wrt="x").tangents == [1.0, 0.0, 3.0, 1.0]
    with pytest.raises(UsageError, match="mode='sideways'"):
        jacobian(graph, {"x": 2.0, "y": 3.0}, mode="sideways")


# ---- the command line ---------------------------------------------------------------------

PROGRAM = "f = x*y; g = x + y; h = sin(x)"


def test_eval_prints_the_jacobian_and_the_values(cli):
    run = cli("eval", PROGRAM, "--at", "x=2,y=3", "--output", "f,g")
    assert (run.code, run.stderr) == (0, "warning: no output of f, g uses stage h: add it to the "
                                         "outputs, use it in an output, or remove it\n")
    assert run.stdout == """\
Jacobian ∂output/∂input at x = 2, y = 3
┏━━━━━━━━┳━━━━━━━┳━━━━━━┳━━━━━━┓
┃ output ┃ value ┃ ∂/∂x ┃ ∂/∂y ┃
┡━━━━━━━━╇━━━━━━━╇━━━━━━╇━━━━━━┩
│ f      │     6 │    3 │    2 │
│ g      │     5 │    1 │    1 │
└────────┴───────┴──────┴──────┘
"""


def test_eval_json_and_csv_of_several_outputs(cli):
    run = cli("eval", PROGRAM, "--at", "x=2,y=3", "--output", "all", "--format", "json")
    assert (run.code, run.stderr) == (0, "")
    assert run.json() == {
        "outputs": ["f", "g", "h"],
        "values": {"f": 6.0, "g": 5.0, "h": math.sin(2)},
        "at": {"x": 2.0, "y": 3.0},
        "jacobian": {"f": {"x": 3.0, "y": 2.0}, "g": {"x": 1.0, "y": 1.0},
                     "h": {"x": math.cos(2), "y": 0.0}},
    }
    run = cli("eval", PROGRAM, "--at", "x=2,y=3", "--output", "f,g", "--format", "csv")
    assert run.stdout == ("role,name,value,∂/∂x,∂/∂y\ninput,x,2.0,,\ninput,y,3.0,,\n"
                          "output,f,6.0,3.0,2.0\noutput,g,5.0,1.0,1.0\n")


@pytest.mark.parametrize("text, at", [(text, at) for text, at, _ in WORKED])
def test_one_output_chosen_is_todays_json_byte_for_byte(cli, text, at):
    plain = cli("eval", text, "--at", at_option(at), "--format", "json")
    last = plain.json()["output"]
    chosen = cli("eval", text, "--at", at_option(at), "--format", "json", "--output", last)
    assert (chosen.code, chosen.stdout, chosen.stderr) == (plain.code, plain.stdout, plain.stderr)
    plain = cli("trace", text, "--at", at_option(at), "--format", "json")
    chosen = cli("trace", text, "--at", at_option(at), "--format", "json", "--output", "all")
    assert (chosen.code, chosen.stdout) == (plain.code, plain.stdout)


def test_eval_jacobian_reports_the_passes_and_the_local_derivatives(cli):
    run = cli("eval", NEURON, "--at", "w=[2,-3,-3],x=[-1,-2]", "--jacobian")
    assert run.code == 0
    assert run.stdout.endswith("reverse mode: 1 pass (one per output), 9 local derivatives evaluated\n"
                               "(forward mode: 5 passes, one per input)\n")
    run = cli("eval", NEURON, "--at", "w=[2,-3,-3],x=[-1,-2]", "--jacobian", "--mode", "forward",
              "--format", "json")
    document = run.json()
    assert (document["mode"], document["passes"], document["evaluations"]) == ("forward", 5, 18)
    run = cli("eval", FAN_OUT, "--at", "x=0.5", "--output", "all", "--jacobian", "--format", "json")
    document = run.json()
    assert (document["mode"], document["passes"], document["evaluations"]) == ("forward", 1, 6)


def test_exact_and_digits_with_several_outputs(cli):
    run = cli("eval", "f = sin(pi*x); g = x*x", "--at", "x=1/4", "--output", "all",
              "--exact", "--format", "json")
    assert run.json()["exact"] == {"values": {"f": "sqrt(2)/2", "g": "1/16"},
                                   "jacobian": {"f": {"x": "sqrt(2)*pi/2"}, "g": {"x": "1/2"}}}
    run = cli("eval", "f = exp(x); g = x*x", "--at", "x=1", "--output", "all",
              "--digits", "30", "--format", "json")
    assert run.json()["decimal"] == {
        "values": {"f": "2.71828182845904523536028747135", "g": "1.00000000000000000000000000000"},
        "jacobian": {"f": {"x": "2.71828182845904523536028747135"},
                     "g": {"x": "2.00000000000000000000000000000"}}}
    run = cli("eval", "f = sin(pi*x); g = x*x", "--at", "x=1/4", "--output", "all",
              "--exact", "--jacobian", "--mode", "forward", "--format", "json")
    assert run.json()["exact"]["jacobian"] == {"f": {"x": "sqrt(2)*pi/2"}, "g": {"x": "1/2"}}


def test_trace_shows_one_backward_pass_per_output_or_the_seeded_one(cli):
    run = cli("trace", PROGRAM, "--at", "x=2,y=3", "--output", "f,h", "--format", "json")
    nodes = {node["name"]: node["grads"] for node in run.json()["nodes"]}
    assert nodes["x"] == {"f": 3.0, "h": math.cos(2)}
    assert nodes["g"] == {"f": 0.0, "h": 0.0}
    run = cli("trace", PROGRAM, "--at", "x=2,y=3", "--output", "f,h")
    assert "backward pass of f (reverse order)" in run.stdout
    assert "backward pass of h (reverse order)" in run.stdout
    seeded = cli("trace", PROGRAM, "--at", "x=2,y=3", "--output", "f,h", "--seed-output", "h",
                 "--format", "json")
    assert seeded.json()["gradient"] == {"x": math.cos(2), "y": 0.0}
    assert seeded.json()["output"] == "h"
    assert seeded.stderr == ("warning: no output of f, h uses stage g: add it to the outputs, use it "
                             "in an output, or remove it\n")


def test_trace_forward_mode_fills_a_tangent_column(cli):
    run = cli("trace", "3*(a+b*c)", "--at", "a=5,b=3,c=2", "--mode", "forward", "--wrt", "b")
    assert (run.code, run.stderr) == (0, "")
    assert run.stdout == """\
forward mode (topological order): each tangent = Σ local × the input's tangent,
seeded db = 1
┏━━━━━━━┳━━━━━━━┳━━━━━━━━━━━━┳━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━┓
┃ stage ┃ op    ┃ definition ┃ value ┃ local ∂stage/∂input ┃ tangent ∂stage/∂b ┃
┡━━━━━━━╇━━━━━━━╇━━━━━━━━━━━━╇━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━┩
│ a     │ input │            │     5 │                     │                 0 │
│ b     │ input │            │     3 │                     │                 1 │
│ c     │ input │            │     2 │                     │                 0 │
│ u1    │ mul   │ b*c        │     6 │ ∂/∂b = 2            │                 2 │
│       │       │            │       │ ∂/∂c = —            │                   │
│ u2    │ add   │ a + u1     │    11 │ ∂/∂a = —            │                 2 │
│       │       │            │       │ ∂/∂u1 = 1           │                   │
│ f     │ mul   │ 3*u2       │    33 │ ∂/∂u2 = 3           │                 6 │
└───────┴───────┴────────────┴───────┴─────────────────────┴───────────────────┘
∂f/∂b = 6 (one forward pass: 3 local derivatives evaluated)
"""


@pytest.mark.parametrize("fmt", ["markdown", "latex", "csv"])
def test_trace_forward_mode_in_the_notes_formats(cli, fmt):
    run = cli("trace", "x**2*(3*x+1) - sin(x**2)", "--at", "x=1.5", "--mode", "forward",
              "--format", fmt)
    assert run.code == 0 and run.stderr == ""
    assert "25.1345" in run.stdout or "25.13451" in run.stdout


def test_the_forward_python_program_prints_the_numbers_of_the_json(cli, tmp_path):
    args = ("trace", PROGRAM, "--at", "x=2,y=3", "--output", "all", "--mode", "forward",
            "--wrt", "x")
    document = cli(*args, "--format", "json").json()
    program = tmp_path / "forward.py"
    program.write_text(cli(*args, "--format", "python").stdout)
    printed = subprocess.run([sys.executable, str(program)], capture_output=True, text=True, check=True)
    assert "dot_h = math.cos(x) * dot_x" in program.read_text()
    del document["nodes"], document["evaluations"]
    assert json.loads(printed.stdout) == document
    assert document["derivative"] == {"f": 3.0, "g": 1.0, "h": math.cos(2)}


def test_trace_forward_mode_exact(cli):
    run = cli("trace", "sin(pi*x)*y", "--at", "x=1/4,y=2", "--mode", "forward", "--wrt", "x",
              "--exact", "--format", "json")
    assert run.json()["exact"]["derivative"] == {"f": "sqrt(2)*pi"}


@pytest.mark.parametrize("args, message", [
    (("trace", "3*(a+b*c)", "--at", "a=5,b=3,c=2", "--mode", "forward"),
     "error: forward mode differentiates by one input: give it with --wrt NAME (one of a, b, c)\n"),
    (("trace", "3*(a+b*c)", "--at", "a=5,b=3,c=2", "--mode", "forward", "--wrt", "a,b"),
     "error: --mode forward differentiates by one input: --wrt a (one pass per input; eval "
     "--jacobian runs them all) (see 'gradcalc trace --help')\n"),
    (("eval", PROGRAM, "--at", "x=2,y=3", "--output", "q"),
     "error: --output names q, which is not a stage of the program (its stages: f, g, h)\n"),
    (("eval", PROGRAM, "--at", "x=2,y=3", "--mode", "forward"),
     "error: --mode says how --jacobian computes the Jacobian: add --jacobian "
     "(see 'gradcalc eval --help')\n"),
    (("trace", PROGRAM, "--at", "x=2,y=3", "--output", "f,g", "--format", "python"),
     "error: --format python shows one backward pass: choose its output with --seed-output (f, g) "
     "(see 'gradcalc trace --help')\n"),
    (("trace", PROGRAM, "--at", "x=2,y=3", "--seed-output", "f"),
     "error: --seed-output names f, which is not an output (the outputs: h)\n"),
])
def test_mistakes_are_one_line_with_exit_2(cli, args, message):
    run = cli(*args)
    assert (run.code, run.stdout, run.stderr[-len(message):]) == (2, "", message)
    assert run.stderr.count("error:") == 1


def test_a_file_name_given_as_the_outputs_says_where_files_go(cli):
    run = cli("eval", "f = x*y; g = x+y", "--at", "x=1,y=2", "--output", "out.svg")
    assert run.code == 2 and run.stdout == ""
    assert run.stderr == ("error: --output out.svg: --output names the outputs among the stages (f,g or "
                          "all); to write the result to a file use -o FILE (see 'gradcalc eval --help')\n")


LOGISTIC_TWO = "p = sigmoid(w1*x1 + w2*x2 + b); L = -y*log(p) - (1-y)*log(1-p); R = w1*w1 + w2*w2"


def test_data_mode_reduces_each_output(cli):
    """Each row of the reduced Jacobian is what that output alone gives, and the numpy formula."""
    import numpy as np

    data = "examples/logistic/data.csv"
    args = ("eval", LOGISTIC_TWO, "--data", data, "--at", "w1=0.5,w2=-0.3,b=0.1", "--format", "json")
    both = cli(*args, "--output", "L,R").json()
    assert both["outputs"] == ["L", "R"] and both["reduce"] == "mean" and both["rows"] == 200
    for name in ("L", "R"):
        alone = cli(*args, "--output", name).json()
        assert both["values"][name] == alone["value"]
        assert both["jacobian"][name] == alone["gradient"]
    x1, x2, y = np.loadtxt(data, delimiter=",", skiprows=1, unpack=True)
    p = 1 / (1 + np.exp(-(0.5 * x1 - 0.3 * x2 + 0.1)))
    assert both["values"]["L"] == pytest.approx(np.mean(-y * np.log(p) - (1 - y) * np.log(1 - p)), rel=1e-12)
    assert both["jacobian"]["L"]["w1"] == pytest.approx(np.mean((p - y) * x1), rel=1e-12)
    assert both["jacobian"]["R"] == pytest.approx({"w1": 1.0, "w2": -0.6, "b": 0.0}, abs=1e-12)


def test_data_mode_with_several_outputs_refuses_what_it_cannot_do(cli, tmp_path):
    args = ("eval", LOGISTIC_TWO, "--at", "w1=0,w2=0,b=0", "--output", "L,R")
    none = cli(*args, "--data", "examples/logistic/data.csv", "--reduce", "none")
    assert none.code == 2 and "one output per row is not written" in none.stderr
    dask = cli(*args, "--data", "examples/logistic/data.csv", "--engine", "dask")
    assert dask.code == 2 and "use --engine numpy for several outputs" in dask.stderr
    piped = cli(*args, "--data", "-", stdin="x1,x2,y\n1,2,1\n")
    assert piped.code == 2 and "standard input can be read once" in piped.stderr


def test_forward_mode_to_many_digits_against_mpmath(cli):
    """σ'(1000)·y to 25 digits, where float64 gives 0: the tangent of every stage is confirmed."""
    import mpmath

    out = cli("trace", "f = sigmoid(x)*y; g = x*x", "--at", "x=1000,y=2", "--output", "f,g",
              "--mode", "forward", "--wrt", "x", "--digits", "25", "--format", "json").json()
    with mpmath.workdps(60):
        z = mpmath.exp(-1000)
        want = mpmath.nstr(2 * z / (1 + z) ** 2, 25, strip_zeros=False)  # 2σ(1-σ), no cancellation
    assert out["decimal"]["derivative"]["f"] == want
    assert out["decimal"]["derivative"]["g"] == "2000.000000000000000000000"
    assert out["derivative"]["f"] == pytest.approx(1.0151917795098913e-434, rel=1e-15)


def test_bad_rows_under_several_outputs_are_said_once(cli, tmp_path):
    data = tmp_path / "s.csv"
    data.write_text("x1,x2,y\n1,2,1\nabc,1,0\n2,1,0\n")
    run = cli("eval", LOGISTIC_TWO, "--data", str(data), "--at", "w1=0,w2=0,b=0", "--output", "L,R",
              "--on-error", "skip", "--format", "json")
    assert run.code == 0 and run.json()["rows"] == 2 and run.json()["skipped"] == 1
    assert run.stderr.splitlines() == [
        "warning: skipped 1 bad row of 3 (rows 2); the result uses the other 2",
        "warning: row 2, column x1: 'abc' is not a number"]


def test_one_local_derivative_is_counted_in_the_singular(cli):
    run = cli("trace", "3*x", "--at", "x=2", "--mode", "forward")
    assert run.stdout.endswith("∂f/∂x = 3 (one forward pass: 1 local derivative evaluated)\n")
