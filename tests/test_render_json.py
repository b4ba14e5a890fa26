"""The JSON writer of `eval` and `trace` against the standard library's json module (the oracle)."""
from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from gradcalc.render.json import dumps

SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
DOCUMENTS = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                         | st.dictionaries(st.text(), inner, max_size=4), max_leaves=20)


@given(DOCUMENTS)
@settings(max_examples=300, deadline=None)
def test_writes_what_json_dumps_writes_byte_for_byte(document):
    assert dumps(document) == json.dumps(document, indent=2, ensure_ascii=False)


def test_escapes_quotes_backslashes_and_control_characters_only():
    text = 'a"b\\c\nd\x01e é\x7f'
    assert dumps(text) == json.dumps(text, ensure_ascii=False) == '"a\\"b\\\\c\\nd\\u0001e é\x7f"'
