"""The interactive page as a file: self-contained, its data escaped, its script made of the
registry's rules, and the options that do not apply to it refused (the browser's side is in
test_html_browser.py)."""
from __future__ import annotations

import base64
import hashlib
import json
import re

import pytest
from helpers import run_cli

import gradcalc
from gradcalc.core.ops import REGISTRY
from gradcalc.numbers import FUNCTIONS, RULE_PARTS
from gradcalc.render.script_rules import RUNTIME, NoScript, Script, op_script, ops_script, script_json

NEURON = ("sigmoid(w0*x0+w1*x1+w2)", "--at", "w=[2,-3,-3],x=[-1,-2]")


def data_of(page: str) -> dict:
    block = re.search(r'<script type="application/json" id="gradcalc-data">(.*?)</script>', page, re.S)
    assert block is not None
    return json.loads(block.group(1))


def test_the_page_is_one_file_that_asks_the_network_for_nothing():
    page = run_cli("graph", *NEURON, "--format", "html").stdout
    assert page.startswith("<!DOCTYPE html>\n")
    assert re.findall(r"https?://[^\s\"'<>]+", page) == ["http://www.w3.org/2000/svg"]
    assert not re.search(r"<(link|img|iframe|object|embed)\b|\bsrc=|@import|url\((?!#)", page)
    assert set(re.findall(r'href="([^"]*)"', page)) == {"#step=0"}
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1)
    assert policy.startswith("default-src 'none'; ")
    for tag in ("script", "style"):
        body = re.search(rf"<{tag}>(.*?)</{tag}>", page, re.S).group(1)
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"{tag}-src 'sha256-{digest}'" in policy  # only the page's own script and style run


def test_the_data_holds_the_point_as_eval_computes_it():
    data = data_of(run_cli("trace", *NEURON, "--format", "html").stdout)
    trace = run_cli("trace", *NEURON, "--format", "json").json()
    names = [node["name"] for node in data["nodes"]]
    values = dict(zip(names, data["evaluation"]["values"]))
    grads = dict(zip(names, data["evaluation"]["grads"]))
    for node in trace["nodes"]:
        assert values[node["name"]] == node["value"] and grads[node["name"]] == node["grad"]
    assert data["outputName"] == "f" and data["unscripted"] == []
    sigmoid = next(node for node in data["nodes"] if node["op"] == "sigmoid")
    assert sigmoid["definition"] == "sigmoid(u4)" and sigmoid["rules"] == ["f*(1 - f)"]
    product = next(node for node in data["nodes"] if node["op"] == "mul")
    assert product["rules"] == ["x0", "w0"]


def test_without_a_point_the_page_has_the_program_and_no_values():
    data = data_of(run_cli("graph", NEURON[0], "--format", "html").stdout)
    assert data["evaluation"] is None
    assert [node["op"] for node in data["nodes"]] == ["input", "input", "mul", "input", "input", "mul",
                                                      "add", "input", "add", "sigmoid"]


HOSTILE = "</script><script>alert(1)</script><!-- 'single' \"double\" & \u2028"


def test_user_text_stays_text_in_the_file(tmp_path):
    source = tmp_path / "a<b>'&.txt"  # (a file's name holds no slash)
    source.write_text("y = 2*x\n")
    page = run_cli("graph", "-f", str(source), "--at", "x=3", "--title", HOSTILE, "--format", "html").stdout
    assert page.count("</script>") == 2 and page.count("<script") == 2  # the data's and the page's
    assert "<title>&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;!-- &#x27;single&#x27; " \
           "&quot;double&quot; &amp; \u2028</title>" in page
    block = re.search(r'id="gradcalc-data">(.*?)</script>', page, re.S).group(1)
    assert not set(block) & set("<>&\u2028")
    assert data_of(page)["title"] == HOSTILE and data_of(page)["origin"] == str(source)


def test_json_in_a_script_element_escapes_what_could_end_it():
    assert script_json({"t": "</script>&\u2029"}) == '{"t":"\\u003c/script\\u003e\\u0026\\u2029"}'
    assert json.loads(script_json({"t": "</script>&\u2029"})) == {"t": "</script>&\u2029"}


def test_every_scalar_op_of_the_registry_has_a_script():
    calls = [(name, count) for name, op in REGISTRY.items() if op.forward is not None and not op.vector
             for count in range(op.arity[0], (op.arity[1] or 3) + 1)]
    _, missing = ops_script(calls)
    assert missing == []


def test_the_scripts_are_the_registrys_rules():
    assert op_script(REGISTRY["sigmoid"], 1) == "{f: (a) => M.sigmoid(a[0]), d: [(out, a) => out * (1 - out)]}"
    assert op_script(REGISTRY["div"], 2) == ("{f: (a) => a[0] / a[1], "
                                             "d: [(out, a) => 1 / a[1], (out, a) => -out / a[1]]}")
    assert op_script(REGISTRY["max"], 2) == ("{f: (a) => M.max(a[0], a[1]), d: [(out, a) => M.tie_share(out, a, 0), "
                                             "(out, a) => M.tie_share(out, a, 1)]}")
    assert op_script(REGISTRY["pow"], 2).startswith("{f: (a) => M.pow(a[0], a[1]), d: [(out, a) => a[1] * M.pow(")


def test_a_negation_of_a_negative_never_writes_a_decrement():
    assert (-(-Script("x", 3))).text == "-(-x)"
    assert (Script("x") - -1).text == "x - -1"


def test_a_rule_that_is_not_arithmetic_has_no_script():
    from gradcalc.core.ops import Op, each

    clip = Op("clip", lambda m, x: x if x > 0 else 0 * x, each(lambda m, out, x: 1.0))
    with pytest.raises(NoScript):
        op_script(clip, 1)
    odd = Op("odd", lambda m, x: m.gamma(x), each(lambda m, out, x: 1.0))
    with pytest.raises(NoScript, match="the page has no gamma"):
        op_script(odd, 1)


def test_the_script_runtime_has_every_name_of_the_number_protocol():
    assert set(FUNCTIONS) | set(RULE_PARTS) <= set(RUNTIME)


def test_the_suffix_says_html_and_the_api_writes_the_same_page(tmp_path):
    target = tmp_path / "page.html"
    run = run_cli("trace", *NEURON, "-o", str(target))
    assert run.code == 0 and run.stdout == "" and run.stderr == ""
    assert target.read_text() == run_cli("trace", *NEURON, "--format", "html").stdout
    trace = gradcalc.trace(NEURON[0], w=[2, -3, -3], x=[-1, -2])
    assert trace.html() + "\n" == run_cli("trace", *NEURON, "--format", "html").stdout
    assert trace.formats().count("html") == 1
    assert gradcalc.graph(NEURON[0]).html() + "\n" == run_cli("graph", NEURON[0], "--format", "html").stdout


@pytest.mark.parametrize("args, message", [  # each ends with (see 'gradcalc COMMAND --help')
    (("trace", *NEURON, "--format", "html", "--collapse"),
     "error: --collapse applies to --format table, markdown, latex; the page shows a row for every stage "
     "it draws (--depth N draws fewer)"),
    (("trace", *NEURON, "--format", "html", "--mode", "forward", "--wrt", "w0"),
     "error: --format html steps through the backward pass; --mode forward writes table, json, csv, python, "
     "markdown, latex"),
    (("trace", *NEURON, "--format", "html", "--exact"),
     "error: --format html shows float64 values; with --exact, --digits or --hessian use table, json or csv"),
    (("graph", *NEURON, "--format", "html", "--collapse"),
     "error: --collapse applies to --format dot, mermaid, svg, png, pdf, tikz; the page shows every stage "
     "it draws (--depth N draws fewer)"),
    (("graph", *NEURON, "--format", "html", "--theme", "dark"),
     "error: --theme applies to --format svg, png, pdf, not html"),
])
def test_what_the_page_does_not_take_is_refused_in_one_line(args, message):
    run = run_cli(*args)
    assert (run.code, run.stdout, run.stderr) == (2, "", f"{message} (see 'gradcalc {args[0]} --help')\n")


@pytest.mark.parametrize("args", [("graph", "sum(sigmoid(W@x + b))"), ("trace", "sum(sigmoid(x))", "--at", "x=[1,2]")])
def test_vectors_are_refused_by_the_page_in_one_line(args):
    run = run_cli(*args, "--format", "html")
    assert (run.code, run.stdout, run.stderr) == (
        2, "", "error: --format html steps through scalar circuits; draw vectors and matrices with graph "
               "--format svg, dot or mermaid, or trace them as a table\n")


def test_the_pages_of_the_docs_are_what_the_commands_write():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    page = run_cli("graph", *NEURON, "--gates", "primitive", "--title", "The sigmoid neuron, step by step",
                   "--format", "html").stdout
    assert (root / "docs" / "neuron.html").read_text() == page  # bash scripts/page.sh redraws it
    run = run_cli("trace", "-f", str(root / "examples" / "logistic" / "loss.txt"), "--at",
                  "x1=1.5,x2=2.5,w1=-4,w2=3,b=-1,y=1", "--format", "html")
    assert run.code == 0 and data_of(run.stdout)["origin"].endswith("loss.txt")
