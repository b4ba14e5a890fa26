"""The views: backprop as runnable Python, Markdown and LaTeX tables, DOT, Mermaid and SVG
circuits, and large traces that stay readable. Every format is rendered for the worked examples."""
from __future__ import annotations

import ast
import json
import math
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
    assert '<font color="#0072B2">0.368</font><br/><font color="#B84F00"><b>-0.534</b></font>' in text
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


ROOT = Path(__file__).resolve().parent.parent
NETWORK_AT = "x=-0.6,y=1,w10=-7.8751,w11=-8.3499,b10=-3.9181,b11=3.8380,w20=5.0297,w21=-4.0937,b2=1.6347"
PROGRAM50_AT = ("x1=1,x2=-0.5,w11=0.5,w12=-1,b1=0.1,w21=1.5,w22=0.3,b2=-0.2,w31=-0.7,w32=0.8,b3=0.4,"
                "v1=1,v2=-2,v3=0.5,c=0.3,t=0.5")


def network_loss() -> tuple[str, str]:
    """The seeds' two-layer network's log loss at one point of its data: 29 nodes."""
    return (ROOT / "examples" / "network" / "loss.txt").read_text(), NETWORK_AT


def fifty_node_program() -> tuple[str, str]:
    return (ROOT / "docs" / "program50.txt").read_text(), PROGRAM50_AT


def random_program(nodes: int, seed: int) -> tuple[str, str]:
    """A program of statements over earlier names, mixing every kind of gate: `nodes` nodes or
    a few more."""
    import random

    from gradcalc.core.graph import lower

    pick = random.Random(seed)
    names, lines, at = ["p0", "p1", "p2"], [], {"p0": 0.5, "p1": -1.0, "p2": 2.0}
    while sum(1 for n in lower("; ".join(lines) or "p0").nodes if n.op != "const") < nodes:
        a, b = pick.choice(names), pick.choice(names[-4:])
        if pick.random() < 0.3:
            fresh = f"p{len(at)}"
            at[fresh], a = round(pick.uniform(-1, 1), 2), fresh
        form = pick.choice(["{a}*{b} + 1", "tanh({a}) - {b}", "{a}/(1 + {b}**2)", "sigmoid({a} + {b})",
                            "({a} - {b})**2", "softplus({a})*{b}"])
        lines.append(f"s{len(lines)} = " + form.format(a=a, b=b))
        names.append(f"s{len(lines) - 1}")
    return "; ".join(lines), ",".join(f"{k}={v}" for k, v in at.items())


LARGE = [forty_node_network(), network_loss(), fifty_node_program(), random_program(58, 1),
         random_program(45, 2)]
LARGE_IDS = ["46 nodes", "network loss", "50 nodes", "59 random", "45 random"]


def drawn_nodes(cli, expression: str, at: str) -> int:
    nodes = cli("trace", expression, "--at", at, "--format", "json").json()["nodes"]
    return len([n for n in nodes if n["op"] != "const"])


@pytest.mark.parametrize("expression, at", WORKED + LARGE, ids=IDS + LARGE_IDS)
def test_svg_labels_never_overlap_and_no_wire_crosses_a_label(cli, expression, at):
    svg = cli("graph", expression, "--at", at, "--format", "svg").stdout
    assert_readable(svg)
    assert_readable(cli("graph", expression, "--format", "svg").stdout)  # structure only
    assert_readable(cli("graph", expression, "--at", at, "--format", "svg", "--gates", "primitive").stdout)
    assert_readable(cli("graph", expression, "--at", at, "--format", "svg", "--title", "A circuit",
                        "--theme", "dark").stdout)


def test_the_large_fixtures_reach_sixty_nodes(cli):
    assert [drawn_nodes(cli, *fixture) for fixture in LARGE] == [46, 28, 50, 59, 45]


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
    assert value[5] == "#0072B2" and grad[5] == "#B84F00" and value[3] <= grad[1]
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


# ---- figures a teacher prints: legend, palette, labels, marks, layout, PNG and PDF ----

def luminance(colour: str) -> float:
    """WCAG 2 relative luminance of #rrggbb."""
    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[k:k + 2], 16) for k in (1, 3, 5))
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_colour_reads_on_its_background(theme):
    from gradcalc.render.svg import THEMES

    colours = THEMES[theme]
    for ink in (colours.ink, colours.value, colours.grad):
        assert contrast(ink, colours.background) >= 4.5  # WCAG AA for text
    assert contrast("#ffffff", "#000000") == pytest.approx(21)  # the formula, on its known extreme


def test_values_and_gradients_differ_in_place_and_weight_not_only_in_colour(cli):
    svg = cli("graph", "3*(a+b*c)", "--at", "a=5,b=3,c=2", "--format", "svg").stdout
    root = ET.fromstring(svg)
    texts = {t.text: t for t in root.iter("{http://www.w3.org/2000/svg}text")}
    value, grad = texts["11"], texts["3"]  # the wire out of a + b*c: value 11, gradient 3
    assert value.get("font-weight") is None and grad.get("font-weight") == "bold"
    assert float(value.get("y")) < float(grad.get("y"))


def test_the_legend_says_what_the_labels_mean(cli):
    with_values = cli("graph", "u = x*y; L = u + 1", "--at", "x=2,y=3", "--format", "svg").stdout
    texts = [t[4] for t in svg_boxes(with_values)[0]]
    assert "value above the wire, ∂L/∂wire below" in texts and "∂L/∂wire" in texts
    structure = cli("graph", "u = x*y; L = u + 1", "--format", "svg").stdout
    assert "∂L/∂wire" not in structure  # no values, no legend


def test_the_title_is_above_the_circuit(cli):
    texts, circles, _ = svg_boxes(cli("graph", "x*y", "--title", "One gate", "--format", "svg").stdout)
    title = next(t for t in texts if t[4] == "One gate")
    assert title[3] < min(c[1] for c in circles)


def test_the_dark_theme_draws_light_on_dark(cli):
    root = ET.fromstring(cli("graph", "x*y", "--at", "x=1,y=2", "--theme", "dark", "--format", "svg").stdout)
    assert root.find("{http://www.w3.org/2000/svg}rect").get("fill") == "#1e1e1e"
    run = cli("graph", "x*y", "--theme", "dark", "--format", "dot")
    assert (run.code, run.stdout) == (2, "")
    assert run.stderr.startswith("error: --theme applies to --format svg, png, pdf, not dot")


def test_gate_labels_are_print_symbols_that_never_read_as_an_input(cli):
    texts, _, _ = svg_boxes(cli("graph", "x**2*(3*x+1) - sin(x**2) + 1/x + (1 - x)*x", "--format", "svg").stdout)
    labels = {t[4] for t in texts}
    assert {"□²", "×3", "+1", "×", "−", "1÷□", "1−□", "sin"} <= labels
    assert "x" in labels and not any("x" in label for label in labels - {"x"})


def test_the_second_operand_of_a_non_commutative_gate_is_marked(cli):
    root = ET.fromstring(cli("graph", "b - a", "--format", "svg").stdout)
    ns = "{http://www.w3.org/2000/svg}"
    texts = list(root.iter(f"{ns}text"))
    name = {t.text: (float(t.get("x")), float(t.get("y"))) for t in texts if t.text in ("a", "b")}
    mark = next(t for t in texts if t.text == "−" and t.get("font-size") == "10")
    label = next(t for t in texts if t.text == "−" and t.get("font-size") == "16")
    # the mark sits on the side from which a's wire comes in
    assert (float(mark.get("y")) < float(label.get("y"))) == (name["a"][1] < name["b"][1])
    assert not [t for t in texts if t.get("font-size") == "10" and t.text != "−"]
    plain = ET.fromstring(cli("graph", "a + b", "--format", "svg").stdout)
    assert not [t for t in plain.iter(f"{ns}text") if t.get("font-size") == "10"]  # + needs no mark


def test_gates_are_one_size_and_a_long_label_is_set_smaller(cli):
    svg = cli("graph", "softplus(x) * y", "--format", "svg").stdout
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert {c.get("r") for c in root.iter(f"{ns}circle")} == {"20.0"}
    sizes = {t.text: float(t.get("font-size")) for t in root.iter(f"{ns}text")}
    assert sizes["×"] == 16 and sizes["softplus"] < 16
    assert_readable(svg)


def test_the_same_input_draws_the_same_bytes(cli):
    expression, at = random_program(45, 2)
    first = cli("graph", expression, "--at", at, "--format", "svg").stdout
    assert cli("graph", expression, "--at", at, "--format", "svg").stdout == first
    env = {**__import__("os").environ, "PYTHONHASHSEED": "7"}
    other = subprocess.run([sys.executable, "-m", "gradcalc", "graph", expression, "--at", at, "--format", "svg"],
                           capture_output=True, text=True, env=env, timeout=60)
    assert other.stdout == first


def naive_crossings(expression: str) -> tuple[int, int]:
    """Crossings of the circuit's wires with the columns in first-appearance order, and with
    the layered layout's order."""
    from gradcalc.core.graph import lower
    from gradcalc.render.circuit import circuit
    from gradcalc.render.layers import crossings, layered

    graph = lower(expression)
    layout = layered(circuit(graph), graph.output)
    unordered = [sorted(members, key=lambda k: (k[1], k[2]) if isinstance(k, tuple) else (k, -1))
                 for members in layout.columns]
    return crossings(unordered, layout.segments), layout.crossings()


def test_the_layout_crosses_no_wire_on_the_network_loss():
    before, after = naive_crossings(network_loss()[0])
    assert (before, after) == (2, 0)


def layout_of(expression: str):
    from gradcalc.core.graph import lower
    from gradcalc.render.circuit import circuit
    from gradcalc.render.layers import layered

    graph = lower(expression)
    return graph, layered(circuit(graph), graph.output)


def test_inputs_stay_in_the_first_column_unless_that_crosses_wires():
    graph, neuron = layout_of("sigmoid(w0*x0+w1*x1+w2)")  # no crossing either way: the lecture's
    assert {neuron.column[i] for i, n in enumerate(graph.nodes) if n.op == "input"} == {0}
    graph, network = layout_of(network_loss()[0])
    column = {n.name: network.column[i] for i, n in enumerate(graph.nodes) if i in network.column}
    assert network.crossings() == 0
    assert (column["x"], column["w20"], column["b2"], column["y"]) == (0, 3, 5, 8)  # each just before its use
    assert column["L"] == max(network.column.values())


def test_the_compact_layering_has_the_shortest_wires_a_brute_force_finds():
    import itertools
    import random

    from gradcalc.render.layers import network_simplex

    pick = random.Random(3)
    for _ in range(80):
        count = pick.randint(2, 5)
        edges = [(u, v, pick.choice([0, 1, 2])) for v in range(count) for u in range(v) if pick.random() < 0.4]
        edges += [(k, count, 0) for k in range(count)]  # a sink joined to all keeps the graph connected
        rank = network_simplex(count + 1, edges)

        def cost(r):
            return sum(w * (r[v] - r[u]) for u, v, w in edges)

        assert all(rank[v] - rank[u] >= 1 for u, v, _ in edges)
        feasible = (r for r in itertools.product(range(count + 1), repeat=count + 1)
                    if all(r[v] - r[u] >= 1 for u, v, _ in edges))
        assert cost(rank) == min(cost(r) for r in feasible)


def test_a_sixty_node_circuit_is_laid_out_in_well_under_a_second():
    import time

    expression, _ = random_program(58, 1)
    began = time.perf_counter()
    layout_of(expression)
    assert time.perf_counter() - began < 2.0  # typically 0.2 s; the bound leaves room for a busy machine


@pytest.mark.parametrize("expression, at", LARGE, ids=LARGE_IDS)
def test_the_layout_never_crosses_more_than_first_appearance_order(expression, at):
    before, after = naive_crossings(expression)
    assert after <= before


def test_crossings_are_counted_as_pairs_of_wires_that_cross():
    from gradcalc.render.layers import crossings

    columns = [["a", "b", "c"], ["d", "e", "f"]]
    assert crossings(columns, [("a", "f"), ("b", "e"), ("c", "d")]) == 3  # every pair
    assert crossings(columns, [("a", "d"), ("b", "e"), ("c", "f")]) == 0
    assert crossings(columns, [("a", "e"), ("a", "f"), ("b", "d")]) == 2  # a's two wires over b's


PNG_MAGIC, PDF_MAGIC = b"\x89PNG\r\n\x1a\n", b"%PDF-"


def test_graph_writes_real_png_and_pdf_files(cli, tmp_path):
    import struct

    expression, at = network_loss()
    svg = ET.fromstring(cli("graph", expression, "--at", at, "--format", "svg").stdout)
    png, pdf = tmp_path / "network.png", tmp_path / "network.pdf"
    assert cli("graph", expression, "--at", at, "-o", str(png)) == type(cli("x"))(0, "", "")
    assert cli("graph", expression, "--at", at, "-o", str(pdf)).code == 0
    data = png.read_bytes()
    assert data.startswith(PNG_MAGIC) and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (2 * int(svg.get("width")), 2 * int(svg.get("height")))
    assert len(data) > 20_000  # a picture, not an empty canvas
    document = pdf.read_bytes()
    assert document.startswith(PDF_MAGIC) and document.rstrip().endswith(b"%%EOF") and len(document) > 5_000


def test_png_without_the_figures_extra_is_refused_with_the_install_line(cli, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "cairosvg", None)  # import cairosvg now fails
    target = tmp_path / "c.png"
    run = cli("graph", "x*y", "-o", str(target))
    assert (run.code, run.stdout) == (2, "")
    assert run.stderr == "error: --format png needs cairosvg: pip install 'gradcalc[figures]'\n"
    assert not target.exists()


def test_png_without_the_system_cairo_library_says_which_to_install(cli, monkeypatch):
    import builtins

    real = builtins.__import__

    def no_cairo(name, *args, **kwargs):
        if name == "cairosvg":
            raise OSError("no library called \"cairo-2\" was found")
        return real(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "cairosvg", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_cairo)
    run = cli("graph", "x*y", "--format", "pdf")
    assert (run.code, run.stdout) == (2, "")
    assert run.stderr.startswith("error: PNG and PDF need the system's cairo library "
                                 "(Debian and Ubuntu: apt-get install libcairo2)")


def figure_commands() -> list[list[str]]:
    """The graph commands of scripts/figures.sh, for the SVG pass of its loop."""
    script = (ROOT / "scripts" / "figures.sh").read_text().replace("\\\n", " ")
    commands = [shlex.split(line.strip().replace("$suffix", "svg"))
                for line in script.splitlines() if line.strip().startswith("$gradcalc graph")]
    return [args[1:] for args in commands]


def test_the_docs_figures_are_what_their_script_draws(cli, tmp_path, monkeypatch):
    commands = figure_commands()
    assert [args[-1] for args in commands] == ["docs/neuron.svg", "docs/network.svg", "docs/program50.svg"]
    readme = README.read_text()
    monkeypatch.chdir(ROOT)  # the script runs from the repository root
    for args in commands:
        assert f"]({args[-1]})" in readme  # shown in the README
        run = cli(*args[:-2], "-o", str(tmp_path / "figure.svg"))
        assert run.code == 0, run.stderr
        assert (tmp_path / "figure.svg").read_text() == (ROOT / args[-1]).read_text(), args[-1]
        assert (ROOT / args[-1]).with_suffix(".png").read_bytes().startswith(PNG_MAGIC)


def test_graph_depth_draws_the_stages_near_the_output_and_cuts_the_rest_to_inputs(cli):
    chain = ("-f", str(ROOT / "examples" / "chain.txt"))
    out = cli("graph", *chain, "--depth", "2", "--format", "mermaid").stdout.splitlines()
    assert out[:4] == ["flowchart LR", '    n0["r"]', '    n1197["u797"]', '    n1198["u798"]']
    assert len([line for line in out if "((" in line]) == 4  # the gates at most 2 steps away
    svg = cli("graph", *chain, "--at", "x=0.3,r=2.5", "--depth", "6", "--format", "svg").stdout
    assert_readable(svg)
    texts = [t[4] for t in svg_boxes(svg)[0]]
    assert "1,190 stages more than 6 steps from the output hidden; u793, u794 enter as inputs" in texts
    dot = cli("graph", *chain, "--depth", "1", "--format", "dot").stdout
    assert 'n1199 [label="x399", shape=plaintext' in dot and 'n0 [label="r", shape=plaintext' in dot
    assert dot.count("shape=circle") == 3
    for line in dot.splitlines():  # every wire joins drawn nodes
        if "->" in line and "output" not in line:
            ends = line.strip(" ;").split(" -> ")
            assert all(f"  {end} [label=" in dot for end in ends), line
    whole = cli("graph", "sin(x)*y", "--depth", "5", "--format", "svg").stdout
    assert whole == cli("graph", "sin(x)*y", "--format", "svg").stdout  # nothing hidden, nothing said


def test_wires_fanning_out_of_one_node_leave_from_points_of_their_own(cli):
    svg = cli("graph", "sin(x) + cos(x) + exp(x) + 2*x", "--at", "x=1", "--format", "svg").stdout
    assert_readable(svg)
    _, _, lines = svg_boxes(svg)
    bar = next(ln for ln in lines if ln[0] == ln[2] and ln[1] != ln[3])  # the fan's vertical bar
    fan = sorted((ln[1], ln[3]) for ln in lines if ln[0] == bar[0] and ln[2] > ln[0])
    assert len(fan) == 4  # sin, cos, exp and ×2 each get a wire from x
    starts, ends = [s for s, _ in fan], [e for _, e in fan]
    assert len(set(starts)) == 4 and ends == sorted(ends)  # apart, and in the order of their gates
    assert min(bar[1], bar[3]) == starts[0] and max(bar[1], bar[3]) == starts[-1]


def test_the_depth_note_names_a_few_cut_stages_and_counts_the_rest(cli):
    expression = "max(" + ", ".join(f"sin(x{i})" for i in range(8)) + ")"
    svg = cli("graph", expression, "--depth", "0", "--format", "svg").stdout
    texts = [t[4] for t in svg_boxes(svg)[0]]
    assert ("8 stages more than 0 steps from the output hidden; u1, u2, u3, u4, u5 and 3 more "
            "enter as inputs") in texts
    assert {"u6", "u7", "u8", "max"} <= set(texts) and "sin" not in texts


# ---- graph --collapse: a repeated block drawn once as a box ----

def test_graph_collapse_draws_a_repeated_block_as_one_box(cli):
    expression, at = big_sum(250)  # 1,249 nodes
    svg = cli("graph", expression, "--at", at, "--collapse", "--format", "svg").stdout
    assert_readable(svg)
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    boxes = [r for r in root.iter(f"{ns}rect") if r.get("stroke-dasharray")]
    texts = [t.text for t in root.iter(f"{ns}text")]
    assert len(boxes) == 1 and "246 more like the 5 stages before" in texts and "w2 … u743" in texts
    assert len(list(root.iter(f"{ns}circle"))) == 11  # the first two terms and the sum, the last two and theirs
    trace = cli("trace", expression, "--at", at, "--format", "json").json()["nodes"]
    u743 = next(n for n in trace if n["name"] == "u743")  # the box's one stage used outside it
    partial = sum(math.sin(i % 7 / 10) for i in range(248))  # the sum of the first 248 terms, by hand
    assert u743["value"] == pytest.approx(partial, rel=1e-12) and f"{partial:.3g}" in texts


def test_graph_collapse_folds_a_deep_nest_in_every_format(cli):
    expression = "x"
    for _ in range(1000):
        expression = f"sin({expression})"
    mermaid = cli("graph", expression, "--collapse", "--format", "mermaid").stdout.splitlines()
    assert mermaid == ["flowchart LR", '    n0["x"]', '    n1(("sin"))', '    n2(("sin"))',
                       '    n3[["996 more like the stage before: u3 … u998"]]', '    n999(("sin"))',
                       '    n1000(("sin"))', '    output["f"]', "    n0 --> n1", "    n1 --> n2", "    n2 --> n3",
                       "    n3 --> n999", "    n999 --> n1000", "    n1000 --> output"]
    dot = cli("graph", expression, "--at", "x=1", "--collapse", "--format", "dot").stdout
    assert 'n3 [label="996 more like the stage before\\nu3 … u998", shape=box, style=rounded' in dot
    assert dot.count("->") == 6 and len(pydot.graph_from_dot_data(dot)[0].get_edges()) == 6
    svg = cli("graph", expression, "--at", "x=1", "--collapse", "--format", "svg").stdout
    assert_readable(svg)
    assert cli("graph", expression, "--at", "x=1", "--collapse", "--format", "svg").stdout == svg  # same bytes
    tikz = cli("graph", expression, "--at", "x=1", "--collapse", "--format", "tikz").stdout
    assert tikz.count("rectangle") == 1 and "dash pattern=on 3.0pt off 1.5pt" in tikz
    assert "{996 more like the stage before};" in tikz and "{u3 \\ldots{} u998};" in tikz


def test_graph_collapse_changes_nothing_without_a_repeated_block(cli):
    expression, at = network_loss()
    plain = cli("graph", expression, "--at", at, "--format", "svg").stdout
    assert cli("graph", expression, "--at", at, "--format", "svg", "--collapse").stdout == plain


def test_a_box_used_by_several_stages_outside_it_shows_no_one_value(cli):
    chain = ("-f", str(ROOT / "examples" / "chain.txt"), "--at", "x=0.3,r=2.5", "--collapse")
    svg = cli("graph", *chain, "--format", "svg").stdout
    assert_readable(svg)
    dot = cli("graph", *chain, "--format", "dot").stdout
    box = re.search(r"  (n\d+) \[label=\"397 more like the 3 stages before\\nx2 … u798\", shape=box", dot).group(1)
    wires_out = [line for line in dot.splitlines() if line.startswith(f"  {box} -> ")]
    assert len(wires_out) == 1 and "label=" not in wires_out[0]  # u797 and u798 both leave it: no one value


# ---- graph --format tikz: the same picture for LaTeX ----

POINT = r"\([\d.]+,[\d.]+\)"
TIKZ_LINE = re.compile(r"^(\\definecolor\{gc[0-9A-F]{6}\}\{HTML\}\{[0-9A-F]{6}\}"
                       rf"|\\draw\[gc[0-9A-F]{{6}}, line width=[\d.]+pt(, -latex)?\] {POINT} -- {POINT};"
                       rf"|\\filldraw\[[^\]]+\] {POINT} (circle\[radius=[\d.]+\]|rectangle {POINT});"
                       r"|\\node\[anchor=base( west| east)?, text=gc[0-9A-F]{6}, font=[^\]]+\] "
                       r"at \(([\d.]+),([\d.]+)\) \{(.*)\};)$")


def balanced(text: str) -> bool:
    depth = 0
    for k, ch in enumerate(text):
        if ch in "{}" and (k == 0 or text[k - 1] != "\\"):
            depth += 1 if ch == "{" else -1
            if depth < 0:
                return False
    return depth == 0


@pytest.mark.parametrize("expression, at", WORKED + [network_loss()], ids=IDS + ["network loss"])
def test_tikz_is_a_tikzpicture_of_the_svg_drawing(cli, expression, at):
    tikz = cli("graph", expression, "--at", at, "--format", "tikz").stdout
    lines = tikz.splitlines()
    assert lines[0].startswith("% gradcalc graph: a TikZ picture; needs \\usepackage{tikz}")
    assert lines[1].startswith("\\begin{tikzpicture}[x=0.75pt, y=-0.75pt") and lines[-1] == "\\end{tikzpicture}"
    assert tikz.isascii()  # pdflatex needs no Unicode set-up
    for line in lines[2:-1]:
        assert TIKZ_LINE.match(line) and balanced(line), line
    svg = ET.fromstring(cli("graph", expression, "--at", at, "--format", "svg").stdout)
    ns = "{http://www.w3.org/2000/svg}"
    texts = [(f"{float(t.get('x')):.1f}", f"{float(t.get('y')):.1f}") for t in svg.iter(f"{ns}text")]
    nodes = [m.group(5, 6) for m in map(TIKZ_LINE.match, lines[2:-1]) if m.group(5)]
    assert nodes == texts  # every text where the SVG puts it
    assert sum(1 for line in lines if line.startswith("\\draw[")) == len(list(svg.iter(f"{ns}line")))
    assert sum(1 for line in lines if "circle[radius=20.0]" in line) == len(list(svg.iter(f"{ns}circle")))


def test_tikz_escapes_latex_and_writes_symbols_as_math(cli, tmp_path):
    from gradcalc.render.tikz import latex_text

    assert latex_text("50% & $x_1$ {a}^\\b #~") == r"50\% \& \$x\_1\$ \{a\}\^{}\textbackslash{}b \#\~{}"
    assert latex_text("□² × −1 ÷ σ ∂L/∂wire …") == (r"$\square$$^{2}$ $\times$ $-$1 $\div$ $\sigma$ "
                                                     r"$\partial$L/$\partial$wire \ldots{}")
    target = tmp_path / "circuit.tikz"
    run = cli("graph", "x_1**2 - y", "--at", "x_1=3,y=1", "--title", "Notes: 100% & more", "-o", str(target))
    assert (run.code, run.stdout, run.stderr) == (0, "", "")
    tikz = target.read_text()
    assert "{Notes: 100\\% \\& more};" in tikz and "{x\\_1};" in tikz and "{$\\square$$^{2}$};" in tikz
    assert "{$-$};" in tikz and "{9};" in tikz and "{6};" in tikz  # the gate, x_1² and its gradient 2·3
    refused = cli("graph", "x*y", "--format", "tikz", "--theme", "dark")
    assert (refused.code, refused.stdout) == (2, "")
    assert refused.stderr.startswith("error: --theme applies to --format svg, png, pdf, not tikz")


def test_a_line_under_the_picture_says_what_the_operand_marks_mean(cli):
    def notes(expression: str) -> list[str]:
        texts = svg_boxes(cli("graph", expression, "--format", "svg").stdout)[0]
        return [t[4] for t in texts if t[4].startswith("a small ")]

    assert notes("b - a") == ["a small − inside a gate marks the wire of its second operand: b in a − b"]
    assert notes("(a - b)/c") == ["a small − or ÷ inside a gate marks the wire of its second operand: "
                                  "b in a − b and a ÷ b"]
    assert notes("a + b") == notes("1 - a") == []  # nothing marked: a constant operand is in the label
    assert_readable(cli("graph", "(a - b)/c", "--at", "a=1,b=2,c=3", "--format", "svg").stdout)
