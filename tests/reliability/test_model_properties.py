"""Properties of the normalisers every key goes through (api.md §7.4, §9.1), for any input."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mathvisuals.model.paths import normalize_path, normalize_slug

PATHS = st.text(max_size=80) | st.text(alphabet="aA/\\%0-9eksmpl_.-ø ", max_size=700)


@settings(max_examples=400, database=None, deadline=None)
@given(PATHS)
def test_normalize_path_is_idempotent_and_bounded(raw: str) -> None:
    canon = normalize_path(raw)
    if canon is not None:
        assert canon.startswith("/") and len(canon) <= 512
        # A stored path read back must name the same key, or reads would migrate it.
        assert normalize_path(canon) == canon


@settings(max_examples=400, database=None, deadline=None)
@given(PATHS)
def test_normalize_slug_is_idempotent_and_bounded(raw: str) -> None:
    slug = normalize_slug(raw)
    if slug is not None:
        assert slug and len(slug) <= 512 and not slug.startswith("/")
        assert normalize_slug(slug) == slug
