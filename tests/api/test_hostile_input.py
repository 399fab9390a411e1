"""Hostile or odd request bodies and parameters answer JSON 4xx, never 500 (issue #13)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from mathvisuals import jsonfmt
from mathvisuals.api.app import create_app
from mathvisuals.logs import EventLog, MemorySink
from mathvisuals.settings import Settings
from mathvisuals.store import open_store

JSON_ROUTES = [
    ("PUT", "/api/examples?path=/big"),
    ("POST", "/api/examples/trash"),
    ("DELETE", "/api/examples/trash"),
    ("POST", "/api/svg"),
    ("PATCH", "/api/svg"),
    ("POST", "/api/figure-library"),
    ("PATCH", "/api/figure-library"),
    ("DELETE", "/api/figure-library"),
    ("PUT", "/api/settings"),
    ("POST", "/api/settings"),
]


@pytest.mark.parametrize("digits", [308, 309, 1000, 4300, 4301, 10_000])
def test_huge_integer_literal_is_invalid_json(digits: int) -> None:
    """309+ digits overflowed float() (OverflowError, a 500); 4301+ hit int's digit limit."""
    text = '{"n":' + "9" * digits + "}"
    if digits < 309:
        assert jsonfmt.loads(text)["n"] > 0
        return
    with pytest.raises(jsonfmt.InvalidJSONError):
        jsonfmt.loads(text)


@pytest.mark.parametrize(("method", "url"), JSON_ROUTES)
def test_huge_integer_body_is_400_on_every_json_route(
    memory_client: TestClient, method: str, url: str
) -> None:
    body = b'{"slug":"a","examples":[' + b"7" * 400 + b'],"deletedProvided":[]}'
    response = memory_client.request(method, url, content=body)
    assert response.status_code == 400
    assert response.json()["error"] == "Invalid JSON body"


@pytest.mark.parametrize("blank", ["%20", "%20%20%09", "%0A"])
def test_delete_with_a_blank_path_is_400(client: TestClient, blank: str) -> None:
    response = client.delete(f"/api/examples?path={blank}")
    assert response.status_code == 400
    assert response.json() == {"error": "Missing path parameter"}


@pytest.mark.anyio
async def test_a_client_gone_mid_body_is_a_400_not_an_unhandled_error() -> None:
    """serve's body deadline closes the connection; the handler then sees a disconnect."""
    settings = Settings.from_env({})
    sink = MemorySink()
    app = create_app(settings, open_store(settings.redis), log=EventLog(sink))
    messages: list[dict[str, object]] = [
        {"type": "http.request", "body": b'{"examples":', "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "PUT",
        "path": "/api/examples",
        "raw_path": b"/api/examples",
        "query_string": b"path=/cut",
        "headers": [(b"content-length", b"100")],
    }
    await app(scope, receive, send)  # type: ignore[arg-type]
    assert sent[0]["status"] == 400
    assert sink.events("http.unhandled_error") == []
