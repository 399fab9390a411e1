"""SVG entry records (spec §9.2), SVG PATCH (§9.3) and raw-asset descriptors (§10). No I/O."""

from __future__ import annotations

import copy
import functools
import math
import re
from collections.abc import Callable, Mapping
from typing import Any, Literal
from urllib.parse import quote_plus

from mathvisuals import jsonfmt
from mathvisuals.model.jsuri import trim
from mathvisuals.model.paths import is_reserved, normalize_slug, sanitize_file_base_name

Record = dict[str, Any]
UrlFor = Callable[[str], str]
AssetFormat = Literal["svg", "png"]
AltTextSource = Literal["manual", "auto"]

PNG_REQUIRED = "PNG data is required"
TITLE_NOT_STRING = "Title must be a string value."
DISPLAY_TITLE_NOT_STRING = "displayTitle must be a string value."
BASE_NAME_NOT_STRING = "baseName must be a string value."
BASE_NAME_EMPTY = "baseName må inneholde bokstaver eller tall."
NO_UPDATABLE_FIELDS = "No updatable fields provided"

PATCH_KEYS = ("altText", "altTextSource", "title", "displayTitle", "baseName")
LIBRARY_UPLOAD_TOOL = "bibliotek-upload"

_PNG_PREFIX = re.compile(r"data:image/png;base64,", re.IGNORECASE)
# What JavaScript's Number() accepts as a trimmed decimal literal (hex, "Infinity" and "" aside).
_NUMERIC = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_RAW_SLUG = re.compile(r"(.*?)(?:\.(svg|png))?", re.DOTALL)
_ASSET_EXTENSION = re.compile(r"\.(?:svg|png)$")


def is_png_data_url(value: str) -> bool:
    """The `^data:image/png;base64,` prefix check, case-insensitive."""
    return _PNG_PREFIX.match(value) is not None


def png_data_url(value: object) -> str | None:
    """The trimmed data URL of a `png` value (a string or `{dataUrl,…}`); None when empty."""
    if isinstance(value, Mapping):
        value = value.get("dataUrl")
    if not isinstance(value, str):
        return None
    return trim(value) or None


def png_dimension(value: object) -> int | None:
    """A positive finite size, rounded half up like `Math.round`; numeric strings accepted."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = trim(value)
        if not _NUMERIC.fullmatch(value):
            return None
        value = float(value)
    if not isinstance(value, int | float):
        return None
    number = float(value)
    if not math.isfinite(number) or number <= 0:
        return None
    rounded = math.floor(number + 0.5)
    return rounded if rounded > 0 else None


ARCHIVE_PREFIX = "bildearkiv/"


def svg_url(asset_slug: str) -> str:
    """`/bildearkiv/<assetSlug>`; a slug already under `bildearkiv/` becomes `/<slug>`."""
    trimmed = asset_slug.lstrip("/")
    if trimmed.startswith(ARCHIVE_PREFIX):
        return "/" + trimmed
    return "/" + ARCHIVE_PREFIX + trimmed


def archive_alias(base_slug: str) -> str | None:
    """The other name an archived SVG is asked for by, tried when its own name finds nothing.

    The archive page turns an entry's URL ``/bildearkiv/<slug>`` into
    ``/api/svg/raw?path=bildearkiv/<slug>`` (upstream ``svg-arkiv.js``), keeping the prefix;
    and an entry whose slug starts with ``bildearkiv/`` gets that URL without the prefix
    doubled (:func:`svg_url`), which the friendly-URL rewrite then strips. Either way the
    page would show a broken image; a miss under one name looks under the other.
    """
    if base_slug.startswith(ARCHIVE_PREFIX):
        alias = base_slug[len(ARCHIVE_PREFIX) :]
    else:
        alias = ARCHIVE_PREFIX + base_slug
    return alias if alias and not is_reserved(alias) else None


def figure_asset_url(asset_slug: str) -> str:
    """`/api/figure-library/raw?slug=<asset slug>`, encoded as `URLSearchParams` does."""
    # application/x-www-form-urlencoded keeps only alphanumerics and `*-._`; Python keeps `~`.
    encoded = quote_plus(asset_slug, safe="*").replace("~", "%7E")
    return "/api/figure-library/raw?slug=" + encoded


def _text(value: object) -> str:
    return trim(value) if isinstance(value, str) else ""


def _optional_text(value: object) -> str | None:
    return _text(value) or None


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _alt_text_source(value: object) -> AltTextSource | None:
    normalized = _text(value).lower()
    if normalized == "manual":
        return "manual"
    if normalized == "auto":
        return "auto"
    return None


def _example_state(value: object) -> Any | None:
    """An object (or array), or a JSON string that parses to one; else None."""
    if isinstance(value, str):
        text = trim(value)
        if not text:
            return None
        try:
            value = jsonfmt.loads(text)
        except jsonfmt.InvalidJSONError:
            return None
    if isinstance(value, Mapping | list):
        return copy.deepcopy(dict(value) if isinstance(value, Mapping) else value)
    return None


def _base_name(slug: str, payload: Mapping[str, object], stored: Mapping[str, Any]) -> str:
    files = _mapping(stored.get("files"))
    candidates: list[object] = [
        payload.get("baseName"),
        payload.get("filename"),
        payload.get("svgFilename"),
        payload.get("pngFilename"),
        stored.get("baseName"),
        stored.get("filename"),
        _mapping(files.get("svg")).get("filename"),
        _mapping(files.get("png")).get("filename"),
        slug.rsplit("/", 1)[-1],
    ]
    for candidate in candidates:
        name = sanitize_file_base_name(candidate)
        if name:
            return name
    return "export"


def _stored_png(stored: Mapping[str, Any]) -> tuple[str | None, int | None, int | None]:
    png_file = _mapping(_mapping(stored.get("files")).get("png"))
    return (
        png_data_url(stored.get("png")),
        png_dimension(png_file.get("width")),
        png_dimension(png_file.get("height")),
    )


def _png(
    payload: Mapping[str, object], stored: Mapping[str, Any]
) -> tuple[str, int | None, int | None] | None:
    """(dataUrl, width, height) per §9.2, or None when the entry has no PNG."""
    stored_url, stored_width, stored_height = _stored_png(stored)
    if "png" in payload:
        data_url = png_data_url(payload["png"])
        png_object = _mapping(payload["png"])
    else:
        data_url, png_object = stored_url, {}
    if data_url is None:
        return None
    width = png_dimension(png_object.get("width"))
    if width is None:
        width = png_dimension(payload.get("pngWidth"))
    if width is None:
        width = stored_width
    height = png_dimension(png_object.get("height"))
    if height is None:
        height = png_dimension(payload.get("pngHeight"))
    if height is None:
        height = stored_height
    return data_url, width, height


def _alt_text(
    payload: Mapping[str, object], stored: Mapping[str, Any]
) -> tuple[str | None, AltTextSource | None]:
    sent = "altText" in payload
    alt_text = _optional_text(payload["altText"]) if sent else _optional_text(stored.get("altText"))
    source = _alt_text_source(payload.get("altTextSource"))
    if source is None and sent:
        source = "manual" if alt_text else "auto"
    if source is None:
        source = _alt_text_source(stored.get("altTextSource"))
    if source is None and alt_text:
        source = "manual"
    return alt_text, source


def _resolved_example_state(payload: Mapping[str, object], stored: Mapping[str, Any]) -> Any | None:
    state = _example_state(payload.get("exampleState"))
    return state if state is not None else _example_state(stored.get("exampleState"))


def _assemble(
    slug: str,
    *,
    base_name: str,
    title: str,
    tool: str,
    svg: str,
    created_at: str,
    updated_at: str,
    png: tuple[str, int | None, int | None] | None,
    summary: str | None,
    description: str | None,
    alt_text: str | None,
    alt_text_source: AltTextSource | None,
    example_state: Any | None,
    url_for: UrlFor,
) -> Record:
    """Lay the fields out in the key order of the §9.2 JSON, leaving absent keys out."""
    svg_slug = f"{slug}.svg"
    svg_filename = f"{base_name}.svg"
    svg_file = {
        "slug": svg_slug,
        "filename": svg_filename,
        "url": url_for(svg_slug),
        "contentType": "image/svg+xml",
    }
    entry: Record = {
        "slug": slug,
        "baseName": base_name,
        "title": title,
        "tool": tool,
        "svg": svg,
        "createdAt": created_at,
        "updatedAt": updated_at,
        "filename": svg_filename,
        "svgFilename": svg_filename,
        "svgSlug": svg_slug,
        "files": {"svg": svg_file},
        "urls": {"svg": svg_file["url"]},
    }
    if png is not None:
        data_url, width, height = png
        png_slug = f"{slug}.png"
        png_file: Record = {
            "slug": png_slug,
            "filename": f"{base_name}.png",
            "url": url_for(png_slug),
            "contentType": "image/png",
        }
        if width is not None:
            png_file["width"] = width
        if height is not None:
            png_file["height"] = height
        entry["files"]["png"] = png_file
        entry["urls"]["png"] = png_file["url"]
        entry["png"] = data_url
        entry["pngFilename"] = png_file["filename"]
        entry["pngSlug"] = png_slug
        if width is not None:
            entry["pngWidth"] = width
        if height is not None:
            entry["pngHeight"] = height
    optional = {
        "summary": summary,
        "description": description,
        "altText": alt_text,
        "altTextSource": alt_text_source,
        "exampleState": example_state,
    }
    entry.update((key, value) for key, value in optional.items() if value is not None)
    return entry


def build_entry(
    slug: str,
    payload: Mapping[str, object],
    stored: Mapping[str, object] | None,
    now: str,
    *,
    url_for: UrlFor,
) -> Record:
    """The §9.2 entry (no mode fields) for entry slug `slug`; assets are `<slug>.svg|.png`."""
    old: Mapping[str, Any] = stored or {}
    svg = next((v for v in (payload.get("svg"), old.get("svg")) if isinstance(v, str)), "")
    alt_text, alt_text_source = _alt_text(payload, old)
    return _assemble(
        slug,
        base_name=_base_name(slug, payload, old),
        title=_text(payload.get("title")) or _text(old.get("title")),
        tool=_text(payload.get("tool")) or _text(old.get("tool")),
        svg=svg,
        created_at=_text(payload.get("createdAt")) or _text(old.get("createdAt")) or now,
        updated_at=now,
        png=_png(payload, old),
        summary=_optional_text(payload.get("summary")),
        description=_optional_text(payload.get("description")),
        alt_text=alt_text,
        alt_text_source=alt_text_source,
        example_state=_resolved_example_state(payload, old),
        url_for=url_for,
    )


def validate_patch(body: object) -> str | None:
    """The 400 reasons of §9.3 PATCH step 2, in order; None when the body is acceptable."""
    fields: Mapping[str, object] = body if isinstance(body, Mapping) else {}
    if "title" in fields and not isinstance(fields["title"], str | None):
        return TITLE_NOT_STRING
    if "displayTitle" in fields and not isinstance(fields["displayTitle"], str | None):
        return DISPLAY_TITLE_NOT_STRING
    if "baseName" in fields:
        if not isinstance(fields["baseName"], str):
            return BASE_NAME_NOT_STRING
        if not sanitize_file_base_name(fields["baseName"]):
            return BASE_NAME_EMPTY
    if not any(key in fields for key in PATCH_KEYS):
        return NO_UPDATABLE_FIELDS
    return None


def _rename(entry: Record, base_name: str) -> None:
    entry["baseName"] = base_name
    entry["filename"] = entry["svgFilename"] = f"{base_name}.svg"
    files = entry.get("files")
    if isinstance(files, dict):
        for ext in ("svg", "png"):
            if isinstance(files.get(ext), dict):
                files[ext] = {**files[ext], "filename": f"{base_name}.{ext}"}
    if "pngFilename" in entry:
        entry["pngFilename"] = f"{base_name}.png"


def apply_patch(
    stored: Mapping[str, Any], body: Mapping[str, object], now: str
) -> tuple[Record, bool] | str:
    """§9.3 PATCH steps 2 and 4 on the stored entry: an error text, or (entry, changed).

    Stored keys (mode fields included) keep their place; new ones are appended. The handler
    refreshes the mode fields and writes only when `changed`.
    """
    error = validate_patch(body)
    if error is not None:
        return error
    entry: Record = copy.deepcopy(dict(stored))
    for key in ("title", "displayTitle"):
        if key in body:
            value = _text(body[key])
            if value:
                entry[key] = value
            else:
                entry.pop(key, None)
    if "baseName" in body:
        _rename(entry, sanitize_file_base_name(body["baseName"]))
    if "altText" in body:
        alt_text = _text(body["altText"])
        if alt_text:
            entry["altText"] = alt_text
        else:
            entry.pop("altText", None)
    if "altText" in body or "altTextSource" in body:
        source = _alt_text_source(body.get("altTextSource"))
        if source is None and "altText" in body:
            source = "manual" if entry.get("altText") else "auto"
        if source is None and _text(entry.get("altText")):
            source = "manual"
        if source is not None:
            entry["altTextSource"] = source
        else:
            entry.pop("altTextSource", None)
    if any(key in body for key in ("title", "displayTitle", "baseName")):
        for key in ("displayTitle", "title", "baseName", "name", "slug"):
            name = _text(entry.get(key))
            if name:
                entry["name"] = name
                break
    if entry == stored:
        return entry, False
    entry["updatedAt"] = now
    return entry, True


def raw_descriptor(candidate: object, format_param: object) -> tuple[str, AssetFormat] | None:
    """§10 step 2: (base slug, format), or None when the slug is unresolvable or reserved."""
    if isinstance(candidate, str) and (format_param is None or isinstance(format_param, str)):
        return _cached_raw_descriptor(candidate, format_param)  # query values: hashable
    return _raw_descriptor(candidate, format_param)


def _raw_descriptor(candidate: object, format_param: object) -> tuple[str, AssetFormat] | None:
    normalized = normalize_slug(candidate)
    if normalized is None:
        return None
    match = _RAW_SLUG.fullmatch(normalized)
    assert match is not None  # the pattern matches every string
    base, extension = match.group(1), match.group(2)
    fmt: AssetFormat
    if extension == "png":
        fmt = "png"
    elif extension == "svg":
        fmt = "svg"
    else:
        fmt = "png" if _text(format_param).lower() in ("png", ".png") else "svg"
    base = _ASSET_EXTENSION.sub("", base, count=1)
    if not base or is_reserved(base):
        return None
    return base, fmt


# Pure, and the same few slugs are asked for again and again.
_cached_raw_descriptor = functools.lru_cache(maxsize=8192)(_raw_descriptor)


def list_visible(entry: Mapping[str, object]) -> bool:
    """False for the entries §9.3 keeps out of the GET list (library uploads, custom-, linked)."""
    if LIBRARY_UPLOAD_TOOL in (_text(entry.get("tool")), _text(entry.get("toolId"))):
        return False
    slug = entry.get("slug")
    if isinstance(slug, str) and slug.lower().startswith("custom-"):
        return False
    return not any(key in entry for key in ("categoryId", "category", "apps"))
