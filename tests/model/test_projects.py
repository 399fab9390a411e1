"""The settings document of spec §13.2: sanitising, normalising, defaults."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from mathvisuals.model.palette import (
    GROUP_SLOTS,
    MAX_COLORS,
    PROJECT_FALLBACKS,
    default_group_palettes,
    flatten_palette,
)
from mathvisuals.model.projects import default_settings, normalize_settings, sanitize_color

NOW = "2024-01-01T00:00:00.000Z"
LATER = "2024-06-01T12:30:00.000Z"
CAMPUS = PROJECT_FALLBACKS["campus"]
KIKORA = PROJECT_FALLBACKS["kikora"]
DEFAULT = PROJECT_FALLBACKS["default"]


# --- sanitize_color -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("#abc", "#aabbcc"),
        ("abc", "#aabbcc"),
        ("#ABC", "#aabbcc"),
        ("#abcd", "#aabbcc"),
        ("ABCD", "#aabbcc"),
        ("#a1b2c3", "#a1b2c3"),
        ("A1B2C3", "#a1b2c3"),
        ("#A1b2C3", "#a1b2c3"),
        ("#a1b2c3d4", "#a1b2c3"),
        ("A1B2C3D4", "#a1b2c3"),
        ("  #ABC  ", "#aabbcc"),
        ("\t1f4de2\n", "#1f4de2"),
    ],
)
def test_sanitize_color_accepts(value: str, expected: str) -> None:
    assert sanitize_color(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "#",
        "#ab",
        "#abcde",
        "#abcdefa",
        "#abcdef123",
        "##abc",
        "#ggg",
        "red",
        "rgb(1,2,3)",
        "#abc ff",
        "＃abc",
        None,
        123,
        0xABCDEF,
        ["#abc"],
        {"color": "#abc"},
        True,
    ],
)
def test_sanitize_color_rejects(value: object) -> None:
    assert sanitize_color(value) is None


# --- default_settings ---------------------------------------------------------------------


def _palette(project: str) -> dict[str, Any]:
    groups = default_group_palettes(project)
    return {"groupPalettes": groups, "defaultColors": flatten_palette(project, groups)}


def test_default_settings_document() -> None:
    settings = default_settings(NOW)
    assert list(settings) == [
        "version",
        "projects",
        "activeProject",
        "projectOrder",
        "updatedAt",
        "defaultColors",
    ]
    assert settings["version"] == 1
    assert list(settings["projects"]) == ["campus", "annet", "kikora"]
    assert settings["activeProject"] == "campus"
    assert settings["projectOrder"] == ["campus", "kikora", "annet"]
    assert settings["updatedAt"] == NOW
    for name, project in settings["projects"].items():
        assert list(project) == ["groupPalettes", "defaultColors"]
        assert list(project["groupPalettes"]) == list(GROUP_SLOTS)
        assert len(project["defaultColors"]) == MAX_COLORS
        assert project == _palette(name)
    assert settings["defaultColors"] == settings["projects"]["campus"]["defaultColors"]


def test_default_campus_palette_matches_spec() -> None:
    campus = default_settings(NOW)["projects"]["campus"]
    assert campus["groupPalettes"]["graftegner"] == ["#dbe3ff", "#2c395b", "#e3b660"]
    assert campus["groupPalettes"]["nkant"] == ["#c5e5e9", "#f6e5bc", "#f1d0d9"]
    assert campus["groupPalettes"]["diagram"] == [CAMPUS[i % 6] for i in range(9)]
    flat = campus["defaultColors"]
    assert flat[:5] == ["#dbe3ff", "#c5e5e9", "#f6e5bc", "#f1d0d9", "#dbe3ff"]
    assert flat[19:21] == ["#2c395b", "#e3b660"]
    assert flat[-2:] == ["#2c395b", "#e3b660"]


@pytest.mark.parametrize("payload", [None, [], "x", 3, {}, {"projects": None}, {"projects": []}])
def test_unusable_payloads_give_the_defaults(payload: object) -> None:
    assert normalize_settings(payload, NOW) == default_settings(NOW)


# --- the spec example ---------------------------------------------------------------------


def test_spec_example() -> None:
    body = {
        "settings": {"activeProject": "Kikora", "projects": {"kikora": {"graftegner": ["#abc"]}}}
    }
    settings = normalize_settings(body["settings"], NOW)
    assert settings["activeProject"] == "kikora"
    assert settings["projects"]["kikora"]["groupPalettes"]["graftegner"] == [
        "#aabbcc",
        "#ff9f1c",
        "#2ec4b6",
    ]
    assert settings["defaultColors"][0] == "#aabbcc"
    assert settings["defaultColors"] == settings["projects"]["kikora"]["defaultColors"]
    assert settings["projectOrder"] == ["campus", "kikora", "annet"]
    assert list(settings["projects"]) == ["campus", "annet", "kikora"]
    assert settings["projects"]["campus"] == _palette("campus")


# --- input project forms ------------------------------------------------------------------


def _flat_with(assignments: dict[int, str]) -> list[object]:
    flat: list[object] = [None] * MAX_COLORS
    for slot, color in assignments.items():
        flat[slot] = color
    return flat


FLAT = _flat_with({0: "#111111", 1: "#222", 46: "#333333", 19: "#444444", 20: "#555555"})
GROUPS_IN = {"graftegner": ["#111111", "#333333"], "nkant": ["#222"]}


@pytest.mark.parametrize(
    "entry",
    [
        pytest.param(FLAT, id="flat-array"),
        pytest.param({"defaultColors": FLAT}, id="defaultColors-flat"),
        pytest.param({"defaultColors": GROUPS_IN}, id="defaultColors-groups"),
        pytest.param({"groupPalettes": GROUPS_IN}, id="groupPalettes"),
        pytest.param(GROUPS_IN, id="group-map"),
    ],
)
@pytest.mark.parametrize("name", ["campus", "kikora", "mine"])
def test_every_input_form_gives_the_same_palette(entry: object, name: str) -> None:
    settings = normalize_settings({"projects": {name: entry}}, NOW)
    groups = settings["projects"][name]["groupPalettes"]
    expected = default_group_palettes(name)
    expected["graftegner"][:2] = ["#111111", "#333333"]
    expected["nkant"][0] = "#222222"
    assert groups == expected
    flat = settings["projects"][name]["defaultColors"]
    assert (flat[0], flat[1], flat[46]) == ("#111111", "#222222", "#333333")


def test_flat_array_is_distributed_by_slot_index() -> None:
    colors = [f"#0000{slot:02x}" for slot in range(MAX_COLORS)]
    groups = normalize_settings({"projects": {"annet": colors}}, NOW)["projects"]["annet"][
        "groupPalettes"
    ]
    for group, slots in GROUP_SLOTS.items():
        assert groups[group] == [f"#0000{slot:02x}" for slot in slots]


def test_slots_19_and_20_are_always_the_projects_base_colours() -> None:
    colors = [f"#0000{slot:02x}" for slot in range(MAX_COLORS)]
    projects = normalize_settings({"projects": {"annet": colors, "mine": colors}}, NOW)["projects"]
    annet = PROJECT_FALLBACKS["annet"]
    assert projects["annet"]["defaultColors"][19:21] == [annet[1], annet[2]]
    assert projects["mine"]["defaultColors"][19:21] == [DEFAULT[1], DEFAULT[2]]
    for slot in set(range(MAX_COLORS)) - {19, 20}:
        assert projects["mine"]["defaultColors"][slot] == f"#0000{slot:02x}"


def test_flat_entries_beyond_48_are_ignored() -> None:
    colors: list[object] = [None] * MAX_COLORS + ["#000000"] * 5
    settings = normalize_settings({"projects": {"campus": colors}}, NOW)
    assert settings["projects"]["campus"] == _palette("campus")


def test_group_lists_are_capped_at_the_slot_count() -> None:
    entry = {
        "graftegner": ["#000001", "#000002", "#000003", "#000004"],
        "kvikkbilder": ["#000005", "#000006"],
    }
    groups = normalize_settings({"projects": {"campus": entry}}, NOW)["projects"]["campus"][
        "groupPalettes"
    ]
    assert groups["graftegner"] == ["#000001", "#000002", "#000003"]
    assert groups["kvikkbilder"] == ["#000005"]


def test_unspecified_positions_keep_the_default() -> None:
    groups = normalize_settings({"projects": {"kikora": {"diagram": ["#000000"]}}}, NOW)[
        "projects"
    ]["kikora"]["groupPalettes"]
    expected = default_group_palettes("kikora")["diagram"]
    assert groups["diagram"] == ["#000000", *expected[1:]]


def test_invalid_colours_are_dropped_and_the_rest_fill_the_slots_in_order() -> None:
    """api.md §13.2 (corrected): an invalid entry does not hold its position."""
    entry = {"graftegner": [None, "#123", "nope"], "nkant": [5, "", "#abcdef"]}
    groups = normalize_settings({"projects": {"campus": entry}}, NOW)["projects"]["campus"][
        "groupPalettes"
    ]
    assert groups["graftegner"] == ["#112233", "#2c395b", "#e3b660"]
    assert groups["nkant"] == ["#abcdef", "#f6e5bc", "#f1d0d9"]


def test_spec_colour_list_example() -> None:
    entry = {"diagram": ["#ABCD", "12345678", "red", "#12", "  #0f0  "]}
    groups = normalize_settings({"projects": {"kikora": entry}}, NOW)["projects"]["kikora"][
        "groupPalettes"
    ]
    assert groups["diagram"][:3] == ["#aabbcc", "#123456", "#00ff00"]
    assert groups["diagram"][3:] == default_group_palettes("kikora")["diagram"][3:]
    many = {"graftegner": ["x", "#000001", "y", "#000002", "#000003", "#000004"]}
    groups = normalize_settings({"projects": {"kikora": many}}, NOW)["projects"]["kikora"][
        "groupPalettes"
    ]
    assert groups["graftegner"] == ["#000001", "#000002", "#000003"]


def test_unknown_groups_and_non_list_values_are_dropped() -> None:
    entry = {"unknown": ["#000000"], "graftegner": "#000000", "nkant": {"0": "#000000"}}
    settings = normalize_settings({"projects": {"campus": entry}}, NOW)
    campus = settings["projects"]["campus"]
    assert list(campus["groupPalettes"]) == list(GROUP_SLOTS)
    assert campus == _palette("campus")


def test_group_ids_are_trimmed_and_lowercased() -> None:
    entry = {"groupPalettes": {" GrafTegner ": ["#000000"]}}
    groups = normalize_settings({"projects": {"campus": entry}}, NOW)["projects"]["campus"][
        "groupPalettes"
    ]
    assert groups["graftegner"][0] == "#000000"


def test_group_palettes_win_over_default_colors_in_one_project() -> None:
    entry = {
        "groupPalettes": {"graftegner": ["#000001"]},
        "defaultColors": _flat_with({0: "#000002", 1: "#000003"}),
    }
    groups = normalize_settings({"projects": {"campus": entry}}, NOW)["projects"]["campus"][
        "groupPalettes"
    ]
    assert groups["graftegner"][0] == "#000001"
    assert groups["nkant"] == default_group_palettes("campus")["nkant"]


def test_without_group_palettes_the_object_keys_overlay_default_colors() -> None:
    entry = {"defaultColors": _flat_with({0: "#000002", 1: "#000003"}), "graftegner": ["#000001"]}
    groups = normalize_settings({"projects": {"campus": entry}}, NOW)["projects"]["campus"][
        "groupPalettes"
    ]
    assert groups["graftegner"][0] == "#000001"
    assert groups["nkant"][0] == "#000003"


@pytest.mark.parametrize("entry", [None, "x", 3, {}, {"name": "Campus"}])
def test_unusable_project_entries_reset_to_defaults(entry: object) -> None:
    settings = normalize_settings({"projects": {"campus": entry, "mine": entry}}, NOW)
    assert settings["projects"]["campus"] == _palette("campus")
    assert settings["projects"]["mine"] == _palette("mine")
    assert settings["projectOrder"] == ["campus", "kikora", "annet", "mine"]


def test_input_project_replaces_the_stored_one_entirely() -> None:
    first = normalize_settings({"projects": {"campus": {"graftegner": ["#000001"]}}}, NOW)
    second = normalize_settings({**first, "projects": {"campus": {"nkant": ["#000002"]}}}, NOW)
    campus = second["projects"]["campus"]["groupPalettes"]
    assert campus["graftegner"][0] == "#dbe3ff"
    assert campus["nkant"][0] == "#000002"


# --- project names and order --------------------------------------------------------------


def test_new_projects_start_from_the_default_base_and_keep_input_order() -> None:
    payload = {
        "projects": {
            "  Zeta ": {"graftegner": ["#000001"]},
            "alpha": [],
            "KIKORA": {},
            "  ": ["#1"],
        },
        "projectOrder": ["alpha", "zeta", "annet"],
    }
    settings = normalize_settings(payload, NOW)
    assert list(settings["projects"]) == ["campus", "annet", "kikora", "zeta", "alpha"]
    assert settings["projectOrder"] == ["campus", "kikora", "annet", "zeta", "alpha"]
    zeta = settings["projects"]["zeta"]["groupPalettes"]
    assert zeta["graftegner"] == ["#000001", DEFAULT[1], DEFAULT[2]]
    assert zeta["nkant"] == list(DEFAULT[3:6])
    assert settings["projects"]["alpha"] == _palette("alpha")
    assert settings["projects"]["alpha"]["defaultColors"][0] == DEFAULT[0]


def test_repeated_project_names_use_the_last_entry() -> None:
    payload = {"projects": {"Mine": {"graftegner": ["#000001"]}, "mine": {"nkant": ["#000002"]}}}
    settings = normalize_settings(payload, NOW)
    mine = settings["projects"]["mine"]["groupPalettes"]
    assert mine["graftegner"][0] == DEFAULT[0]
    assert mine["nkant"][0] == "#000002"
    assert settings["projectOrder"].count("mine") == 1


# --- activeProject ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"activeProject": "Kikora"}, "kikora"),
        ({"activeProject": "  ANNET "}, "annet"),
        ({"project": "annet"}, "annet"),
        ({"defaultProject": "kikora"}, "kikora"),
        ({"activeProject": "", "project": "annet"}, "annet"),
        ({"activeProject": None, "project": 0, "defaultProject": "kikora"}, "kikora"),
        ({"activeProject": "annet", "project": "kikora"}, "annet"),
        ({"activeProject": "nope", "project": "kikora"}, "campus"),
        ({"activeProject": 5, "project": "kikora"}, "campus"),
        ({"activeProject": [], "project": "kikora"}, "campus"),
        ({"activeProject": "mine"}, "campus"),
        ({"activeProject": "mine", "projects": {"Mine": {}}}, "mine"),
        ({}, "campus"),
    ],
)
def test_active_project_rule(fields: dict[str, object], expected: str) -> None:
    settings = normalize_settings(fields, NOW)
    assert settings["activeProject"] == expected
    assert settings["defaultColors"] == settings["projects"][expected]["defaultColors"]


def test_root_default_colors_follow_the_active_project() -> None:
    payload = {"activeProject": "mine", "projects": {"mine": {"graftegner": ["#000001"]}}}
    settings = normalize_settings(payload, NOW)
    assert settings["defaultColors"][0] == "#000001"
    assert settings["defaultColors"][19:21] == [DEFAULT[1], DEFAULT[2]]
    assert settings["defaultColors"] is not settings["projects"]["mine"]["defaultColors"]


# --- root defaultColors -------------------------------------------------------------------


def test_root_flat_default_colors_apply_to_the_active_project() -> None:
    payload = {"activeProject": "kikora", "defaultColors": _flat_with({0: "#000001", 1: "#abc"})}
    settings = normalize_settings(payload, NOW)
    kikora = settings["projects"]["kikora"]["groupPalettes"]
    assert kikora["graftegner"] == ["#000001", KIKORA[1], KIKORA[2]]
    assert kikora["nkant"][0] == "#aabbcc"
    assert settings["defaultColors"][:2] == ["#000001", "#aabbcc"]
    assert settings["projects"]["campus"] == _palette("campus")


def test_root_group_map_default_colors_apply_to_the_active_project() -> None:
    payload = {"project": "annet", "defaultColors": {"sortering": ["#000001"]}}
    settings = normalize_settings(payload, NOW)
    assert settings["projects"]["annet"]["groupPalettes"]["sortering"][0] == "#000001"
    assert settings["defaultColors"][43] == "#000001"


def test_root_default_colors_go_to_campus_when_the_active_project_is_unknown() -> None:
    payload = {"activeProject": "nope", "defaultColors": ["#000001"]}
    settings = normalize_settings(payload, NOW)
    assert settings["projects"]["campus"]["groupPalettes"]["graftegner"][0] == "#000001"
    assert "nope" not in settings["projects"]
    assert settings["projectOrder"] == ["campus", "kikora", "annet"]


def test_root_default_colors_yield_to_the_active_projects_own_entry() -> None:
    payload = {
        "activeProject": "campus",
        "projects": {"Campus": {"groupPalettes": {"graftegner": ["#000001"]}}},
        "defaultColors": _flat_with({0: "#000002", 1: "#000003"}),
    }
    settings = normalize_settings(payload, NOW)
    campus = settings["projects"]["campus"]["groupPalettes"]
    assert campus["graftegner"][0] == "#000001"
    assert campus["nkant"][0] == CAMPUS[3]
    assert settings["defaultColors"][:2] == ["#000001", CAMPUS[3]]


@pytest.mark.parametrize("junk", ["#000001", 5, True])
def test_root_default_colors_of_another_type_are_ignored(junk: object) -> None:
    assert normalize_settings({"defaultColors": junk}, NOW) == default_settings(NOW)


# --- legacy documents ---------------------------------------------------------------------

LEGACY_GROUPS = [g for g in GROUP_SLOTS if g not in ("fortegnsskjema", "sortering")]


def _legacy_project(name: str, edits: dict[str, list[str]]) -> dict[str, Any]:
    """A project as the upstream 11-group fallback stored it."""
    base = PROJECT_FALLBACKS.get(name, DEFAULT)
    full = default_group_palettes(name)
    groups = {group: edits.get(group, full[group]) for group in LEGACY_GROUPS}
    flat = [base[slot % 6] for slot in range(MAX_COLORS)]
    for group in LEGACY_GROUPS:
        for position, slot in enumerate(GROUP_SLOTS[group]):
            flat[slot] = groups[group][position]
    return {"groupPalettes": groups, "defaultColors": flat}


def test_legacy_documents_normalise_cleanly() -> None:
    edits = {"graftegner": ["#000001", "#000002", "#000003"], "brokvegg": ["#000004"] * 6}
    legacy_campus = _legacy_project("campus", edits)
    legacy = {
        "version": 1,
        "projects": {
            "campus": legacy_campus,
            "annet": _legacy_project("annet", {}),
            "kikora": _legacy_project("kikora", {}),
            "mine": _legacy_project("mine", {"nkant": ["#000005"] * 3}),
        },
        "activeProject": "campus",
        "projectOrder": ["campus", "kikora", "annet", "mine"],
        "updatedAt": NOW,
        "defaultColors": list(legacy_campus["defaultColors"]),
    }
    settings = normalize_settings(legacy, None)
    for name in ("campus", "annet", "kikora", "mine"):
        groups = settings["projects"][name]["groupPalettes"]
        assert list(groups) == list(GROUP_SLOTS)
        defaults = default_group_palettes(name)
        assert groups["fortegnsskjema"] == defaults["fortegnsskjema"]
        assert groups["sortering"] == defaults["sortering"]
    campus = settings["projects"]["campus"]
    assert campus["groupPalettes"]["graftegner"] == edits["graftegner"]
    assert campus["groupPalettes"]["brokvegg"] == edits["brokvegg"]
    assert settings["projects"]["mine"]["groupPalettes"]["nkant"] == ["#000005"] * 3
    assert campus["defaultColors"][38:43] == default_group_palettes("campus")["fortegnsskjema"]
    assert settings["defaultColors"] == campus["defaultColors"]
    assert settings["updatedAt"] == NOW
    assert normalize_settings(settings, None) == settings


# --- updatedAt ----------------------------------------------------------------------------


def test_updated_at_is_now_on_writes() -> None:
    assert normalize_settings({"updatedAt": NOW}, LATER)["updatedAt"] == LATER


def test_updated_at_is_kept_on_reads() -> None:
    stored = default_settings(NOW)
    assert normalize_settings(stored, None)["updatedAt"] == NOW


@pytest.mark.parametrize("stored", [{}, {"updatedAt": None}, {"updatedAt": 1704067200000}])
def test_updated_at_is_none_on_reads_without_a_stored_string(stored: dict[str, Any]) -> None:
    assert normalize_settings(stored, None)["updatedAt"] is None


# --- idempotence and shape ----------------------------------------------------------------

PAYLOADS: list[object] = [
    {},
    {"activeProject": "Kikora", "projects": {"kikora": {"graftegner": ["#abc"]}}},
    {"projects": {"Mine": FLAT, "other": {"defaultColors": GROUPS_IN}}, "activeProject": "other"},
    {"activeProject": "annet", "defaultColors": FLAT, "projectOrder": ["x"]},
    {"projects": {"campus": {"groupPalettes": {"graftegner": ["#000001", "bad", "#abcd"]}}}},
    {"activeProject": "nope", "project": "annet", "defaultColors": {"nkant": ["#1234"]}},
]


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("now", [NOW, None])
def test_normalisation_is_idempotent(payload: object, now: str | None) -> None:
    once = normalize_settings(payload, now)
    assert normalize_settings(once, now) == once
    assert normalize_settings(once, None) == once
    assert normalize_settings(json.loads(json.dumps(once)), now) == once


@pytest.mark.parametrize("payload", PAYLOADS)
def test_output_shape(payload: object) -> None:
    settings = normalize_settings(payload, NOW)
    assert list(settings) == [
        "version",
        "projects",
        "activeProject",
        "projectOrder",
        "updatedAt",
        "defaultColors",
    ]
    assert list(settings["projects"])[:3] == ["campus", "annet", "kikora"]
    assert settings["projectOrder"][:3] == ["campus", "kikora", "annet"]
    assert set(settings["projectOrder"]) == set(settings["projects"])
    for project in settings["projects"].values():
        assert list(project) == ["groupPalettes", "defaultColors"]
        assert list(project["groupPalettes"]) == list(GROUP_SLOTS)
        for group, colors in project["groupPalettes"].items():
            assert len(colors) == len(GROUP_SLOTS[group])
        assert len(project["defaultColors"]) == MAX_COLORS
        for colors in [project["defaultColors"], *project["groupPalettes"].values()]:
            assert all(sanitize_color(color) == color for color in colors)


def test_the_payload_is_not_mutated() -> None:
    payload = {"activeProject": "kikora", "projects": {"kikora": {"graftegner": ["#ABC"]}}}
    before = copy.deepcopy(payload)
    normalize_settings(payload, NOW)
    assert payload == before


def test_outputs_share_no_lists() -> None:
    first = default_settings(NOW)
    first["projects"]["campus"]["groupPalettes"]["graftegner"][0] = "#000000"
    first["defaultColors"][0] = "#000000"
    assert default_settings(NOW)["projects"]["campus"] == _palette("campus")
    assert default_settings(NOW)["defaultColors"][0] == "#dbe3ff"
