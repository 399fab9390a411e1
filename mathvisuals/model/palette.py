"""The 13-group, 48-slot colour palette of spec §13.3 and its default derivation. No I/O."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

MAX_COLORS = 48

# Group order matters: it drives the default derivation and the key order of `groupPalettes`.
GROUP_SLOTS: dict[str, tuple[int, ...]] = {
    "graftegner": (0, 46, 47),
    "nkant": (1, 2, 3),
    "diagram": tuple(range(4, 13)),
    "fractions": (13, 14),
    "figurtall": (15, 16, 17, 18),
    "arealmodell": (21, 22, 23, 24),
    "tallinje": (25, 26),
    "kvikkbilder": (27,),
    "trefigurer": (28, 29),
    "brokvegg": tuple(range(30, 36)),
    "prikktilprikk": (36, 37),
    "fortegnsskjema": tuple(range(38, 43)),
    "sortering": (43, 44, 45),
}

# slot -> (group, position in that group); slots 19 and 20 have no owner.
SLOT_OWNERS: dict[int, tuple[str, int]] = {
    slot: (group, position)
    for group, slots in GROUP_SLOTS.items()
    for position, slot in enumerate(slots)
}

# Stored already lowercased: the spec lists them in upper case but every output is lower case.
PROJECT_FALLBACKS: dict[str, tuple[str, ...]] = {
    "campus": ("#dbe3ff", "#2c395b", "#e3b660", "#c5e5e9", "#f6e5bc", "#f1d0d9"),
    "annet": ("#fcede4", "#355070", "#f3722c", "#43aa8b", "#577590", "#f9c74f"),
    "kikora": ("#ff5c5c", "#ff9f1c", "#2ec4b6", "#3a86ff", "#8338ec", "#ffe066"),
    "default": ("#1f4de2", "#475569", "#ef4444", "#0ea5e9", "#10b981", "#f59e0b"),
}

GroupPalettes = dict[str, list[str]]


def base_colors(project: str) -> tuple[str, ...]:
    """The six base colours of a project; any name without its own set uses `default`."""
    return PROJECT_FALLBACKS.get(project, PROJECT_FALLBACKS["default"])


def default_group_palettes(project: str) -> GroupPalettes:
    """§13.3 step 1: one cursor hands out the base colours, then position i takes base[i % n]."""
    base = base_colors(project)
    cursor = 0
    groups: GroupPalettes = {}
    for group, slots in GROUP_SLOTS.items():
        colors: list[str] = []
        for position in range(len(slots)):
            if cursor < len(base):
                colors.append(base[cursor])
                cursor += 1
            else:
                colors.append(base[position % len(base)])
        groups[group] = colors
    return groups


def flatten_palette(project: str, groups: Mapping[str, Sequence[str]]) -> list[str]:
    """§13.3 step 2: the 48-slot palette; a slot without a group gets base[slot % n].

    A group colour missing from `groups` falls back to the project's default for that slot.
    """
    base = base_colors(project)
    defaults = default_group_palettes(project)
    flat = [base[slot % len(base)] for slot in range(MAX_COLORS)]
    for group, slots in GROUP_SLOTS.items():
        given = groups.get(group, ())
        for position, slot in enumerate(slots):
            flat[slot] = given[position] if position < len(given) else defaults[group][position]
    return flat
