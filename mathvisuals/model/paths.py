"""Identifier rules: example paths, SVG and figure slugs, category ids, tags and file base names."""

from __future__ import annotations

import functools
import re

from mathvisuals.model.jsuri import (
    decode_uri,
    decode_uri_component,
    encode_uri,
    encode_uri_component,
    slice_utf16,
    trim,
)

__all__ = [
    "RESERVED",
    "clean_string_list",
    "entry_slug",
    "is_reserved",
    "normalize_category_id",
    "normalize_path",
    "normalize_slug",
    "sanitize_file_base_name",
]

RESERVED = frozenset({"__slugs__", "__categories__", "__paths__", "__trash__"})

_MAX_PATH = 512
_MAX_SLUG = 512
_MAX_CATEGORY_ID = 128
_MAX_LIST_ITEM = 128

# re.ASCII everywhere: JavaScript's /i and \d (without the u flag) never match the Kelvin sign,
# long s or non-ASCII digits, while Python's Unicode mode would.
_FLAGS = re.ASCII | re.IGNORECASE
_BACKSLASHES = re.compile(r"\\+")
_SLASHES = re.compile(r"/+")
_INDEX_PAGE = re.compile(r"/index\.html?\Z", _FLAGS)
_HTML_SUFFIX = re.compile(r"\.html?\Z", _FLAGS)
_EXAMPLE_SEGMENT = re.compile(r"eksempel[-_]?[0-9]+", _FLAGS)
_ASSET_EXTENSION = re.compile(r"\.(?:svg|png)\Z", _FLAGS)
_CATEGORY_UNSAFE = re.compile(r"[^a-z0-9._-]+")
_HYPHENS = re.compile(r"-{2,}")
_FILE_EXTENSION = re.compile(r"\.[^/.]+\Z")
_FILE_UNSAFE = re.compile(r"[^a-z0-9._-]+", _FLAGS)


def normalize_path(value: object) -> str | None:
    return _normalize_path(value) if isinstance(value, str) else None


@functools.lru_cache(maxsize=8192)  # pure, and every listing normalises every member again
def _normalize_path(value: str) -> str | None:
    path = trim(value)
    if not path:
        return None
    if not path.startswith("/"):
        path = "/" + path
    path = _SLASHES.sub("/", _BACKSLASHES.sub("/", path))
    path, index_pages = _INDEX_PAGE.subn("/", path)
    if not index_pages:
        path = _HTML_SUFFIX.sub("", path)
    path = _strip_example_segments(path)
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    try:
        decoded = decode_uri(path)
    except ValueError:
        decoded = path
    try:
        # encode_uri writes upper-case hex and escapes every "%", so no hex is left to upper-case.
        path = encode_uri(decoded.lower())
    except ValueError:
        return None  # a lone surrogate: JavaScript throws URIError, and no key can hold it
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    if not path.startswith("/"):
        path = "/" + path
    return path[:_MAX_PATH]


def _strip_example_segments(path: str) -> str:
    while True:
        bare = path.rstrip("/")
        cut = bare.rfind("/")
        if cut < 0 or not _EXAMPLE_SEGMENT.fullmatch(bare, cut + 1):
            return path
        path = bare[: cut + 1]


def normalize_slug(value: object) -> str | None:
    return _normalize_slug(value) if isinstance(value, str) else None


@functools.lru_cache(maxsize=8192)  # pure, and each raw read normalises its slug more than once
def _normalize_slug(value: str) -> str | None:
    slug = _SLASHES.sub("/", _BACKSLASHES.sub("/", trim(value))).strip("/")
    if not slug:
        return None
    segments = []
    for segment in slug.split("/"):
        try:
            decoded = decode_uri_component(segment)
        except ValueError:
            decoded = segment
        try:
            segments.append(encode_uri_component(decoded.lower()))
        except ValueError:
            return None  # a lone surrogate: JavaScript throws URIError, and no key can hold it
    return "/".join(segments)[:_MAX_SLUG]


def entry_slug(value: object) -> str | None:
    slug = normalize_slug(value)
    if slug is None:
        return None
    return _ASSET_EXTENSION.sub("", slug)


def is_reserved(name: str) -> bool:
    return name in RESERVED


def normalize_category_id(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    lowered = trim(value).lower()
    category_id = _HYPHENS.sub("-", _CATEGORY_UNSAFE.sub("-", lowered).strip("-"))
    return category_id[:_MAX_CATEGORY_ID] or None


def clean_string_list(value: object) -> list[str]:
    if not isinstance(value, list):
        return []
    seen: dict[str, None] = {}
    for item in value:
        if isinstance(item, str) and (text := trim(item)):
            seen.setdefault(slice_utf16(text, _MAX_LIST_ITEM))
    return list(seen)


def sanitize_file_base_name(value: object) -> str:
    if not isinstance(value, str):
        return ""
    stem = _FILE_EXTENSION.sub("", trim(value))
    return _FILE_UNSAFE.sub("-", stem).strip("-")
