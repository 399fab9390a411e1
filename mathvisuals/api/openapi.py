"""The OpenAPI 3.1 document of the storage API, served at ``/api/openapi.json``."""

from __future__ import annotations

from functools import cache
from typing import Any

from starlette.responses import Response

from mathvisuals import __version__, jsonfmt

JSON = "application/json"


def _query(name: str, description: str, required: bool = False) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "schema": {"type": "string"},
        "description": description,
    }


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": False, "content": {JSON: {"schema": schema}}}


def _responses(*codes: int) -> dict[str, Any]:
    texts = {
        200: "OK",
        204: "Preflight answered",
        400: "Invalid request (JSON error body)",
        404: "Not found",
        405: "Method not allowed",
        409: "Category contains figures",
        413: "Request body too large",
        500: "Internal error",
        503: "Redis unavailable (kv mode)",
    }
    answers: dict[str, Any] = {}
    for code in sorted(set(codes)):
        answer: dict[str, Any] = {"description": texts[code]}
        if code != 204:
            answer["content"] = {JSON: {"schema": {"type": "object"}}}
        answers[str(code)] = answer
    return answers


_OBJECT = {"type": "object", "additionalProperties": True}
_EXAMPLES_BODY = {
    "type": "object",
    "properties": {
        "path": {"type": "string"},
        "examples": {"type": "array", "items": _OBJECT},
        "deletedProvided": {"type": "array", "items": {"type": "string"}},
        "updatedAt": {"type": ["string", "null"]},
    },
    "required": ["examples", "deletedProvided"],
}
_TRASH_BODY = {
    "type": "object",
    "properties": {
        "entries": {"type": "array", "items": _OBJECT},
        "mode": {"type": "string", "enum": ["prepend", "append"]},
        "limit": {"type": "integer"},
        "replace": {"type": "boolean"},
        "ids": {"type": "array", "items": {"type": "string"}},
    },
}
_SVG_PROPERTIES: dict[str, Any] = {
    "slug": {"type": "string"},
    "svg": {"type": "string"},
    "png": {"type": ["string", "object", "null"]},
    "title": {"type": ["string", "null"]},
    "displayTitle": {"type": ["string", "null"]},
    "baseName": {"type": "string"},
    "tool": {"type": "string"},
    "altText": {"type": "string"},
    "altTextSource": {"type": "string"},
    "summary": {"type": "string"},
    "description": {"type": "string"},
}
_SVG_BODY = {"type": "object", "properties": _SVG_PROPERTIES}
_FIGURE_BODY = {
    "type": "object",
    "properties": {
        **_SVG_PROPERTIES,
        "categoryId": {"type": ["string", "null"]},
        "category": _OBJECT,
        "categoryLabel": {"type": "string"},
        "categoryApps": {"type": "array", "items": {"type": "string"}},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
}
_SETTINGS_BODY = {"type": "object", "properties": {"settings": _OBJECT}}
_RAW = {
    "parameters": [
        _query("path", "Asset path, e.g. /icons/star.svg"),
        _query("slug", "Asset slug"),
        _query("format", "svg or png"),
    ],
    "get": {
        "summary": "The stored SVG markup or PNG bytes",
        "responses": {
            "200": {"description": "The asset (image/svg+xml or image/png)"},
            "404": {"description": "Not Found (text/plain)"},
            "503": {"description": "Redis unavailable"},
        },
    },
}


def _op(summary: str, codes: tuple[int, ...], body: dict[str, Any] | None = None) -> Any:
    operation: dict[str, Any] = {"summary": summary, "responses": _responses(*codes)}
    if body is not None:
        operation["requestBody"] = _body(body)
    return operation


READ = (200, 404, 503)
WRITE = (200, 400, 413, 503)


@cache
def document() -> dict[str, Any]:
    path_q = _query("path", "Page path, e.g. /diagram/index.html (normalised)")
    slug_q = _query("slug", "Entry slug")
    figure_params = [
        slug_q,
        _query("categoryId", "Category id"),
        _query("view", "summary: without svg/png payloads"),
    ]
    return {
        "openapi": "3.1.0",
        "info": {"title": "Math Visuals storage API", "version": __version__},
        "paths": {
            "/api/examples": {
                "parameters": [path_q],
                "get": _op("One entry (with path) or all", READ),
                "put": _op("Store an entry", WRITE, _EXAMPLES_BODY),
                "post": _op("Store an entry", WRITE, _EXAMPLES_BODY),
                "delete": _op("Delete an entry", (200, 400, 503)),
            },
            "/api/examples/trash": {
                "parameters": [_query("entryId", "Trash entry to delete permanently")],
                "get": _op("The trash", (200, 503)),
                "post": _op("Add to the trash", WRITE, _TRASH_BODY),
                "delete": _op("Remove by entryId or ids", (200, 400, 503), _TRASH_BODY),
            },
            "/api/svg": {
                "parameters": [slug_q],
                "get": _op("One entry (with slug) or all", READ),
                "post": _op("Store an SVG entry", WRITE, _SVG_BODY),
                "put": _op("Store an SVG entry", WRITE, _SVG_BODY),
                "patch": _op("Rename or retitle", (*WRITE, 404), _SVG_BODY),
                "delete": _op("Delete an entry", (200, 400, 404, 503), _SVG_BODY),
            },
            "/api/svg/raw": _RAW,
            "/api/figure-library": {
                "parameters": figure_params,
                "get": _op("Figures and categories", READ),
                "post": _op("Upsert a figure or a category", WRITE, _FIGURE_BODY),
                "patch": _op("Merge into a figure or category", (*WRITE, 404), _FIGURE_BODY),
                "delete": _op(
                    "Delete a figure or an empty category", (*READ, 400, 409), _FIGURE_BODY
                ),
            },
            "/api/figure-library/raw": _RAW,
            "/api/settings": {
                "get": _op("Colour settings", (200, 500, 503)),
                "put": _op("Store settings", WRITE, _SETTINGS_BODY),
                "post": _op("Store settings", WRITE, _SETTINGS_BODY),
                "delete": _op("Reset to defaults", (200, 503)),
            },
            "/api/health": {"get": _op("Mode, Redis reachability, version", (200, 503))},
        },
    }


def response() -> Response:
    return Response(jsonfmt.dumps(document()), media_type=JSON)
