"""The OpenAPI 3.1 document of the storage API, served at ``/api/openapi.json``."""

from __future__ import annotations

from functools import cache
from typing import Any

from starlette.responses import Response

from mathvisuals import __version__, jsonfmt
from mathvisuals.api import openapi_shapes as shapes
from mathvisuals.model.svg import PATCH_KEYS

JSON = "application/json"


def _query(
    name: str,
    description: str,
    *,
    required: bool = False,
    schema: dict[str, Any] | None = None,
    example: str | None = None,
) -> dict[str, Any]:
    parameter: dict[str, Any] = {
        "name": name,
        "in": "query",
        "required": required,
        "schema": schema or {"type": "string"},
        "description": description,
    }
    if example is not None:
        parameter["example"] = example
    return parameter


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": False, "content": {JSON: {"schema": schema}}}


_TEXTS = {
    200: "OK",
    204: "Preflight answered",
    400: "Invalid request (JSON error body)",
    404: "Not found",
    409: "Category contains figures",
    413: "Request body too large",
    500: "Internal error (e.g. a corrupt stored value)",
    503: "Redis unavailable (kv mode)",
}


def _responses(ok: shapes.Schema, *codes: int) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for code in sorted({200, *codes}):
        schema = ok if code == 200 else shapes.FIGURE_CONFLICT if code == 409 else shapes.ERROR
        answers[str(code)] = {"description": _TEXTS[code], "content": {JSON: {"schema": schema}}}
    return answers


# The schemas describe what a request must look like to be stored; the API tolerates more
# (api.md §5.3: non-object bodies, wrong types), which the negative fuzzing in
# reliability/fuzz.py sends on purpose. A slug or id "starting with a letter or digit" always
# normalises to a usable, non-reserved key.
_OBJECT = {"type": "object", "additionalProperties": True}
_TEXT = {"type": "string", "pattern": r"\S"}
_STRINGS = {"type": "array", "items": {"type": "string"}}
_SLUG = {"type": "string", "pattern": "^[A-Za-z0-9]", "maxLength": 200, "examples": ["icons/star"]}
_CATEGORY_ID = {"type": "string", "pattern": "^[A-Za-z0-9]", "maxLength": 80}
_PNG_URL = {
    "type": "string",
    "pattern": "^data:image/png;base64,[A-Za-z0-9+/]*={0,2}$",
    "examples": ["data:image/png;base64,iVBORw0KGgo="],
}
_EXAMPLES_BODY = {
    "type": "object",
    "properties": {
        "path": {**_TEXT, "description": "Overrides ?path= when not blank"},
        "examples": {"type": "array", "items": _OBJECT},
        "deletedProvided": _STRINGS,
        "updatedAt": {"type": ["string", "null"]},
    },
    "required": ["examples", "deletedProvided"],
}
_TRASH_RECORD = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "example": {"type": "object", "minProperties": 1},
        "deletedAt": {"type": "string"},
        "sourcePath": {"type": "string"},
        "sourceHref": {"type": "string"},
        "sourceTitle": {"type": "string"},
        "reason": {"type": "string"},
        "removedAtIndex": {"type": ["integer", "null"]},
        "label": {"type": ["string", "null"]},
        "importedFromHistory": {"type": "boolean"},
        "metadata": _OBJECT,
    },
    "required": ["example"],
}
_TRASH_POST = {
    "type": "object",
    "properties": {
        "entries": {"type": "array", "items": _TRASH_RECORD},
        "mode": {"type": "string", "enum": ["prepend", "append"]},
        "limit": {"type": "integer", "minimum": 1},
        "replace": {"type": "boolean"},
    },
}
_TRASH_DELETE = {"type": "object", "properties": {"ids": _STRINGS}}
_PNG = {
    "anyOf": [
        _PNG_URL,
        {
            "type": "object",
            "properties": {
                "dataUrl": _PNG_URL,
                "width": {"type": "number"},
                "height": {"type": "number"},
            },
            "required": ["dataUrl"],
        },
    ]
}
_SVG_PROPERTIES: dict[str, Any] = {
    "slug": _SLUG,
    "svg": {"type": "string"},
    "png": _PNG,
    "pngWidth": {"type": "number"},
    "pngHeight": {"type": "number"},
    "title": {"type": ["string", "null"]},
    "baseName": {"type": "string"},
    "filename": {"type": "string"},
    "tool": {"type": "string"},
    "altText": {"type": "string"},
    "altTextSource": {"type": "string"},
    "summary": {"type": "string"},
    "description": {"type": "string"},
    "createdAt": {"type": "string"},
    "exampleState": _OBJECT,
}
_SVG_BODY = {"type": "object", "properties": _SVG_PROPERTIES, "required": ["slug", "png"]}
_SVG_PATCH = {
    "type": "object",
    "properties": {
        "slug": _SLUG,
        "title": {"type": ["string", "null"]},
        "displayTitle": {"type": ["string", "null"]},
        "baseName": {"type": "string", "pattern": "[A-Za-z0-9]"},
        "altText": {"type": "string"},
        "altTextSource": {"type": "string"},
    },
    "required": ["slug"],
    "anyOf": [{"required": [key]} for key in PATCH_KEYS],
}
_SLUG_BODY = {"type": "object", "properties": {"slug": _SLUG}}
_CATEGORY_FIELDS: dict[str, Any] = {
    "categoryId": _CATEGORY_ID,
    "categoryLabel": {"type": "string"},
    "categoryApps": _STRINGS,
    "category": {
        "type": "object",
        "properties": {"id": _CATEGORY_ID, "label": {"type": "string"}, "apps": _STRINGS},
    },
}
_FIGURE_PROPERTIES: dict[str, Any] = {
    **_SVG_PROPERTIES,
    **_CATEGORY_FIELDS,
    "categoryId": {"anyOf": [_CATEGORY_ID, {"type": "null"}]},
    "svg": _TEXT,
    "tags": _STRINGS,
}
_FIGURE_POST = {
    "anyOf": [
        {"type": "object", "properties": _FIGURE_PROPERTIES, "required": ["slug", "svg"]},
        {"type": "object", "properties": _CATEGORY_FIELDS, "required": ["categoryId"]},
    ]
}
_FIGURE_PATCH = {
    "anyOf": [
        {"type": "object", "properties": _FIGURE_PROPERTIES, "required": ["slug"]},
        {"type": "object", "properties": _CATEGORY_FIELDS, "required": ["categoryId"]},
    ]
}
_FIGURE_DELETE = {"type": "object", "properties": {"slug": _SLUG, "categoryId": _CATEGORY_ID}}
_SETTINGS_BODY = {"type": "object", "properties": {"settings": _OBJECT}}
_RAW_QUERY = [
    _query("path", "Asset path, e.g. /icons/star.svg", example="/icons/star.svg"),
    _query("slug", "Asset slug", example="icons/star"),
    _query(
        "format", "svg or png", schema={"type": "string", "enum": ["svg", "png"]}, example="png"
    ),
]
_RAW_SLUG = {
    "name": "slug",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]*$"},
    "description": "Asset slug with its extension; wins over the query (FIX-I)",
    "example": "star.svg",
}
_ASSET = {"type": "string", "contentEncoding": "binary"}
_RAW_ERRORS = {
    "404": {
        "description": "Not Found",
        "content": {"text/plain": {"schema": {"const": "Not Found"}}},
    },
    "500": {"description": _TEXTS[500], "content": {JSON: {"schema": shapes.ERROR}}},
    "503": {"description": _TEXTS[503], "content": {JSON: {"schema": shapes.ERROR}}},
}


def _raw(parameters: list[dict[str, Any]]) -> dict[str, Any]:
    """GET and HEAD of a raw route; with FIX-O headers on every answer."""
    get_ok = {
        "description": "The asset",
        "content": {"image/svg+xml": {"schema": _ASSET}, "image/png": {"schema": _ASSET}},
    }
    return {
        "parameters": parameters,
        "get": {
            "summary": "The stored SVG markup or PNG bytes",
            "responses": {"200": get_ok, **_RAW_ERRORS},
        },
        "head": {
            "summary": "The headers of GET, no body",
            "responses": {
                "200": {"description": "The asset's headers"},
                **{
                    code: {"description": answer["description"]}
                    for code, answer in _RAW_ERRORS.items()
                },
            },
        },
    }


def _op(
    summary: str, ok: shapes.Schema, codes: tuple[int, ...], body: dict[str, Any] | None = None
) -> Any:
    operation: dict[str, Any] = {"summary": summary, "responses": _responses(ok, *codes)}
    if body is not None:
        operation["requestBody"] = _body(body)
    return operation


_OPTIONS = {"summary": "CORS preflight", "responses": {"204": {"description": _TEXTS[204]}}}


READ = (404, 503)
SLUG_READ = (400, 404, 500, 503)  # 400 for a reserved slug, 500 for a corrupt value
WRITE = (400, 413, 503)


@cache
def document() -> dict[str, Any]:
    path_q = _query("path", "Page path, e.g. /diagram/index.html (normalised)", example="/diagram")
    write_path_q = _query(
        "path", "Page path (body.path, when not blank, wins)", required=True, schema=_TEXT
    )
    slug_q = _query("slug", "Entry slug", example="icons/star")
    figure_params = [
        _query("slug", "Figure slug", example="icons/star"),
        _query("categoryId", "Category id"),
        _query("view", "summary: without svg/png payloads", example="summary"),
    ]
    delete_path_q = _query("path", "Page path to delete", required=True, schema=_TEXT)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Math Visuals storage API", "version": __version__},
        "paths": {
            "/api/examples": {
                "get": {
                    **_op("One entry (with path) or all", shapes.EXAMPLES_READ, READ),
                    "parameters": [path_q],
                },
                "put": {
                    **_op("Store an entry", shapes.EXAMPLES_WRITTEN, WRITE, _EXAMPLES_BODY),
                    "parameters": [write_path_q],
                },
                "post": {
                    **_op("Store an entry", shapes.EXAMPLES_WRITTEN, WRITE, _EXAMPLES_BODY),
                    "parameters": [write_path_q],
                },
                "delete": {
                    **_op("Delete an entry", shapes.OK, (400, 503)),
                    "parameters": [delete_path_q],
                },
                "options": _OPTIONS,
            },
            "/api/examples/trash": {
                "get": _op("The trash", shapes.TRASH_LIST, (503,)),
                "post": _op("Add to the trash", shapes.TRASH_LIST, WRITE, _TRASH_POST),
                "delete": {
                    **_op(
                        "Remove by entryId or ids",
                        shapes.TRASH_REMOVED,
                        (400, 413, 503),
                        _TRASH_DELETE,
                    ),
                    "parameters": [_query("entryId", "Trash entry to delete permanently")],
                },
                "options": _OPTIONS,
            },
            "/api/svg": {
                "parameters": [slug_q],
                "get": _op("One entry (with slug) or all", shapes.SVG_READ, SLUG_READ),
                "post": _op("Store an SVG entry", shapes.SVG_ENTRY, (*WRITE, 500), _SVG_BODY),
                "put": _op("Store an SVG entry", shapes.SVG_ENTRY, (*WRITE, 500), _SVG_BODY),
                "patch": _op("Rename or retitle", shapes.SVG_ENTRY, (*WRITE, 404, 500), _SVG_PATCH),
                "delete": _op(
                    "Delete an entry", shapes.SVG_DELETED, (400, 404, 413, 503), _SLUG_BODY
                ),
                "options": _OPTIONS,
            },
            "/api/svg/raw": _raw(_RAW_QUERY),
            "/api/svg/raw/{slug}": _raw([_RAW_SLUG]),
            "/api/figure-library": {
                "parameters": figure_params,
                "get": _op("Figures and categories", shapes.FIGURE_READ, SLUG_READ),
                "post": _op(
                    "Upsert a figure or a category",
                    shapes.FIGURE_WRITTEN,
                    (*WRITE, 500),
                    _FIGURE_POST,
                ),
                "patch": _op(
                    "Merge into a figure or category",
                    shapes.FIGURE_WRITTEN,
                    (*WRITE, 404, 500),
                    _FIGURE_PATCH,
                ),
                "delete": _op(
                    "Delete a figure or an empty category",
                    shapes.FIGURE_DELETED,
                    (*SLUG_READ, 409, 413),
                    _FIGURE_DELETE,
                ),
                "options": _OPTIONS,
            },
            "/api/figure-library/raw": _raw(_RAW_QUERY),
            "/api/figure-library/raw/{slug}": _raw([_RAW_SLUG]),
            "/api/settings": {
                "get": _op("Colour settings", shapes.SETTINGS, (500, 503)),
                "put": _op("Store settings", shapes.SETTINGS, (*WRITE, 500), _SETTINGS_BODY),
                "post": _op("Store settings", shapes.SETTINGS, (*WRITE, 500), _SETTINGS_BODY),
                "delete": _op("Reset to defaults", shapes.SETTINGS, (500, 503)),
                "options": _OPTIONS,
            },
            "/api/health": {
                "get": {
                    "summary": "Mode, Redis reachability, version",
                    "responses": {
                        str(code): {
                            "description": _TEXTS[code],
                            "content": {JSON: {"schema": shapes.HEALTH}},
                        }
                        for code in (200, 503)
                    },
                },
                "options": _OPTIONS,
            },
            "/api/openapi.json": {
                "get": {
                    "summary": "This document",
                    "responses": {
                        "200": {
                            "description": "OK",
                            "content": {JSON: {"schema": {"type": "object"}}},
                        }
                    },
                },
                "head": {"summary": "Its headers", "responses": {"200": {"description": "OK"}}},
            },
        },
    }


def response() -> Response:
    return Response(jsonfmt.dumps(document()), media_type=JSON)
