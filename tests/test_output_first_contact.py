"""What the output shows a new user: true sentences (data mode without parameters, check at
a kink, the loss chart's labels), tables that lose nothing at any width or in a file, no
trailing spaces, and numbers shown as typed, counted with separators, never -0.0."""
from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
from helpers import staged
from rich.console import Console

from gradcalc.analyses.modes import compute
from gradcalc.core import autodiff
from gradcalc.render import renderer
from gradcalc.render.curve import terminal_curve
from gradcalc.render.numerals import human

NETWORK = ("descend", "-f", "examples/network/loss.txt", "--data", "examples/network/data.csv",
           "--reduce", "sum", "--at",
           "w1=[-7.8751,-8.3499],b1=[-3.9181,3.8380],w2=[5.0297,-4.0937],b2=1.6347",
           "--lr", "0.1")
BOX = set("┏┓┗┛┃━┡┩╇┳┻┣┫╋│─┌┐└┘├┤┼┬┴╭╮╰╯")


def shown(renderable, width: int) -> str:
    """What a console of `width` columns prints into a file (no terminal, no colour)."""
    out = io.StringIO()
    Console(file=out, width=width, highlight=False, markup=False, emoji=False).print(renderable)
    return out.getvalue()


def lines_without_box(text: str) -> list[str]:
    return ["".join(" " if ch in BOX else ch for ch in line) for line in text.splitlines()]


def assert_whole(text: str, words, width: int) -> None:
    """Every word on one line, no line cut, wider than the console or ending in spaces."""
    assert "…" not in text
    rows = text.splitlines()
    assert all(len(row) <= width and row == row.rstrip() for row in rows)
    plain = lines_without_box(text)
    for word in words:
        assert any(word in row for row in plain), f"{word!r} is split or missing"


# ---- bug 8: data mode with no parameters says something true -----------------------------

def test_data_mode_without_parameters_says_where_the_gradients_are(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = "x.csv"
    (tmp_path / data).write_text("x\n1\n2\n4\n")
    run = cli("eval", "log(x)", "--data", data)
    assert (run.code, run.stderr) == (0, "")
    assert "constant" not in run.stdout
    assert run.stdout.splitlines()[0] == f"f = {human((0 + 0.6931471805599453 + 1.3862943611198906) / 3)}"
    said = " ".join(run.stdout.splitlines()[1:-1])
    assert said == (f"no parameters to differentiate by: its input (x) is a column of {data}, "
                    "with one value per row; give parameters with --at, or get ∂f/∂x for each "
                    "row with --reduce none")
    assert run.stdout.splitlines()[-1] == f"mean over 3 rows of {data}"


def test_the_per_row_gradients_it_points_to_exist(cli, tmp_path):
    data = tmp_path / "x.csv"
    data.write_text("x\n1\n2\n4\n")
    run = cli("eval", "log(x)", "--data", str(data), "--reduce", "none")
    assert run.stdout == "row,f,df/dx\n1,0,1\n2,0.6931471805599453,0.5\n3,1.3862943611198906,0.25\n"


def test_a_constant_over_data_is_still_called_a_constant(cli, tmp_path):
    data = tmp_path / "x.csv"
    data.write_text("x\n1\n")
    run = cli("eval", "3", "--data", str(data))
    assert "(no inputs: the expression is a constant)" in run.stdout


# ---- bug 10: check says what it judged ------------------------------------------------------

def test_check_at_a_kink_judges_nothing_and_says_so(cli):
    run = cli("check", "relu(x)", "--at", "x=0")
    assert run.code == 0
    assert run.stdout.splitlines()[0] == "f = 0: no gradient judged: x is at a kink"
    assert "agree" not in run.stdout.splitlines()[0]


def test_check_counts_only_the_rows_it_judged(cli):
    run = cli("check", "relu(x) + y", "--at", "x=0,y=1")
    assert run.code == 0
    assert " ".join(run.stdout.splitlines()[:2]) .startswith(
        "f = 1: 1 gradient agrees with its oracles (rtol 1e-06, atol 1e-09); x is at a kink, "
        "not judged")


def test_one_gradient_is_singular(cli):
    run = cli("check", "exp(x)", "--at", "x=1")
    assert run.stdout.splitlines()[0] == ("f = 2.71828: 1 gradient agrees with its oracles "
                                          "(rtol 1e-06, atol 1e-09)")


def test_check_and_eval_print_the_same_precision(cli):
    expression, at = "x**2*(3*x+1) - sin(x**2)", "x=1.5"
    evaluated = cli("eval", expression, "--at", at).stdout.splitlines()[0]
    checked = cli("check", expression, "--at", at).stdout.splitlines()[0]
    assert evaluated == "f = 11.5969" and checked.startswith(evaluated + ": ")


# ---- bug 11: the loss chart's labels are true -----------------------------------------------

def chart(stdout: str) -> list[str]:
    rows = stdout.splitlines()
    return rows[next(k for k, row in enumerate(rows) if row.endswith(" per step")
                     or " per step," in row):]


def test_the_chart_ends_at_the_loss_the_headline_gives(cli):
    run = cli(*NETWORK, "--steps", "3000")
    head = run.stdout.splitlines()[0]
    assert head == "L = 0.393133 after 3,000 steps (from 12.017; sum over 51 rows)"
    rows = chart(run.stdout)
    assert rows[0] == "L per step"
    assert rows[1].split(" ┤")[0].strip() == "12.017"  # the first loss: the highest
    assert rows[6].split(" ┤")[0].strip() == "0.393133"  # the last: the lowest, as headlined
    assert rows[-1].split() == ["0", "3000", "step"]


def test_a_sampled_chart_draws_the_first_and_the_last_step():
    values = [1 / (1 + k) ** 0.5 for k in range(1001)]  # more steps than columns
    rows = terminal_curve(values, width=60).splitlines()
    assert rows[1] == "       1 ┤█"
    assert rows[6].split(" ┤")[0] == "0.031607" == human(values[-1])
    assert rows[6].endswith("▁") and len(rows[6].split("┤")[1]) == 60
    assert rows[-1].split() == ["0", "1000", "step"]
    assert all(row == row.rstrip() for row in rows)


def test_a_minibatch_chart_says_its_losses_are_the_batches(cli, tmp_path):
    data = tmp_path / "line.csv"
    data.write_text("x,y\n" + "".join(f"{k},{3 * k - 1}\n" for k in range(10)))
    run = cli("descend", "(w*x + b - y)**2", "--data", str(data), "--at", "w=0,b=0",
              "--lr", "0.001", "--steps", "20", "--batch-size", "4")
    rows = chart(run.stdout)
    assert rows[0] == "f per step, on each step's batch of 4 rows"
    assert rows[-1].split() == ["0", "19", "step"]


# ---- tables that lose nothing, at any width -------------------------------------------------

LONG = "verylongname_of_an_input_that_a_teacher_wrote_out"


def evaluated(expression: str, at: dict, **mode):
    graph, point = staged(expression, at)
    if not mode:
        return renderer("eval", "table")(autodiff.evaluate(graph, point.read()))
    evaluation = compute("eval", graph, point, **mode, steps=True)
    return renderer(evaluation.renderer, "table")(evaluation.shown)


def traced(expression: str, at: dict, **mode):
    graph, point = staged(expression, at)
    if not mode:
        return renderer("trace", "table")(autodiff.evaluate(graph, point.read()))
    evaluation = compute("trace", graph, point, **mode, steps=True)
    return renderer(evaluation.renderer, "table")(evaluation.shown)


@pytest.mark.parametrize("width", [80, 120])
def test_a_long_name_is_never_cut(width):
    expression = f"{LONG}*another_long_name_for_a_weight + {LONG}**2"
    at = {LONG: "1.5", "another_long_name_for_a_weight": "-2"}
    for table in (evaluated(expression, at), traced(expression, at)):
        assert_whole(shown(table, width), [LONG, "another_long_name_for_a_weight"], width)


@pytest.mark.parametrize("width", [80, 120])
def test_digits_mode_never_splits_a_number_or_a_header_word(width):
    at = {"w0": "2", "w1": "-3", "w2": "-3", "x0": "-1", "x1": "-2"}
    graph, point = staged("sigmoid(w0*x0+w1*x1+w2)", at)
    evaluation = compute("trace", graph, point, digits=30, steps=True)
    decimals = evaluation.shown
    numbers = [decimals.show(v) for v in decimals.result.values + decimals.result.grads]
    text = shown(renderer(evaluation.renderer, "table")(decimals), width)
    assert_whole(text, [*numbers, "∂stage/∂input", "contribution", "accumulated"], width)
    eval_text = shown(evaluated("sigmoid(w0*x0+w1*x1+w2)", at, digits=30), width)
    assert_whole(eval_text, numbers[-1:], width)


@pytest.mark.parametrize("width", [80, 120])
def test_exact_mode_never_splits_a_number_or_a_header_word(width):
    at = {"x": "1/7", "y": "sqrt(2)/3"}
    text = shown(traced("sin(pi*x)*y + x/y", at, exact=True), width)
    assert_whole(text, ["sqrt(2)/3", "∂stage/∂input", "accumulated"], width)
    eval_text = shown(evaluated("sin(pi*x)*y + x/y", at, exact=True), width)
    assert_whole(eval_text, ["sqrt(2)/3", "1/7", "∂f/∂input"], width)


def test_a_table_that_fits_is_drawn_as_rich_draws_it():
    text = shown(evaluated("3*(a+b*c)", {"a": "5", "b": "3", "c": "2"}), 80)
    assert text == ("f = 33\n"
                    "┏━━━━━━━┳━━━━━━━┳━━━━━━━━━━━┓\n"
                    "┃ input ┃ value ┃ ∂f/∂input ┃\n"
                    "┡━━━━━━━╇━━━━━━━╇━━━━━━━━━━━┩\n"
                    "│ a     │     5 │         3 │\n"
                    "│ b     │     3 │         6 │\n"
                    "│ c     │     2 │         9 │\n"
                    "└───────┴───────┴───────────┘\n")


def test_too_wide_a_table_becomes_one_block_per_row():
    at = {"x": "1/7", "y": "2"}
    graph, point = staged("x*y", at)
    evaluation = compute("eval", graph, point, digits=60, steps=True)
    text = shown(renderer(evaluation.renderer, "table")(evaluation.shown), 80)
    seventh, two = (evaluation.shown.show(evaluation.shown.result.at[name]) for name in "xy")
    assert len(seventh) == 62 and two == "2." + "0" * 59
    assert text.splitlines()[1:] == [
        "x",
        f"  value      {seventh}",
        f"  ∂f/∂input  {two}",
        "y",
        f"  value      {two}",
        f"  ∂f/∂input  {seventh}",
    ]


def test_a_redirected_trace_keeps_every_name(tmp_path):
    """A real process writing to a file: rich's width without a terminal, no ellipsis."""
    expression = f"{LONG}*w + sin({LONG})"
    out = tmp_path / "notes.txt"
    with open(out, "w") as f:
        subprocess.run([sys.executable, "-m", "gradcalc", "trace", expression, "--at",
                        f"{LONG}=0.5,w=3"], stdout=f, check=True)
    assert_whole(out.read_text(), [LONG], 80)


# ---- no trailing spaces ---------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    ("trace", "3*(a+b*c)", "--at", "a=5,b=3,c=2"),
    ("trace", "x0+x1+x2+x3+x4", "--at", "x=[1,2,3,4,5]", "--depth", "1"),
    ("check", "3*(a+b*c)", "--at", "a=5,b=3,c=2", "--nodes"),
    ("paths", "x**2*(3*x+1) - sin(x**2)", "--at", "x=1.5"),
    ("eval", "x**2*y", "--at", "x=1.5,y=-2", "--hessian"),
    ("trace", "sin(pi*x)", "--at", "x=1/4", "--digits", "20"),
    ("eval", "-f", "examples/logistic/loss.txt", "--data", "examples/logistic/data.csv",
     "--at", "w1=0,w2=0,b=0"),
    ("descend", "-f", "examples/logistic/loss.txt", "--data", "examples/logistic/data.csv",
     "--at", "w1=0,w2=0,b=0", "--lr", "0.5", "--steps", "50"),
])
def test_no_line_ends_in_spaces(cli, args):
    run = cli(*args)
    assert run.code == 0 and run.stdout
    assert [row for row in run.stdout.splitlines() if row != row.rstrip()] == []


# ---- numbers --------------------------------------------------------------------------------

@pytest.mark.parametrize("value, text", [
    (123456789.0, "123456789"),  # as typed: shorter than 1.23457e+08
    (1234567.5, "1234567.5"),
    (0.1, "0.1"),
    (3.14159265, "3.14159"),  # longer than six digits: rounded
    (0.1 + 0.2, "0.3"),  # 0.30000000000000004 is longer: rounded
    (1e15, "1e+15"),
    (1e-7, "1e-07"),
    (-0.0, "0"),
])
def test_a_number_shows_every_digit_when_that_is_no_longer(value, text):
    assert human(value) == text


def test_an_input_comes_back_as_typed(cli):
    run = cli("eval", "x*y", "--at", "x=123456789,y=0.5")
    assert run.stdout.splitlines()[0] == "f = 61728394.5"
    assert "│ x     │ 123456789 │       0.5 │" in run.stdout


def test_counts_have_thousands_separators(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = "rows.csv"
    (tmp_path / data).write_text("x\n" + "1\n" * 1200)
    run = cli("eval", "w*x", "--data", data, "--at", "w=1")
    assert run.stdout.splitlines()[-1] == f"mean over 1,200 rows of {data}"


def test_no_negative_zero_in_json_or_csv(cli, tmp_path):
    args = ("-x*y", "--at", "x=0,y=-0")
    document = cli("eval", *args, "--format", "json").json()
    assert json.dumps(document) == ('{"output": "f", "value": 0.0, "at": {"x": 0.0, "y": 0.0}, '
                                    '"gradient": {"x": 0.0, "y": 0.0}}')
    assert "-0" not in cli("trace", *args, "--format", "json").stdout
    assert "-0" not in cli("eval", *args, "--format", "csv").stdout
    data = tmp_path / "d.csv"
    data.write_text("y\n-0\n0\n")
    for fmt in ("csv", "json"):
        rows = cli("eval", "-x*y", "--data", str(data), "--at", "x=0", "--reduce", "none",
                   "--format", fmt).stdout
        assert "-0" not in rows and rows.count("0") > 0


def test_the_python_trace_prints_the_same_zeros_as_eval(cli):
    args = ("-x*y", "--at", "x=0,y=-0")
    code = cli("trace", *args, "--format", "python").stdout
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert ran.stdout == cli("eval", *args, "--format", "json").stdout
