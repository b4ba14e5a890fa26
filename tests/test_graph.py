"""Lowering keeps what the user wrote: the stages, their names, and shared nodes."""
from __future__ import annotations

import pytest

from gradcalc import lower
from gradcalc.errors import UsageError


def stages(text: str, given=()) -> list[tuple[str, str, str]]:
    graph = lower(text, given)
    return [(graph.nodes[i].name, graph.nodes[i].op, graph.definition(i)) for i in graph.operations]


def test_three_stages_for_three_a_plus_bc():
    assert stages("3*(a+b*c)") == [("u1", "mul", "b*c"), ("u2", "add", "a + u1"), ("f", "mul", "3*u2")]


def test_subtraction_and_division_stay_as_written():
    assert stages("a - b") == [("f", "sub", "a - b")]
    assert stages("a/b") == [("f", "div", "a/b")]
    assert stages("x*x") == [("f", "mul", "x*x")]
    assert stages("exp(log(x))") == [("u1", "log", "log(x)"), ("f", "exp", "exp(u1)")]


def test_identical_subexpressions_are_one_node():
    graph = lower("x**2*(3*x+1) - sin(x**2)")
    assert len(graph.operations) == 6
    square = graph.index["u1"]
    assert graph.definition(square) == "x**2"
    assert len(graph.consumers[square]) == 2


def test_names_sympy_would_misread_are_variables():
    graph = lower("E*x + I + S*N + Q + beta + gamma + zeta + lambda + bc")
    assert set(graph.input_names) == {"E", "x", "I", "S", "N", "Q", "beta", "gamma", "zeta", "lambda", "bc"}


def test_pi_and_e_are_constants_unless_given():
    assert lower("pi*e*x").input_names == ("x",)
    assert lower("pi*e*x", given={"e"}).input_names == ("e", "x")


def test_program_stages_keep_user_names_and_the_last_is_the_output():
    graph = lower("u = b*c; v = a + u; J = 3*v")
    assert graph.output_name == "J"
    assert stages("u = b*c; v = a + u; J = 3*v") == [("u", "mul", "b*c"), ("v", "add", "a + u"), ("J", "mul", "3*v")]


def test_reassignment_makes_a_new_stage_and_later_uses_see_it():
    graph = lower("c = c + c + 1; d = c*2")
    assert [graph.nodes[i].name for i in graph.operations] == ["u1", "c'", "d"]
    assert graph.definition(graph.index["d"]) == "c'*2"


def test_generated_names_never_collide_with_user_names():
    graph = lower("u1*f + sin(u2)")
    names = [graph.nodes[i].name for i in graph.operations]
    assert len(set(names) | {"u1", "u2", "f"}) == len(names) + 3
    assert graph.output_name not in ("f",)


def test_an_assigned_alias_is_a_stage_of_its_own():
    assert stages("v = a; w = v*2") == [("v", "copy", "a"), ("w", "mul", "v*2")]


def test_a_lone_constant_assignment_is_refused():
    with pytest.raises(UsageError, match="--at a="):
        lower("a=5")


def test_wrong_argument_count_is_a_parse_error_with_column():
    with pytest.raises(Exception, match="takes 1 argument, got 2 at column 1"):
        lower("sin(a, b)")


def test_log_with_a_base_is_its_own_op():
    assert stages("log(x, 2)") == [("f", "logb", "log(x, 2)")]
