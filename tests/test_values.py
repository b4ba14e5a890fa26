"""`--at` values: plain literals take a fast path that must agree with the full parser."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcalc.cli.options import parse_at
from gradcalc.core.autodiff import forward
from gradcalc.core.graph import lower
from gradcalc.core.values import Point, constant
from gradcalc.errors import UsageError


def by_the_parser(text: str) -> float:
    graph = lower(text)
    return forward(graph, {})[graph.output]


@settings(max_examples=200, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_a_plain_literal_has_the_value_the_parser_gives_it(x):
    text = repr(x)
    assert constant(text) == by_the_parser(f"({text})") == x


@pytest.mark.parametrize("text", ["1e400", "-1e400", "9" * 401, "0x10", "1_000", "١"])
def test_the_fast_path_refuses_what_the_parser_refuses(text):
    with pytest.raises(UsageError):
        constant(text, name="a")


def test_a_long_vector_reads_every_element():
    texts = parse_at(["w=[" + ",".join(str(k) for k in range(100_000)) + "]"])
    values = Point(texts).read()
    assert len(values) == 100_000 and values["w99999"] == 99999.0


def test_values_the_expression_does_not_use_are_still_checked(cli):
    run = cli("eval", "a", "--at", "a=1,b=__import__('os')")
    assert run.code == 2 and "--at b=__import__('os'): strings are not allowed" in run.stderr
