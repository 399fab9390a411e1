"""jsonfmt's shortcut for stored values: the text-level test never skips a needed number fix."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mathvisuals import jsonfmt


def typed(value: Any) -> Any:
    """The value with every number's type made visible (1 and 1.0 compare equal otherwise)."""
    if isinstance(value, dict):
        return {key: typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [typed(item) for item in value]
    if isinstance(value, float | int) and not isinstance(value, bool):
        return (type(value).__name__, value)
    return value


numbers = st.one_of(
    st.integers(-(2**60), 2**60),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(-1000, 1000).map(float),
)
values = st.recursive(
    st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=8)),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=12,
)


def spelled(value: Any, style: int) -> str:
    """Different spellings of the same JSON: compact, indented, exponent and padded floats."""
    text = json.dumps(value, indent=2 if style == 1 else None)
    if style == 2:
        return text.replace(".0,", ".000,").replace(".0]", "0.0e0]".lstrip("0"))
    return text


@settings(max_examples=300, deadline=None)
@given(values, st.integers(0, 2))
def test_stored_values_parse_as_with_the_walk(value: Any, style: int) -> None:
    text = spelled(value, style)
    expected = jsonfmt._fix_numbers(orjson.loads(text))
    assert typed(jsonfmt.loads(text, max_depth=None)) == typed(expected)
    assert typed(jsonfmt.loads(text.encode(), max_depth=None)) == typed(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a":2.0}', {"a": 2}),
        ('{"a":15e-1}', {"a": 1.5}),
        ('{"a":1.5e1}', {"a": 15}),
        ('{"a":[1E2,-0.000]}', {"a": [100, 0]}),
        ('{"a":1.05,"b":"v1.0"}', {"a": 1.05, "b": "v1.0"}),
        ('{"a":0.5,"b":"3e"}', {"a": 0.5, "b": "3e"}),
    ],
)
def test_integral_floats_in_stored_text_become_integers(text: str, expected: Any) -> None:
    assert typed(jsonfmt.loads(text, max_depth=None)) == typed(expected)
