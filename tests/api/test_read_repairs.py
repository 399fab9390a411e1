"""Reads repair indexes only under WATCH (api.md §7.5), proven with a paused Redis.

``CLIENT PAUSE <ms> WRITE`` holds every write while reads go on, as during a failover: a
PUT sent first commits first when the pause ends, after the GET has seen the key missing.
An unwatched repair then unlists the acknowledged entry; a watched one sees the key and
leaves the member alone.
"""

from __future__ import annotations

import asyncio

import pytest

from mathvisuals import jsonfmt
from tests.api.conftest import async_api
from tests.api.test_examples import redis_client

PAUSE_MS = 800
PNG = "data:image/png;base64,iVBORw0KGgo="


async def _race(env: dict[str, str], write: tuple[str, str, object], read: str) -> int:
    """Pause writes, send ``write`` at once and ``read`` 0.2 s later; the read's status."""
    async with async_api(env) as http:
        await http.get("/api/health")  # connect before the pause
        direct = redis_client(env)
        direct.client_pause(PAUSE_MS, all=False)
        method, url, body = write
        writer = asyncio.create_task(http.request(method, url, json=body))
        await asyncio.sleep(0.2)
        response = await http.get(read)
        written = await writer
        direct.close()
    assert written.status_code == 200, written.text
    return response.status_code


@pytest.mark.anyio
async def test_get_of_a_missing_path_keeps_a_concurrent_put_listed(
    redis_env: dict[str, str],
) -> None:
    body = {"examples": [{"title": "kept"}], "deletedProvided": []}
    status = await _race(
        redis_env, ("PUT", "/api/examples?path=/race", body), "/api/examples?path=/race"
    )
    assert status == 404
    direct = redis_client(redis_env)
    assert direct.exists("examples:/race") == 1
    assert direct.sismember("examples:__paths__", "/race") == 1
    direct.close()
    async with async_api(redis_env) as http:
        listed = (await http.get("/api/examples")).json()["entries"]
    assert [entry["path"] for entry in listed] == ["/race"]


@pytest.mark.anyio
async def test_examples_list_keeps_a_member_written_during_the_list(
    redis_env: dict[str, str],
) -> None:
    direct = redis_client(redis_env)
    direct.sadd("examples:__paths__", "/late")  # dangling: the key is not there yet
    body: dict[str, object] = {"examples": [], "deletedProvided": []}
    await _race(redis_env, ("PUT", "/api/examples?path=/late", body), "/api/examples")
    assert direct.exists("examples:/late") == 1
    assert direct.sismember("examples:__paths__", "/late") == 1
    direct.close()


@pytest.mark.anyio
async def test_svg_list_keeps_a_member_written_during_the_list(redis_env: dict[str, str]) -> None:
    direct = redis_client(redis_env)
    direct.sadd("svg:__slugs__", "late")
    body = {"slug": "late", "png": PNG, "svg": "<svg/>"}
    status = await _race(redis_env, ("POST", "/api/svg", body), "/api/svg")
    assert status == 200
    assert direct.exists("svg:late") == 1
    assert direct.sismember("svg:__slugs__", "late") == 1
    direct.close()


@pytest.mark.anyio
async def test_figure_list_keeps_a_member_written_during_the_list(
    redis_env: dict[str, str],
) -> None:
    direct = redis_client(redis_env)
    direct.sadd("figure:__slugs__", "late")
    body = {"slug": "late", "svg": "<svg/>"}
    status = await _race(redis_env, ("POST", "/api/figure-library", body), "/api/figure-library")
    assert status == 200
    assert direct.exists("figure:late") == 1
    assert direct.sismember("figure:__slugs__", "late") == 1
    direct.close()


@pytest.mark.anyio
async def test_corrupt_value_repair_spares_a_value_written_since(
    redis_env: dict[str, str],
) -> None:
    """The corrupt-value clean-up (DEL + SREM) must not delete a PUT that replaced it."""
    direct = redis_client(redis_env)
    direct.set("examples:/bad", "not json{")
    direct.sadd("examples:__paths__", "/bad")
    body = {"examples": [{"title": "fresh"}], "deletedProvided": []}
    status = await _race(
        redis_env, ("PUT", "/api/examples?path=/bad", body), "/api/examples?path=/bad"
    )
    assert status == 404
    stored = jsonfmt.loads(direct.get("examples:/bad") or "null")
    assert [example["title"] for example in stored["examples"]] == ["fresh"]
    assert direct.sismember("examples:__paths__", "/bad") == 1
    direct.close()
