"""The `/api/settings` document (spec §13.2): colour sanitising and normalisation. No I/O."""

from __future__ import annotations

import re
from typing import Any

from mathvisuals.model.palette import (
    MAX_COLORS,
    SLOT_OWNERS,
    GroupPalettes,
    default_group_palettes,
    flatten_palette,
)

DEFAULT_PROJECT = "campus"
# Key order of `projects` differs from `projectOrder` (upstream behaviour, spec §13.2).
DEFAULT_PROJECTS = ("campus", "annet", "kikora")
DEFAULT_PROJECT_ORDER = ("campus", "kikora", "annet")

_HEX_COLOR = re.compile(r"#?([0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})")


def sanitize_color(value: object) -> str | None:
    """`#?` + 3, 4, 6 or 8 hex digits → lowercase `#rrggbb` (short forms expanded, no alpha)."""
    if not isinstance(value, str):
        return None
    match = _HEX_COLOR.fullmatch(value.strip())
    if match is None:
        return None
    digits = match.group(1).lower()
    if len(digits) <= 4:
        digits = "".join(ch * 2 for ch in digits[:3])
    return "#" + digits[:6]


def sanitize_color_list(values: list[Any]) -> list[str]:
    """A group's colours in order, everything else dropped, at most 48 (§13.2).

    Dropping, not keeping a default in place: ``["red", "#abc"]`` puts ``#aabbcc`` in the
    group's first slot. (A flat 48-slot list stays positional: §13.3.)
    """
    colors = [color for value in values if (color := sanitize_color(value)) is not None]
    return colors[:MAX_COLORS]


def default_settings(now: str) -> dict[str, Any]:
    return normalize_settings({}, now)


def normalize_settings(payload: object, now: str | None) -> dict[str, Any]:
    """Normalise a settings payload (spec §13.2).

    `now` is the write time (PUT, POST, DELETE). Pass None when re-normalising stored settings
    on GET: §13.1 sets `updatedAt` = now only for writes, so a read keeps the stored string and
    yields None when there is none (upstream stamped every read; a read is not an update).
    """
    source: dict[str, Any] = payload if isinstance(payload, dict) else {}
    palettes: dict[str, GroupPalettes] = {
        name: default_group_palettes(name) for name in DEFAULT_PROJECTS
    }
    order = list(DEFAULT_PROJECT_ORDER)
    given: set[str] = set()

    input_projects = source.get("projects")
    if isinstance(input_projects, dict):
        for raw_name, entry in input_projects.items():
            name = raw_name.strip().lower() if isinstance(raw_name, str) else ""
            if not name:
                continue
            # A repeated name (e.g. "Kikora" and "kikora") replaces, it does not accumulate.
            palettes[name] = _project_groups(name, entry)
            given.add(name)
            if name not in order:
                order.append(name)

    active = _resolve_active(source, palettes)

    # Root `defaultColors` only stands in for an active project the input does not carry.
    # Our own output repeats the active palette there, so it is redundant then; and legacy
    # (11-group) documents hold stale values at slots 38–45 that would otherwise override
    # the defaults of `fortegnsskjema`/`sortering`, which §13.3 says they must take.
    root_colors = source.get("defaultColors")
    if isinstance(root_colors, (list, dict)) and active not in given:
        palettes[active] = _project_groups(active, {"defaultColors": root_colors})

    projects = {
        name: {"groupPalettes": groups, "defaultColors": flatten_palette(name, groups)}
        for name, groups in palettes.items()
    }
    if now is not None:
        updated_at: str | None = now
    else:
        stored = source.get("updatedAt")
        updated_at = stored if isinstance(stored, str) else None
    return {
        "version": 1,
        "projects": projects,
        "activeProject": active,
        "projectOrder": order,
        "updatedAt": updated_at,
        "defaultColors": list(projects[active]["defaultColors"]),
    }


def _project_groups(name: str, entry: object) -> GroupPalettes:
    """One input project laid over the project's defaults; unusable input leaves defaults."""
    groups = default_group_palettes(name)
    if isinstance(entry, list):
        _overlay_flat(groups, entry)
    elif isinstance(entry, dict):
        group_palettes = entry.get("groupPalettes")
        # `groupPalettes` is authoritative: the stored flat `defaultColors` beside it is only
        # derived from it (and is stale in legacy documents), so it is not read at all.
        if isinstance(group_palettes, dict):
            _overlay_groups(groups, group_palettes)
        else:
            flat_or_map = entry.get("defaultColors")
            if isinstance(flat_or_map, list):
                _overlay_flat(groups, flat_or_map)
            elif isinstance(flat_or_map, dict):
                _overlay_groups(groups, flat_or_map)
            _overlay_groups(groups, entry)
    return groups


def _overlay_groups(groups: GroupPalettes, source: dict[Any, Any]) -> None:
    incoming: dict[str, object] = {}
    for key, value in source.items():
        group = key.strip().lower() if isinstance(key, str) else ""
        if group:
            incoming[group] = value
    for group, colors in groups.items():
        values = incoming.get(group)
        if not isinstance(values, list):
            continue
        for position, color in enumerate(sanitize_color_list(values)[: len(colors)]):
            colors[position] = color


def _overlay_flat(groups: GroupPalettes, flat: list[Any]) -> None:
    # Colours at slots without a group (19, 20, ≥ 48) have nowhere to live: a project's
    # 48-slot palette is always derived from its groups, so those slots show base colours.
    for slot, value in enumerate(flat[:MAX_COLORS]):
        owner = SLOT_OWNERS.get(slot)
        color = sanitize_color(value)
        if owner is not None and color is not None:
            group, position = owner
            groups[group][position] = color


def _resolve_active(source: dict[str, Any], palettes: dict[str, GroupPalettes]) -> str:
    # Upstream takes the first JavaScript-truthy of the three fields, even when not a string.
    requested = next(
        (
            value
            for value in (
                source.get("activeProject"),
                source.get("project"),
                source.get("defaultProject"),
            )
            if _js_truthy(value)
        ),
        None,
    )
    if isinstance(requested, str) and requested.strip().lower() in palettes:
        return requested.strip().lower()
    if DEFAULT_PROJECT in palettes:
        return DEFAULT_PROJECT
    return next(iter(palettes))


def _js_truthy(value: object) -> bool:
    if value is None or value is False or value == "":
        return False
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value == value and value != 0  # NaN and zero are falsy
    return True
