"""The key schema of api.md §6.1: area, type and index of every key."""

from __future__ import annotations

import pytest

from mathvisuals.model.keyspace import classify


@pytest.mark.parametrize(
    ("key", "area", "index", "member"),
    [
        ("examples:/diagram", "examples", "examples:__paths__", "/diagram"),
        ("examples:__paths__", "examples", None, None),
        ("examples:__trash__", "trash", None, None),
        ("svg:bar", "svg", "svg:__slugs__", "bar"),
        ("figureAsset:f", "figureAsset", "figureAsset:__slugs__", "f"),
        ("figure:f", "figure", "figure:__slugs__", "f"),
        ("figure:category:c", "category", "figure:__categories__", "c"),
        ("figure:__categories__", "category", None, None),
        ("settings:projects", "settings", None, None),
    ],
)
def test_schema_keys(key: str, area: str, index: str | None, member: str | None) -> None:
    kind = classify(key)
    assert kind is not None
    assert (kind.area, kind.index, kind.member) == (area, index, member)


@pytest.mark.parametrize(
    "key", ["session:1", "settings:other", "svg:", "svg:__paths__", "figure:category:"]
)
def test_keys_outside_the_schema(key: str) -> None:
    assert classify(key) is None
