"""The trace of vectors and matrices for course notes, `--format markdown` and `latex`: every
value, gradient and backward step is the one `trace --format json` gives, rounded as shown;
arrays are cut as the tables cut them; the LaTeX is balanced and escaped."""
from __future__ import annotations

import re

import pytest
from helpers import one_error

AT = "W=[[1,-2],[0.5,1]],x=[1,-1],b=[0.5,-0.5]"
NEURON = "z = W@x + b; a = sigmoid(z); L = sum(a)"
MIXED = ("L = logsumexp(2*transpose(W)@x + 1) + mean(softmax(x)**2) + norm(W[0]) - x[1]/3"
         " + sum(log_softmax(W)) + dot(x, [1, 2]) + sum(W + b)")
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def flat(value) -> list[float]:
    return [x for item in value for x in flat(item)] if isinstance(value, list) else [value]


def numbers(cell: str) -> list[float]:
    """The numbers a cell shows, in reading order (indices and exponents of names left out)."""
    cell = re.sub(r"_\{\d+\}|\b[a-zA-Z]+\d+|\(\d+\)", "", cell)  # u_{1}, du1, (100)
    return [float(n) for n in NUMBER.findall(cell)]


def shown(value) -> list[float]:
    """JSON's numbers as a table shows them: 6 significant digits."""
    return [float(f"{x:.6g}") for x in flat(value)]


def markdown_rows(text: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.strip("|").split("|")]
            for line in text.splitlines() if line.startswith("|") and not line.startswith("| :--")
            and not line.startswith("| --:")]


def latex_rows(text: str) -> list[list[str]]:
    """The cells of each tabular row, split at the `&`s outside the arrays in them."""
    rows = []
    for line in text.splitlines():
        if " & " not in line:
            continue
        cells, depth, cell = [], 0, ""
        for part in re.split(r"( & |\\begin\{array\}|\\end\{array\})", re.sub(r"\\\\(\[2pt\])?$", "", line)):
            depth += (part == r"\begin{array}") - (part == r"\end{array}")
            if part == " & " and depth == 0:
                cells, cell = [*cells, cell.strip()], ""
            else:
                cell += part
        rows.append([*cells, cell.strip()])
    return rows


def json_trace(cli, expression: str, at: str) -> dict:
    return cli("trace", expression, "--at", at, "--format", "json").json()


def accumulated(document: dict) -> list[list[float]]:
    """Each backward step's running total of its input's gradient, from JSON's steps."""
    import numpy as np

    totals, out = {}, []
    for step in document["backward"]:
        value = np.array(step["value"], dtype=float)
        totals[step["into"]] = totals[step["into"]] + value if step["into"] in totals else value
        out.append(totals[step["into"]].tolist())
    return out


@pytest.mark.parametrize("expression, at", [(NEURON, AT), (MIXED, AT)])
def test_markdown_shows_json_values_gradients_and_rules(cli, expression, at):
    document = json_trace(cli, expression, at)
    run = cli("trace", expression, "--at", at, "--format", "markdown")
    assert run.code == 0 and run.stderr == ""
    rows = markdown_rows(run.stdout)
    stages, steps = rows[1:len(document["nodes"]) + 1], rows[len(document["nodes"]) + 3:]
    assert rows[0] == ["stage", "op", "definition", "shape", "value", f"∂{document['output']}/∂stage"]
    for row, node in zip(stages, document["nodes"]):
        assert row[0] == f"`{node['name']}`" and row[1] == node["op"]
        assert row[3] == ("×".join(map(str, node["shape"])) or "scalar")
        assert numbers(row[4]) == shown(node["value"]) and numbers(row[5]) == shown(node["grad"])
    assert rows[len(document["nodes"]) + 2] == ["", f"`d{document['output']} = 1`", "scalar", "seed"]
    assert len(steps) == len(document["backward"])
    for row, step, total in zip(steps, document["backward"], accumulated(document)):
        assert row[:2] == [str(step["step"]), f"`{step['rule']}`"]
        assert row[3].startswith(f"`d{step['into']}` = ") and numbers(row[3]) == shown(total)


def test_markdown_of_the_neuron_reads_as_the_lecture_writes_it(cli):
    out = cli("trace", NEURON, "--at", AT, "--format", "markdown").stdout
    assert "| `u1` | matmul | `W @ x` | 2 | [3, -0.5] | [0.028453, 0.196612] |" in out
    assert "| 5 | `dW += du1 ⊗ x` | 2×2 | `dW` = [[0.028453, -0.028453], [0.196612, -0.196612]] |" in out
    assert "| 6 | `dx += Wᵀ @ du1` | 2 | `dx` = [0.126759, 0.139706] |" in out
    assert "backward pass (reverse order): `d<input> +=` the vectorised rule of its stage" in out


def test_markdown_cuts_long_vectors_as_the_table_does(cli):
    at = "x=[" + ",".join(str(k) for k in range(100)) + "]"
    out = cli("trace", "sum(x*x)", "--at", at, "--format", "markdown").stdout
    assert "| `x` | input |  | 100 | [0, 1, 2, …, 98, 99] (100) | [0, 2, 4, …, 196, 198] (100) |" in out


@pytest.mark.parametrize("expression, at", [(NEURON, AT), (MIXED, AT)])
def test_latex_shows_json_values_and_gradients(cli, expression, at):
    document = json_trace(cli, expression, at)
    run = cli("trace", expression, "--at", at, "--format", "latex")
    assert run.code == 0 and run.stderr == ""
    rows = latex_rows(run.stdout)
    stages, steps = rows[1:len(document["nodes"]) + 1], rows[len(document["nodes"]) + 3:]
    for row, node in zip(stages, document["nodes"]):
        assert numbers(row[4]) == shown(node["value"]) and numbers(row[5]) == shown(node["grad"])
        assert row[3] == ("$" + r"\times ".join(map(str, node["shape"])) + "$" if node["shape"] else "scalar")
    assert len(steps) == len(document["backward"])
    for row, step, total in zip(steps, document["backward"], accumulated(document)):
        assert row[0] == str(step["step"])
        assert numbers(row[3].split("=", 1)[1]) == shown(total)


def test_latex_writes_the_vectorised_rules_in_mathematics(cli):
    out = cli("trace", NEURON, "--at", AT, "--format", "latex").stdout
    assert r"5 & $d{W} \mathrel{+}= d{u_{1}} \otimes {x}$ & $2\times 2$ & $d{W} = \left[\begin{array}{rr} " \
           r"0.028453 & -0.028453 \\ 0.196612 & -0.196612 \end{array}\right]$ \\[2pt]" in out
    assert r"$d{x} \mathrel{+}= {W}^{\top} \, d{u_{1}}$" in out
    assert r"$d{z} \mathrel{+}= d{a} \odot a \left(1 - a\right)$" in out
    assert r"$d{a} \mathrel{+}= d{L}\ \mbox{(broadcast to }2\mbox{)}$" in out
    broadcast = cli("trace", "sum(W + b)", "--at", AT, "--format", "latex").stdout
    assert r"$d{b} \mathrel{+}= \mathrm{sum}\left(d{u_{1}},\ \mbox{axis}=0\right)$" in broadcast


def test_latex_cuts_long_arrays_as_the_table_does(cli):
    at = ("M=[" + ",".join("[" + ",".join(str(8 * i + j) for j in range(8)) + "]" for i in range(8)) + "],"
          "v=[" + ",".join(str(k) for k in range(100)) + "]")
    out = cli("trace", "sum(M*M) + sum(v)", "--at", at, "--format", "latex").stdout
    row = next(line for line in out.splitlines() if line.startswith("$M$"))
    assert (r"\left[\begin{array}{rrrrrr} 0 & 1 & 2 & \cdots & 6 & 7 \\ 8 & 9 & 10 & \cdots & 14 & 15 \\ "
            r"16 & 17 & 18 & \cdots & 22 & 23 \\ \vdots & \vdots & \vdots & \ddots & \vdots & \vdots \\ "
            r"48 & 49 & 50 & \cdots & 54 & 55 \\ 56 & 57 & 58 & \cdots & 62 & 63 \end{array}\right]") in row
    row = next(line for line in out.splitlines() if line.startswith("$v$"))
    assert r"\left[\begin{array}{r} 0 \\ 1 \\ 2 \\ \vdots \\ 98 \\ 99 \end{array}\right]" in row


@pytest.mark.parametrize("expression, at", [
    (NEURON, AT), (MIXED, AT),
    ("sum(log_softmax(a_b @ W1[0]))", "a_b=[[1,2],[3,4]],W1=[[1,0],[0,1]]"),
    ("mean(x) + sum(W[1])", "W=[[1,2],[3,4]],x=[" + ",".join(map(str, range(20))) + "]"),
])
def test_latex_is_balanced_and_escaped(cli, expression, at):
    out = cli("trace", expression, "--at", at, "--format", "latex").stdout
    assert out.isascii()
    assert re.findall(r"\\(begin|end)\{(\w+)\}", out).count(("begin", "tabular")) == 2
    depth: list[str] = []
    for kind, env in re.findall(r"\\(begin|end)\{(\w+)\}", out):
        if kind == "begin":
            depth.append(env)
        else:
            assert depth.pop() == env
    assert depth == []
    assert out.count(r"\left") == out.count(r"\right")
    braces = 0
    for ch in re.sub(r"\\[{}]", "", out):
        braces += {"{": 1, "}": -1}.get(ch, 0)
        assert braces >= 0
    assert braces == 0
    for line in out.splitlines():
        assert line.count("$") % 2 == 0
        outside = re.sub(r"\$[^$]*\$", "", line)
        assert not re.search(r"(?<!\\)[_^#%&]", outside.replace(" & ", "")), line


def test_latex_writes_an_index_of_a_subscripted_name_as_one_subscript(cli):
    out = cli("trace", "sum(W1[0])", "--at", "W1=[[1,2],[3,4]]", "--format", "latex").stdout
    assert r"${W_{1}}_{0}$" in out


@pytest.mark.parametrize("fmt", ["markdown", "latex"])
def test_vector_notes_are_shown_whole(cli, fmt):
    assert one_error(cli("trace", NEURON, "--at", AT, "--format", fmt, "--depth", "2")).startswith(
        "error: --depth and --collapse fold long scalar traces; a trace of vectors and matrices")
