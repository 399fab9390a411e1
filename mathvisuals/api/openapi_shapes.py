"""Response body shapes of the OpenAPI document (api.md §7–§14), kept apart from the routes.

Objects stay open (``additionalProperties`` is allowed) where upstream passes client fields
through; the fields a client relies on are listed and required.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

_STR = {"type": "string"}
_STRINGS = {"type": "array", "items": _STR}
_BOOL = {"type": "boolean"}
_OPEN = {"type": "object"}

META_PROPERTIES: Schema = {
    "storage": {"type": "string", "enum": ["kv", "memory"]},
    "mode": {"type": "string", "enum": ["kv", "memory"]},
    "storageMode": {"type": "string", "enum": ["kv", "memory"]},
    "persistent": _BOOL,
    "ephemeral": _BOOL,
    "limitation": _STR,
}
_META_REQUIRED = ["storage", "mode", "storageMode", "persistent", "ephemeral"]


def with_meta(properties: Schema, required: list[str]) -> Schema:
    return {
        "type": "object",
        "properties": {**META_PROPERTIES, **properties},
        "required": [*_META_REQUIRED, *required],
    }


ERROR: Schema = {
    "type": "object",
    "properties": {"error": _STR, "message": _STR},
    "required": ["error"],
}

EXAMPLES_ENTRY: Schema = {
    "type": "object",
    "properties": {
        "path": _STR,
        "examples": {"type": "array", "items": _OPEN},
        "deletedProvided": _STRINGS,
        "updatedAt": _STR,
        **META_PROPERTIES,
    },
    "required": ["path", "examples", "deletedProvided", "updatedAt"],
}
EXAMPLES_READ: Schema = {
    "anyOf": [
        with_meta({"entries": {"type": "array", "items": EXAMPLES_ENTRY}}, ["entries"]),
        with_meta(EXAMPLES_ENTRY["properties"], EXAMPLES_ENTRY["required"]),
    ]
}
EXAMPLES_WRITTEN: Schema = with_meta(EXAMPLES_ENTRY["properties"], EXAMPLES_ENTRY["required"])
OK: Schema = with_meta({"ok": {"const": True}}, ["ok"])

_TRASH_ITEM: Schema = {
    "type": "object",
    "properties": {
        "id": _STR,
        "example": {},
        "deletedAt": _STR,
        "sourcePath": {"type": ["string", "null"]},
        "sourcePathRaw": {"type": "null"},
        "sourceHref": {"type": ["string", "null"]},
        "sourceTitle": _STR,
        "reason": _STR,
        "removedAtIndex": {"type": ["integer", "null"]},
        "label": {"type": ["string", "null"]},
        "importedFromHistory": _BOOL,
        "metadata": {"type": ["object", "null"]},
        "sourceActive": _BOOL,
        "sourceArchived": _BOOL,
    },
    "required": ["id", "example", "deletedAt", "sourceActive", "sourceArchived"],
}
_TRASH_ENTRIES = {"type": "array", "items": _TRASH_ITEM}
TRASH_LIST: Schema = with_meta({"entries": _TRASH_ENTRIES}, ["entries"])
TRASH_REMOVED: Schema = with_meta(
    {"entries": _TRASH_ENTRIES, "removed": {"type": "integer"}, "entryId": _STR},
    ["entries", "removed"],
)
TRASH_ERROR: Schema = with_meta({"error": _STR, "message": _STR}, ["error"])

_FILE = {"type": "object", "properties": {"slug": _STR, "filename": _STR, "url": _STR}}
SVG_ENTRY: Schema = {
    "type": "object",
    "properties": {
        "slug": _STR,
        "baseName": _STR,
        "title": _STR,
        "tool": _STR,
        "svg": _STR,
        "createdAt": _STR,
        "updatedAt": _STR,
        "filename": _STR,
        "files": {"type": "object", "properties": {"svg": _FILE, "png": _FILE}},
        "urls": {"type": "object", "properties": {"svg": _STR, "png": _STR}},
        **META_PROPERTIES,
    },
    "required": ["slug", "baseName", "svg", "files", "urls"],
}
SVG_READ: Schema = {
    "anyOf": [
        with_meta({"entries": {"type": "array", "items": SVG_ENTRY}}, ["entries"]),
        SVG_ENTRY,
    ]
}
SVG_DELETED: Schema = {
    "type": "object",
    "properties": {"ok": {"const": True}, "slug": _STR},
    "required": ["ok", "slug"],
}

_CATEGORY: Schema = {
    "type": "object",
    "properties": {
        "id": _STR,
        "label": _STR,
        "figureSlugs": _STRINGS,
        "apps": {"type": "array"},
        "createdAt": _STR,
        "updatedAt": _STR,
    },
    "required": ["id", "label"],
}
_CATEGORIES = {"type": "array", "items": _CATEGORY}
_FIGURE = {
    **SVG_ENTRY,
    "properties": {
        **SVG_ENTRY["properties"],
        "categoryId": {"type": ["string", "null"]},
        "tags": _STRINGS,
    },
    "required": ["slug", "categoryId", "tags"],
}
FIGURE_READ: Schema = {
    "anyOf": [
        with_meta(
            {"entries": {"type": "array", "items": _FIGURE}, "categories": _CATEGORIES},
            ["entries", "categories"],
        ),
        with_meta({"entry": _FIGURE, "categories": _CATEGORIES}, ["entry", "categories"]),
    ]
}
FIGURE_WRITTEN: Schema = {
    "anyOf": [
        with_meta({"entry": _FIGURE, "categories": _CATEGORIES}, ["entry", "categories"]),
        with_meta({"category": _CATEGORY, "categories": _CATEGORIES}, ["category", "categories"]),
    ]
}
FIGURE_DELETED: Schema = with_meta(
    {"deleted": {"type": "object"}, "categories": _CATEGORIES}, ["deleted", "categories"]
)
FIGURE_CONFLICT: Schema = with_meta(
    {
        "error": {"const": "Category contains figures"},
        "category": {
            "type": "object",
            "properties": {"id": _STR, "figureCount": {"type": "integer"}},
            "required": ["id", "figureCount"],
        },
        "categories": _CATEGORIES,
    },
    ["error", "category"],
)

_COLOURS = {"type": "array", "items": {"type": "string", "pattern": "^#[0-9a-f]{6}$"}}
SETTINGS: Schema = {
    "type": "object",
    "properties": {
        "settings": {
            "type": "object",
            "properties": {
                "version": {"const": 1},
                "projects": {
                    "type": "object",
                    "additionalProperties": {
                        "type": "object",
                        "properties": {
                            "groupPalettes": {
                                "type": "object",
                                "additionalProperties": _COLOURS,
                            },
                            "defaultColors": _COLOURS,
                        },
                        "required": ["groupPalettes", "defaultColors"],
                    },
                },
                "activeProject": _STR,
                "projectOrder": _STRINGS,
                "updatedAt": {"type": ["string", "null"]},
                "defaultColors": _COLOURS,
            },
            "required": ["version", "projects", "activeProject", "projectOrder", "defaultColors"],
        },
        "storage": {
            "type": "object",
            "properties": {"mode": {"enum": ["kv", "memory"]}, "persistent": _BOOL},
            "required": ["mode", "persistent"],
        },
        "reset": {"const": True},
    },
    "required": ["settings", "storage"],
}

HEALTH: Schema = {
    "type": "object",
    "properties": {
        "mode": {"enum": ["kv", "memory"]},
        "persistent": _BOOL,
        "redis": {
            "type": "object",
            "properties": {
                "configured": _BOOL,
                "reachable": _BOOL,
                "latency_ms": {"type": ["integer", "null"]},
            },
            "required": ["configured", "reachable", "latency_ms"],
        },
        "version": _STR,
    },
    "required": ["mode", "persistent", "redis", "version"],
}
