"""Figure-library records (spec §11): assets, figures, categories, linkage and views. No I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mathvisuals.model.jsuri import trim
from mathvisuals.model.paths import clean_string_list, normalize_category_id
from mathvisuals.model.svg import (
    Record,
    build_entry,
    figure_asset_url,
    is_png_data_url,
    png_data_url,
    png_dimension,
)

SVG_REQUIRED = "SVG markup is required"
PNG_NOT_DATA_URL = "PNG data must be a base64-encoded data URL"
FIGURE_UNSTORABLE = "Unable to store figure entry"
CATEGORY_REQUIRED = "categoryId or category label is required"
CATEGORY_UNDERIVABLE = "Unable to update category"

MODE_KEYS = ("storage", "mode", "storageMode", "persistent", "ephemeral")
# `figure:` and `figure:category:` records always carry the kv values (§6.1).
KV_MODE_FIELDS: Mapping[str, object] = {
    "storage": "kv",
    "mode": "kv",
    "storageMode": "kv",
    "persistent": True,
    "ephemeral": False,
}

# Keys a figure PATCH may change besides svg/png (§11.5); they go through the §9.2 builder.
_PATCH_KEYS = (
    "pngWidth",
    "pngHeight",
    "summary",
    "description",
    "title",
    "tool",
    "altText",
    "altTextSource",
    "exampleState",
    "baseName",
)
_FIGURE_OWN_KEYS = frozenset({*MODE_KEYS, "limitation", "categoryId", "tags", "category"})


@dataclass(frozen=True)
class CategoryPayload:
    """What a request says about a category. `apps` is None when no apps key was sent."""

    id: str | None = None
    label: str | None = None
    apps: tuple[str, ...] | None = None
    description: str | None = None


@dataclass(frozen=True)
class Keep:
    """No category fields: the figure keeps its current link."""


@dataclass(frozen=True)
class Unlink:
    """Explicit `categoryId: null|""` (no label) or `category: {}`: the figure is unlinked."""


@dataclass(frozen=True)
class Link:
    """Upsert category `category_id` from `payload` and link the figure to it."""

    category_id: str
    payload: CategoryPayload


LinkIntent = Keep | Unlink | Link


def _text(value: object) -> str:
    return trim(value) if isinstance(value, str) else ""


def _fields(body: object) -> Mapping[str, Any]:
    return body if isinstance(body, Mapping) else {}


def _png_error(body: Mapping[str, Any]) -> str | None:
    data_url = png_data_url(body.get("png"))
    if data_url is not None and not is_png_data_url(data_url):
        return PNG_NOT_DATA_URL
    return None


def validate_figure_post(body: object) -> str | None:
    """§11.4 figure checks after the slug: SVG markup required, PNG optional but well-formed."""
    fields = _fields(body)
    if not _text(fields.get("svg")):
        return SVG_REQUIRED
    return _png_error(fields)


def validate_figure_patch(body: object) -> str | None:
    """§11.5: a non-empty `png` must be a PNG data URL."""
    return _png_error(_fields(body))


def build_asset(
    slug: str, body: Mapping[str, object], stored_asset: Mapping[str, object] | None, now: str
) -> Record:
    """POST: the `figureAsset:<slug>` entry (§11.4); an absent or empty PNG means no PNG."""
    payload = {**body, "png": body.get("png")}
    return build_entry(slug, payload, stored_asset, now, url_for=figure_asset_url)


def patch_figure(
    stored_asset: Mapping[str, Any],
    body: Mapping[str, object],
    now: str,
    *,
    slug: str | None = None,
) -> Record | str:
    """§11.5 merge of a PATCH body into the stored asset: the new asset entry or a 400 text.

    Only the §11.5 keys are read (a `filename` or `createdAt` in the body is ignored). They go
    through the §9.2 rules with the stored asset as fallback: a blank `title` keeps the stored one.
    """
    error = _png_error(body)
    if error is not None:
        return error
    payload: dict[str, object] = {key: body[key] for key in _PATCH_KEYS if key in body}
    for key in ("summary", "description"):
        payload.setdefault(key, stored_asset.get(key))
    if _text(body.get("svg")):
        payload["svg"] = body["svg"]
    if "png" in body:
        payload["png"] = body["png"]
    entry_slug = slug if slug is not None else str(stored_asset.get("slug", ""))
    entry = build_entry(entry_slug, payload, stored_asset, now, url_for=figure_asset_url)
    png_object = _fields(body.get("png"))
    for key, size in (("pngWidth", "width"), ("pngHeight", "height")):
        # A size sent but not numeric removes the stored one instead of falling back to it.
        unusable = key in body and png_dimension(body[key]) is None
        if unusable and png_dimension(png_object.get(size)) is None:
            entry.pop(key, None)
            if "png" in entry["files"]:
                entry["files"]["png"].pop(size, None)
    return entry


def figure_tags(
    body: Mapping[str, object], stored_figure: Mapping[str, object] | None
) -> list[str]:
    """`tags` replaced when the key is present, else kept."""
    if "tags" in body:
        return clean_string_list(body["tags"])
    return clean_string_list((stored_figure or {}).get("tags"))


def figure_record(
    asset_entry: Mapping[str, Any], category_id: str | None, tags: Iterable[str]
) -> Record:
    """The `figure:<slug>` value: asset entry + kv mode fields + `categoryId` + `tags`."""
    record: Record = {key: value for key, value in asset_entry.items() if key not in MODE_KEYS}
    record.update(KV_MODE_FIELDS)
    record["categoryId"] = category_id
    record["tags"] = list(tags)
    return record


def _mode_fields(meta: Mapping[str, object]) -> Record:
    return {key: meta[key] for key in MODE_KEYS if key in meta}


def figure_response(
    record: Mapping[str, Any], category: Mapping[str, Any] | None, meta: Mapping[str, object]
) -> Record:
    """The API form of a figure (§11.2): fresh mode fields, `categoryId`, `tags`, `category`."""
    entry: Record = {key: value for key, value in record.items() if key not in _FIGURE_OWN_KEYS}
    entry.update(_mode_fields(meta))
    category_id = normalize_category_id(record.get("categoryId"))
    entry["categoryId"] = category_id
    entry["tags"] = clean_string_list(record.get("tags"))
    if category_id is not None:
        stored = category or {}
        linked: Record = {
            "id": stored.get("id") if isinstance(stored.get("id"), str) else category_id,
            "label": _text(stored.get("label")),
        }
        description = _text(stored.get("description"))
        if description:
            linked["description"] = description
        linked["apps"] = clean_string_list(stored.get("apps"))
        entry["category"] = linked
    return entry


def summary_view(entry: Mapping[str, Any]) -> Record:
    """`?view=summary` (§11.3): no `svg`/`png`, and `files.*` cut to their descriptive keys."""
    projected: Record = {key: value for key, value in entry.items() if key not in ("svg", "png")}
    files = entry.get("files")
    if isinstance(files, Mapping):
        projection = {
            "svg": ("url", "slug", "filename", "contentType"),
            "png": ("url", "width", "height", "slug", "filename", "contentType"),
        }
        cut: Record = {}
        for name, keys in projection.items():
            file = files.get(name)
            if isinstance(file, Mapping):
                kept = {key: file[key] for key in keys if file.get(key) is not None}
                if kept or name == "svg":
                    cut[name] = kept
        if cut:
            projected["files"] = cut
        else:
            del projected["files"]
    return projected


def _category_fields(fields: Mapping[str, Any], *, top_level_apps: bool) -> CategoryPayload:
    category = fields.get("category")
    nested: Mapping[str, Any] = category if isinstance(category, Mapping) else {}
    labels = (nested.get("label"), fields.get("categoryLabel"), fields.get("categoryName"))
    apps: list[str] | None = None
    if "categoryApps" in fields:
        apps = clean_string_list(fields["categoryApps"])
    elif "apps" in nested:
        apps = clean_string_list(nested["apps"])
    elif top_level_apps and "apps" in fields:
        apps = clean_string_list(fields["apps"])
    return CategoryPayload(
        id=_text(fields.get("categoryId")) or _text(nested.get("id")) or None,
        label=next((_text(label) for label in labels if _text(label)), None),
        apps=None if apps is None else tuple(apps),
        description=_text(nested.get("description")) or None,
    )


def category_request(body: object) -> CategoryPayload | None:
    """§11.4 "Category request": the payload when a slug-less body names a category, else None.

    The caller checks that the request has no slug first.
    """
    fields = _fields(body)
    named = (
        _text(fields.get("categoryId"))
        or isinstance(fields.get("category"), Mapping)
        or "categoryApps" in fields
        or _text(fields.get("categoryLabel"))
        or _text(fields.get("categoryName"))
    )
    return _category_fields(fields, top_level_apps=False) if named else None


def category_id_for(payload: CategoryPayload) -> str | None:
    """normalise(id) ‖ normalise(label)."""
    return normalize_category_id(payload.id) or normalize_category_id(payload.label)


def category_error(payload: CategoryPayload) -> str | None:
    """The 400 text of a category request that cannot be upserted, else None."""
    if payload.id is None and payload.label is None:
        return CATEGORY_REQUIRED
    if category_id_for(payload) is None:
        return CATEGORY_UNDERIVABLE
    return None


def _figure_slugs(value: object) -> list[str]:
    slugs = value if isinstance(value, list) else []
    return sorted({slug for slug in slugs if isinstance(slug, str) and trim(slug)})


def _category_record(
    category_id: str,
    label: str,
    figure_slugs: Iterable[str],
    apps: Iterable[str],
    created_at: str,
    updated_at: str,
    description: str | None,
) -> Record:
    record: Record = {
        "id": category_id,
        "label": label,
        "figureSlugs": sorted(set(figure_slugs)),
        "apps": list(apps),
        "createdAt": created_at,
        "updatedAt": updated_at,
    }
    if description:
        record["description"] = description
    record.update(KV_MODE_FIELDS)
    return record


def upsert_category(stored: Mapping[str, Any] | None, payload: CategoryPayload, now: str) -> Record:
    """§11.4 upsert rules; `stored` is `figure:category:<category_id_for(payload)>`.

    Raises ValueError when no id is derivable: check `category_error` first.
    """
    category_id = category_id_for(payload)
    if category_id is None:
        raise ValueError("category id is not derivable")
    old: Mapping[str, Any] = stored or {}
    return _category_record(
        category_id,
        payload.label or _text(old.get("label")) or category_id,
        _figure_slugs(old.get("figureSlugs")),
        clean_string_list(old.get("apps")) if payload.apps is None else payload.apps,
        _text(old.get("createdAt")) or now,
        now,
        payload.description or _text(old.get("description")) or None,
    )


def _relinked(category: Mapping[str, Any], category_id: str, slugs: list[str], now: str) -> Record:
    return _category_record(
        category_id,
        _text(category.get("label")) or category_id,
        slugs,
        clean_string_list(category.get("apps")),
        _text(category.get("createdAt")) or now,
        now,
        _text(category.get("description")) or None,
    )


def link_figure(
    category: Mapping[str, Any] | None, category_id: str, slug: str, now: str
) -> Record:
    """The category with `slug` in `figureSlugs`; created (label = id) when missing."""
    old: Mapping[str, Any] = category or {}
    slugs = _figure_slugs(old.get("figureSlugs"))
    if category is not None and slug in slugs:
        return dict(category)
    return _relinked(old, category_id, [*slugs, slug], now)


def unlink_figure(category: Mapping[str, Any], slug: str, now: str) -> Record:
    """The category without `slug` in `figureSlugs` (unchanged when it was not there)."""
    slugs = _figure_slugs(category.get("figureSlugs"))
    if slug not in slugs:
        return dict(category)
    category_id = _text(category.get("id"))
    return _relinked(category, category_id, [s for s in slugs if s != slug], now)


def category_link_intent(body: object, current_id: str | None = None) -> LinkIntent:
    """§11.4 "Category linkage" of a figure POST/PATCH body; `current_id` is the stored link."""
    fields = _fields(body)
    category = fields.get("category")
    payload = _category_fields(fields, top_level_apps=True)
    payload = CategoryPayload(id=payload.id, label=payload.label, apps=payload.apps)
    cleared = "categoryId" in fields and fields["categoryId"] in (None, "") and payload.id is None
    if payload.label is None and (cleared or category == {}):
        return Unlink()
    if normalize_category_id(payload.id) is not None or payload.label is not None:
        category_id = category_id_for(payload)
        # Only a label that yields no id (e.g. "!!!") gets here with None; upstream kept the link.
        return Keep() if category_id is None else Link(category_id, payload)
    if payload.apps is not None and current_id:
        return Link(current_id, CategoryPayload(id=current_id, apps=payload.apps))
    if not any(key in fields for key in ("categoryId", "categoryLabel", "categoryName")) and (
        not isinstance(category, Mapping)
    ):
        return Keep()
    return Unlink()


def category_view(record: Mapping[str, Any], meta: Mapping[str, object]) -> Record:
    """A stored category as the API returns it: canonical keys, fresh mode fields."""
    category_id = _text(record.get("id"))
    view = _category_record(
        category_id,
        _text(record.get("label")) or category_id,
        _figure_slugs(record.get("figureSlugs")),
        clean_string_list(record.get("apps")),
        _text(record.get("createdAt")),
        _text(record.get("updatedAt")),
        _text(record.get("description")) or None,
    )
    view.update(_mode_fields(meta))
    return view
