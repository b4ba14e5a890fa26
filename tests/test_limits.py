"""Documented limits: each named, raised by its environment variable, and said in the error."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from gradcalc.errors import ExitCode, LimitError
from gradcalc.limits import LIMITS, check, limit

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_every_limit_is_documented_in_the_readme_with_its_default():
    security = README[README.index("## Security"):]
    for name, spec in LIMITS.items():
        row = next((line for line in security.splitlines() if f"`{name}`" in line), "")
        assert f"{spec.default:,}" in row, name


def test_the_readme_names_no_limit_that_does_not_exist():
    assert set(re.findall(r"\bGRADCALC_[A-Z_]+", README)) - {"GRADCALC_DEBUG"} <= set(LIMITS)


def test_a_limit_is_read_from_its_environment_variable(monkeypatch):
    assert limit("GRADCALC_MAX_NODES") == LIMITS["GRADCALC_MAX_NODES"].default
    monkeypatch.setenv("GRADCALC_MAX_NODES", "5_000")
    assert limit("GRADCALC_MAX_NODES") == 5000


@pytest.mark.parametrize("setting", ["0", "-1", "many", "1.5"])
def test_a_bad_setting_is_a_usage_error_naming_the_variable(cli, monkeypatch, setting):
    monkeypatch.setenv("GRADCALC_MAX_INPUT", setting)
    run = cli("eval", "x", "--at", "x=1")
    assert run.code == 2 and "GRADCALC_MAX_INPUT" in run.stderr and "positive integer" in run.stderr


@pytest.mark.parametrize("name, setting", [("GRADCALC_SYMBOLIC_SECONDS", "99999999999999999999"),
                                           ("GRADCALC_MAX_DIGITS", "10_000_000_000"),
                                           ("GRADCALC_MAX_NODES", "\u0661\u0662")])  # Arabic-Indic 12
def test_settings_beyond_what_the_machine_takes_or_not_in_ascii_are_refused(cli, monkeypatch, name, setting):
    monkeypatch.setenv(name, setting)
    run = cli("eval", "x", "--at", "x=1", "--exact")
    assert run.code == 2 and run.stdout == ""
    assert f"environment variable {name}=" in run.stderr and "positive integer of at most" in run.stderr


def test_the_largest_accepted_settings_work(cli, monkeypatch):
    from gradcalc.limits import COUNT_CEILING, SECONDS_CEILING

    monkeypatch.setenv("GRADCALC_SYMBOLIC_SECONDS", str(SECONDS_CEILING))
    monkeypatch.setenv("GRADCALC_MAX_DIGITS", str(COUNT_CEILING))
    assert cli("eval", "2^x", "--at", "x=10", "--exact", "--format", "json").json()["value"] == 1024.0


def test_the_error_names_the_limit_and_how_to_raise_it():
    with pytest.raises(LimitError) as caught:
        check("GRADCALC_MAX_PATHS", 10**9, "the graph has 1,000,000,000 paths")
    message = str(caught.value)
    assert caught.value.exit_code == ExitCode.USAGE
    assert message.startswith("limit GRADCALC_MAX_PATHS reached: the graph has 1,000,000,000 paths")
    assert "environment variable GRADCALC_MAX_PATHS=N" in message


def test_input_longer_than_the_limit_is_refused_and_raising_it_helps(cli, monkeypatch):
    text = "+".join(["x"] * 50)
    monkeypatch.setenv("GRADCALC_MAX_INPUT", "40")
    run = cli("eval", text, "--at", "x=1")
    assert run.code == 2 and run.stdout == ""
    assert "limit GRADCALC_MAX_INPUT reached" in run.stderr and "GRADCALC_MAX_INPUT=N" in run.stderr
    monkeypatch.setenv("GRADCALC_MAX_INPUT", "200")
    assert cli("eval", text, "--at", "x=1", "--format", "json").json()["value"] == 50.0


def test_standard_input_is_read_no_further_than_the_limit(cli, monkeypatch):
    monkeypatch.setenv("GRADCALC_MAX_INPUT", "100")
    run = cli("eval", "-", "--at", "x=1", stdin="x+" * 10**6 + "x")
    assert run.code == 2 and "limit GRADCALC_MAX_INPUT reached" in run.stderr


def test_values_are_held_to_the_input_limit_too(cli, monkeypatch):
    monkeypatch.setenv("GRADCALC_MAX_INPUT", "20")
    run = cli("eval", "x", "--at", "x=" + "+".join(["1"] * 20))
    assert run.code == 2 and "GRADCALC_MAX_INPUT" in run.stderr


def test_a_graph_larger_than_the_node_limit_is_refused(cli, monkeypatch):
    monkeypatch.setenv("GRADCALC_MAX_NODES", "10")
    run = cli("eval", "a+b+c+d+e+f+g+h+i+j+k", "--at", "a=1")
    assert run.code == 2 and "limit GRADCALC_MAX_NODES reached" in run.stderr
    assert "GRADCALC_MAX_NODES=N" in run.stderr


def test_paths_lists_no_more_paths_than_the_limit_and_raising_it_helps(cli, monkeypatch):
    program = "u = x*x; " + "; ".join(["u = sin(u)*u + u"] * 20)  # billions of paths
    args = ("paths", program, "--at", "x=0.1", "--wrt", "x", "--top", "20000", "--format", "json")
    run = cli(*args)
    assert run.code == 2 and run.stdout == ""
    assert "limit GRADCALC_MAX_PATHS reached: --top 20,000 would list 20,000 paths" in run.stderr
    monkeypatch.setenv("GRADCALC_MAX_PATHS", "50")
    assert cli(*args[:-3], "60", "--format", "json").code == 2
    monkeypatch.setenv("GRADCALC_MAX_PATHS", "60")
    assert len(cli(*args[:-3], "60", "--format", "json").json()["shown"]) == 60


def test_listing_paths_through_a_long_chain_is_bounded_by_its_work(cli, monkeypatch, tmp_path):
    chain = tmp_path / "chain.txt"  # 3,000 stages and 2**2999 paths
    chain.write_text("; ".join(["u0 = x"] + [f"u{k} = u{k - 1}*x + u{k - 1}" for k in range(1, 3000)]))
    args = ("paths", "-f", str(chain), "--at", "x=0.001", "--wrt", "x", "--format", "json", "--top")
    run = cli(*args, "1000")
    assert run.code == 2 and run.stdout == ""
    assert ("limit GRADCALC_MAX_PATH_WORK reached: --top 1,000 would list 1,000 paths through up to "
            "6,000 stages") in run.stderr
    assert len(cli(*args, "100").json()["shown"]) == 100
    monkeypatch.setenv("GRADCALC_MAX_PATH_WORK", "100")
    assert cli(*args, "1").code == 2


def test_exact_powers_stop_at_the_digit_limit_and_raising_it_helps(cli, monkeypatch):
    run = cli("eval", "9^9^9^9", "--exact")
    assert run.code == 2 and "limit GRADCALC_MAX_DIGITS reached" in run.stderr
    assert cli("eval", "10^20000", "--exact").code == 2
    monkeypatch.setenv("GRADCALC_MAX_DIGITS", "30000")
    exact = cli("eval", "10^20000", "--exact", "--format", "json").json()["exact"]["value"]
    assert exact == "1" + "0" * 20000


def test_digits_beyond_the_limit_are_refused(cli):
    run = cli("eval", "x", "--at", "x=1", "--digits", "1000000")
    assert run.code == 2 and "limit GRADCALC_MAX_DIGITS reached: --digits 1,000,000" in run.stderr


def test_hessian_work_is_limited_by_nodes_times_inputs(cli, monkeypatch):
    args = ("eval", "x*y*z", "--at", "x=1,y=2,z=3", "--hessian", "--format", "json")
    monkeypatch.setenv("GRADCALC_MAX_HESSIAN", "10")
    run = cli(*args)
    assert run.code == 2 and "limit GRADCALC_MAX_HESSIAN reached" in run.stderr
    monkeypatch.setenv("GRADCALC_MAX_HESSIAN", "100")
    assert cli(*args).json()["hessian"]["x"]["y"] == 3.0


def test_printed_formulas_are_limited_by_their_terms(cli, monkeypatch):
    monkeypatch.setenv("GRADCALC_MAX_TERMS", "10")
    run = cli("grad", "u = x*y; u = u*u + u; u = u*u + u")
    assert run.code == 2 and "limit GRADCALC_MAX_TERMS reached" in run.stderr


def test_simplification_stops_after_its_seconds_and_prints_unsimplified(cli, monkeypatch):
    monkeypatch.setenv("GRADCALC_SIMPLIFY_SECONDS", "1")  # this one takes minutes unbounded
    run = cli("grad", "(sigmoid(x*y+z)*tanh(x-y)/(1+exp(sin(z*x))))^3*log(1+x^2+y^2)", "--simplify")
    assert run.code == 0 and "∂f/∂x = " in run.stdout
    assert "limit GRADCALC_SIMPLIFY_SECONDS reached" in run.stderr


def test_many_digits_stop_at_the_clock(cli, monkeypatch):
    monkeypatch.setenv("GRADCALC_SYMBOLIC_SECONDS", "1")
    terms = "+".join(f"sin({k}*x)" for k in range(1, 301))
    run = cli("eval", terms, "--at", "x=0.5", "--digits", "10000", "--format", "json")
    assert run.code == 2 and run.stdout == ""
    assert "limit GRADCALC_SYMBOLIC_SECONDS reached: the evaluation to 10,000 digits took longer" in run.stderr


def test_the_local_rules_of_a_wide_max_count_the_ties_once(monkeypatch):
    """Built once per max, not once per argument: per argument it was quadratic (57 s for 200)."""
    import sympy as sp

    from gradcalc import lower
    from gradcalc.analyses.formulas import local_rules

    made = []
    piecewise = sp.Piecewise
    monkeypatch.setattr(sp, "Piecewise", lambda *pieces: made.append(1) or piecewise(*pieces))
    graph = lower("max(" + ", ".join(f"x{k}" for k in range(40)) + ")")
    assert len(local_rules(graph, graph.output)) == 40
    assert len(made) == 40 + 40  # one term of the count per argument, one rule per argument


def test_the_readme_table_says_what_reaching_each_limit_does():
    security = README[README.index("## Security"):]
    for name in LIMITS:
        row = next(line for line in security.splitlines() if line.strip().startswith(f"| `{name}`"))
        cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
        assert len(cells) == 4 and cells[2] and cells[3].startswith(("exit 2", "a warning")), row
