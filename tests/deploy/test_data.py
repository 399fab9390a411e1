"""export / import / verify orchestration: the real handler on real Redis, pages exchanged by
presigned-URL HTTP against an in-test object store, invoked as Lambda would."""

from __future__ import annotations

import asyncio
import gzip
import http.server
import os
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from mathvisuals.api.lambda_handler import LambdaApp, build_handler
from mathvisuals.deploy.data import DataTransfer
from mathvisuals.deploy.errors import DeploymentFailedError
from mathvisuals.logs import EventLog, MemorySink
from mathvisuals.model.archive import Entry, read_archive
from mathvisuals.sandbox.redis_server import RedisServer
from mathvisuals.settings import Settings
from mathvisuals.store.keyspace import connect
from tests.conftest import config_for
from tests.deploy.fakes import FakeArtifacts


class UrlArtifacts(FakeArtifacts):
    """Objects in a dict, reachable by 'presigned' loopback URLs like S3's."""

    def __init__(self) -> None:
        super().__init__()
        objects = self.objects
        self.headers_seen: list[str] = []
        seen = self.headers_seen

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                seen.append(self.headers.get("x-amz-server-side-encryption", ""))
                objects[("b", self.path[1:])] = self.rfile.read(int(self.headers["content-length"]))
                self.send_response(200)
                self.end_headers()

            def do_GET(self) -> None:
                body = objects.get(("b", self.path[1:]))
                self.send_response(200 if body is not None else 404)
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def presign(
        self, bucket: str, key: str, method: str, seconds: int
    ) -> tuple[str, dict[str, str]]:
        headers = {"x-amz-server-side-encryption": "AES256"} if method == "put" else {}
        return f"http://127.0.0.1:{self.server.server_address[1]}/{key}", headers

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class HandlerFunctions:
    def __init__(self, app: LambdaApp, before: Any = None) -> None:
        self.app, self.before, self.events = app, before, 0

    def configuration(self, name: str, qualifier: str | None = None) -> None:
        return None

    def invoke(self, name: str, event: Mapping[str, object]) -> dict[str, object]:
        self.events += 1
        if self.before is not None:
            self.before(self.events)
        return self.app(dict(event), None)


@pytest.fixture
def app(redis_env: dict[str, str]) -> Iterator[LambdaApp]:
    handler = build_handler(Settings.from_env(redis_env), EventLog(MemorySink()))
    yield handler
    loop = asyncio.get_event_loop()
    loop.run_until_complete(handler.app.state.ctx.store.aclose())
    loop.close()
    asyncio.set_event_loop(None)


@pytest.fixture
def client(redis_server: RedisServer, redis_env: dict[str, str]) -> Iterator[Any]:
    made = connect(config_for(redis_server))
    yield made
    made.close()


@pytest.fixture
def artifacts() -> Iterator[UrlArtifacts]:
    made = UrlArtifacts()
    yield made
    made.close()


def transfer(
    app: LambdaApp,
    artifacts: UrlArtifacts,
    before: Any = None,
    via: Any = "s3",
    progress: Any = None,
) -> DataTransfer:
    return DataTransfer(
        HandlerFunctions(app, before), artifacts, function_name="fn", bucket="b", env="test",
        region="eu-west-1", page_keys=20, via=via, progress=progress,
    )  # fmt: skip


def test_progress_is_told_after_every_page(
    app: LambdaApp, client: Any, artifacts: UrlArtifacts, tmp_path: Path
) -> None:
    for i in range(70):
        client.set(f"svg:s{i}", f'{{"slug":"s{i}"}}')
    out = tmp_path / "a.jsonl.gz"
    lines: list[str] = []
    result = transfer(app, artifacts, progress=lines.append).export(
        out, app_version="0.1.0", now="2026-01-01T00:00:00.000Z"
    )
    assert len(lines) == result.pages + 1 and lines[0].startswith("page 1: ")
    assert lines[-2].startswith(f"page {result.pages}: 70 keys, ")
    assert lines[-1] == "70 keys read; checking which changed meanwhile"
    client.flushall()
    told: list[str] = []
    done = transfer(app, artifacts, progress=told.append).import_(
        out, dry_run=False, overwrite=False
    )
    assert told and len(told) == done.pages and told[-1] == f"page {done.pages}: 70 of 70 keys"


@pytest.mark.parametrize("via", ["s3", "inline"])
def test_export_import_verify_round_trip(
    app: LambdaApp, client: Any, artifacts: UrlArtifacts, tmp_path: Path, via: str
) -> None:
    for i in range(120):
        client.set(f"svg:s{i}", f'{{"slug":"s{i}"}}')
        client.sadd("svg:__slugs__", f"s{i}")
    client.set("settings:projects", b"\xc3\xb8")
    client.set("other:app", "not in the key schema")
    out = tmp_path / "a.jsonl.gz"
    result = transfer(app, artifacts, via=via).export(
        out, app_version="0.1.0", now="2026-01-01T00:00:00.000Z"
    )
    assert result.manifest.keys == 122 and result.pages > 5
    assert result.manifest.changed_during_export == [] and result.manifest.outside_schema == 1
    assert set(artifacts.headers_seen) == ({"AES256"} if via == "s3" else set())
    assert result.kept == next(k for _, k in artifacts.objects if k.endswith("a.jsonl.gz"))
    assert artifacts.objects[("b", result.kept)] == out.read_bytes()
    assert all(key.startswith("backups/test/") for _, key in artifacts.objects)
    assert artifacts.lifecycle == ("backups/test/", 7)
    assert transfer(app, artifacts, via=via).verify(out)["svg"].ok
    client.flushall()
    client.set("svg:extra", "{}")  # not in its index: verify still finds it
    diff = transfer(app, artifacts, via=via).verify(out)
    assert len(diff["svg"].missing) == 121 and diff["svg"].extra == ["svg:extra"]
    dry = transfer(app, artifacts, via=via).import_(out, dry_run=True, overwrite=False)
    assert dry.count("create") == 122 and client.dbsize() == 1
    done = transfer(app, artifacts, via=via).import_(out, dry_run=False, overwrite=False)
    assert (
        done.count("create") == 121
    )  # the index set: merged (or same, when its members came first)
    assert (done.actions.get("merge") or done.actions.get("same")) == ["svg:__slugs__"]
    client.delete("svg:extra")
    client.srem("svg:__slugs__", "extra")
    assert all(d.ok for d in transfer(app, artifacts, via=via).verify(out).values())
    again = transfer(app, artifacts, via=via).import_(out, dry_run=False, overwrite=False)
    assert set(again.actions) == {"same"}


def test_writes_during_export_are_reported(
    app: LambdaApp, client: Any, artifacts: UrlArtifacts, tmp_path: Path
) -> None:
    for i in range(100):
        client.set(f"examples:/p{i}", "{}")

    touched: list[str] = []

    def write_after_first_page(number: int) -> None:
        if number == 2:  # the first page is in the bucket: change one of its keys
            body = next(
                v for (_, k), v in artifacts.objects.items() if k.endswith("export-00000.jsonl.gz")
            )
            touched.append(Entry.from_line(gzip.decompress(body).splitlines()[0]).key)
            client.set(touched[0], '{"late":1}')

    manifest = (
        transfer(app, artifacts, write_after_first_page)
        .export(tmp_path / "a.jsonl.gz", app_version="0.1.0", now="now")
        .manifest
    )
    assert manifest.changed_during_export == touched
    assert (
        read_archive(tmp_path / "a.jsonl.gz")[0].changed_during_export
        == manifest.changed_during_export
    )


def test_a_function_without_redis_fails_with_one_line(
    artifacts: UrlArtifacts, tmp_path: Path
) -> None:
    memory = build_handler(Settings.from_env({}), EventLog(MemorySink()))
    with pytest.raises(DeploymentFailedError, match="memory mode"):
        transfer(memory, artifacts).export(tmp_path / "a.jsonl.gz", app_version="0", now="now")
    assert not (tmp_path / "a.jsonl.gz").exists() and not list(tmp_path.iterdir())
    asyncio.get_event_loop().close()
    asyncio.set_event_loop(None)


def test_inline_pages_shrink_to_fit_the_payload(
    app: LambdaApp, client: Any, artifacts: UrlArtifacts, tmp_path: Path
) -> None:
    blob = os.urandom(300_000)
    for i in range(20):
        client.set(f"svg:big{i}", blob + bytes([i]))
    data = DataTransfer(
        HandlerFunctions(app), artifacts, function_name="fn", bucket="b", env="test", region="r",
        page_keys=20, via="inline",
    )  # fmt: skip
    result = data.export(tmp_path / "a.jsonl.gz", app_version="0", now="now")
    assert result.manifest.keys == 20 and result.pages > 1
    client.set("svg:huge", os.urandom(5_000_000))
    with pytest.raises(DeploymentFailedError, match="inline page") as caught:
        data.export(tmp_path / "b.jsonl.gz", app_version="0", now="now")
    assert caught.value.hint == "use --via s3"


def test_a_function_without_the_maintenance_handler_gets_the_up_hint(
    artifacts: UrlArtifacts, tmp_path: Path
) -> None:
    class OldFunction:
        def configuration(self, name: str, qualifier: str | None = None) -> None:
            return None

        def invoke(self, name: str, event: Mapping[str, object]) -> dict[str, object]:
            raise DeploymentFailedError("Invoke fn: the function raised KeyError")

    data = DataTransfer(
        OldFunction(), artifacts, function_name="fn", bucket="b", env="test", region="r"
    )
    with pytest.raises(DeploymentFailedError, match="KeyError") as caught:
        data.digests()
    assert "run `up` first" in caught.value.hint
