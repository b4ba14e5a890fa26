"""The interactive page in a real browser: headless Chromium, driven over the DevTools protocol
through a pipe (standard library only), with the step link and keyboard events; what the page
shows is read from its DOM and held against `trace` and `eval --format json`.

Skipped only where Chromium is missing and CI is unset; in CI (CI=true) a missing Chromium
fails, so the page is always tested there (.ci/run installs it).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from helpers import WORKED, S, at_option, exact_point, run_cli

from gradcalc.core.ops import Op, each, register, withdraw
from gradcalc.render.numerals import human

NEURON = "sigmoid(w0*x0+w1*x1+w2)"
NEURON_AT = ("--at", "w=[2,-3,-3],x=[-1,-2]")
PROGRAM50 = Path(__file__).resolve().parent.parent / "docs" / "program50.txt"
PROGRAM50_AT = ("--at", "x1=1,x2=-0.5,w11=0.5,w12=-1,b1=0.1,w21=1.5,w22=0.3,b2=-0.2,w31=-0.7,"
                "w32=0.8,b3=0.4,v1=1,v2=-2,v3=0.5,c=0.3,t=0.5")  # scripts/figures.sh's point


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    """One headless Chromium and one tab, spoken to in the DevTools protocol over
    --remote-debugging-pipe: JSON messages ended by NUL on file descriptors 3 (to it) and 4."""

    def __init__(self, executable: str):
        to_browser, from_us = os.pipe()
        to_us, from_browser = os.pipe()
        self.profile = tempfile.mkdtemp(prefix="gradcalc-chromium-")

        def descriptors() -> None:  # in the child: its ends of the pipes as 3 and 4
            reading, writing = os.dup(to_browser), os.dup(from_browser)
            os.dup2(reading, 3)
            os.dup2(writing, 4)

        self.process = subprocess.Popen(
            [executable, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--remote-debugging-pipe", f"--user-data-dir={self.profile}", "about:blank"],
            preexec_fn=descriptors, close_fds=False, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser)
        os.close(from_browser)
        self.writer = os.fdopen(from_us, "wb", buffering=0)
        self.reader = os.fdopen(to_us, "rb", buffering=0)
        self.buffer, self.count, self.events = b"", 0, []
        target = self.call("Target.createTarget", {"url": "about:blank"}, tab=False)
        self.tab = self.call("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True},
                             tab=False)["sessionId"]
        for domain in ("Runtime", "Page", "Log", "Network"):
            self.call(f"{domain}.enable")

    def call(self, method: str, params: dict | None = None, tab: bool = True) -> dict:
        """A command to the tab (or with tab=False to the browser), and its reply."""
        self.count += 1
        message = {"id": self.count, "method": method, "params": params or {}}
        if tab:
            message["sessionId"] = self.tab
        self.writer.write(json.dumps(message).encode() + b"\0")
        while True:
            reply = self._receive()
            if reply.get("id") == self.count:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def _receive(self) -> dict:
        while b"\0" not in self.buffer:
            chunk = self.reader.read(1 << 20)
            if not chunk:
                raise EOFError("chromium closed the pipe")
            self.buffer += chunk
        message, _, self.buffer = self.buffer.partition(b"\0")
        return json.loads(message)

    def js(self, expression: str):
        reply = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in reply:
            raise RuntimeError(reply["exceptionDetails"])
        return reply["result"].get("value")

    def open(self, path: Path, step: int | None = None, width: int = 1280, height: int = 900) -> None:
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})
        self.events.clear()
        url = path.as_uri() + ("" if step is None else f"#step={step}")
        self.call("Page.navigate", {"url": url})
        deadline = time.monotonic() + 20
        while self.js("document.body && document.body.dataset.ready") != "true":
            assert time.monotonic() < deadline, f"the page did not start: {self.problems()}"
            time.sleep(0.05)

    def key(self, key: str) -> None:
        codes = {"ArrowRight": 39, "ArrowLeft": 37, "Home": 36, "End": 35, " ": 32}
        common = {"key": key, "code": "Space" if key == " " else key, "windowsVirtualKeyCode": codes[key]}
        self.call("Input.dispatchKeyEvent", {"type": "keyDown", **common, **({"text": " "} if key == " " else {})})
        self.call("Input.dispatchKeyEvent", {"type": "keyUp", **common})

    def problems(self) -> list:
        """Console errors and warnings, uncaught exceptions, and log entries of either level."""
        found = []
        for event in self.events:
            method, params = event["method"], event.get("params", {})
            if method == "Runtime.exceptionThrown":
                found.append(params["exceptionDetails"])
            elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "warning", "assert"):
                found.append(params["args"])
            elif method == "Log.entryAdded" and params["entry"]["level"] in ("error", "warning"):
                found.append(params["entry"]["text"])
        return found

    def requests(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events if e["method"] == "Network.requestWillBeSent"]

    def screenshot(self, path: Path) -> None:
        import base64

        shot = self.call("Page.captureScreenshot", {"format": "png"})
        path.write_bytes(base64.b64decode(shot["data"]))

    def close(self) -> None:
        try:
            self.call("Browser.close", tab=False)
        except (EOFError, OSError, RuntimeError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


@pytest.fixture(scope="module")
def browser():
    executable = chromium()
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("CI needs Chromium for the page's tests: apt-get install chromium (.ci/run does)")
        pytest.skip("Chromium is not installed (apt-get install chromium); CI runs this test")
    opened = Browser(executable)
    yield opened
    opened.close()


def page(tmp_path: Path, *args: str, name: str = "page.html") -> Path:
    target = tmp_path / name
    run = run_cli(*args, "-o", str(target))
    assert run.code == 0, run.stderr
    return target


def shown(browser: Browser, kind: str) -> dict[str, str]:
    """The text on each wire of the picture: values (kind "v") or gradients ("g"), by stage."""
    return browser.js(f"""Object.fromEntries([...document.querySelectorAll('#circuit text[id^="{kind}"]')]
        .map(t => [JSON.parse(document.getElementById('gradcalc-data').textContent)
                   .nodes[Number(t.id.slice(1))].name, t.textContent]))""")


def expected_steps(trace: dict) -> list[tuple]:
    """The page's steps, from the documented trace JSON alone: the start, one step per stage
    in topological order, the seed, one per edge from the output back (each stage's inputs in
    order, constants skipped), and the end."""
    nodes = trace["nodes"]
    index = {node["name"]: k for k, node in enumerate(nodes)}
    steps: list[tuple] = [("start",)]
    steps += [("forward", node["name"]) for node in nodes if node["op"] not in ("input", "const")]
    steps.append(("seed", trace["output"]))
    for node in reversed(nodes):
        for k, name in enumerate(node["inputs"]):
            if nodes[index[name]]["op"] != "const":
                steps.append(("backward", node["name"], name, node["local"][k] * node["grad"]))
    steps.append(("done",))
    return steps


def test_each_step_of_the_neuron_puts_values_and_gradients_on_exactly_the_wires_it_has_reached(browser, tmp_path):
    args = ("graph", NEURON, *NEURON_AT, "--gates", "primitive")
    target = page(tmp_path, *args)
    trace = run_cli("trace", NEURON, *NEURON_AT, "--gates", "primitive", "--format", "json").json()
    nodes = {node["name"]: node for node in trace["nodes"]}
    steps = expected_steps(trace)
    for k in range(len(steps)):
        browser.open(target, step=k)
        assert browser.js("document.body.dataset.step") == str(k)
        valued = {name for name, node in nodes.items() if node["op"] == "input"}
        valued |= {step[1] for step in steps[1:k + 1] if step[0] == "forward"}
        graded: dict[str, float] = {}
        for step in steps[:k + 1]:
            if step[0] == "seed":
                graded[step[1]] = 1.0
            elif step[0] == "backward":
                graded[step[2]] = graded.get(step[2], 0.0) + step[3]
        if steps[k][0] == "done":
            graded = {name: node["grad"] for name, node in nodes.items() if node["op"] != "const"}
        values, grads = shown(browser, "v"), shown(browser, "g")
        assert {name for name, text in values.items() if text} == valued, k
        assert all(values[name] == human(nodes[name]["value"], 3) for name in valued), k
        assert {name for name, text in grads.items() if text} == set(graded), k
        assert all(grads[name] == human(grad, 3) for name, grad in graded.items()), k
        lit = browser.js("[...document.querySelectorAll('#circuit .lit')].map(e => e.id)")
        if steps[k][0] == "backward":
            assert len(lit) == 2 and any(e.startswith("w") for e in lit), (k, lit)
        elif steps[k][0] in ("forward", "seed"):
            assert len(lit) == 1, (k, lit)
        else:
            assert lit == [], (k, lit)
        assert browser.problems() == [], k
    assert browser.js("document.getElementById('step').max") == str(len(steps) - 1)


def final_gradients(browser: Browser) -> dict[str, float]:
    """∂output/∂input as the forward table holds it at full precision (data-exact)."""
    return browser.js("""Object.fromEntries([...document.querySelectorAll('#forward tbody tr')]
        .filter(row => row.cells[1].textContent === 'input')
        .map(row => [row.cells[0].textContent, Number(row.cells[4].dataset.exact)]))""")


def test_the_last_step_shows_the_gradients_eval_computes(browser, tmp_path):
    for gates in ("written", "primitive", "fused"):
        target = page(tmp_path, "trace", NEURON, *NEURON_AT, "--gates", gates, "--format", "html")
        browser.open(target)
        browser.key("End")
        expected = run_cli("eval", NEURON, *NEURON_AT, "--gates", gates, "--format", "json").json()
        assert final_gradients(browser) == expected["gradient"]
        assert browser.js("document.getElementById('explain').textContent").startswith(
            f"done: f = {human(expected['value'])}")
        assert browser.problems() == []


def test_every_worked_example_ends_on_the_gradient_of_sympys_derivative(browser, tmp_path):
    """The seeds' worked examples, each as its own page: the last step's gradients are sympy's
    exact derivatives at the point, and the console shows no error."""
    for k, (text, at, form) in enumerate(WORKED):
        target = page(tmp_path, "trace", text, "--at", at_option(at), "--format", "html", name=f"worked{k}.html")
        browser.open(target)
        browser.key("End")
        point = exact_point(at)
        got = final_gradients(browser)
        assert set(got) == set(at), text
        for name, value in got.items():
            assert value == pytest.approx(float(form.diff(S[name]).subs(point)), rel=1e-12, abs=1e-15), (text, name)
        assert browser.problems() == [], text


def test_the_keyboard_steps_plays_and_links_to_the_step(browser, tmp_path):
    target = page(tmp_path, "graph", "3*(a+b*c)", "--at", "a=5,b=3,c=2")
    browser.open(target)
    assert browser.js("document.body.dataset.step") == "0"
    for k in range(1, 4):
        browser.key("ArrowRight")
        assert browser.js("document.body.dataset.step") == str(k)
        assert browser.js("location.hash") == f"#step={k}"
        assert browser.js("document.getElementById('link').getAttribute('href')") == f"#step={k}"
    browser.key("ArrowLeft")
    assert browser.js("document.body.dataset.step") == "2"
    browser.key("End")
    last = int(browser.js("document.getElementById('step').max"))
    assert browser.js("document.body.dataset.step") == str(last)
    assert browser.js("document.getElementById('explain').textContent") == (
        "done: f = 33; ∂f/∂a = 3, ∂f/∂b = 6, ∂f/∂c = 9")
    browser.key("ArrowLeft")  # the last edge, as the README's backward table ends
    assert browser.js("document.querySelector('#backward tr.current').cells[1].textContent") == "u1 → c"
    browser.key("Home")
    browser.key(" ")
    assert browser.js("document.getElementById('play').getAttribute('aria-pressed')") == "true"
    time.sleep(2.2)  # two steps of Play
    assert int(browser.js("document.body.dataset.step")) >= 2
    browser.key(" ")
    assert browser.js("document.getElementById('play').getAttribute('aria-pressed')") == "false"
    browser.js("location.hash = '#step=3'")
    time.sleep(0.2)
    assert browser.js("document.body.dataset.step") == "3"
    explain = browser.js("document.getElementById('explain').textContent")
    assert explain == "forward: f = 3*u2 = 33 (u2 = 11)"
    assert browser.js("document.querySelector('#forward tr.current').cells[0].textContent") == "f"
    browser.open(target, step=9)  # the edge u1 → c of the README's backward table
    assert browser.js("document.getElementById('explain').textContent") == (
        "backward: edge u1 → c: local ∂u1/∂c = 3 × upstream du1 = 3 = 9; dc = 9")
    assert browser.problems() == []


TRICKY = {"a": "1.125", "b": "2.675", "c": "0.000123456", "d": "1e-5", "e": "123456789", "f": "1e16",
          "g": "1.5e300", "h": "-2.5e-300", "i": "0.1", "j": "1/3", "k": "99999.95", "l": "9.9996",
          "m": "-0.0", "n": "12345.678", "o": "0.5", "p": "-1e22"}


def test_numbers_are_written_as_the_tables_of_the_command_line_write_them(browser, tmp_path):
    """Ties to even, carries, exponents, integers and -0, on the wires (3 digits) and in the
    table (6 digits), against numerals.human."""
    text = " + ".join(TRICKY)
    target = page(tmp_path, "graph", text, "--at", ",".join(f"{k}={v}" for k, v in TRICKY.items()))
    browser.open(target)
    values = run_cli("trace", text, "--at", ",".join(f"{k}={v}" for k, v in TRICKY.items()),
                     "--format", "json").json()["at"]
    wires = shown(browser, "v")
    table = browser.js("""Object.fromEntries([...document.querySelectorAll('#forward tbody tr')]
        .map(row => [row.cells[0].textContent, row.cells[2].textContent]))""")
    for name, value in values.items():
        assert wires[name] == human(value, 3), name
        assert table[name] == human(value), name


def test_a_stage_in_focus_shows_its_rule_and_values(browser, tmp_path):
    target = page(tmp_path, "graph", NEURON, *NEURON_AT)
    browser.open(target, step=7)
    index = browser.js("""JSON.parse(document.getElementById('gradcalc-data').textContent)
        .nodes.findIndex(n => n.op === 'sigmoid')""")
    browser.js(f"document.getElementById('n{index}').focus()")
    details = browser.js("[...document.querySelectorAll('#details dt, #details dd')].map(e => e.textContent)")
    assert details == ["stage", "f = sigmoid(u4)", "op", "sigmoid", "∂f/∂u4", "f*(1 - f) = 0.196612",
                       "value", "0.731059", "∂f/∂f", "1"]
    browser.open(target, step=2)
    browser.js(f"document.getElementById('n{index}').focus()")
    details = browser.js("[...document.querySelectorAll('#details dd')].map(e => e.textContent)")
    assert details == ["f = sigmoid(u4)", "sigmoid", "f*(1 - f)", "not yet computed", "not yet computed"]


def test_without_values_the_reader_types_them_and_the_page_recomputes(browser, tmp_path):
    target = page(tmp_path, "graph", NEURON)
    browser.open(target)
    assert browser.js("document.getElementById('step').max") == "0"
    assert shown(browser, "v") == {name: "" for name in ("w0", "x0", "u1", "w1", "x1", "u2", "u3", "w2", "u4", "f")}
    values = {"w0": "2", "x0": "-1", "w1": "-3", "x1": "-2", "w2": "-3"}
    typed = json.dumps(values)
    browser.js(f"""{{const v = {typed}; document.querySelectorAll('#fields input')
        .forEach(i => {{ i.value = v[i.name]; }}); document.getElementById('compute').click()}}""")
    browser.key("End")
    expected = run_cli("eval", NEURON, *NEURON_AT, "--format", "json").json()
    assert final_gradients(browser) == pytest.approx(expected["gradient"], rel=1e-14, abs=1e-300)
    browser.js("""document.querySelector('#fields input').value = 'abc';
        document.getElementById('compute').click()""")
    status = browser.js("document.getElementById('status').textContent")
    assert status.startswith('w0: "abc" is not a finite number')
    browser.js("""{const v = {w0: '1', x0: '0', w1: '0', x1: '0', w2: '0'}; document.querySelectorAll('#fields input')
        .forEach(i => { i.value = v[i.name]; }); document.getElementById('compute').click()}""")
    assert browser.js("document.getElementById('status').className") == ""
    assert browser.problems() == []


def test_a_value_the_rules_refuse_names_the_stage_as_the_command_line_does(browser, tmp_path):
    target = page(tmp_path, "graph", "u = x*y; L = log(u)")
    browser.open(target)
    browser.js("""{const v = {x: '0', y: '2'}; document.querySelectorAll('#fields input')
        .forEach(i => { i.value = v[i.name]; }); document.getElementById('compute').click()}""")
    assert browser.js("document.getElementById('status').textContent") == (
        "stage L = log(u): the value is undefined or not finite (u = 0)")
    assert browser.js("document.getElementById('status').className") == "error"
    assert browser.js("document.getElementById('step').max") == "0"  # nothing to step through
    assert run_cli("eval", "u = x*y; L = log(u)", "--at", "x=0,y=2").code == 3
    assert browser.problems() == []


def test_a_program_of_constants_is_computed_at_once_and_an_empty_field_is_named(browser, tmp_path):
    browser.open(page(tmp_path, "graph", "u = 2*3; f = u + pi"))
    browser.key("End")
    assert browser.js("document.getElementById('explain').textContent") == f"done: f = {human(6 + 3.141592653589793)}"
    browser.open(page(tmp_path, "graph", "log(0*2)", name="log.html"))
    assert browser.js("document.getElementById('status').textContent") == (
        "stage f = log(u1): the value is undefined or not finite (u1 = 0)")
    browser.open(page(tmp_path, "graph", "x*y", name="xy.html"))
    browser.js("document.getElementById('compute').click()")
    assert browser.js("document.getElementById('status').textContent") == "x: give it a value; y: give it a value"
    assert browser.js("document.getElementById('at-0').getAttribute('aria-invalid')") == "true"
    assert browser.problems() == []


def test_every_op_recomputes_in_the_page_as_eval_computes(browser, tmp_path):
    """The registry's rules written out as JavaScript, against the float path at a point."""
    programs = [
        ("u = exp(x) + log(y) + sqrt(y) + abs(z) + sin(x) + cos(y) + tan(z) + asin(z) + acos(z) "
         "+ atan(x) + sinh(z) + cosh(z) + tanh(x) + sigmoid(z) + softplus(x) + relu(x) + relu(z); "
         "v = max(x, y, z) * min(x, z) + x^y + log(y, 3) + y/x - z; f = u*v - (-u)", "written"),
        ("log(sigmoid(z)) + log(1 - sigmoid(x)) - y*log(sigmoid(z)) - (1-y)*log(1-sigmoid(z))", "fused"),
    ]
    at = {"x": "0.7", "y": "1.9", "z": "-0.35"}
    for text, gates in programs:
        target = page(tmp_path, "graph", text, "--gates", gates)
        browser.open(target)
        assert browser.js("JSON.parse(document.getElementById('gradcalc-data').textContent).unscripted") == []
        browser.js(f"""{{const v = {json.dumps(at)}; document.querySelectorAll('#fields input')
            .forEach(i => {{ i.value = v[i.name]; }}); document.getElementById('compute').click()}}""")
        assert browser.js("document.getElementById('status').className") == ""
        browser.key("End")
        expected = run_cli("eval", text, "--at", ",".join(f"{k}={v}" for k, v in at.items()),
                           "--gates", gates, "--format", "json").json()
        assert final_gradients(browser) == pytest.approx(expected["gradient"], rel=1e-13)
        assert browser.problems() == []


def test_an_op_without_a_script_is_drawn_and_said(browser, tmp_path):
    clip = Op("clip", lambda m, x: x if x > 0 else 0 * x, each(lambda m, out, x: 1.0 if x > 0 else 0.0),
              calls=("clip",))
    register(clip)
    try:
        target = page(tmp_path, "graph", "clip(x)*y", "--at", "x=2,y=3")
    finally:
        withdraw("clip")
    browser.open(target)
    assert browser.js("document.getElementById('compute').disabled") is True
    assert browser.js("document.getElementById('status').textContent") == (
        "Recomputation is unavailable in this page: it has no script for clip.")
    browser.key("End")
    assert final_gradients(browser) == {"x": 3.0, "y": 2.0}
    assert browser.problems() == []


HOSTILE = "</script><script>window.pwned = 1</script><img src=x onerror=\"window.pwned=2\"> 'q' \"q\" &amp;"


def test_nothing_the_user_gave_is_run_by_the_page(browser, tmp_path):
    """Through every channel that reaches the page — the title, the file's name, the program,
    stage names and numbers — markup stays text."""
    folder = tmp_path / "<script>window.pwned=3<!--'\"&"  # (a name holds no slash)
    folder.mkdir()
    source = folder / "net'<b>.txt"
    source.write_text("h = w*x + b; y_hat = sigmoid(h); L = (y_hat - t)^2\n")
    target = page(tmp_path, "graph", "-f", str(source), "--at", "w=1e-300,x=-1.5e300,b=0.25,t=1",
                  "--title", HOSTILE)
    browser.open(target, step=4)
    assert browser.js("window.pwned === undefined") is True
    assert browser.js("document.title") == HOSTILE
    assert browser.js("document.getElementById('title').textContent") == HOSTILE
    assert browser.js("document.getElementById('origin').textContent") == f"read from {source}"
    assert browser.js("document.getElementById('source').textContent").startswith("h = w*x + b;")
    assert browser.js("document.scripts.length") == 2 and browser.js("document.images.length") == 0
    html = target.read_text()
    assert "</script><script>window" not in html and "<img" not in html
    trace = target.with_name("trace.html")
    run = run_cli("trace", "-f", str(source), "--at", "w=2,x=3,b=0.25,t=1", "--format", "html", "-o", str(trace))
    assert run.code == 0, run.stderr
    browser.open(trace)
    assert browser.js("window.pwned === undefined") is True
    assert browser.js("document.getElementById('origin').textContent") == f"read from {source}"
    assert browser.problems() == []


def test_the_fifty_node_program_works_offline_and_on_a_phone(browser, tmp_path):
    target = page(tmp_path, "graph", "-f", str(PROGRAM50), *PROGRAM50_AT)
    for width, height in ((1280, 900), (390, 844)):
        browser.open(target, width=width, height=height)
        assert browser.js("document.documentElement.scrollWidth") <= width  # the picture scrolls in its box
        browser.key("End")
        expected = run_cli("eval", "-f", str(PROGRAM50), *PROGRAM50_AT, "--format", "json").json()
        assert final_gradients(browser) == expected["gradient"]
        assert browser.requests() == [target.as_uri()], "the page asked the network for something"
        assert browser.problems() == []
    buttons = browser.js("""[...document.querySelectorAll('#controls button')]
        .map(b => b.getBoundingClientRect()).map(r => Math.min(r.width, r.height))""")
    assert min(buttons) >= 44  # a finger's target


def test_a_graph_cut_by_depth_steps_through_what_it_draws(browser, tmp_path):
    chain = Path(__file__).resolve().parent.parent / "examples" / "chain.txt"
    target = page(tmp_path, "trace", "-f", str(chain), "--at", "x=0.3,r=2.5", "--depth", "4", "--format", "html")
    browser.open(target)
    note = browser.js("document.getElementById('note').textContent")
    assert "stages more than 4 steps from the output hidden" in note
    browser.key("End")
    drawn = browser.js("document.querySelectorAll('#circuit .node').length")
    assert drawn < 20
    assert browser.js("document.querySelectorAll('#forward tbody tr').length") == drawn
    assert browser.problems() == []
