"""The palette layout and default derivation of spec §13.3."""

from __future__ import annotations

import pytest

from mathvisuals.model.palette import (
    GROUP_SLOTS,
    MAX_COLORS,
    PROJECT_FALLBACKS,
    SLOT_OWNERS,
    base_colors,
    default_group_palettes,
    flatten_palette,
)

CAMPUS = ("#dbe3ff", "#2c395b", "#e3b660", "#c5e5e9", "#f6e5bc", "#f1d0d9")


def test_thirteen_groups_in_spec_order() -> None:
    assert list(GROUP_SLOTS) == [
        "graftegner",
        "nkant",
        "diagram",
        "fractions",
        "figurtall",
        "arealmodell",
        "tallinje",
        "kvikkbilder",
        "trefigurer",
        "brokvegg",
        "prikktilprikk",
        "fortegnsskjema",
        "sortering",
    ]


def test_slot_table() -> None:
    assert MAX_COLORS == 48
    assert GROUP_SLOTS["graftegner"] == (0, 46, 47)
    assert GROUP_SLOTS["nkant"] == (1, 2, 3)
    assert GROUP_SLOTS["diagram"] == tuple(range(4, 13))
    assert GROUP_SLOTS["fractions"] == (13, 14)
    assert GROUP_SLOTS["figurtall"] == (15, 16, 17, 18)
    assert GROUP_SLOTS["arealmodell"] == (21, 22, 23, 24)
    assert GROUP_SLOTS["tallinje"] == (25, 26)
    assert GROUP_SLOTS["kvikkbilder"] == (27,)
    assert GROUP_SLOTS["trefigurer"] == (28, 29)
    assert GROUP_SLOTS["brokvegg"] == tuple(range(30, 36))
    assert GROUP_SLOTS["prikktilprikk"] == (36, 37)
    assert GROUP_SLOTS["fortegnsskjema"] == tuple(range(38, 43))
    assert GROUP_SLOTS["sortering"] == (43, 44, 45)


def test_every_slot_but_19_and_20_has_exactly_one_owner() -> None:
    all_slots = [slot for slots in GROUP_SLOTS.values() for slot in slots]
    assert len(all_slots) == len(set(all_slots)) == 46
    assert set(all_slots) | {19, 20} == set(range(MAX_COLORS))
    assert 19 not in SLOT_OWNERS
    assert 20 not in SLOT_OWNERS
    assert SLOT_OWNERS[0] == ("graftegner", 0)
    assert SLOT_OWNERS[46] == ("graftegner", 1)
    assert SLOT_OWNERS[47] == ("graftegner", 2)
    assert SLOT_OWNERS[21] == ("arealmodell", 0)
    assert SLOT_OWNERS[45] == ("sortering", 2)


def test_base_colours_are_lowercase_hex() -> None:
    assert list(PROJECT_FALLBACKS) == ["campus", "annet", "kikora", "default"]
    for colors in PROJECT_FALLBACKS.values():
        assert len(colors) == 6
        assert all(c == c.lower() and len(c) == 7 and c.startswith("#") for c in colors)
    assert PROJECT_FALLBACKS["campus"] == CAMPUS
    assert PROJECT_FALLBACKS["annet"][0] == "#fcede4"
    assert PROJECT_FALLBACKS["kikora"][0] == "#ff5c5c"
    assert PROJECT_FALLBACKS["default"][0] == "#1f4de2"


@pytest.mark.parametrize("name", ["mine", "default", "", "Campus"])
def test_names_without_their_own_base_use_default(name: str) -> None:
    assert base_colors(name) == PROJECT_FALLBACKS["default"]


def test_campus_derivation_matches_spec() -> None:
    groups = default_group_palettes("campus")
    assert list(groups) == list(GROUP_SLOTS)
    assert groups["graftegner"] == ["#dbe3ff", "#2c395b", "#e3b660"]
    assert groups["nkant"] == ["#c5e5e9", "#f6e5bc", "#f1d0d9"]
    assert groups["diagram"] == [
        "#dbe3ff",
        "#2c395b",
        "#e3b660",
        "#c5e5e9",
        "#f6e5bc",
        "#f1d0d9",
        "#dbe3ff",
        "#2c395b",
        "#e3b660",
    ]
    for group in list(GROUP_SLOTS)[2:]:
        colors = groups[group]
        assert len(colors) == len(GROUP_SLOTS[group])
        assert colors == [CAMPUS[i % 6] for i in range(len(colors))]
        assert colors[0] == "#dbe3ff"


@pytest.mark.parametrize("project", ["annet", "kikora", "default", "something-new"])
def test_derivation_uses_the_projects_base(project: str) -> None:
    base = base_colors(project)
    groups = default_group_palettes(project)
    assert groups["graftegner"] == list(base[:3])
    assert groups["nkant"] == list(base[3:6])
    assert groups["sortering"] == list(base[:3])


def test_campus_flat_palette_matches_spec() -> None:
    flat = flatten_palette("campus", default_group_palettes("campus"))
    assert len(flat) == MAX_COLORS
    assert flat[:5] == ["#dbe3ff", "#c5e5e9", "#f6e5bc", "#f1d0d9", "#dbe3ff"]
    assert flat[19:21] == ["#2c395b", "#e3b660"]
    assert flat[46:] == ["#2c395b", "#e3b660"]


def test_flat_palette_places_group_colours_at_their_slots() -> None:
    groups = default_group_palettes("kikora")
    groups["graftegner"] = ["#000001", "#000002", "#000003"]
    groups["sortering"] = ["#000004", "#000005", "#000006"]
    flat = flatten_palette("kikora", groups)
    assert (flat[0], flat[46], flat[47]) == ("#000001", "#000002", "#000003")
    assert flat[43:46] == ["#000004", "#000005", "#000006"]
    kikora = PROJECT_FALLBACKS["kikora"]
    assert flat[19:21] == [kikora[19 % 6], kikora[20 % 6]]


def test_ungrouped_slots_of_a_custom_project_use_the_default_base() -> None:
    flat = flatten_palette("mine", default_group_palettes("mine"))
    assert flat[19:21] == ["#475569", "#ef4444"]


def test_missing_group_colours_fall_back_to_the_defaults() -> None:
    assert flatten_palette("campus", {}) == flatten_palette(
        "campus", default_group_palettes("campus")
    )
    partial = flatten_palette("campus", {"graftegner": ["#000000"]})
    assert (partial[0], partial[46], partial[47]) == ("#000000", "#2c395b", "#e3b660")


def test_derivation_returns_fresh_lists() -> None:
    first = default_group_palettes("campus")
    first["graftegner"][0] = "#000000"
    assert default_group_palettes("campus")["graftegner"][0] == "#dbe3ff"
