"""The whitelisted grammar: what it reads, what it refuses, and where it says the problem is."""
from __future__ import annotations

import pytest

from gradcalc.core.parse import parse
from gradcalc.errors import ParseError


def postfix_items(text: str) -> tuple:
    """The postfix items of a single expression."""
    (statement,) = parse(text).statements
    return statement.rpn


def postfix(text: str) -> list[str]:
    return [item[1] for item in postfix_items(text)]


def test_precedence_and_associativity():
    assert postfix("a+b*c") == ["a", "b", "c", "*", "+"]
    assert postfix("a-b-c") == ["a", "b", "-", "c", "-"]
    assert postfix("a/b/c") == ["a", "b", "/", "c", "/"]
    assert postfix("a^b^c") == ["a", "b", "c", "^", "^"]
    assert postfix("a**b**c") == ["a", "b", "c", "**", "**"]


def test_unary_minus_binds_looser_than_power():
    assert postfix("-a^2") == ["a", "2", "^", "-"]
    assert postfix("2^-3") == ["2", "3", "-", "^"]


def test_implicit_multiplication_after_a_number():
    assert postfix("2x") == ["2", "x", "*"]
    assert postfix("3(a+b)") == ["3", "a", "b", "+", "*"]
    assert postfix("2x^2") == ["2", "x", "2", "^", "*"]


def test_calls_count_their_arguments():
    items = postfix_items("max(a, b, c)")
    assert items[-1][:2] == ("call", "max") and items[-1][3] == 3


def test_programs_split_on_semicolons_and_newlines():
    program = parse("u = b*c; v = a + u\nJ = 3*v\n")
    assert [s.target for s in program.statements] == ["u", "v", "J"]


def test_newlines_inside_parentheses_continue_the_expression():
    assert len(parse("f = (a +\n b)").statements) == 1


@pytest.mark.parametrize("text, fragment, column", [
    ("3*(a+b))", "unbalanced ')'", 8),
    ("(a+b", "missing ')'", 1),
    ("a+", "unexpected end", 3),
    ("*a", "unexpected '*'", 1),
    ("a b", "missing operator", 3),
    ("1/2x", "ambiguous", 3),
    ("2^3x", "ambiguous", 3),
    ("2e*x", "ambiguous '2e'", 2),
    ("0x10", "hexadecimal", 1),
    ("1_000", "digit separators", 2),
    ("a.b", "attribute access", 2),
    ("a[x]", "an index is a non-negative integer literal", 2),
    ("'a'", "strings", 1),
    ("lambda: 1", "':'", 7),
    ("a if b else c", "keyword", 3),
    ("__class__", "'__'", 1),
    ("foo(a)", "unknown function 'foo'", 1),
    ("a == 5", "comparisons", 3),
    ("a // b", "floor division", 3),
    ("a % b", "'%'", 3),
    ("a # c", "comments", 3),
    ("x\x00", "NUL", 2),
    ("ха", "U+0445", 1),
    ("1e400", "out of range", 1),
    ("sin()", "needs an argument", 5),
    ("a, b", "',' is only allowed", 2),
    ("", "empty", None),
])
def test_refusals_name_the_problem_and_the_column(text, fragment, column):
    with pytest.raises(ParseError) as caught:
        parse(text)
    assert fragment in str(caught.value)
    assert caught.value.column == column


def test_errors_in_programs_give_line_and_column():
    with pytest.raises(ParseError) as caught:
        parse("u = a*b\nv = u +* 2")
    assert "line 2" in str(caught.value) and caught.value.column == 8


def test_deep_nesting_and_long_sums_need_no_recursion():
    assert len(postfix_items("(" * 10_000 + "x" + ")" * 10_000)) == 1
    assert len(postfix_items("+".join(f"x{i}" for i in range(50_000)))) == 99_999
