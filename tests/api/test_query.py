"""``Exchange.query``: each parameter's first value, as upstream's parser gives it; memoised."""

from __future__ import annotations

from mathvisuals.api import http


def test_the_first_value_wins_and_blank_values_are_kept() -> None:
    found = http.first_values(b"path=%2Fa&path=/b&slug=&s=x+y&format=png")
    assert found == {"path": "/a", "slug": "", "s": "x y", "format": "png"}


def test_short_query_strings_are_parsed_once_and_long_ones_are_not_kept() -> None:
    short = b"path=/memo-test.svg"
    before = http._memo_first_values.cache_info()
    assert http.first_values(short) is http.first_values(short)
    after = http._memo_first_values.cache_info()
    assert after.hits >= before.hits + 1
    long = b"path=/" + b"x" * http.MEMO_QUERY_BYTES
    assert http.first_values(long) == {"path": "/" + "x" * http.MEMO_QUERY_BYTES}
    assert http._memo_first_values.cache_info().currsize == after.currsize
