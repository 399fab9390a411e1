"""The SVG archive and figure library lists from memoised records: the slow path's bytes.

Stored values are written the way upstream left them (spacing, key order, mode fields inside
the record, integral floats, a double-encoded record, invisible entries), then each list is
read with the memo switched off (the reference), and twice with it on (a miss, then a hit).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from mathvisuals.api import figures as figures_api
from mathvisuals.api.http import Exchange
from mathvisuals.store import figures as figures_store
from mathvisuals.store import svg as svg_store
from tests.api.conftest import api_client
from tests.conftest import direct_redis

PNG = "data:image/png;base64,iVBORw0KGgo="
SVG_RECORDS = {
    "a": {"slug": "a", "title": "Å", "svg": "<svg/>", "png": PNG, "width": 10.0},
    "b": {"storage": "memory", "mode": "memory", "slug": "b", "svg": "<svg/>", "persistent": 0},
    "c": {"slug": "c", "categoryId": "x"},  # kept out of the list (§9.3)
    "custom-d": {"slug": "custom-d"},
}
FIGURES = {
    "f1": {"title": "Figur", "svg": "<svg/>", "categoryId": "Kat", "tags": [" a ", "a", 1]},
    "f2": {"slug": "other", "files": {"svg": {"url": "/x", "size": 2e0}}, "mode": "memory"},
    "f3": {"title": "no category", "categoryId": None},
}
CATEGORIES = {"kat": {"id": "Kat", "label": "Kategori", "apps": ["x", "x"], "figureSlugs": ["f1"]}}


@pytest.fixture
def seeded(redis_env: dict[str, str]) -> Iterator[TestClient]:
    direct = direct_redis(redis_env)
    for slug, record in SVG_RECORDS.items():
        direct.set(f"svg:{slug}", json.dumps(record, indent=1, ensure_ascii=True))
        direct.sadd("svg:__slugs__", slug)
    direct.set("svg:e", json.dumps(json.dumps({"slug": "e", "n": 1.50})))  # double encoded
    direct.sadd("svg:__slugs__", "e", "gone")
    for slug, record in FIGURES.items():
        direct.set(f"figure:{slug}", json.dumps(record, indent=2))
        direct.sadd("figure:__slugs__", slug)
    for category_id, record in CATEGORIES.items():
        direct.set(f"figure:category:{category_id}", json.dumps(record))
        direct.sadd("figure:__categories__", category_id)
    direct.close()
    memos = (svg_store.MEMO, figures_store.MEMO, figures_api.VIEWS)
    for memo in memos:
        memo.clear()
    with api_client(redis_env) as (client, _):
        yield client
    for memo in memos:
        memo.clear()


URLS = ["/api/svg", "/api/figure-library", "/api/figure-library?view=summary"]


def test_lists_from_the_memo_are_byte_identical(
    seeded: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as off:
        off.setattr(Exchange, "with_fields", lambda self, records, fields: None)
        off.setattr(svg_store.MEMO, "lookup", lambda key, raw: None)
        off.setattr(figures_store.MEMO, "lookup", lambda key, raw: None)
        off.setattr(figures_api, "_listed_json", lambda *args: None)
        reference = [seeded.get(url).content for url in URLS]
    miss = [seeded.get(url).content for url in URLS]
    hits = svg_store.MEMO.hits, figures_store.MEMO.hits, figures_api.VIEWS.hits
    hit = [seeded.get(url).content for url in URLS]
    assert miss == reference
    assert hit == reference
    assert svg_store.MEMO.hits - hits[0] == len(SVG_RECORDS) + 1  # every stored record
    assert figures_store.MEMO.hits - hits[1] == 2 * (len(FIGURES) + len(CATEGORIES))
    # Every listed entry and category view of both figure lists came out encoded.
    assert figures_api.VIEWS.hits - hits[2] == 2 * (len(FIGURES) + len(CATEGORIES))
    listed = json.loads(reference[0])["entries"]
    assert [entry["slug"] for entry in listed] == ["a", "b", "e"]
    assert listed[0]["width"] == 10 and b'"width":10,' in reference[0]
    assert listed[1]["mode"] == "kv"  # the stored mode fields never come back
    assert listed[2]["n"] == 1.5


def test_a_rewritten_record_is_listed_fresh(seeded: TestClient) -> None:
    before = seeded.get("/api/svg").json()["entries"][0]
    body = {"slug": "a", "title": "new", "svg": "<svg/>", "png": PNG}
    assert seeded.post("/api/svg", json=body).status_code == 200
    after = seeded.get("/api/svg").json()["entries"][0]
    assert (before["title"], after["title"]) == ("Å", "new")


def test_a_changed_category_relists_the_figures_linked_to_it(
    seeded: TestClient, redis_env: dict[str, str]
) -> None:
    """An entry embeds its category's label and apps: the memo holds it under both texts,
    so a category written behind the figure's back (its text unchanged) still shows."""
    before = seeded.get("/api/figure-library").json()
    assert before["entries"][0]["category"] == {"id": "kat", "label": "Kategori", "apps": ["x"]}
    direct = direct_redis(redis_env)
    direct.set("figure:category:kat", json.dumps({**CATEGORIES["kat"], "label": "Ny"}))
    direct.close()
    after = seeded.get("/api/figure-library").json()
    assert after["entries"][0]["category"] == {"id": "kat", "label": "Ny", "apps": ["x"]}
    assert [category["label"] for category in after["categories"]] == ["Ny"]


RAW_URLS = ["/api/svg/raw?path=a.svg", "/api/svg/raw?path=a.png", "/svg/e.svg"]


def test_raw_answers_from_the_memo_are_byte_identical(
    seeded: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as off:
        off.setattr(svg_store.MEMO, "lookup", lambda key, raw: None)
        reference = [seeded.get(url) for url in RAW_URLS]
    hits = svg_store.MEMO.hits
    answers = [seeded.get(url) for url in RAW_URLS]
    assert svg_store.MEMO.hits - hits == len(RAW_URLS)  # "e" too: its record has no svg
    assert [(a.status_code, a.content, dict(a.headers)) for a in answers] == [
        (r.status_code, r.content, dict(r.headers)) for r in reference
    ]
    assert [a.status_code for a in answers] == [200, 200, 404]
    assert answers[0].content == b"<svg/>" and answers[1].content.startswith(b"\x89PNG")


def test_a_rewritten_svg_is_served_fresh(seeded: TestClient, redis_env: dict[str, str]) -> None:
    assert seeded.get("/api/svg/raw?path=a.svg").content == b"<svg/>"
    direct = direct_redis(redis_env)
    direct.set("svg:a", json.dumps({"slug": "a", "svg": "<svg id='new'/>", "png": PNG}))
    direct.close()
    assert seeded.get("/api/svg/raw?path=a.svg").content == b"<svg id='new'/>"
