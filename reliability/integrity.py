"""Read everything back after a run: every key well formed, every index consistent with its keys.

The store is read directly over RESP with the standard library's JSON parser, not through the
store code under test; the API read-back then proves the same data is servable.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx2

from mathvisuals.sandbox.resp import RespClient

EXAMPLES, EXAMPLES_INDEX, TRASH = "examples:", "examples:__paths__", "examples:__trash__"
SVG, SVG_INDEX = "svg:", "svg:__slugs__"
ASSET, ASSET_INDEX = "figureAsset:", "figureAsset:__slugs__"
FIGURE, FIGURE_INDEX = "figure:", "figure:__slugs__"
CATEGORY, CATEGORY_INDEX = "figure:category:", "figure:__categories__"
SETTINGS = "settings:projects"
# Entry key prefix -> its index set, most specific prefix first.
FAMILIES = (
    (CATEGORY, CATEGORY_INDEX),
    (EXAMPLES, EXAMPLES_INDEX),
    (SVG, SVG_INDEX),
    (ASSET, ASSET_INDEX),
    (FIGURE, FIGURE_INDEX),
)
INDEXES = frozenset(index for _, index in FAMILIES)
TRASH_CAP = 200


@dataclass
class Snapshot:
    """Every key in the database: strings decoded as JSON, sets as members."""

    strings: dict[str, str] = field(default_factory=dict)
    sets: dict[str, set[str]] = field(default_factory=dict)
    other: dict[str, str] = field(default_factory=dict)

    def value(self, key: str) -> Any:
        """The stored JSON value, parsed once more when it is a JSON string (upstream data)."""
        value = json.loads(self.strings[key])
        return json.loads(value) if isinstance(value, str) else value

    def entries(self, prefix: str) -> dict[str, Any]:
        """Decodable entries of a family by their id (the key without the prefix)."""
        found: dict[str, Any] = {}
        for key in self.strings:
            if _family(key) == prefix:
                try:
                    found[key[len(prefix) :]] = self.value(key)
                except ValueError:
                    continue
        return found

    def trash_ids(self) -> list[str]:
        if TRASH not in self.strings:
            return []
        records = self.value(TRASH)
        if not isinstance(records, list):
            return []
        return [str(r.get("id")) for r in records if isinstance(r, dict)]


def snapshot(client: RespClient) -> Snapshot:
    found = Snapshot()
    keys = client.command("KEYS", "*")
    assert isinstance(keys, list)
    for raw_key in keys:
        assert isinstance(raw_key, bytes)
        key = raw_key.decode("utf-8", "surrogateescape")
        kind = client.command("TYPE", raw_key)
        if kind == "string":
            value = client.command("GET", raw_key)
            assert isinstance(value, bytes)
            found.strings[key] = value.decode("utf-8", "surrogateescape")
        elif kind == "set":
            members = client.command("SMEMBERS", raw_key)
            assert isinstance(members, list)
            found.sets[key] = {
                m.decode("utf-8", "surrogateescape") for m in members if isinstance(m, bytes)
            }
        else:
            found.other[key] = str(kind)
    return found


def _family(key: str) -> str | None:
    if key in INDEXES or key in (TRASH, SETTINGS):
        return None
    return next((prefix for prefix, _ in FAMILIES if key.startswith(prefix)), None)


def check(snap: Snapshot) -> list[str]:
    """Problems with the stored data; an empty list means nothing is corrupt or inconsistent."""
    problems = [f"{key}: unexpected type {kind}" for key, kind in snap.other.items()]
    problems += [f"{key}: an index must be a set" for key in INDEXES if key in snap.strings]
    for key in snap.sets:
        if key not in INDEXES:
            problems.append(f"{key}: unexpected set")
    for key in snap.strings:
        family = _family(key)
        if family is None and key not in (TRASH, SETTINGS):
            problems.append(f"{key}: key outside the schema of api.md §6.1")
            continue
        try:
            value = snap.value(key)
        except ValueError:
            problems.append(f"{key}: not JSON")
            continue
        problems += _shape(key, family, value)
    problems += _indexes(snap)
    problems += _figure_links(snap)
    return problems


def _shape(key: str, family: str | None, value: Any) -> list[str]:
    if key == TRASH:
        return _trash_shape(value)
    if not isinstance(value, dict):
        return [f"{key}: not a JSON object"]
    ident = key[len(family) :] if family else ""
    if family == EXAMPLES:
        bad = [
            name
            for name, kind in (
                ("path", str),
                ("examples", list),
                ("deletedProvided", list),
                ("updatedAt", str),
            )
            if not isinstance(value.get(name), kind)
        ]
        if bad:
            return [f"{key}: missing or mistyped {', '.join(bad)}"]
        if value["path"] != ident:
            return [f"{key}: holds path {value['path']!r}"]
        if not all(isinstance(item, dict) for item in value["examples"]):
            return [f"{key}: an example is not an object"]
    elif family in (SVG, ASSET, FIGURE) and value.get("slug") != ident:
        return [f"{key}: holds slug {value.get('slug')!r}"]
    elif family == CATEGORY:
        if value.get("id") != ident:
            return [f"{key}: holds id {value.get('id')!r}"]
        slugs = value.get("figureSlugs")
        if not isinstance(slugs, list) or not all(isinstance(s, str) for s in slugs):
            return [f"{key}: figureSlugs is not a list of strings"]
    elif key == SETTINGS and not isinstance(value.get("projects"), dict):
        return [f"{key}: no projects object"]
    return []


def _js_truthy(value: object) -> bool:
    """api.md §8.2 drops a record whose example is falsy in JavaScript: {} and [] are kept."""
    if value is None or value is False or value == "":
        return False
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value == value and value != 0  # NaN and zero are falsy
    return True


def _trash_shape(value: Any) -> list[str]:
    if not isinstance(value, list):
        return [f"{TRASH}: not a JSON array"]
    problems: list[str] = []
    if len(value) > TRASH_CAP:
        problems.append(f"{TRASH}: {len(value)} records, over the cap of {TRASH_CAP}")
    ids = [r.get("id") if isinstance(r, dict) else None for r in value]
    if not all(
        isinstance(i, str) and i.strip() and _js_truthy(r.get("example"))
        for i, r in zip(ids, value, strict=True)
    ):
        problems.append(f"{TRASH}: a record without id or example")
    if len(set(map(str, ids))) != len(ids):
        problems.append(f"{TRASH}: duplicate ids")
    return problems


def _indexes(snap: Snapshot) -> list[str]:
    problems: list[str] = []
    for prefix, index in FAMILIES:
        members = snap.sets.get(index, set())
        keys = {key[len(prefix) :] for key in snap.strings if _family(key) == prefix}
        for member in sorted(members - keys):
            problems.append(f"{index}: dangling member {member!r} (no {prefix}{member})")
        for ident in sorted(keys - members):
            problems.append(f"{prefix}{ident}: orphan key (not in {index})")
    figures, assets = snap.sets.get(FIGURE_INDEX, set()), snap.sets.get(ASSET_INDEX, set())
    for slug in sorted(figures ^ assets):
        problems.append(f"figure {slug!r}: figure and figureAsset records not paired")
    return problems


def _figure_links(snap: Snapshot) -> list[str]:
    """Each figure's category lists it, and each listed slug is a figure linked back."""
    problems: list[str] = []
    figures = snap.entries(FIGURE)
    categories = snap.entries(CATEGORY)
    for slug, figure in figures.items():
        linked = figure.get("categoryId") if isinstance(figure, dict) else None
        if linked is None:
            continue
        category = categories.get(linked)
        if category is None:
            problems.append(f"figure {slug!r}: category {linked!r} does not exist")
        elif slug not in category.get("figureSlugs", []):
            problems.append(f"figure {slug!r}: not in figureSlugs of {linked!r}")
    for ident, category in categories.items():
        for slug in category.get("figureSlugs", []) if isinstance(category, dict) else []:
            figure = figures.get(slug)
            if figure is None:
                problems.append(f"category {ident!r}: lists missing figure {slug!r}")
            elif figure.get("categoryId") != ident:
                problems.append(f"category {ident!r}: lists {slug!r}, linked elsewhere")
    return problems


async def api_readback(http: httpx2.AsyncClient, snap: Snapshot) -> list[str]:
    """Every collection and every stored entry served by the API (no 5xx, nothing missing)."""
    problems: list[str] = []

    async def get(url: str, expected: int = 200) -> Any:
        response = await http.get(url)
        if response.status_code != expected:
            problems.append(f"GET {url}: {response.status_code}")
            return None
        return response.json()

    listed = await get("/api/examples")
    paths = snap.entries(EXAMPLES)
    if listed is not None and sorted(e.get("path") for e in listed["entries"]) != sorted(paths):
        problems.append("GET /api/examples: the listed paths differ from the stored keys")
    for path in paths:
        await get(f"/api/examples?path={quote(path, safe='')}")
    trash = await get("/api/examples/trash")
    if trash is not None and [e.get("id") for e in trash["entries"]] != snap.trash_ids():
        problems.append("GET /api/examples/trash: the listed ids differ from the stored records")
    await get("/api/svg")
    for slug in snap.entries(SVG):
        await get(f"/api/svg?slug={quote(slug, safe='')}")
        raw = await http.get(f"/api/svg/raw?slug={quote(slug, safe='')}")
        if raw.status_code >= 500:
            problems.append(f"GET /api/svg/raw?slug={slug}: {raw.status_code}")
    library = await get("/api/figure-library")
    figures = snap.entries(FIGURE)
    if library is not None and sorted(e.get("slug") for e in library["entries"]) != sorted(figures):
        problems.append("GET /api/figure-library: the listed slugs differ from the stored keys")
    for slug in figures:
        await get(f"/api/figure-library?slug={quote(slug, safe='')}")
    await get("/api/settings")
    return problems


def unchanged(before: Mapping[str, str], snap: Snapshot) -> list[str]:
    """Keys whose stored bytes differ from ``before`` (documents nobody was allowed to touch)."""
    return [
        f"{key}: changed or removed" for key, raw in before.items() if snap.strings.get(key) != raw
    ]
