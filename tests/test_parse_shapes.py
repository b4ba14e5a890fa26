"""A long program is read shape by shape: the same program, graph and errors as token by token.

`parse` reads a program of many statements by their shapes (`parse_by_shapes`) and anything
that is not plainly one of a known shape with the full parser (`parse_by_tokens`); these
tests hold the two to the same postfix items, places, graphs and errors.
"""
from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench import gen
from gradcalc.core.graph import lower
from gradcalc.core.ops import FUNCTIONS, function_op
from gradcalc.core.parse import parse, parse_by_shapes, parse_by_tokens
from gradcalc.errors import GradcalcError, LimitError, ParseError


def outcome(read, text: str):
    """What reading and lowering the text gives: the program and graph, or the error's words."""
    try:
        program = read(text)
    except GradcalcError as error:
        return "parse", type(error).__name__, str(error)
    try:
        return program, lower(program)
    except GradcalcError as error:
        return program, type(error).__name__, str(error)


def same_as_by_tokens(text: str) -> None:
    assert outcome(parse, text) == outcome(parse_by_tokens, text)


@pytest.mark.parametrize("n_ops, seed, sep", [(100, 0, "\n"), (1_000, 1, "\n"), (1_000, 2, "; "),
                                              (10_000, 3, "\n")])
def test_the_benchmark_programs_are_read_by_shapes_with_the_same_items_and_graph(n_ops, seed, sep):
    text = gen.generate(n_ops, seed, sep=sep).text
    by_shapes = parse_by_shapes(text)
    assert by_shapes is not None
    assert by_shapes == parse_by_tokens(text)
    assert parse(text) == by_shapes
    assert lower(by_shapes) == lower(parse_by_tokens(text))


def program(lines: list[str]) -> str:
    """Twenty statements of one shape first, so the lines after them are of a known shape."""
    return "\n".join([f"t{k} = sin(x{k}) + 2 * x{k}" for k in range(1, 21)] + lines) + "\n"


@pytest.mark.parametrize("line, message, column", [
    ("t21 = foo(x1) + 2 * x1", "unknown function 'foo'", 7),
    ("t21 = sin(if) + 2 * x1", "'if' is a Python keyword, not part of an expression", 11),
    ("def = sin(x1) + 2 * x1", "'def' is a Python keyword, not part of an expression", 1),
    ("t21 = sin(x1) + 2e999 * x1", "number out of range: 2e999 (the largest is about 1.8e308)", 17),
    ("t21 = sin(x1) + 2 * __x", "names starting with '__' are not allowed: '__x'", 21),
    ("t21 = sin(x1) + 2 * x1 x1", "missing operator between 'x1' and 'x1'", 24),
    ("t21 = sin(x1) + 2 * x1)", "unbalanced ')'", 23),
])
def test_an_error_in_a_statement_of_a_known_shape_names_its_own_line_and_column(line, message, column):
    text = program([line])
    with pytest.raises(ParseError) as caught:
        parse(text)
    assert caught.value.reason.startswith(f"line 21: {message}")
    assert caught.value.column == column
    assert caught.value.text == line
    same_as_by_tokens(text)


def test_a_call_of_the_wrong_arity_in_a_known_shape_is_refused_where_it_is_written():
    text = program(["t21 = dot(x1) + 2 * x1"])  # the shape of `sin(x1) + 2 * x1`; dot takes two
    with pytest.raises(ParseError) as caught:
        lower(parse(text))
    assert caught.value.reason.startswith("line 21: dot() takes")
    assert caught.value.column == 7
    same_as_by_tokens(text)


def test_a_bare_expression_before_the_last_statement_is_refused_at_its_place():
    text = program(["sin(x1) + 2 * x1", "t22 = sin(x2) + 2 * x2"])
    with pytest.raises(ParseError) as caught:
        parse(text)
    assert caught.value.reason.startswith("line 21: only the last statement may be a bare expression")
    same_as_by_tokens(text)


@pytest.mark.parametrize("name", ["sin", "exp", "max", "lambda", "e", "E", "pi", "ifx", "t2if", "x_1", "sinx",
                                  "None_", "_", "a__b"])
def test_names_that_look_like_keywords_functions_or_constants_are_read_as_by_tokens(name):
    text = program([f"{name} = sin(x1) + 2 * x1", f"t22 = sin({name}) + 2 * {name}", "y = t22 + t1"])
    assert parse_by_shapes(text) is not None
    assert parse_by_shapes(text) == parse_by_tokens(text)
    same_as_by_tokens(text)


@pytest.mark.parametrize("line, message, column", [
    ("t21 = fooo(x12345) + 2 * x1", "unknown function 'fooo'", 7),
    ("t21 = sin(iff) + 2 * x123", None, None),
    ("t21 = sin(if) + 2 * x123", "'if' is a Python keyword, not part of an expression", 11),
    ("class = sin(x12) + 2 * x1", "'class' is a Python keyword, not part of an expression", 1),
    ("t21 = sin(x123) + 2e999 * x12", "number out of range: 2e999 (the largest is about 1.8e308)", 19),
    ("t21 = sin(x12) + 2 * __x1", "names starting with '__' are not allowed: '__x1'", 22),
    ("t21 = sin(x12) + 2 * x1 x1", "missing operator between 'x1' and 'x1'", 25),
])
def test_a_statement_of_known_tokens_with_names_of_other_lengths_reads_and_fails_in_its_own_place(
        line, message, column):
    text = program([line, "y = t21 + t1"])
    if message is None:
        assert parse_by_shapes(text) == parse_by_tokens(text)
    else:
        with pytest.raises(ParseError) as caught:
            parse(text)
        assert caught.value.reason.startswith(f"line 21: {message}")
        assert caught.value.column == column
    same_as_by_tokens(text)


def test_names_of_every_length_in_statements_of_one_structure_are_read_as_by_tokens():
    names = ["x", "x1", "x12", "e", "E", "pi", "sin", "lambda", "_", "_y", "x_1", "a__b", "long_name_9"]
    lines = [f"{target} = {a} / (2 + sin({b})) * 1.5e3 - [{a}, {b}][0]"
             for target in ["t", "t12", "stage_3"] for a in names for b in reversed(names)]
    text = program(lines)
    assert parse_by_shapes(text) is not None
    same_as_by_tokens(text)


@pytest.mark.parametrize("line", ["t21 = 2x1 + 2 * x1", "t21 = 0x1 + 2 * x1", "t21 = 2e + 2 * x1",
                                  "t21 = 3(x1 + x2) + x1", "t21 = 2 x1 + 2 * x1"])
def test_implicit_multiplication_is_read_statement_by_statement(line):
    text = program([line, line.replace("t21", "t22")])
    same_as_by_tokens(text)


def test_statements_split_over_lines_in_parentheses_and_blank_lines_read_as_by_tokens():
    same_as_by_tokens(program(["t21 = (sin(x1) +", "  2 * x1)", "", "t22 = t21 * t21;; t23 = t22"]))


def test_the_node_limit_is_reached_at_the_same_node(monkeypatch):
    monkeypatch.setenv("GRADCALC_MAX_NODES", "50")
    text = program([])
    assert parse_by_shapes(text) is not None
    with pytest.raises(LimitError, match="limit GRADCALC_MAX_NODES reached"):
        lower(parse(text))
    same_as_by_tokens(text)


def test_the_input_size_limit_holds_for_programs_read_by_shapes(monkeypatch):
    monkeypatch.setenv("GRADCALC_MAX_INPUT", "100")
    with pytest.raises(LimitError, match="GRADCALC_MAX_INPUT"):
        parse(program([]))


# Random programs: a few statement shapes, each written many times with other names and
# numbers, in a random order, sometimes with a broken statement among them.

NAMES = st.sampled_from(["x", "y", "z", "a1", "t", "t12", "t123", "sin", "e", "E", "pi", "lambda", "w_2",
                         "if", "__x", "True", "x_", "ab", "abc"])
NUMBERS = st.sampled_from(["1", "2", "0", "10", "2.5", ".5", "3.", "1e3", "1E-2", "1e999", "0.001", "12345"])
UNARY = sorted(name for name in FUNCTIONS if function_op(name, 1) is not None)
BINARY_CALLS = sorted(name for name in FUNCTIONS if function_op(name, 2) is not None)


def expressions(leaf):
    """Expression text over a leaf strategy (a hole filled in per statement)."""
    def extend(inner):
        return st.one_of(
            st.tuples(inner, st.sampled_from([" + ", " - ", "*", " / ", "^", " ** ", " @ "]), inner).map("".join),
            inner.map(lambda e: f"-{e}"),
            inner.map(lambda e: f"({e})"),
            st.tuples(st.sampled_from(UNARY), inner).map(lambda c: f"{c[0]}({c[1]})"),
            st.tuples(st.sampled_from(BINARY_CALLS), inner, inner).map(lambda c: f"{c[0]}({c[1]}, {c[2]})"),
            st.tuples(inner, inner).map(lambda v: f"[{v[0]}, {v[1]}]"),
            inner.map(lambda e: f"{e}[0]"),
            st.tuples(st.sampled_from(["2", "3"]), st.sampled_from(["x", " x", "(y)"])).map("".join),
        )
    return st.recursive(leaf, extend, max_leaves=6)


HOLE = "\x00"


@st.composite
def programs(draw):
    shapes = draw(st.lists(expressions(st.just(HOLE)), min_size=1, max_size=4))
    count = draw(st.integers(16, 40))
    lines = []
    for k in range(count):
        shape = draw(st.sampled_from(shapes))
        parts = shape.split(HOLE)
        filled = parts[0] + "".join(draw(st.one_of(NAMES, NUMBERS)) + part for part in parts[1:])
        target = draw(st.sampled_from([f"t{k}", f"s{k * 7}", "u"]))
        lines.append(filled if k == count - 1 and draw(st.booleans()) else f"{target} = {filled}")
    if draw(st.booleans()):
        broken = draw(st.sampled_from(["a +", "(b", "x y", "if + 1", "2e", "0x1", "a = ", "sin()", "foo(x)",
                                       "a)", "a # c", "x.y", "[", "b = [1, 2", "1..2", "z[-1]", "q = 1;", ""]))
        lines.insert(draw(st.integers(0, len(lines))), broken)
    separator = draw(st.sampled_from(["\n", ";", "; ", "\n\n", "\r\n", " \t\n"]))
    return separator.join(lines) + draw(st.sampled_from(["", "\n"]))


@settings(max_examples=300, deadline=None)
@given(programs())
def test_random_programs_read_by_shapes_are_read_as_by_tokens(text):
    try:
        expected = parse_by_tokens(text)
    except ParseError:
        assert parse_by_shapes(text) is None
    else:
        assert parse_by_shapes(text) in (None, expected)
    same_as_by_tokens(text)


def test_a_benchmark_program_with_typing_mistakes_fails_as_by_tokens_at_the_same_place():
    rng = random.Random(17)
    text = gen.generate(200, 0).text
    typed = list("abcxyz019_ .()+-*/^@[],;\n=eE#\t\r") + ["if", "__", "sin(", "foo(", "2x", "1e999", "**", "dot("]
    for _ in range(300):
        chars = list(text)
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(chars))
            if rng.random() < 0.4:
                chars[i] = rng.choice(typed)
            elif rng.random() < 0.5:
                chars.insert(i, rng.choice(typed))
            else:
                del chars[i]
        same_as_by_tokens("".join(chars))
