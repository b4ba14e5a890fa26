"""Workload 1, start-up: one small gradient as a whole process, beside the floors and the peers.

`gradcalc eval "3*(a+b*c)" --at a=5,b=3,c=2` (table and JSON), `trace` (table and JSON) and
two usage errors, each a fresh process, against `python -c` floors measured in the same
rounds: the bare interpreter, click (what the JSON path may cost), click + rich (the price of
the table stack itself) and sympy; and the peers doing the same job as `python -c` one-liners.
Every output is checked (value 33, gradient 3, 6, 9) before its time is quoted.
"""
from __future__ import annotations

import json
import sys
from typing import Callable, NamedTuple

from bench.install import Interpreter
from bench.measure import (
    ProcessRun,
    Target,
    Timing,
    format_seconds,
    interleaved,
    markdown_table,
    megabytes,
    ratio,
    run_process,
    summarise,
)

EXPRESSION, AT = "3*(a+b*c)", "a=5,b=3,c=2"
EXPECTED = [33.0, 3.0, 6.0, 9.0]  # value, then ∂/∂a, ∂/∂b, ∂/∂c

FLOORS = {
    "python -c pass": "pass",
    'python -c "import click"': "import click",
    'python -c "import click, rich.console, rich.table"': "import click, rich.console, rich.table",
    'python -c "import sympy"': "import sympy",
}
CLICK, CLICK_RICH = 'python -c "import click"', 'python -c "import click, rich.console, rich.table"'

# The same job in each peer: parse or build 3*(a+b*c), its gradient at the point, print both.
PEERS = {
    "sympy (parse_expr, diff, subs)": ("sympy", """
import json, sympy
a, b, c = sympy.symbols("a b c")
f = sympy.parse_expr("3*(a+b*c)")
at = {a: 5, b: 3, c: 2}
print(json.dumps([float(f.subs(at))] + [float(sympy.diff(f, v).subs(at)) for v in (a, b, c)]))
"""),
    "jax (value_and_grad)": ("jax", """
import json, jax
f = jax.value_and_grad(lambda a, b, c: 3 * (a + b * c), argnums=(0, 1, 2))
value, grads = f(5.0, 3.0, 2.0)
print(json.dumps([float(value)] + [float(g) for g in grads]))
"""),
    "torch (autograd)": ("torch", """
import json, torch
a, b, c = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (5.0, 3.0, 2.0))
f = 3 * (a + b * c)
f.backward()
print(json.dumps([f.item(), a.grad.item(), b.grad.item(), c.grad.item()]))
"""),
}


class Command(NamedTuple):
    argv: list[str]
    check: Callable[[ProcessRun], str | None]  # None if the output is right, else why not
    kind: str  # floor, gradcalc, error, peer


def _eval_json(run: ProcessRun) -> str | None:
    document = json.loads(run.stdout)
    got = [document["value"], *document["gradient"].values()]
    return None if got == EXPECTED else f"printed {got}"


def _table(run: ProcessRun) -> str | None:
    return None if run.code == 0 and "33" in run.stdout else f"exit {run.code}: {run.stderr[-200:]}"


def _quiet(run: ProcessRun) -> str | None:
    return None if run.code == 0 else f"exit {run.code}: {run.stderr[-200:]}"


def _usage_error(run: ProcessRun) -> str | None:
    ok = run.code == 2 and run.stderr.startswith("error:") and not run.stdout
    return None if ok else f"exit {run.code}, stderr {run.stderr[-200:]!r}"


def _peer_json(run: ProcessRun) -> str | None:
    if run.code != 0:
        return f"exit {run.code}: {run.stderr.strip().splitlines()[-1:]}"
    got = json.loads(run.stdout)
    return None if all(abs(g - e) < 1e-12 for g, e in zip(got, EXPECTED)) else f"printed {got}"


def commands(python: Interpreter, peers: bool) -> dict[str, Command]:
    """Every command of the workload for one interpreter, floors first."""
    found = {label: Command(python.code(code), _quiet, "floor") for label, code in FLOORS.items()}
    found |= {
        "gradcalc eval (table)": Command(python.command("eval", EXPRESSION, "--at", AT), _table, "gradcalc"),
        "gradcalc eval --format json": Command(python.command("eval", EXPRESSION, "--at", AT, "--format", "json"),
                                               _eval_json, "json"),
        "gradcalc trace (table)": Command(python.command("trace", EXPRESSION, "--at", AT), _table, "gradcalc"),
        "gradcalc trace --format json": Command(python.command("trace", EXPRESSION, "--at", AT, "--format", "json"),
                                                _eval_json, "json"),
        "usage error: syntax (exit 2)": Command(python.command("eval", "3*(a+b*c", "--at", AT), _usage_error,
                                                "error"),
        "usage error: unknown option (exit 2)": Command(python.command("eval", EXPRESSION, "--bogus"),
                                                        _usage_error, "error"),
    }
    if peers:
        for label, (module, code) in PEERS.items():
            found[label] = Command(python.code(code), _peer_json, "peer")
    return found


def measure(python: Interpreter, repeats: int, peers: bool) -> tuple[dict[str, Timing], dict[str, int], list[str]]:
    """Check every command once, then time them in interleaved rounds; peak RSS of each."""
    notes: list[str] = []
    todo = commands(python, peers)
    for label in [label for label in todo if label in PEERS]:
        module = PEERS[label][0]
        if not python.has(module):
            notes.append(f"{label}: skipped, {module} is not installed")
            del todo[label]
    rss: dict[str, int] = {}
    for label, command in list(todo.items()):
        run = run_process(command.argv, env=python.env, memory=True)
        problem = command.check(run)
        if problem:
            notes.append(f"{label}: not timed, wrong output ({problem})")
            del todo[label]
            continue
        rss[label] = run.peak_rss

    def timed(argv: list[str]) -> Callable[[], float]:
        return lambda: run_process(argv, env=python.env).seconds

    print(f"  start-up ({python.label}): {len(todo)} commands x {repeats} rounds", file=sys.stderr, flush=True)
    samples = interleaved({label: timed(c.argv) for label, c in todo.items()}, repeats)
    return {label: summarise(s) for label, s in samples.items()}, rss, notes


def table(times: dict[str, Timing], rss: dict[str, int]) -> str:
    base, click, rich = (times.get(k) for k in ("python -c pass", CLICK, CLICK_RICH))
    rows = []
    for label, t in times.items():
        rows.append([label, format_seconds(t.median), f"{format_seconds(t.min)} – {format_seconds(t.max)}",
                     ratio(t.median, base and base.median), ratio(t.median, click and click.median),
                     ratio(t.median, rich and rich.median), megabytes(rss.get(label))])
    headers = ["command", "median", "min – max", "× python", "× click", "× click+rich", "peak RSS MB"]
    return markdown_table(headers, rows)


def targets(times: dict[str, Timing]) -> list[Target]:
    """Table output ≤ 1.3× click+rich; JSON and usage errors ≤ 1.3× click alone."""
    click, rich = times.get(CLICK), times.get(CLICK_RICH)
    found = []
    for label, t in times.items():
        if label.startswith("gradcalc") and "json" not in label and rich:
            found.append(Target(f"start-up: {label} / click+rich floor", t.median / rich.median, 1.3))
        elif (label.startswith("gradcalc") or label.startswith("usage error")) and click:
            found.append(Target(f"start-up: {label} / click floor", t.median / click.median, 1.3))
    return found


def run(interpreters: list[Interpreter], repeats: int) -> tuple[str, list[Target]]:
    """The workload's Markdown section and its targets (judged on the first interpreter)."""
    parts, judged = [], []
    for k, python in enumerate(interpreters):
        times, rss, notes = measure(python, repeats, peers=k == 0)
        parts.append(f"**{python.label}** ({python.note}; `{' '.join(python.gradcalc)}`), "
                     f"median of {repeats} runs after a warm-up, in interleaved rounds:\n\n")
        parts.append(table(times, rss))
        parts.extend(f"\n- {note}" for note in notes)
        parts.append("\n\n")
        if k == 0:
            judged = targets(times)
    return "".join(parts), judged
