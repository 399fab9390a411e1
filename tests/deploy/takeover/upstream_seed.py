"""What users saved in upstream's Redis, in upstream's key schema (api.md §6.1), for the fixture.

Values are written as upstream wrote them (JSON text with ``SET``, indexes as sets), plus the
legacy forms a takeover must carry over untouched: double-encoded JSON (api.md §6.2), a legacy
raw examples path beside its canonical one, and non-ASCII text.
"""

from __future__ import annotations

import json
from typing import Any

CREATED = "2025-11-28T09:14:03.512Z"
UPDATED = "2025-12-01T17:40:22.108Z"
STAR_SVG = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><path d="M5 0L6 4H10L7 6L8 10L5 8L2 10L3 6L0 4H4Z"/></svg>'
TRI_SVG = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 4 4"><title>Trekant – ø</title><path d="M0 4L2 0L4 4Z"/></svg>'
PNG = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
KV_MODE = {
    "storage": "kv",
    "mode": "kv",
    "storageMode": "kv",
    "persistent": True,
    "ephemeral": False,
}


def _json(value: Any) -> bytes:
    """JSON as upstream's Node writer produced it: compact, UTF-8, non-ASCII unescaped."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _double(value: Any) -> bytes:
    """A legacy value: the JSON text of a JSON string (api.md §6.2)."""
    return json.dumps(json.dumps(value, ensure_ascii=False), ensure_ascii=False).encode()


def _svg_entry(slug: str, base: str, title: str, svg: str, *, png: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "slug": slug,
        "baseName": base,
        "title": title,
        "tool": "graftegner",
        "svg": svg,
        "createdAt": CREATED,
        "updatedAt": UPDATED,
        "filename": f"{base}.svg",
        "svgFilename": f"{base}.svg",
        "svgSlug": f"{slug}.svg",
        "files": {
            "svg": {
                "slug": f"{slug}.svg",
                "filename": f"{base}.svg",
                "url": f"/bildearkiv/{slug}.svg",
                "contentType": "image/svg+xml",
            }
        },
        "urls": {"svg": f"/bildearkiv/{slug}.svg"},
    }
    if png:
        entry["files"]["png"] = {
            "slug": f"{slug}.png",
            "filename": f"{base}.png",
            "url": f"/bildearkiv/{slug}.png",
            "contentType": "image/png",
            "width": 10,
            "height": 10,
        }
        entry["urls"]["png"] = f"/bildearkiv/{slug}.png"
        entry.update(png=PNG, pngFilename=f"{base}.png", pngSlug=f"{slug}.png")
        entry.update(pngWidth=10, pngHeight=10)
    entry.update(altText=f"{title} (alt)", altTextSource="manual")
    return entry


def _asset(entry: dict[str, Any]) -> dict[str, Any]:
    """The figure-library form of an SVG entry: raw URLs through /api/figure-library/raw."""
    asset: dict[str, Any] = json.loads(json.dumps(entry))
    for kind, file in asset["files"].items():
        slug = file["slug"].replace("%", "%25").replace("/", "%2F")
        file["url"] = f"/api/figure-library/raw?slug={slug}"
        asset["urls"][kind] = file["url"]
    return asset


def _example(path: str, description: str) -> dict[str, Any]:
    return {
        "path": path,
        "examples": [
            {
                "title": f"{description} 1",
                "description": description,
                "config": {"STATE": {"width": 640, "height": 480, "label": "Brøk ½"}},
            },
            {"title": f"{description} 2", "svg": STAR_SVG, "isDefault": True},
        ],
        "deletedProvided": ["eksempel-3"],
        "updatedAt": UPDATED,
    }


def _settings() -> dict[str, Any]:
    campus = ["#dbe3ff", "#c5e5e9", "#f6e5bc", "#f1d0d9"] * 12
    return {
        "version": 1,
        "projects": {
            "campus": {
                "groupPalettes": {"graftegner": ["#dbe3ff", "#2c395b", "#e3b660"]},
                "defaultColors": campus,
            },
            "annet": {"groupPalettes": {}, "defaultColors": ["#fcede4"] * 48},
            "kikora": {
                "groupPalettes": {"graftegner": ["#aabbcc", "#ff9f1c", "#2ec4b6"]},
                "defaultColors": ["#ff5c5c"] * 48,
            },
        },
        "activeProject": "kikora",
        "projectOrder": ["campus", "kikora", "annet"],
        "updatedAt": UPDATED,
        "defaultColors": ["#ff5c5c"] * 48,
    }


def seed_values() -> tuple[dict[bytes, bytes], dict[bytes, set[bytes]]]:
    """The strings and the sets to write: ``(strings, sets)``, keys and values as bytes."""
    star = _svg_entry("icons/star", "star", "Stjerne", STAR_SVG, png=True)
    tri = _svg_entry("former/tr%C3%A6kant", "tr-C3-A6kant", "Trekant æøå", TRI_SVG, png=False)
    tri_asset = _asset(tri)
    category = {
        "id": "geometri",
        "label": "Geometri – figurer",
        "figureSlugs": ["former/tr%C3%A6kant"],
        "apps": ["graftegner", "nkant"],
        "createdAt": CREATED,
        "updatedAt": UPDATED,
        "description": "Trekanter og firkanter",
        **KV_MODE,
    }
    empty_category = {
        "id": "m-ling",
        "label": "Måling",
        "figureSlugs": [],
        "apps": [],
        "createdAt": CREATED,
        "updatedAt": CREATED,
        **KV_MODE,
    }
    figure = {**tri_asset, "categoryId": "geometri", "tags": ["bibliotek", "trekant"], **KV_MODE}
    trash = [
        {
            "id": "mwwejs4q-nyi5o0kg",
            "example": {"title": "Slettet diagram", "config": {"STATE": {"bars": [1, 2, 3]}}},
            "deletedAt": "2025-11-30T08:00:00.000Z",
            "sourcePath": "/diagram",
            "sourcePathRaw": None,
            "sourceHref": "https://mathvisuals.no/diagram.html",
            "sourceTitle": "Diagram",
            "reason": "delete",
            "removedAtIndex": 1,
            "label": "Eksempel 2",
            "importedFromHistory": False,
        },
        {
            "id": "mx0a1b2c-legacy01",
            "example": {"title": "Fra historikk"},
            "deletedAt": "2025-11-29T21:12:00.000Z",
            "sourcePath": None,
            "sourcePathRaw": None,
            "sourceHref": None,
            "sourceTitle": "",
            "reason": "history",
            "removedAtIndex": None,
            "label": None,
            "importedFromHistory": True,
            "metadata": {"browser": "Firefox"},
        },
    ]
    strings = {
        b"examples:/diagram": _json(_example("/diagram", "Søylediagram")),
        # Legacy double-encoded value (api.md §6.2).
        b"examples:/br%C3%B8kvegg": _double(_example("/br%C3%B8kvegg", "Brøkvegg")),
        # A legacy raw path beside no canonical key: upstream migrates it on read (§6.3).
        b"examples:/Graftegner/index.html": _json(_example("/Graftegner/index.html", "Graf")),
        b"examples:__trash__": _json(trash),
        b"svg:icons/star": _json(star),
        # Double-encoded SVG entry.
        b"svg:former/tr%C3%A6kant": _double(tri),
        b"figureAsset:former/tr%C3%A6kant": _json(tri_asset),
        b"figure:former/tr%C3%A6kant": _json(figure),
        b"figure:category:geometri": _json(category),
        b"figure:category:m-ling": _json(empty_category),
        b"settings:projects": _json(_settings()),
    }
    sets = {
        b"examples:__paths__": {b"/diagram", b"/br%C3%B8kvegg", b"/Graftegner/index.html"},
        b"svg:__slugs__": {b"icons/star", b"former/tr%C3%A6kant"},
        b"figureAsset:__slugs__": {b"former/tr%C3%A6kant"},
        b"figure:__slugs__": {b"former/tr%C3%A6kant"},
        b"figure:__categories__": {b"geometri", b"m-ling"},
    }
    return strings, sets
