"""The maintenance event: direct invocation runs it; anything shaped like HTTP is refused."""

from __future__ import annotations

import asyncio
import base64
import gzip
import http.server
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from mathvisuals.api.lambda_handler import LambdaApp, build_handler
from mathvisuals.api.maintenance import is_direct
from mathvisuals.logs import EventLog, MemorySink
from mathvisuals.model.archive import Entry
from mathvisuals.settings import Settings
from tests.api.test_lambda_handler import Context, event


@pytest.fixture
def app(redis_env: dict[str, str]) -> Iterator[LambdaApp]:
    handler = build_handler(Settings.from_env(redis_env), EventLog(MemorySink()))
    yield handler
    loop = asyncio.get_event_loop()
    loop.run_until_complete(handler.app.state.ctx.store.aclose())
    loop.close()
    asyncio.set_event_loop(None)


def maintenance(app: LambdaApp, **request: Any) -> dict[str, Any]:
    return app({"mathvisuals_maintenance": request}, Context())


def test_export_then_import_inline_pages(app: LambdaApp) -> None:
    put = app(
        event(
            "PUT",
            "/prod/api/examples",
            query="path=/a",
            body={"examples": [{"title": "t"}], "deletedProvided": []},
        ),
        Context(),
    )
    assert put["statusCode"] == 200
    page = maintenance(app, op="export", cursor=0, count=100)
    assert page["ok"] and page["cursor"] == 0 and page["keys"] == 2
    lines = gzip.decompress(base64.b64decode(page["body"])).splitlines(keepends=True)
    keys = sorted(Entry.from_line(line).key for line in lines)
    assert keys == ["examples:/a", "examples:__paths__"]
    again = maintenance(app, op="import", body=page["body"], sha256=page["sha256"])
    assert again["ok"] and sorted(again["actions"]["same"]) == keys
    digests = maintenance(app, op="digest", cursor=0)
    assert set(digests["digests"]) == set(keys)


def test_import_page_with_a_wrong_sha_is_refused(app: LambdaApp) -> None:
    body = base64.b64encode(gzip.compress(b"")).decode()
    answer = maintenance(app, op="import", body=body, sha256="0" * 64)
    assert answer == {
        "ok": False,
        "error": "MaintenanceError: the import page does not match its sha256",
    }


def test_unknown_op_is_answered_as_data(app: LambdaApp) -> None:
    assert maintenance(app, op="flushall")["ok"] is False


def test_export_page_goes_to_the_put_url(app: LambdaApp) -> None:
    received: list[bytes] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            assert self.headers["x-amz-server-side-encryption"] == "AES256"
            received.append(self.rfile.read(int(self.headers["content-length"])))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/page-0"
        headers = {"x-amz-server-side-encryption": "AES256"}
        answer = maintenance(app, op="export", cursor=0, put_url=url, put_headers=headers)
    finally:
        server.shutdown()
        server.server_close()
    assert answer["ok"] and "body" not in answer and len(received) == 1


def test_maintenance_through_the_http_path_is_refused(app: LambdaApp) -> None:
    # What API Gateway could deliver: the client's JSON is the body, never the top level.
    through_api = event(
        "POST", "/prod/api/examples", body={"mathvisuals_maintenance": {"op": "export"}}
    )
    answer = app(through_api, Context())
    assert answer["statusCode"] >= 400 and "keys" not in answer
    assert not is_direct(through_api)
    # An event carrying both shapes is refused outright.
    both = {**event("GET", "/prod/api/health"), "mathvisuals_maintenance": {"op": "export"}}
    refused = app(both, Context())
    assert refused["statusCode"] == 403 and "direct invocation" in refused["body"]
