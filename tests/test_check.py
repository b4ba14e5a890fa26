"""`gradcalc check`: passes on the worked examples, and catches a wrong local derivative rule
planted in the registry (exit 4), for inputs and for every stage."""
from __future__ import annotations

import math

import pytest
from helpers import LOSS, LOSS_AT, WORKED, at_option

from gradcalc.analyses.check import ridders
from gradcalc.core.ops import REGISTRY, each


def check(cli, text: str, at: str, *options: str):
    run = cli("check", text, "--at", at, "--format", "json", *options)
    return run, run.json() if run.stdout else None


@pytest.mark.parametrize("text, at, form", WORKED, ids=[w[0] for w in WORKED])
def test_worked_examples_pass_for_inputs_and_stages(cli, text, at, form):
    run, out = check(cli, text, at_option(at), "--nodes")
    assert run.code == 0, run.stdout
    assert out["agree"] is True
    for row in out["inputs"]:
        assert row["status"] == "ok"
        assert math.isclose(row["finite_difference"], row["backprop"], rel_tol=1e-8, abs_tol=1e-10)
        assert math.isclose(row["symbolic"], row["backprop"], rel_tol=1e-12, abs_tol=1e-15)
    assert all(row["status"] == "ok" for row in out["stages"])


def test_the_stages_are_every_computed_stage_but_the_output(cli):
    _, out = check(cli, LOSS, at_option(LOSS_AT), "--nodes")
    names = [row["name"] for row in out["stages"]]
    assert names[:4] == ["u1", "u2", "u3", "z"] and "yhat" in names and "L" not in names
    yhat = next(row for row in out["stages"] if row["name"] == "yhat")
    assert yhat["backprop"] == pytest.approx(-1 / 0.6224593312018546, rel=1e-12)  # -y/yhat


def _plant(monkeypatch, name: str, partial) -> None:
    monkeypatch.setitem(REGISTRY, name, REGISTRY[name]._replace(partial=partial))


def test_a_wrong_local_rule_is_a_mismatch_with_exit_4(cli, monkeypatch):
    # ∂(a*b)/∂a should be b; this rule says a
    _plant(monkeypatch, "mul", lambda m, out, args, i: args[i])
    run, out = check(cli, "a + b*c", "a=5,b=3,c=2")
    assert run.code == 4
    assert out["agree"] is False
    status = {row["name"]: row["status"] for row in out["inputs"]}
    assert status == {"a": "ok", "b": "mismatch", "c": "mismatch"}
    assert run.stderr.startswith("error: 2 of 3 gradients disagree with their oracles")


@pytest.mark.parametrize("rule", [
    lambda m, out, args, i: out * (1 + out),  # a bare partial
    each(lambda m, out, x: out * (1 + out)),  # as the registry writes its rules
])
def test_a_wrong_rule_inside_the_graph_is_found_at_its_stage(cli, monkeypatch, rule):
    # sigmoid's rule with a sign slip: σ(1+σ) instead of σ(1−σ)
    _plant(monkeypatch, "sigmoid", rule)
    run, out = check(cli, LOSS, at_option(LOSS_AT), "--nodes")
    assert run.code == 4
    stages = {row["name"]: row["status"] for row in out["stages"]}
    assert stages["z"] == "mismatch" and stages["yhat"] == "ok"  # wrong below yhat, right above


def test_the_table_shows_the_three_gradients_and_the_verdict(cli):
    run = cli("check", "x**2*(3*x+1) - sin(x**2)", "--at", "x=1.5", "--nodes")
    assert run.code == 0
    assert run.stdout.startswith("f = 11.5969: all 6 gradients agree with their oracles "
                                 "(rtol 1e-06, atol 1e-09)")
    assert "25.1345" in run.stdout and "finite" in run.stdout and "sympy" in run.stdout
    assert "u1" in run.stdout and "x**2" in run.stdout


def test_tolerances_are_options(cli):
    run, out = check(cli, "exp(x)", "x=1", "--rtol", "1e-9", "--atol", "0")
    assert run.code == 0 and (out["rtol"], out["atol"]) == (1e-9, 0.0)


def test_a_kink_is_reported_not_judged(cli):
    run, out = check(cli, "relu(x)", "x=0")
    assert run.code == 0
    assert out["inputs"][0]["status"] == "kink" and out["inputs"][0]["backprop"] == 0.0
    assert "not differentiable at 0" in run.stderr and "kink" in run.stderr


def test_errors_keep_their_exit_codes(cli):
    assert cli("check", "log(x)", "--at", "x=0").code == 3
    assert cli("check", "x +", "--at", "x=0").code == 2
    assert cli("check", "x", "--at", "y=1").code == 2


def test_a_step_that_leaves_the_domain_is_shrunk(cli):
    run, out = check(cli, "log(x)", "x=0.001")
    assert run.code == 0
    assert out["inputs"][0]["finite_difference"] == pytest.approx(1000, rel=1e-9)


def test_ridders_extrapolation_is_accurate_and_knows_its_error():
    estimate, error = ridders(math.exp, 1.0, 0.01)
    assert abs(estimate - math.e) < 1e-12 and error < 1e-10


@pytest.mark.parametrize("text, at, exact", [
    ("sin(2000*x)", "x=1", 2000 * math.cos(2000)),
    ("sin(1/x)", "x=0.001", -math.cos(1000) / 0.001 ** 2),
])
def test_a_function_that_turns_fast_is_not_blamed_on_backprop(cli, text, at, exact):
    """The first step of the finite difference spans whole periods there; a step 100 or 10,000
    times smaller does not, and the estimate two first steps confirm is the one kept."""
    run, out = check(cli, text, at)
    assert run.code == 0, run.stderr
    row = out["inputs"][0]
    assert row["status"] == "ok"
    assert row["backprop"] == pytest.approx(exact, rel=1e-12)
    assert row["finite_difference"] == pytest.approx(exact, rel=1e-8)


def test_a_sum_of_two_thousand_fast_terms_is_not_blamed_on_backprop(cli):
    text = "+".join(f"sin({k}*x)" for k in range(1, 2001))
    run, out = check(cli, text, "x=1")
    exact = math.fsum(k * math.cos(k) for k in range(1, 2001))
    assert run.code == 0, run.stderr
    assert out["inputs"][0]["finite_difference"] == pytest.approx(exact, rel=1e-8)


def test_when_the_oracles_disagree_the_unreliable_one_is_named(cli, monkeypatch):
    """A finite difference that lies (here: planted) against sympy's exact derivative: backprop
    matches sympy, so it is judged right, and the warning says which oracle failed."""
    from gradcalc.analyses import check as checking

    monkeypatch.setattr(checking, "ridders", lambda f, x, step: (123.0, 1e-12))
    run, out = check(cli, "x**3", "x=2")
    assert run.code == 0 and out["inputs"][0]["status"] == "ok"
    assert run.stderr == ("warning: the finite difference is unreliable at this point for x: it "
                          "disagrees with sympy's exact derivative, so those gradients are judged "
                          "against sympy alone\n")


def test_a_wrong_rule_is_caught_by_sympy_where_the_finite_difference_is_unreliable(cli, monkeypatch):
    _plant(monkeypatch, "sin", lambda m, out, args, i: m.cos(args[0]) * 1.001)
    run, out = check(cli, "sin(2000*x)", "x=1")
    assert run.code == 4 and out["inputs"][0]["status"] == "mismatch"


def test_checking_every_stage_of_a_long_chain_is_bounded_by_a_named_limit(cli, monkeypatch):
    chain = "; ".join(["s = x"] + ["s = sin(s) + x"] * 5000)
    run = cli("check", chain, "--at", "x=0.3", "--nodes")
    assert (run.code, run.stdout) == (2, "")
    assert run.stderr == ("error: limit GRADCALC_MAX_CHECK_WORK reached: checking 10,000 stages would "
                          "re-run 50,005,000 stages in all (at most 1,000,000 stages re-run by `check "
                          "--nodes`, where each stage checked re-runs the stages after it); raise it "
                          "with the environment variable GRADCALC_MAX_CHECK_WORK=N\n")
    monkeypatch.setenv("GRADCALC_MAX_CHECK_WORK", "100")
    assert cli("check", "; ".join(["s = x"] + ["s = sin(s) + x"] * 8), "--at", "x=0.3", "--nodes").code == 2
    assert cli("check", "; ".join(["s = x"] + ["s = sin(s) + x"] * 6), "--at", "x=0.3", "--nodes").code == 0


def test_a_stage_is_checked_on_the_stages_after_it_alone(cli):
    """Re-running only what depends on a stage: the sum's first term is checked against
    the sum of the terms after it, a short graph, in a long program."""
    text = "; ".join(["t = sin(x)"] + [f"a{k} = x*{k}" for k in range(300)] + ["f = t*t + a0"])
    run, out = check(cli, text, "x=0.5", "--nodes")
    assert run.code == 0
    t = next(row for row in out["stages"] if row["name"] == "t")
    assert t["finite_difference"] == pytest.approx(2 * math.sin(0.5), rel=1e-9)
