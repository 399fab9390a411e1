"""Examples entries: request validation (§7.3, §7.3.1) and sanitisation on write and read."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping

from mathvisuals.model.jsuri import JS_WHITESPACE, trim

__all__ = [
    "FALLBACK_DESCRIPTION_FIELDS",
    "MAX_SVG_BYTES",
    "REMOVED_KEYS",
    "html_to_text",
    "normalize_description",
    "sanitize_deleted_provided",
    "sanitize_entry",
    "sanitize_example",
    "validate_payload",
]

TYPE_KEY = "__mathVisualsType__"
VALUE_KEY = "__mathVisualsValue__"
MAX_SVG_BYTES = 120_000
FALLBACK_DESCRIPTION_FIELDS = (
    "descriptionHtml",
    "descriptionHTML",
    "description_html",
    "descriptionRich",
    "description_rich",
    "descriptionRichText",
    "description_rich_text",
    "richDescription",
    "taskDescription",
    "task_description",
    "taskText",
    "task_text",
    "task",
    "oppgave",
    "oppgavetekst",
    "oppgaveTekst",
)
REMOVED_KEYS = (
    "__isTemporaryExample",
    "__openRequestId",
    "__openRequestSourcePath",
    "__openRequestCreatedAt",
    "__openRequestNoticePending",
    "__openRequestNoticeShown",
    "temporary",
)
_HTML_FIELDS = frozenset(
    name for name in FALLBACK_DESCRIPTION_FIELDS if re.search("html|rich", name, re.IGNORECASE)
)

_FLAGS = re.ASCII | re.IGNORECASE
_SCRIPT_OR_STYLE = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", _FLAGS | re.DOTALL)
_BR = re.compile(r"<br\b[^>]*>", _FLAGS)
_LI = re.compile(r"<li\b[^>]*>", _FLAGS)
_BLOCK_END = re.compile(
    r"</(?:p|div|section|article|li|tr|thead|tbody|tfoot|table|h[1-6])\b[^>]*>", _FLAGS
)
_TAG = re.compile(r"<[^>]+>")
_LINE_BREAK = re.compile(r"\r\n?")
_SPACE_BEFORE_NEWLINE = re.compile(r"[ \t]+\n")
_BLANK_LINES = re.compile(r"\n{3,}")
_WHITESPACE_RUN = re.compile(f"[{re.escape(JS_WHITESPACE)}]+")


def validate_payload(body: object) -> str | None:
    """The first §7.3 reason for a 400, or None when the body may be written."""
    if not isinstance(body, dict) or not isinstance(body.get("examples"), list):
        return "examples must be an array"
    deleted = body.get("deletedProvided")
    if not isinstance(deleted, list):
        return "deletedProvided must be an array"
    if body.get("updatedAt") is not None and not isinstance(body["updatedAt"], str):
        return "updatedAt must be a string when provided"
    error = _deep_error(body["examples"])
    if error is not None:
        return error
    for index, item in enumerate(deleted):
        if not isinstance(item, str):
            return f"deletedProvided[{index}] must be a string"
    return None


# A location is built only for an error: each node keeps (parent location, key).
_Location = tuple["_Location", str | int] | None
_PLAIN_TYPES = frozenset({str, int, bool, type(None)})


def _is_valid_scalar(value: object) -> bool:
    if type(value) in _PLAIN_TYPES or isinstance(value, str | int) or value is None:
        return True
    return isinstance(value, float) and math.isfinite(value)


def _render(location: _Location) -> str:
    keys: list[str | int] = []
    while location is not None:
        location, key = location
        keys.append(key)
    return "examples" + "".join(
        f"[{key}]" if isinstance(key, int) else f".{key}" for key in reversed(keys)
    )


def _deep_error(examples: list[object]) -> str | None:
    # Iterative depth-first pre-order, so deeply nested bodies cannot hit the recursion limit and
    # the first error is the one a recursive walk would meet. Valid scalars are never pushed.
    pending: list[tuple[object, _Location]] = [(examples, None)]
    while pending:
        value, location = pending.pop()
        items: Iterable[tuple[str | int, object]]
        if isinstance(value, list):
            items = enumerate(value)
        elif isinstance(value, dict):
            if TYPE_KEY in value:
                error = _marker_error(value)
                if error is not None:
                    return _render(location) + error
            items = value.items()
        elif isinstance(value, float):
            return f"{_render(location)} must be a finite number"
        else:
            return f"{_render(location)} contains unsupported type"
        children = [(child, (location, key)) for key, child in items if not _is_valid_scalar(child)]
        children.reverse()
        pending.extend(children)
    return None


def _marker_error(marker: dict[object, object]) -> str | None:
    """The error text after the marker's location, or None."""
    kind = marker[TYPE_KEY]
    value = marker.get(VALUE_KEY)
    if kind == "map":
        if not isinstance(value, list):
            return f".{VALUE_KEY} must be an array for map"
        for index, entry in enumerate(value):
            if not isinstance(entry, list) or len(entry) < 2:
                return f" map entry {index} must be an array with key and value"
    elif kind == "set":
        if not isinstance(value, list):
            return f".{VALUE_KEY} must be an array for set"
    elif kind == "date":
        if not isinstance(value, str):
            return f".{VALUE_KEY} must be a string for date"
    elif kind == "regexp":
        if not isinstance(marker.get("pattern"), str):
            return ".pattern must be a string for regexp"
        if "flags" in marker and not isinstance(marker["flags"], str):
            return ".flags must be a string for regexp"
    else:
        return f" has unsupported {TYPE_KEY} '{_js_string(kind)}'"
    return None


def _js_string(value: object) -> str:
    """``String(value)`` for JSON values, as the upstream error text interpolated it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ",".join("" if item is None else _js_string(item) for item in value)
    if isinstance(value, dict):
        return "[object Object]"
    return str(value)


def sanitize_entry(path: str, body: Mapping[str, object], now: str) -> dict[str, object]:
    examples = body.get("examples")
    updated_at = body.get("updatedAt")
    return {
        "path": path,
        "examples": (
            [sanitize_example(item) for item in examples if isinstance(item, dict)]
            if isinstance(examples, list)
            else []
        ),
        "deletedProvided": sanitize_deleted_provided(body.get("deletedProvided")),
        "updatedAt": updated_at if isinstance(updated_at, str) else now,
    }


def sanitize_example(example: Mapping[str, object]) -> dict[str, object]:
    result = dict(example)
    result["description"] = _description(example)
    for name in FALLBACK_DESCRIPTION_FIELDS:
        result.pop(name, None)
    svg = result.get("svg")
    if isinstance(svg, str):
        result["svg"] = _fit_svg(svg)
    for name in REMOVED_KEYS:
        result.pop(name, None)
    return result


def _description(example: Mapping[str, object]) -> str:
    own = example.get("description")
    if isinstance(own, str) and trim(own):
        return normalize_description(own)
    for name in FALLBACK_DESCRIPTION_FIELDS:
        value = example.get(name)
        if isinstance(value, str) and trim(value):
            return html_to_text(value) if name in _HTML_FIELDS else normalize_description(value)
    return ""


def normalize_description(text: str) -> str:
    text = _LINE_BREAK.sub("\n", text).replace("\xa0", " ")
    text = _BLANK_LINES.sub("\n\n", _SPACE_BEFORE_NEWLINE.sub("\n", text))
    return trim(text)


def html_to_text(html: str) -> str:
    text = _SCRIPT_OR_STYLE.sub("", html)
    text = _LI.sub("\n- ", _BR.sub("\n", text))
    text = _TAG.sub("", _BLOCK_END.sub("\n", text))
    return normalize_description(text)


def _utf8_length(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _fit_svg(svg: str) -> str:
    svg = trim(svg)
    # Each character takes 1 to 4 bytes, so the exact count is only needed in between.
    if len(svg) * 4 <= MAX_SVG_BYTES:
        return svg
    if len(svg) <= MAX_SVG_BYTES and _utf8_length(svg) <= MAX_SVG_BYTES:
        return svg
    svg = _WHITESPACE_RUN.sub(" ", svg)
    return svg if _utf8_length(svg) <= MAX_SVG_BYTES else ""


def sanitize_deleted_provided(value: object) -> list[str]:
    if not isinstance(value, list):
        return []
    seen: dict[str, None] = {}
    for item in value:
        if isinstance(item, str) and (text := trim(item)):
            seen.setdefault(text)
    return list(seen)
