"""The read-back checker finds what it must, so a clean fuzz or soak run means something."""

from __future__ import annotations

import json

import pytest

from reliability.integrity import Snapshot, check


def healthy() -> Snapshot:
    entry = {"path": "/a", "examples": [{"t": 1}], "deletedProvided": [], "updatedAt": "x"}
    return Snapshot(
        strings={
            "examples:/a": json.dumps(entry),
            "examples:__trash__": json.dumps([{"id": "t1", "example": {"t": 1}}]),
            "svg:s": json.dumps({"slug": "s"}),
            "figure:f": json.dumps({"slug": "f", "categoryId": "c"}),
            "figureAsset:f": json.dumps({"slug": "f"}),
            "figure:category:c": json.dumps({"id": "c", "figureSlugs": ["f"]}),
            "settings:projects": json.dumps({"projects": {}}),
        },
        sets={
            "examples:__paths__": {"/a"},
            "svg:__slugs__": {"s"},
            "figure:__slugs__": {"f"},
            "figureAsset:__slugs__": {"f"},
            "figure:__categories__": {"c"},
        },
    )


def test_a_consistent_database_has_no_problem() -> None:
    assert check(healthy()) == []


def test_double_encoded_upstream_values_are_accepted() -> None:
    snap = healthy()
    snap.strings["svg:s"] = json.dumps(json.dumps({"slug": "s"}))
    assert check(snap) == []


@pytest.mark.parametrize(
    ("damage", "found"),
    [
        (lambda s: s.sets["examples:__paths__"].add("/gone"), "dangling member '/gone'"),
        (lambda s: s.sets["svg:__slugs__"].clear(), "svg:s: orphan key"),
        (lambda s: s.strings.__setitem__("examples:/a", "{"), "examples:/a: not JSON"),
        (lambda s: s.strings.__setitem__("svg:s", "[]"), "svg:s: not a JSON object"),
        (lambda s: s.strings.__setitem__("examples:/a", '{"path":"/b","examples":[],'
                                         '"deletedProvided":[],"updatedAt":"x"}'), "holds path"),
        (lambda s: s.strings.__setitem__("examples:__trash__", '[{"id":"a","example":1},'
                                         '{"id":"a","example":2}]'), "duplicate ids"),
        (lambda s: s.strings.__setitem__("figure:category:c", '{"id":"c","figureSlugs":[]}'),
         "not in figureSlugs"),
        (lambda s: s.strings.__setitem__("figure:f", '{"slug":"f","categoryId":null}'),
         "linked elsewhere"),
        (lambda s: s.strings.__setitem__("mystery", "1"), "outside the schema"),
        (lambda s: s.other.__setitem__("examples:__paths__", "list"), "unexpected type"),
        (lambda s: (s.strings.pop("figureAsset:f"), s.sets["figureAsset:__slugs__"].clear()),
         "not paired"),
    ],
)  # fmt: skip
def test_each_kind_of_damage_is_reported(damage: object, found: str) -> None:
    snap = healthy()
    damage(snap)  # type: ignore[operator]
    assert any(found in problem for problem in check(snap)), check(snap)
