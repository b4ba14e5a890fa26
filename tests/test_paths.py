"""`gradcalc paths`: the sum over paths equals the backpropagated gradient; paths are counted
without enumerating them, and the largest are the largest — checked against a brute-force
enumeration written here and against the seed's multiple-paths example."""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcalc import evaluate, lower
from gradcalc.analyses.paths import path_sum

MULTIPLE_PATHS = "x**2*(3*x+1) - sin(x**2)"  # the seed's f = hg - sin(h), g = 3x+1, h = x²


def every_path(result, wrt: str) -> list[float]:
    """Each path's product, by walking every path explicitly (an independent oracle)."""
    graph = result.graph
    x = graph.index[wrt]
    products = []
    stack = [(graph.output, 1.0)]
    while stack:
        i, product = stack.pop()
        if i == x:
            products.append(product)
            continue
        for k, j in enumerate(graph.nodes[i].inputs):
            if graph.varying[j]:
                stack.append((j, product * result.locals[i][k]))
    return products


def test_the_seed_example_has_three_paths_that_sum_to_the_gradient():
    report = path_sum(evaluate(MULTIPLE_PATHS, {"x": 1.5}), top=10)
    assert report.count == 3 and report.complete
    assert [p.stages for p in report.largest] == [("f", "u4", "u1", "x"), ("f", "u4", "u3", "u2", "x"),
                                                  ("f", "u5", "u1", "x")]
    # ∂f/∂h·dh/dx = (g − cos h)·2x splits into g·2x and −cos(h)·2x; ∂f/∂g·dg/dx = h·3
    h, g = 1.5 ** 2, 3 * 1.5 + 1
    assert [p.product for p in report.largest] == pytest.approx([g * 3.0, h * 3, -math.cos(h) * 3.0])
    assert report.shown_sum == pytest.approx(25.134520868168217, rel=1e-12)
    for path in report.largest:
        assert math.prod(path.locals) == pytest.approx(path.product)


def test_paths_are_counted_without_enumerating_them():
    program = "s0 = x\n" + "\n".join(f"s{k + 1} = s{k}*s{k} + s{k}" for k in range(60))
    report = path_sum(evaluate(program + "\nf = s60/1e30", {"x": 0.001}), top=3)
    assert report.count == 3 ** 60  # each stage reaches the one before along three edges
    assert len(report.largest) == 3
    assert report.largest[0].product == pytest.approx(1e-30)


@st.composite
def shared_expressions(draw):
    pool = ["x", "y", "0.5"]
    for _ in range(draw(st.integers(1, 9))):
        a, b = draw(st.sampled_from(pool)), draw(st.sampled_from(pool))
        pool.append(draw(st.sampled_from([f"({a}*{b})", f"({a} + {b})", f"sin({a})", f"({a} - {b})"])))
    return pool[-1]


@settings(max_examples=80, deadline=None)
@given(shared_expressions(), st.integers(1, 6))
def test_count_sum_and_largest_match_brute_force(text, top):
    graph = lower(text)
    if "x" not in graph.input_names:
        return
    result = evaluate(graph, {name: {"x": 0.7, "y": -1.3}[name] for name in graph.input_names}, ["x"])
    products = every_path(result, "x")
    report = path_sum(result, top=top)
    assert report.count == len(products)
    assert report.gradient == pytest.approx(math.fsum(products), rel=1e-9, abs=1e-12)
    largest = sorted((abs(p) for p in products), reverse=True)[:top]
    assert [abs(p.product) for p in report.largest] == pytest.approx(largest, rel=1e-12, abs=1e-300)


def test_cli_table_shows_each_path_and_the_sum(cli):
    run = cli("paths", MULTIPLE_PATHS, "--at", "x=1.5")
    assert run.code == 0
    assert "3 paths from f back to x" in run.stdout
    assert "f → u4 → u3 → u2 → x" in run.stdout
    assert "sum over all 3 paths = 25.1345" in run.stdout and "∂f/∂x = 25.1345" in run.stdout


def test_cli_marks_which_argument_when_a_stage_squares_its_input(cli):
    out = cli("paths", "u = x*y; v = u*u; f = v", "--at", "x=1,y=2", "--wrt", "x").stdout
    assert "→(1) u" in out and "→(2) u" in out


def test_cli_top_shows_the_largest_and_what_the_rest_add_up_to(cli):
    doc = cli("paths", "u = x*y; v = u*u + u; f = v*v + v", "--at", "x=1,y=2", "--wrt", "x",
              "--top", "2", "--format", "json").json()
    assert doc["paths"] == 9 and len(doc["shown"]) == 2
    assert doc["shown_sum"] + doc["rest_sum"] == pytest.approx(doc["gradient"]) and doc["gradient"] == 130.0
    assert doc["shown"][0]["stages"][0] == "f" and doc["shown"][0]["stages"][-1] == "x"
    assert doc["shown"][0]["arguments"] == [None, 1, None, 1, None]  # v*v and u*u: which factor


@pytest.mark.parametrize("args, fragment", [
    (["paths", "x*y", "--at", "x=1,y=2"], "--wrt"),
    (["paths", "x*y", "--at", "x=1,y=2", "--wrt", "z"], "--wrt"),
    (["paths", "x*y", "--at", "x=1,y=2", "--wrt", "x", "--top", "0"], "--top"),
])
def test_cli_usage_errors(cli, args, fragment):
    run = cli(*args)
    assert run.code == 2 and run.stdout == "" and fragment in run.stderr


def test_an_input_the_output_ignores_has_no_paths(cli):
    doc = cli("paths", "u = x*2; f = y + 1", "--at", "x=1,y=2", "--wrt", "x", "--format", "json").json()
    assert doc["paths"] == 0 and doc["shown"] == [] and doc["gradient"] == 0.0


def test_a_constant_has_no_input_to_follow(cli):
    run = cli("paths", "3", "--format", "json")
    assert run.code == 2 and run.stdout == ""
    assert run.stderr == "error: paths needs an input to follow, and the expression has none (it is a constant)\n"


def _tripling(stages: int) -> str:
    """Each stage of `s = s*s + s` triples the paths: 3**stages of them."""
    return "s = x; " + "; ".join(["s = s*s + s"] * stages)


def _decimal_scientific(count: int) -> str:
    """The independent oracle: the decimal module's rounding to 3 significant digits."""
    import decimal

    with decimal.localcontext() as context:
        context.prec = 3
        return f"{+decimal.Decimal(count):.2e}".replace("E", "e")


@pytest.mark.parametrize("stages", [700, 30_000])  # 3**700 > 2**1024; 3**30000 has 14,314 digits
def test_a_count_beyond_float_range_is_shown_by_its_exact_exponent(cli, stages):
    run = cli("paths", _tripling(stages), "--at", "x=0", "--top", "2")
    assert run.code == 0, run.stderr
    approximate = f"≈ {_decimal_scientific(3 ** stages)}"
    assert run.stdout.startswith(f"{approximate} paths from s back to x; the 2 with the largest")
    assert "the other ≈ " in run.stdout


def test_json_keeps_the_exact_count_while_python_can_write_it(cli):
    run = cli("paths", _tripling(700), "--at", "x=0", "--format", "json")
    assert run.code == 0 and run.json()["paths"] == 3 ** 700


def test_json_gives_a_count_past_4300_digits_as_its_leading_digits_and_exponent(cli):
    run = cli("paths", _tripling(30_000), "--at", "x=0", "--format", "json")
    assert run.code == 0, run.stderr
    assert run.json()["paths"] == f"≈ {_decimal_scientific(3 ** 30_000)}"


@pytest.mark.parametrize("stages, shown", [(12, "531,441 paths"), (13, "1,594,323 (≈ 1.59e+06) paths"),
                                           (40, f"{3 ** 40:,} (≈ 1.22e+19) paths"), (200, "≈ 2.66e+95 paths")])
def test_counts_are_exact_while_short(cli, stages, shown):
    run = cli("paths", _tripling(stages), "--at", "x=0", "--top", "1")
    assert run.code == 0 and run.stdout.startswith(f"{shown} from s back to x")
