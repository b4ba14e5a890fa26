"""The Python API: one function per command, whose results are the command's documents
(`to_dict()` is its JSON), render themselves, and fail and warn in Python's terms."""
from __future__ import annotations

import doctest
import json
import math
import warnings
from fractions import Fraction
from pathlib import Path

import pytest
import sympy as sp
from helpers import LOSS, LOSS_AT, WORKED, S, at_option, run_cli

import gradcalc
from gradcalc.api import points, views

ROOT = Path(__file__).resolve().parent.parent
LOGISTIC = ROOT / "examples" / "logistic"


def cli_json(*args: str) -> str:
    run = run_cli(*args, "--format", "json", "-q")
    assert run.code == 0, run.stderr
    return run.stdout


def dumped(view) -> str:
    """What the command prints for the same call: its JSON settings, and a newline."""
    return json.dumps(view.to_dict(), indent=2, ensure_ascii=False) + "\n"


# ---- to_dict() is the command's JSON, byte for byte --------------------------------------

@pytest.mark.parametrize("text, at, form", WORKED, ids=[w[0] for w in WORKED])
def test_to_dict_is_the_eval_and_trace_json_of_every_worked_example(text, at, form):
    assert dumped(gradcalc.evaluate(text, at)) == cli_json("eval", text, "--at", at_option(at))
    assert dumped(gradcalc.trace(text, at)) == cli_json("trace", text, "--at", at_option(at))


@pytest.mark.parametrize("text, at, form", WORKED, ids=[w[0] for w in WORKED])
def test_the_worked_examples_agree_with_sympy(text, at, form):
    result = gradcalc.evaluate(text, {name: Fraction(value) for name, value in at.items()})
    point = {S[name]: sp.Rational(value) for name, value in at.items()}
    assert result.value == pytest.approx(float(form.subs(point)), rel=1e-13)
    for name, g in result.gradient.items():
        assert g == pytest.approx(float(sp.diff(form, S[name]).subs(point)), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("call, args", [
    (lambda: gradcalc.check("3*(a+b*c)", a=5, b=3, c=2, nodes=True),
     ("check", "3*(a+b*c)", "--at", "a=5,b=3,c=2", "--nodes")),
    (lambda: gradcalc.grad(LOSS, stages=True), ("grad", LOSS, "--stages")),
    (lambda: gradcalc.grad("sin(pi*x)", x="1/4"), ("grad", "sin(pi*x)", "--at", "x=1/4")),
    (lambda: gradcalc.hessian("x**2*y", x=1.5, y=-2), ("eval", "x**2*y", "--at", "x=1.5,y=-2", "--hessian")),
    (lambda: gradcalc.paths("x**2*(3*x+1) - sin(x**2)", x=1.5, top=2),
     ("paths", "x**2*(3*x+1) - sin(x**2)", "--at", "x=1.5", "--top", "2")),
    (lambda: gradcalc.evaluate("sin(pi*x)", x="1/4", exact=True),
     ("eval", "sin(pi*x)", "--at", "x=1/4", "--exact")),
    (lambda: gradcalc.trace("3*(a+b*c)", a=5, b=3, c=2, exact=True),
     ("trace", "3*(a+b*c)", "--at", "a=5,b=3,c=2", "--exact")),
    (lambda: gradcalc.evaluate("sigmoid(x)", x=1000, digits=20),
     ("eval", "sigmoid(x)", "--at", "x=1000", "--digits", "20")),
    (lambda: gradcalc.trace("sqrt(x)", x=2, digits=15), ("trace", "sqrt(x)", "--at", "x=2", "--digits", "15")),
    (lambda: gradcalc.evaluate("log(x) + sqrt(y)", x=0, y=0, nonfinite="ieee"),
     ("eval", "log(x) + sqrt(y)", "--at", "x=0,y=0", "--nonfinite", "ieee")),
    (lambda: gradcalc.evaluate("sigmoid(w0*x0+w1*x1+w2)", w=[2, -3, -3], x=[-1, -2], gates="primitive"),
     ("eval", "sigmoid(w0*x0+w1*x1+w2)", "--at", "w=[2,-3,-3],x=[-1,-2]", "--gates", "primitive")),
    (lambda: gradcalc.evaluate(LOSS, LOSS_AT, wrt=["w1", "w2"]),
     ("eval", LOSS, "--at", at_option(LOSS_AT), "--wrt", "w1,w2")),
    (lambda: gradcalc.evaluate("-y*log(sigmoid(w1*x1+w2*x2+b)) - (1-y)*log(1-sigmoid(w1*x1+w2*x2+b))",
                               data=LOGISTIC / "data.csv", w1=0, w2=0, b=0),
     ("eval", "-y*log(sigmoid(w1*x1+w2*x2+b)) - (1-y)*log(1-sigmoid(w1*x1+w2*x2+b))",
      "--data", str(LOGISTIC / "data.csv"), "--at", "w1=0,w2=0,b=0")),
    (lambda: gradcalc.descend((LOGISTIC / "loss.txt").read_text(), str(LOGISTIC / "data.csv"), w1=0, w2=0, b=0,
                              lr=0.5, steps=20),
     ("descend", "-f", str(LOGISTIC / "loss.txt"), "--data", str(LOGISTIC / "data.csv"), "--at", "w1=0,w2=0,b=0",
      "--lr", "0.5", "--steps", "20")),
], ids=["check", "grad", "grad-at", "hessian", "paths", "exact", "trace-exact", "digits", "trace-digits", "ieee",
        "gates", "wrt", "data", "descend"])
def test_to_dict_is_the_json_of_every_other_view(call, args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gradcalc.GradcalcWarning)
        assert dumped(call()) == cli_json(*args)


# ---- values in Python's types ---------------------------------------------------------------

def test_values_may_be_numbers_fractions_strings_and_lists():
    result = gradcalc.evaluate("w0*x + w1 + y/z", {"x": Fraction(1, 4)}, w=[2, -3], y="pi/4", z=2.0)
    assert result.at == {"x": 0.25, "w0": 2.0, "w1": -3.0, "y": math.pi / 4, "z": 2.0}
    assert result.gradient == {"w0": 0.25, "x": 2.0, "w1": 1.0, "y": 0.5, "z": -math.pi / 16}


def test_a_fraction_and_a_float_stay_exact_in_exact_mode():
    result = gradcalc.evaluate("x + y", x=Fraction(1, 3), y=0.1, exact=True)
    assert result.value == sp.Rational(1, 3) + sp.Rational(1, 10)


def test_a_graph_is_lowered_once_and_evaluated_again():
    graph = gradcalc.lower("u = b*c; v = a + u; J = 3*v")
    assert repr(gradcalc.evaluate(graph, a=5, b=3, c=2)) == "Result(J=33.0, gradient={'b': 6.0, 'c': 9.0, 'a': 3.0})"
    assert gradcalc.evaluate(graph, {"a": 1, "b": 1, "c": 1}).grad_of("u") == 3.0


@pytest.mark.parametrize("data", ["dict", "structured", "pandas", "pyarrow"])
def test_data_in_memory_gives_what_the_file_gives(data):
    import numpy as np

    columns = {"x": [1.0, 2.0, 3.0], "y": [2.0, 5.0, 6.0]}
    if data == "structured":
        source = np.array(list(zip(columns["x"], columns["y"])), dtype=[("x", float), ("y", float)])
    elif data == "pandas":
        import pandas as pd

        source = pd.DataFrame(columns)
    elif data == "pyarrow":
        import pyarrow as pa

        source = pa.table(columns)
    else:
        source = columns
    reduced = gradcalc.evaluate("(w*x - y)**2", data=source, w=2)
    assert (reduced.value, reduced.gradient) == (1 / 3, {"w": 2 * (0 * 1 + 1 * -1 * 2 + 0 * 3) / 3})


# ---- errors in the caller's terms, as built-in exceptions too ------------------------------

@pytest.mark.parametrize("call, error, builtin, message", [
    (lambda: gradcalc.evaluate("a*b", a=5), gradcalc.UsageError, ValueError,
     "missing value for b (pass b=...)"),
    (lambda: gradcalc.evaluate("x", x=float("nan")), gradcalc.UsageError, ValueError,
     "at x=nan: a value must be a finite number (nan and inf are not allowed)"),
    (lambda: gradcalc.evaluate("x", x=-math.inf), gradcalc.UsageError, ValueError,
     "at x=-inf: a value must be a finite number (nan and inf are not allowed)"),
    (lambda: gradcalc.evaluate("x", x="nan"), gradcalc.UsageError, ValueError,
     "at x=nan: a value must be a number or a constant expression; 'nan' is not a known constant "
     "(nan and inf are not allowed)"),
    (lambda: gradcalc.evaluate("x", x=None), gradcalc.ValueTypeError, TypeError,
     "at x: a value is a number, a fractions.Fraction, a string such as 'pi/4' or a list "
     "(w=[1, 2] gives w0 and w1), not NoneType"),
    (lambda: gradcalc.evaluate("x", x=True), gradcalc.ValueTypeError, TypeError,
     "at x: a value is a number, a fractions.Fraction, a string such as 'pi/4' or a list "
     "(w=[1, 2] gives w0 and w1), not bool"),
    (lambda: gradcalc.evaluate("w0", w=[1], w0=2), gradcalc.UsageError, ValueError,
     "at gives w0 two different values: 1 and 2"),
    (lambda: gradcalc.evaluate("x", {1: 2}), gradcalc.ValueTypeError, TypeError, "at: a name is a string, not int (1)"),
    (lambda: gradcalc.evaluate("a = 5"), gradcalc.UsageError, ValueError,
     "'a = ...' assigns a constant: to give a a value, pass a=...; to compute it, write the expression alone"),
    (lambda: gradcalc.evaluate("x", x=1, wrt=["z"]), gradcalc.UsageError, ValueError,
     "wrt names z, which the expression does not use (its inputs: x)"),
    (lambda: gradcalc.evaluate("x", x=1, gates="lecture"), gradcalc.UsageError, ValueError,
     "gates='lecture': choose one of 'written', 'fused', 'primitive', 'scalar'"),
    (lambda: gradcalc.paths("x*y", x=1, y=2), gradcalc.UsageError, ValueError,
     "paths needs one input: name it with wrt (one of: x, y)"),
    (lambda: gradcalc.evaluate("sin x", x=1), gradcalc.ParseError, ValueError,
     "missing operator between 'sin' and 'x': a function needs parentheses: sin(x) at column 5: sin x"),
    (lambda: gradcalc.evaluate(3), gradcalc.ValueTypeError, TypeError,
     "source: expected an expression (str) or a Graph from lower(), not int"),
    (lambda: gradcalc.evaluate("log(x)", x=0), gradcalc.DomainError, ArithmeticError,
     "stage f = log(x): log of 0 (x = 0)"),
    (lambda: gradcalc.descend("(w*x-y)**2", {"x": [1]}, w=0), gradcalc.UsageError, ValueError,
     "missing column y: not in data (its columns: x) and given no value (pass y=...)"),
    (lambda: gradcalc.descend("(w*x-y)**2", [1, 2], w=0), gradcalc.ValueTypeError, TypeError,
     "data: list is not a file path, a mapping of columns, a structured array or a table"),
    (lambda: gradcalc.descend("(w*x-y)**2", {"x": [1], "y": [1]}, w=0, lr=0), gradcalc.UsageError, ValueError,
     "lr=0: must be above 0"),
])
def test_errors_say_what_and_how_in_python_terms(call, error, builtin, message):
    with pytest.raises(error) as raised:
        call()
    assert isinstance(raised.value, builtin)
    assert str(raised.value) == message


def test_a_view_refuses_a_format_it_does_not_write(tmp_path):
    with pytest.raises(gradcalc.UsageError, match=r"^path .*f\.png: Trace is written as \.txt, "):
        gradcalc.trace("x", x=1).save(tmp_path / "f.png")
    with pytest.raises(gradcalc.UsageError, match="^fmt: Result has no markdown format; it has table, json, csv, svg"):
        gradcalc.evaluate("x", x=1).markdown()


# ---- warnings: warnings.warn, and on the result ------------------------------------------

def test_an_unused_value_warns_at_the_callers_line_and_stays_on_the_result():
    with pytest.warns(gradcalc.UnusedValueWarning, match="^given q, which the expression does not use$") as caught:
        result = gradcalc.evaluate("x*y", x=1, y=2, q=3)
    assert caught[0].filename == __file__
    assert result.warnings == ["given q, which the expression does not use"]


def test_a_kink_is_a_gradcalc_warning():
    with pytest.warns(gradcalc.GradcalcWarning, match="relu is not differentiable at 0"):
        result = gradcalc.evaluate("relu(x)", x=0)
    assert result.gradient == {"x": 0.0}


# ---- display: repr, text, HTML, SVG, LaTeX, rich ----------------------------------------------

def test_a_result_shows_itself():
    result = gradcalc.evaluate("3*(a+b*c)", a=5, b=3, c=2)
    assert repr(result) == "Result(f=33.0, gradient={'a': 3.0, 'b': 6.0, 'c': 9.0})"
    assert str(result) + "\n" == run_cli("eval", "3*(a+b*c)", "--at", "a=5,b=3,c=2").stdout
    assert result._repr_html_().startswith('<pre style="font-family: monospace;')
    assert result.svg() + "\n" == run_cli("graph", "3*(a+b*c)", "--at", "a=5,b=3,c=2", "--format", "svg").stdout


def test_a_trace_shows_both_passes_in_html_and_writes_the_commands_formats(tmp_path):
    trace = gradcalc.trace("3*(a+b*c)", a=5, b=3, c=2)
    page = trace._repr_html_()
    assert "forward pass (topological order)" in page and "backward pass (reverse order)" in page
    assert "du1 = 3" in page
    for fmt, suffix in (("markdown", "md"), ("latex", "tex"), ("python", "py"), ("csv", "csv")):
        want = run_cli("trace", "3*(a+b*c)", "--at", "a=5,b=3,c=2", "--format", fmt).stdout
        assert getattr(trace, fmt)() + "\n" == want
        assert trace.save(tmp_path / f"t.{suffix}").read_text() == want


def test_a_circuit_is_svg_in_jupyter():
    circuit = gradcalc.graph("3*(a+b*c)")
    assert repr(circuit) == "Circuit(7 nodes, output 'f', structure only)"
    assert circuit._repr_svg_().startswith("<svg") and circuit._repr_svg_() == circuit.svg()
    assert str(circuit) + "\n" == run_cli("graph", "3*(a+b*c)").stdout


def test_a_symbolic_gradient_is_latex_in_jupyter():
    gradient = gradcalc.grad("3*(a+b*c)")
    assert repr(gradient) == "Gradient(f, {'a': '3', 'b': '3*c', 'c': '3*b'})"
    assert gradient._repr_latex_() == ("$$\\begin{aligned}\\frac{\\partial f}{\\partial a} &= 3 \\\\\n"
                                       "\\frac{\\partial f}{\\partial b} &= 3 c \\\\\n"
                                       "\\frac{\\partial f}{\\partial c} &= 3 b\\end{aligned}$$")
    assert {name: str(formula) for name, formula in gradient.formulas.items()} == {"a": "3", "b": "3*c", "c": "3*b"}


def test_rich_renders_the_table():
    from rich.console import Console

    console = Console(width=80, color_system=None)
    with console.capture() as captured:
        console.print(gradcalc.check("3*(a+b*c)", a=5, b=3, c=2))
    assert "backprop against a finite difference (Ridders) and sympy" in captured.get()


def test_a_descent_shows_its_loss_curve():
    descent = gradcalc.descend("(w*x - y)**2", {"x": [1.0, 2.0], "y": [2.0, 4.0]}, w=0, lr=0.1, steps=40)
    assert descent.losses[0] == 10.0  # (0 - 2)² and (0 - 4)², their mean
    assert descent.at["w"] == pytest.approx(2.0, abs=1e-11)  # w ← w - 0.1·2·(2.5w - 5): the error halves each step
    page = descent._repr_html_()
    assert "<pre" in page and "<svg" in page and "L per step" not in repr(descent)


# ---- doctests, and the lazy table -------------------------------------------------------------

@pytest.mark.parametrize("module", [gradcalc, gradcalc.api, views, points], ids=lambda m: m.__name__)
def test_every_docstring_example_runs(module):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        outcome = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert outcome.failed == 0


def test_every_public_function_has_an_example():
    for name in ("evaluate", "gradient", "trace", "graph", "check", "grad", "hessian", "paths", "descend"):
        assert ">>> " in getattr(gradcalc, name).__doc__, name


def test_every_name_of_the_package_resolves():
    for name in gradcalc.__all__:
        assert getattr(gradcalc, name) is not None


def test_the_readme_python_api_block_runs(tmp_path, monkeypatch):
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Python API"):readme.index("## Shell completion")]
    block = section.split("```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(ROOT)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        names: dict = {}
        exec(compile(block.replace('"notes.md"', repr(str(tmp_path / "notes.md"))), "README.md", "exec"), names)
    assert names["r"].to_dict()["gradient"] == {"a": 3.0, "b": 6.0, "c": 9.0}
    assert (tmp_path / "notes.md").read_text() == names["t"].markdown() + "\n"
