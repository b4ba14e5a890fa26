"""The views: backprop as runnable Python, Markdown and LaTeX tables, DOT, Mermaid and SVG
circuits, and large traces that stay readable. Every format is rendered for the worked examples."""
from __future__ import annotations

import ast
import json
import re
import shlex
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pydot
import pytest
from helpers import run_cli
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcalc.render.svg import CHAR

# The seeds' worked examples (their numbers are checked against the seeds in test_cli.py).
WORKED = [
    ("3*(a+b*c)", "a=5,b=3,c=2"),
    ("u = b*c; v = a + u; J = 3*v", "a=5,b=3,c=2"),
    ("1/(1+exp(-(w0*x0+w1*x1+w2)))", "w=[2,-3,-3],x=[-1,-2]"),
    ("sigmoid(w0*x0+w1*x1+w2)", "w=[2,-3,-3],x=[-1,-2]"),
    ("(x + sigmoid(y)) / (sigmoid(x) + (x+y)**2)", "x=3,y=-4"),
    ("z = w1*x1 + w2*x2 + b; yhat = sigmoid(z); L = -y*log(yhat) - (1-y)*log(1-yhat)",
     "x1=1.5,x2=2.5,w1=-4,w2=3,b=-1,y=1"),
    ("x**2*(3*x+1) - sin(x**2)", "x=1.5"),
    ("(exp(x) + x)**2", "x=1"),
    ("max(x, y) * 2 + x*y", "x=3,y=-4"),
]
IDS = [w[0][:24] for w in WORKED]
NEURON_AT = ("--at", "w=[2,-3,-3],x=[-1,-2]")


def run_python(code: str) -> str:
    done = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


# ---- trace --format python ----

@pytest.mark.parametrize("gates", ["written", "fused", "primitive"])
@pytest.mark.parametrize("expression, at", WORKED, ids=IDS)
def test_generated_python_prints_exactly_what_eval_prints(cli, expression, at, gates):
    code = cli("trace", expression, "--at", at, "--format", "python", "--gates", gates).stdout
    want = cli("eval", expression, "--at", at, "--format", "json", "--gates", gates).stdout
    assert run_python(code) == want


def test_generated_python_is_the_staged_listing_of_the_seed(cli):
    code = cli("trace", "(x + sigmoid(y)) / (sigmoid(x) + (x+y)**2)", "--at", "x=3,y=-4",
               "--format", "python").stdout
    imports = {alias.name for node in ast.walk(ast.parse(code)) if isinstance(node, ast.Import)
               for alias in node.names}
    assert imports == {"json", "math"}  # the standard library only
    assert "u3 = sigmoid(x)" in code and "f = u2 / u6" in code
    for stage in ("u1", "u2", "u3", "u4", "u5", "u6", "x", "y"):
        assert re.search(rf"^d{stage} = ", code, re.M), stage  # one d<stage> per stage
    assert "dx += (u3 * (1 - u3)) * du3" in code  # x has several consumers: +=
    assert "du6 = (-f / u6) * df" in code  # local gradients written out


def test_generated_python_refuses_non_finite_stages(cli):
    run = cli("trace", "exp(x)*0", "--at", "x=1000", "--nonfinite", "ieee", "--format", "python")
    assert run.code == 2 and run.stdout == "" and "finite" in run.stderr


def test_generated_python_survives_awkward_names(cli):
    program = "c = lambda + 1; c = c*c; math = c + json; f = math*x"
    code = cli("trace", program, "--at", "lambda=2,json=3,x=0.5", "--format", "python").stdout
    assert "lambda_ = 2.0" in code and "c_1 = c * c" in code and "math_ = c_1 + json_" in code
    assert json.loads(run_python(code)) == cli("eval", program, "--at", "lambda=2,json=3,x=0.5",
                                               "--format", "json").json()


NAMES = ("x", "y")
PIECES = [lambda a, b: f"({a} + {b})", lambda a, b: f"({a}*{b})", lambda a, b: f"({a} - {b})",
          lambda a, b: f"({a}/(2 + {b}**2))", lambda a, b: f"sigmoid({a})", lambda a, b: f"tanh({b})",
          lambda a, b: f"max({a}, {b})", lambda a, b: f"log(1 + exp({a}))",
          lambda a, b: f"sqrt(1 + {a}**2)",
          lambda a, b: f"abs({a})", lambda a, b: f"relu({b})", lambda a, b: f"atan({a})*softplus({b})"]


@st.composite
def random_expressions(draw):
    pool = list(NAMES) + ["0.5"]
    for _ in range(draw(st.integers(1, 8))):
        piece = draw(st.sampled_from(PIECES))
        pool.append(piece(draw(st.sampled_from(pool)), draw(st.sampled_from(pool))))
    return pool[-1]


@settings(max_examples=15, deadline=None)
@given(random_expressions(), st.floats(-2, 2), st.floats(-2, 2), st.sampled_from(["written", "primitive"]))
def test_generated_python_matches_eval_on_random_expressions(expression, x, y, gates):
    cli = run_cli
    at = f"x={x!r},y={y!r}"
    want = cli("eval", expression, "--at", at, "--format", "json", "--gates", gates)
    if want.code != 0 or "x" not in expression or "y" not in expression:
        return  # a math error at the point, or a missing input: nothing to compare
    code = cli("trace", expression, "--at", at, "--format", "python", "--gates", gates).stdout
    assert run_python(code) == want.stdout


# ---- trace --format markdown and latex ----

@pytest.mark.parametrize("expression, at", WORKED, ids=IDS)
def test_markdown_table_has_a_row_per_stage(cli, expression, at):
    out = cli("trace", expression, "--at", at, "--format", "markdown").stdout
    lines = out.strip().splitlines()
    nodes = cli("trace", expression, "--at", at, "--format", "json").json()["nodes"]
    assert lines[0].startswith("| stage | definition | value | local derivative |")
    assert len(lines) == 2 + sum(1 for n in nodes if n["op"] != "const")
    assert all(line.count("|") - line.count("\\|") == 6 for line in lines)


def test_markdown_writes_local_derivatives_from_the_registry_rules(cli):
    out = cli("trace", "(x + sigmoid(y)) / (sigmoid(x) + (x+y)**2)", "--at", "x=3,y=-4",
              "--format", "markdown").stdout
    assert "| `u1` | `sigmoid(y)` | 0.0179862 | ∂u1/∂y = `u1*(1 - u1)` = 0.0176627 | 0.512144 |" in out
    assert "∂f/∂u6 = `-f/u6` = -0.791593" in out and "∂u5/∂u4 = `2*u4` = -2" in out


@pytest.mark.parametrize("expression, at", WORKED, ids=IDS)
def test_latex_tabular_is_balanced(cli, expression, at):
    out = cli("trace", expression, "--at", at, "--format", "latex").stdout
    assert out.startswith(r"\begin{tabular}{llrlr}") and out.rstrip().endswith(r"\end{tabular}")
    body = out.replace(r"\{", "").replace(r"\}", "")
    assert body.count("{") == body.count("}")
    assert all(line.count("$") % 2 == 0 for line in out.splitlines())


def test_latex_typesets_names_definitions_and_rules(cli):
    out = cli("trace", "sigmoid(w0*x0+w1*x1+w2)", *NEURON_AT, "--format", "latex").stdout
    assert r"$u_{1}$ & $w_{0} \cdot x_{0}$ & $-2$" in out
    assert r"\frac{\partial f}{\partial u_{4}} = f \left(1 - f\right) = 0.196612" in out


# ---- large traces ----

def big_sum(terms: int) -> tuple[str, str]:
    return (" + ".join(f"sin(w{i}*x{i})" for i in range(terms)),
            ",".join(f"w{i}={i % 7 / 10},x{i}=1" for i in range(terms)))


def test_a_thousand_node_trace_folds_repeated_rows(cli):
    expression, at = big_sum(250)  # 1,249 nodes
    run = cli("trace", expression, "--at", at)
    assert run.code == 0
    assert "246 more like the" in run.stdout and "u743" in run.stdout  # the note wraps in its cell
    assert "--no-collapse shows every row" in run.stdout
    assert len(run.stdout.splitlines()) < 120
    full = cli("trace", expression, "--at", at, "--no-collapse")
    assert "more like" not in full.stdout and len(full.stdout.splitlines()) > 2000


def test_a_thousand_deep_nest_traces_without_recursion(cli):
    expression = "x"
    for _ in range(1000):
        expression = f"sin({expression})"
    run = cli("trace", expression, "--at", "x=1", "--depth", "2")
    assert run.code == 0
    assert "998 stages more than 2 steps from the output hidden" in run.stdout
    assert [line.split("│")[1].strip() for line in run.stdout.splitlines()
            if line.startswith("│") and "→" not in line][:3] == ["u998", "u999", "f"]
    code = cli("trace", expression, "--at", "x=1", "--format", "python").stdout
    assert json.loads(run_python(code)) == cli("eval", expression, "--at", "x=1", "--format", "json").json()


def test_depth_and_collapse_apply_to_tables_only(cli):
    run = cli("trace", "x*y", "--at", "x=1,y=2", "--depth", "1", "--format", "json")
    assert run.code == 2 and "--depth" in run.stderr and run.stdout == ""
    md = cli("trace", "sin(sin(sin(x)))", "--at", "x=1", "--depth", "1", "--format", "markdown").stdout
    assert "`f`" in md and "`u1`" not in md and "more than 1 steps" in md


# ---- graph: DOT, Mermaid, SVG ----

@pytest.mark.filterwarnings(r"ignore:'\w+' deprecated")  # pydot's own use of pyparsing
@pytest.mark.parametrize("expression, at", WORKED, ids=IDS)
def test_dot_parses_with_a_dot_parser_and_has_every_wire(cli, expression, at):
    text = cli("graph", expression, "--at", at, "--format", "dot").stdout
    parsed = pydot.graph_from_dot_data(text)
    assert parsed and len(parsed) == 1
    nodes = cli("trace", expression, "--at", at, "--format", "json").json()["nodes"]
    drawn = [n for n in nodes if n["op"] != "const"]
    names = {n["name"] for n in drawn}
    wires = sum(1 for n in drawn for j in n["inputs"] if j in names)
    assert len(parsed[0].get_edges()) == wires + 1  # and the output's own wire
    if shutil.which("dot"):  # Graphviz itself, when installed
        done = subprocess.run(["dot", "-Tsvg"], input=text, capture_output=True, text=True)
        assert done.returncode == 0 and "<svg" in done.stdout


def test_dot_labels_wires_with_value_and_gradient(cli):
    text = cli("graph", "sigmoid(w0*x0+w1*x1+w2)", *NEURON_AT, "--gates", "primitive").stdout
    assert '<font color="#0072B2">0.368</font><br/><font color="#D55E00"><b>-0.534</b></font>' in text
    for label in ("×−1", "exp", "+1", "1÷□"):
        assert f'label="{label}", shape=circle' in text
    assert "font color" not in cli("graph", "x*y", "--format", "dot").stdout  # structure only


MERMAID_NODE = re.compile(r'^    (n\d+|output)(\["[^"]*"\]|\(\("[^"]*"\)\))$')
MERMAID_EDGE = re.compile(r'^    (n\d+) -->(\|"[^"]*"\|)? (n\d+|output)$')


@pytest.mark.parametrize("expression, at", WORKED, ids=IDS)
def test_mermaid_is_a_flowchart_with_quoted_labels(cli, expression, at):
    lines = cli("graph", expression, "--at", at, "--format", "mermaid").stdout.splitlines()
    assert lines[0] == "flowchart LR"
    defined = set()
    edges = 0
    for line in lines[1:]:
        node, edge = MERMAID_NODE.match(line), MERMAID_EDGE.match(line)
        assert node or edge, line
        if node:
            defined.add(node.group(1))
        else:
            assert {edge.group(1), edge.group(3)} <= defined  # every wire joins drawn nodes
            assert edge.group(2)  # with values, every wire is labelled
            edges += 1
    assert edges >= 2


def test_mermaid_escapes_quotes_and_shows_structure_without_values(cli):
    out = cli("graph", "3*(a+b*c)", "--format", "mermaid").stdout
    assert '    n6(("×3"))' in out and "-->|" not in out
    from gradcalc.render.mermaid import quoted

    assert quoted('say "hi" #1') == '"say #quot;hi#quot; #35;1"'


def svg_boxes(svg: str):
    """Text boxes (estimated as font size × 0.6 per character), circles and line segments."""
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    texts, circles, lines = [], [], []
    for t in root.iter(f"{ns}text"):
        x, y, size = float(t.get("x")), float(t.get("y")), float(t.get("font-size"))
        width = len(t.text) * size * 0.6
        left = {"start": x, "middle": x - width / 2, "end": x - width}[t.get("text-anchor", "start")]
        texts.append((left, y - 0.8 * size, left + width, y + 0.2 * size, t.text, t.get("fill")))
    for c in root.iter(f"{ns}circle"):
        cx, cy, r = float(c.get("cx")), float(c.get("cy")), float(c.get("r"))
        circles.append((cx - r, cy - r, cx + r, cy + r))
    for ln in root.iter(f"{ns}line"):
        lines.append(tuple(float(ln.get(k)) for k in ("x1", "y1", "x2", "y2")))
    return texts, circles, lines


def overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def crosses(segment, box) -> bool:
    """Whether a line segment passes through a rectangle (Liang–Barsky clipping)."""
    x1, y1, x2, y2 = segment
    low, high = 0.0, 1.0
    sides = ((x1 - x2, x1 - box[0]), (x2 - x1, box[2] - x1), (y1 - y2, y1 - box[1]), (y2 - y1, box[3] - y1))
    for p, q in sides:
        if p == 0:
            if q < 0:
                return False
            continue
        t = q / p
        if p < 0:
            low = max(low, t)
        else:
            high = min(high, t)
        if low > high:
            return False
    return True


def assert_readable(svg: str) -> None:
    texts, circles, lines = svg_boxes(svg)
    for k, a in enumerate(texts):
        for b in texts[k + 1:]:
            assert not overlap(a, b), (a[4], b[4])
        for segment in lines:
            assert not crosses(segment, a), (a[4], segment)
        for circle in circles:
            inside = circle[0] <= a[0] and a[2] <= circle[2] and circle[1] <= a[1] and a[3] <= circle[3]
            assert inside or not overlap(a, circle), a[4]


def forty_node_network() -> tuple[str, str]:
    program = ("h1 = tanh(a1*x + b1*y + c1); h2 = sigmoid(a2*x + b2*y + c2); h3 = relu(a3*x + b3*y + c3); "
               "o = v1*h1 + v2*h2 + v3*h3 + d; L = (o - t)**2 + 0.01*(a1*a1 + a2*a2 + a3*a3)")
    at = ("a1=0.5,b1=-1,c1=0.1,a2=1.5,b2=0.3,c2=-0.2,a3=-0.7,b3=0.8,c3=0.4,"
          "v1=1,v2=-2,v3=0.5,d=0.3,x=1,y=2,t=0.5")
    return program, at


@pytest.mark.parametrize("expression, at", WORKED + [forty_node_network()], ids=IDS + ["40 nodes"])
def test_svg_labels_never_overlap_and_no_wire_crosses_a_label(cli, expression, at):
    svg = cli("graph", expression, "--at", at, "--format", "svg").stdout
    assert_readable(svg)
    assert_readable(cli("graph", expression, "--format", "svg").stdout)  # structure only
    assert_readable(cli("graph", expression, "--at", at, "--format", "svg", "--gates", "primitive").stdout)


def test_the_forty_node_network_really_has_forty_nodes(cli):
    program, at = forty_node_network()
    nodes = cli("trace", program, "--at", at, "--format", "json").json()["nodes"]
    assert len([n for n in nodes if n["op"] != "const"]) >= 40
    assert CHAR == 0.6  # the renderer lays out with the estimate this test checks


def test_svg_draws_the_seed_circuit_with_values_above_and_gradients_below(cli):
    svg = cli("graph", "sigmoid(w0*x0+w1*x1+w2)", "--at", "w=[2,-3,-3],x=[-1,-2]", "--gates", "primitive",
              "--format", "svg").stdout
    texts, circles, _ = svg_boxes(svg)
    labels = {t[4]: t for t in texts}
    assert [t[4] for t in texts if t[4] in ("×−1", "exp", "+1", "1÷□")] == ["×−1", "exp", "+1", "1÷□"]
    value, grad = labels["0.368"], labels["-0.534"]  # the wire out of exp
    assert value[5] == "#0072B2" and grad[5] == "#D55E00" and value[3] <= grad[1]
    names = [t for t in texts if t[4] in ("w0", "x0", "w1", "x1", "w2")]
    assert max(n[2] for n in names) < min(c[0] for c in circles)  # inputs on the left
    assert labels["f"][0] > max(c[2] for c in circles)  # the output on the right
    assert len(circles) == 8


def test_svg_without_values_shows_structure_only(cli):
    texts, _, _ = svg_boxes(cli("graph", "3*(a+b*c)", "--format", "svg").stdout)
    assert {t[4] for t in texts} == {"a", "b", "c", "×", "+", "×3", "f"}


def test_a_large_svg_is_still_well_formed(cli):
    expression, at = big_sum(250)
    svg = cli("graph", expression, "--at", at, "--format", "svg").stdout
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg") and len(list(root.iter("{http://www.w3.org/2000/svg}circle"))) == 749


def test_graph_writes_a_file_in_the_format_its_suffix_names(cli, tmp_path):
    target = tmp_path / "neuron.svg"
    run = cli("graph", "sigmoid(w0*x0+w1*x1+w2)", "--at", "w=[2,-3,-3],x=[-1,-2]", "-o", str(target))
    assert run.code == 0 and run.stdout == ""
    ET.fromstring(target.read_text())
    cli("graph", "x*y", "-o", str(tmp_path / "c.mmd"))
    assert (tmp_path / "c.mmd").read_text().startswith("flowchart LR")
    cli("graph", "x*y", "-o", str(tmp_path / "c.svg"), "--format", "dot")
    assert (tmp_path / "c.svg").read_text().startswith("digraph")
    bad = cli("graph", "x*y", "-o", str(tmp_path / "missing" / "c.dot"))
    assert bad.code == 2 and "cannot write" in bad.stderr


def test_graph_errors_keep_their_exit_codes(cli):
    assert cli("graph", "log(x)", "--at", "x=0").code == 3
    assert cli("graph", "3*(a+", "--format", "svg").code == 2
    assert "Examples" in cli("graph", "--help").stdout and "Examples" in cli("paths", "--help").stdout


# ---- the README's examples are what the commands print ----

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.mark.parametrize("command, indent", [
    ('gradcalc trace "sigmoid(w0*x0+w1*x1+w2)" --at w=[2,-3,-3],x=[-1,-2] --gates primitive '
     '--format markdown', ""),
    ('gradcalc graph "3*(a+b*c)" --at a=5,b=3,c=2 --format mermaid', ""),
    ('gradcalc paths "x**2*(3*x+1) - sin(x**2)" --at x=1.5', "    "),
    ('gradcalc eval "log(sigmoid(x))" --at x=-1000 --gates fused', "      "),
])
def test_readme_shows_what_the_commands_print(cli, command, indent):
    readme = "\n".join(line.rstrip() for line in README.read_text().splitlines())
    assert command in readme
    out = cli(*shlex.split(command)[1:]).stdout
    assert "\n".join((indent + line).rstrip() for line in out.rstrip().splitlines()) in readme


def test_the_readme_circuit_is_what_its_command_draws(cli, tmp_path):
    command = ('gradcalc graph "sigmoid(w0*x0+w1*x1+w2)" --at w=[2,-3,-3],x=[-1,-2] --gates primitive '
               '-o docs/neuron.svg')
    assert command in README.read_text() and "](docs/neuron.svg)" in README.read_text()
    args = shlex.split(command)[1:]
    args[-1] = str(tmp_path / "neuron.svg")
    cli(*args)
    assert (tmp_path / "neuron.svg").read_text() == (README.parent / "docs" / "neuron.svg").read_text()
